// @tickflow/core/kafka: the Kafka consumer for pipeline jobs (loads kafkajs and msgpackr).
export { KafkaConsumer, kafkaConsumer } from './kafkaConsumer.js';
export { DEAD_LETTER_REASON_HEADER, DEAD_LETTER_ORIGIN_HEADER } from './kafkaConsumerOptions.js';
export type { KafkaConsumerOptions, KafkaConsumerStats, KafkaRunOptions, KafkaLateEvent } from './kafkaConsumerOptions.js';
export { fileCheckpoints } from './checkpointStore.js';
export type { Checkpoint, CheckpointScope, CheckpointStore } from './checkpointStore.js';
export { PartitionProgress, encodeCommitMetadata, decodeCommitMetadata } from './partitionProgress.js';
export { decodeKafkaValue, parseKafkaValueFormat, UndecodableValue } from './kafkaValueCodec.js';
export type { KafkaValueFormat } from './kafkaValueCodec.js';
