/*
 * A Kafka-protocol broker for tests: librdkafka's mock cluster (rdkafka_mock.h,
 * Debian librdkafka-dev). Usage: kafka-mock BROKERS TOPIC:PARTITIONS...
 * Prints "BOOTSTRAP <host:port,...>" on stdout once the topics exist, then
 * serves until stdin closes or SIGTERM/SIGINT arrives.
 * Build: gcc -O2 -o kafka-mock kafkaMock.c -lrdkafka
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop = 0;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  char err[512];
  if (argc < 2) {
    fprintf(stderr, "usage: %s BROKERS [TOPIC:PARTITIONS ...]\n", argv[0]);
    return 2;
  }
  int brokers = atoi(argv[1]);
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
  for (int i = 2; i < argc; i++) {
    char *spec = strdup(argv[i]);
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
    free(spec);
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  /* Serve until stdin closes (the parent died) or a signal arrives. */
  char buf[256];
  while (!stop) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n <= 0) break;
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
