// `tickflow produce` as its own process (bundled by childScripts.ts): options as JSON in PRODUCE_OPTIONS;
// tracing follows OTEL_EXPORTER_OTLP_ENDPOINT as in the CLI.
import type { ProduceOptions } from '../../src/produceCommand.js';
import { produceCommand } from '../../src/produceCommand.js';

const options = JSON.parse(process.env.PRODUCE_OPTIONS ?? '{}') as ProduceOptions;
const summary = await produceCommand(options, { stderr: process.stderr });
process.stdout.write(`${JSON.stringify(summary)}\n`);
