import { defineConfig } from 'tsup';
import { tsupOptions } from '../../tsup.base';

export default defineConfig(tsupOptions({ index: 'src/index.ts', replay: 'src/replay/index.ts', kafka: 'src/kafka/index.ts', tracing: 'src/tracing/index.ts', synthetic: 'src/synthetic/index.ts', extend: 'src/extend/index.ts', symbols: 'src/events/symbolCheck.ts' }, { external: ['kafkajs', 'msgpackr'] }));
