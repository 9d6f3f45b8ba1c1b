// Kafka producer of the e2e benchmark, in its own process (forked by run.mjs):
// produces trades at `rate` per second to the `trades` topic (MessagePack
// values, key = symbol, kafkajs's default partitioner), in ~10 ms steps,
// catching up on drift, one sendBatch in flight (the next batch grows while
// one is on the wire). Each trade's `ts` is Date.now() when its batch is
// built, so end-to-end latency in Kafka mode runs from the producer's send.
// IPC parent → child: {type:'stop'} → {type:'stopped', produced, seconds}.
import kafkajs from 'kafkajs';
import { pack } from 'msgpackr';
import { tradeWalk } from './tradeWalk.mjs';

const { brokers, topic, rate, symbols } = JSON.parse(process.env.E2E_PRODUCER);
const { Kafka, Partitioners, logLevel } = kafkajs;
const kafka = new Kafka({ clientId: 'tickflow-bench-e2e', brokers, logLevel: logLevel.NOTHING });
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
await producer.connect();

const next = tradeWalk(symbols);
let produced = 0;
let failures = 0;
let stopping = false;
const started = Date.now();

async function loop() {
  while (!stopping) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    if (due > produced) {
      const ts = Date.now();
      const messages = [];
      for (; produced < due; produced++) {
        const t = next();
        const trade = { symbol: t.symbol, ts, price: t.price, size: t.size, side: t.side, id: `e2e-${started}-${produced}` };
        messages.push({ key: trade.symbol, value: pack(trade) });
      }
      try {
        await producer.sendBatch({ topicMessages: [{ topic, messages }], acks: -1 });
      } catch {
        failures++;
      }
    } else await new Promise((r) => setTimeout(r, 10));
  }
}
const running = loop();
process.send({ type: 'ready' });
process.on('message', async (m) => {
  if (m.type !== 'stop') return;
  stopping = true;
  await running;
  const seconds = (Date.now() - started) / 1000;
  await producer.disconnect().catch(() => undefined);
  process.send({ type: 'stopped', produced, failures, seconds });
  process.exit(0);
});
