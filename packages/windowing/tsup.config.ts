import { defineConfig } from 'tsup';
import { tsupOptions } from '../../tsup.base';

export default defineConfig(tsupOptions({ index: 'src/index.ts', extend: 'src/extend/index.ts' }, { external: ['@tickflow/core'] }));
