// A ws-server process bridged through Redis, driven by the bridge test over stdin/stdout.
// stdin lines: {"publish":"trades","events":[...]} or "close"; stdout: "READY <url>", "CLOSED".
import { createInterface } from 'node:readline';
import { redisBridge, startWsServer } from '../src/index.js';
import type { FeedKind } from '../src/index.js';

const server = await startWsServer({ flushInterval: 5, bridge: redisBridge({ url: process.env.REDIS_URL!, channel: 'tickflow:test' }) });
process.stdout.write(`READY ${server.url}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'close') break;
  const cmd = JSON.parse(line) as { publish: FeedKind; events: never[] };
  server.publish(cmd.publish, cmd.events);
}
await server.close({ timeout: 1_000 });
process.stdout.write('CLOSED\n', () => process.exit(0));
