// @tickflow/test-services: real servers for integration tests, started on loopback.
export { startRedis, startRestartableRedis, redisCommand, redisQuery } from './redis.js';
export type { RedisOptions, RedisNode, RestartableRedis, RespValue } from './redis.js';
export { startPostgres } from './postgres.js';
export { startRedisSentinel } from './redisSentinel.js';
export type { RedisSentinelOptions, RedisAddress, RunningRedisSentinel } from './redisSentinel.js';
export type { PostgresService } from './postgres.js';
export { ensureDebianPrograms } from './debianPackages.js';
export type { DebianProgram } from './debianPackages.js';
export { freePort, waitFor } from './freePort.js';
export type { RunningService } from './runningService.js';
export { startTimescale } from './timescale.js';
export type { TimescaleOptions } from './timescale.js';
export { startClickHouse, startClickHouseShards } from './clickhouse.js';
export type { ClickHouseOptions, ClickHouseService, ClickHouseShards } from './clickhouse.js';
export { loadChdb, loadChdbConnection, chdbCacheDir } from './chdb.js';
export type { ChdbConnectionModule, ChdbModule, ChdbSession } from './chdb.js';
export { startKafka, buildKafkaMock, TICKFLOW_TOPICS, KafkaRetentionError, DEFAULT_MAX_BYTES_PER_PARTITION } from './kafkaMock.js';
export type { KafkaOptions, KafkaService, KafkaTopic, KafkaRetention, KafkaDroppedPartition } from './kafkaMock.js';
