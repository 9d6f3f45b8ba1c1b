/*
 * A Kafka-protocol broker for tests: librdkafka's mock cluster (rdkafka_mock.h,
 * Debian librdkafka-dev).
 * Usage: kafka-mock [--max-bytes BYTES] BROKERS TOPIC:PARTITIONS...
 * Prints "RETENTION ..." (see below) and then "BOOTSTRAP <host:port,...>" on
 * stdout once the topics exist, then serves until stdin closes or
 * SIGTERM/SIGINT arrives.
 * Build: gcc -O2 -o kafka-mock kafkaMock.c -lrdkafka
 *
 * Retention. librdkafka's mock broker keeps a partition's log in memory and,
 * on every append, deletes the oldest record batches while the partition holds
 * more than 5 MiB of batches or more than 100 000 batches
 * (rdkafka_mock.c, rd_kafka_mock_partition_init():
 *   mpart->max_size = 1024 * 1024 * 5;  mpart->max_cnt = 100000;
 * and rd_kafka_mock_msgset_new():
 *   while (mpart->cnt > 1 && (mpart->cnt > mpart->max_cnt ||
 *                             mpart->size > mpart->max_size))
 *           rd_kafka_mock_msgset_destroy(mpart, TAILQ_FIRST(&mpart->msgsets));
 * ). Neither rdkafka_mock.h nor a `test.mock.*` configuration property can
 * change these limits (true from librdkafka 1.x up to at least 2.15).
 *
 * With --max-bytes, and only for the librdkafka 2.0.x mock whose internal
 * layout (src/rdkafka_mock_int.h of v2.0.2, Debian 12's librdkafka) is
 * mirrored below, this program raises max_size of the partitions of the
 * topics it created to BYTES and lifts max_cnt, after checking that every
 * field it reads has the value librdkafka put there (cluster handle, broker
 * and topic counts, topic name, partition ids and back pointers, the 5 MiB
 * and 100 000 defaults). If any check fails, or the library is another
 * version, nothing is written and the default limits stay.
 * It prints one line saying which:
 *   RETENTION raised <max_bytes> <max_batches> <librdkafka version>
 *   RETENTION fixed <max_bytes> <max_batches> <librdkafka version> <reason>
 * The harness (kafkaMock.ts) checks low watermarks anyway, so a dropped
 * message is reported either way.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MOCK_DEFAULT_MAX_SIZE ((size_t)1024 * 1024 * 5)
#define MOCK_DEFAULT_MAX_CNT ((size_t)100000)

/* ---- Mirror of librdkafka 2.0.x internals (src/rdkafka_mock_int.h, rdlist.h,
 *      rdtypes.h, queue.h of v2.0.2); only read after verification. ---- */
struct rk20_tailq { void *first; void **last; }; /* TAILQ_HEAD and TAILQ_ENTRY */
struct rk20_topic;
typedef struct rk20_partition {
  struct rk20_tailq leader_link;
  int32_t id;
  int64_t start_offset;
  int64_t end_offset;
  int64_t follower_start_offset;
  int64_t follower_end_offset;
  uint8_t update_follower_start_offset; /* rd_bool_t is uint8_t */
  uint8_t update_follower_end_offset;
  struct rk20_tailq msgsets;
  size_t size;
  size_t cnt;
  size_t max_size;
  size_t max_cnt;
  struct rk20_tailq committed_offsets;
  void *leader;
  void **replicas;
  int replica_cnt;
  struct { /* rd_list_t */
    int rl_size;
    int rl_cnt;
    void **rl_elems;
    void (*rl_free_cb)(void *);
    int rl_flags;
    int rl_elemsize;
    void *rl_p;
  } pidstates;
  int32_t follower_id;
  struct rk20_topic *topic;
} rk20_partition_t;
typedef struct rk20_topic {
  struct rk20_tailq link; /* link.first is the next topic */
  char *name;
  rk20_partition_t *partitions;
  int partition_cnt;
  int err;
  void *cluster;
} rk20_topic_t;
typedef struct rk20_cluster { /* prefix of struct rd_kafka_mock_cluster_s */
  char id[32];
  rd_kafka_t *rk;
  int32_t controller_id;
  struct rk20_tailq brokers;
  int broker_cnt;
  struct rk20_tailq topics;
  int topic_cnt;
} rk20_cluster_t;

/* Finds the topic `name` of the mock cluster, or NULL. */
static rk20_topic_t *rk20_topic(rk20_cluster_t *c, const char *name) {
  rk20_topic_t *t = (rk20_topic_t *)c->topics.first;
  for (int i = 0; t != NULL && i < c->topic_cnt; i++, t = (rk20_topic_t *)t->link.first)
    if (t->name != NULL && strcmp(t->name, name) == 0) return t;
  return NULL;
}

/*
 * Sets max_size/max_cnt of every partition of `names` (which this program
 * created, with `partitions[i]` partitions each), all or nothing. Returns NULL
 * on success, else why not.
 */
static const char *raise_limits(rd_kafka_mock_cluster_t *mc, rd_kafka_t *rk, int brokers, int ntopics,
                                char **names, const int *partitions, size_t max_size, size_t max_cnt) {
  int v = rd_kafka_version();
  if ((v >> 16) != 0x0200) return "internal-layout-known-only-for-librdkafka-2.0.x";
  rk20_cluster_t *c = (rk20_cluster_t *)mc;
  if (c->rk != rk || rd_kafka_mock_cluster_handle(mc) != rk || c->broker_cnt != brokers || c->topic_cnt != ntopics)
    return "cluster-layout-mismatch";
  for (int pass = 0; pass < 2; pass++) { /* pass 0 verifies everything, pass 1 writes */
    for (int i = 0; i < ntopics; i++) {
      rk20_topic_t *t = rk20_topic(c, names[i]);
      if (t == NULL || t->cluster != (void *)mc || t->partition_cnt != partitions[i] || t->partitions == NULL)
        return "topic-layout-mismatch";
      for (int p = 0; p < t->partition_cnt; p++) {
        rk20_partition_t *mp = &t->partitions[p];
        if (pass == 0) {
          if (mp->id != p || mp->topic != t || mp->max_size != MOCK_DEFAULT_MAX_SIZE ||
              mp->max_cnt != MOCK_DEFAULT_MAX_CNT || mp->cnt != 0 || mp->size != 0 || mp->start_offset != 0)
            return "partition-layout-mismatch";
        } else {
          mp->max_size = max_size;
          mp->max_cnt = max_cnt;
        }
      }
    }
  }
  /* A no-op request through the cluster's op queue (broker 1's rtt is 0 by
   * default), so that the mock thread sees the new limits. */
  rd_kafka_mock_broker_set_rtt(mc, 1, 0);
  return NULL;
}

static volatile sig_atomic_t stop = 0;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  char err[512];
  int arg = 1;
  size_t max_bytes = 0; /* 0: keep librdkafka's limits */
  if (argc > 2 && strcmp(argv[1], "--max-bytes") == 0) {
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(argv[2], &end, 10);
    if (errno != 0 || end == argv[2] || *end != '\0' || n == 0 || n > SIZE_MAX) {
      fprintf(stderr, "--max-bytes: not a positive byte count: %s\n", argv[2]);
      return 2;
    }
    max_bytes = (size_t)n;
    arg = 3;
  }
  if (argc <= arg) {
    fprintf(stderr, "usage: %s [--max-bytes BYTES] BROKERS [TOPIC:PARTITIONS ...]\n", argv[0]);
    return 2;
  }
  int brokers = atoi(argv[arg]);
  if (brokers < 1) brokers = 1;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The mock cluster warns that it is for testing only: silence it. */
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == NULL) {
    fprintf(stderr, "rd_kafka_new: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (mc == NULL) {
    fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    return 1;
  }
  int ntopics = argc - arg - 1;
  char **names = calloc((size_t)(ntopics > 0 ? ntopics : 1), sizeof *names);
  int *counts = calloc((size_t)(ntopics > 0 ? ntopics : 1), sizeof *counts);
  if (names == NULL || counts == NULL) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  for (int i = 0; i < ntopics; i++) {
    char *spec = strdup(argv[arg + 1 + i]);
    char *colon = strrchr(spec, ':');
    int partitions = 1;
    if (colon != NULL) {
      *colon = '\0';
      partitions = atoi(colon + 1);
      if (partitions < 1) partitions = 1;
    }
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, spec, partitions, 1);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      fprintf(stderr, "topic %s: %s\n", spec, rd_kafka_err2str(e));
      return 1;
    }
    names[i] = spec;
    counts[i] = partitions;
  }
  const char *why = "not-asked";
  if (max_bytes > 0) why = raise_limits(mc, rk, brokers, ntopics, names, counts, max_bytes, SIZE_MAX);
  if (why == NULL)
    printf("RETENTION raised %zu %zu %s\n", max_bytes, (size_t)SIZE_MAX, rd_kafka_version_str());
  else
    printf("RETENTION fixed %zu %zu %s %s\n", MOCK_DEFAULT_MAX_SIZE, MOCK_DEFAULT_MAX_CNT, rd_kafka_version_str(), why);
  for (int i = 0; i < ntopics; i++) free(names[i]);
  free(names);
  free(counts);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  /* Serve until stdin closes (the parent died) or a signal arrives. A line
   * "ERRORS <api key> <error code> <count>" on stdin makes the next <count>
   * requests of that API fail with that error (rd_kafka_mock_push_request_errors_array);
   * it is answered with "ERRORS pushed" on stdout. */
  char buf[256];
  size_t have = 0;
  while (!stop) {
    ssize_t n = read(0, buf + have, sizeof buf - 1 - have);
    if (n <= 0) break;
    have += (size_t)n;
    buf[have] = '\0';
    char *nl;
    while ((nl = strchr(buf, '\n')) != NULL) {
      *nl = '\0';
      int api = 0, code = 0, count = 0;
      if (sscanf(buf, "ERRORS %d %d %d", &api, &code, &count) == 3 && count > 0 && count <= 1000) {
        rd_kafka_resp_err_t *errs = malloc(sizeof *errs * (size_t)count);
        for (int i = 0; i < count; i++) errs[i] = (rd_kafka_resp_err_t)code;
        rd_kafka_mock_push_request_errors_array(mc, (int16_t)api, (size_t)count, errs);
        free(errs);
        printf("ERRORS pushed\n");
      } else {
        printf("ERRORS refused\n");
      }
      fflush(stdout);
      size_t used = (size_t)(nl - buf) + 1;
      memmove(buf, nl + 1, have - used + 1);
      have -= used;
    }
    if (have == sizeof buf - 1) have = 0; /* an overlong line: dropped */
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
