import { defineConfig } from 'tsup';
import { tsupOptions } from '../../tsup.base';

export default defineConfig(
  tsupOptions(
    { index: 'src/index.ts', client: 'src/client/index.ts', protocol: 'src/protocol.ts' },
    { external: ['@tickflow/core', 'ws', 'msgpackr', 'jose', 'ioredis', 'eventemitter3', 'zod'] },
  ),
);
