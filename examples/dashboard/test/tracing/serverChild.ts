// The reference server as its own process (bundled by childScripts.ts): settings as JSON in SERVER_CONFIG,
// JSON log lines on stdout, `ready <url>` on stderr once it listens; SIGTERM closes it (flushing its spans).
import { pino } from 'pino';
import { startReferenceServer } from '../../src/server/referenceServer.js';

const server = await startReferenceServer(JSON.parse(process.env.SERVER_CONFIG ?? '{}') as Record<string, unknown>, pino({ level: 'debug' }));
process.stderr.write(`ready ${server.url}\n`);
process.once('SIGTERM', () => {
  void server.close().finally(() => process.exit(0));
});
