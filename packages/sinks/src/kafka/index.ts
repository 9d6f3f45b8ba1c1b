// @tickflow/sinks/kafka: windowed results to Kafka topics (loads kafkajs and msgpackr).
export { KafkaTarget, kafka, KAFKA_SINK_TOPICS } from './kafkaTarget.js';
export type { KafkaRowOfKind, KafkaSinkKind, KafkaSinkOptions, KafkaTargetOptions } from './kafkaTarget.js';
