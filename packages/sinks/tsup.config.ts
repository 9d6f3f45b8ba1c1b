import { defineConfig } from 'tsup';
import { tsupOptions } from '../../tsup.base';

export default defineConfig(
  tsupOptions(
    { index: 'src/index.ts', clickhouse: 'src/clickhouse/index.ts', timescale: 'src/timescale/index.ts', redis: 'src/redis/index.ts', kafka: 'src/kafka/index.ts' },
    { external: ['@tickflow/core', '@clickhouse/client', 'postgres', 'ioredis', 'kafkajs', 'msgpackr', 'opossum', 'eventemitter3', 'zod'], platform: 'node' },
  ),
);
