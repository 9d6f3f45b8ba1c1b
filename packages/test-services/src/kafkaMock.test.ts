import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { startKafka } from './kafkaMock.js';
import type { KafkaService } from './kafkaMock.js';

describe('startKafka', () => {
  let kafka: KafkaService | undefined;
  afterAll(async () => {
    await kafka?.stop();
  });

  it('starts librdkafka\'s mock broker with the topics and partitions asked for, and kafkajs produces and consumes through it', async () => {
    kafka = await startKafka({ topics: ['t-six', { name: 't-two', partitions: 2 }], ownServer: true });
    expect(kafka.brokers[0]).toMatch(/^127\.0\.0\.1:\d+$/);
    const client = new Kafka({ brokers: [...kafka.brokers], logLevel: logLevel.NOTHING });
    const admin = client.admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: ['t-six', 't-two'] });
    expect(meta.topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual([['t-six', 6], ['t-two', 2]]);
    await admin.disconnect();
    const producer = client.producer();
    await producer.connect();
    await producer.send({ topic: 't-two', messages: [{ key: 'a', value: 'x' }, { key: 'b', value: 'y' }] });
    await producer.disconnect();
    const consumer = client.consumer({ groupId: 'g' });
    await consumer.connect();
    await consumer.subscribe({ topics: ['t-two'], fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value!.toString());
          if (seen.length === 2) resolve();
        },
      });
    });
    await consumer.disconnect();
    expect(seen.sort()).toEqual(['x', 'y']);
  }, 120_000);
});
