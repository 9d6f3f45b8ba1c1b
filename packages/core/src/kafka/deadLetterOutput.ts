import type { Kafka, Producer } from 'kafkajs';
import type { DeadLetterMessage } from './batchReader.js';
import { DEAD_LETTER_ORIGIN_HEADER, DEAD_LETTER_REASON_HEADER } from './kafkaConsumerOptions.js';

/**
 * Where a consumer's bad messages go: the dead-letter topic (its own
 * producer, acks from all replicas) when one is set, else a warning each.
 */
export class DeadLetterOutput {
  private producer: Producer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string | undefined,
    private readonly warn: (m: string) => void,
  ) {}

  /** Connects the producer (when there is a dead-letter topic). */
  async connect(): Promise<void> {
    if (this.topic !== undefined) {
      this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
      await this.producer.connect();
    }
  }

  /** Sends `messages`; resolves once the broker acknowledged them. */
  async send(messages: DeadLetterMessage[]): Promise<void> {
    if (this.producer === undefined || this.topic === undefined) {
      for (const m of messages) this.warn(`bad message ${m.headers[DEAD_LETTER_ORIGIN_HEADER]}: ${m.headers[DEAD_LETTER_REASON_HEADER]} (set deadLetterTopic to keep it)`);
      return;
    }
    // Awaited before the offset can be committed past these messages: a dead letter is never lost.
    await this.producer.send({ topic: this.topic, acks: -1, messages });
  }

  /** Disconnects the producer (never throws). */
  async disconnect(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
  }
}
