// `node --import ./baselineHooks.mjs`: with TICKFLOW_BASELINE_LIB set, @tickflow/core and
// @tickflow/windowing resolve to that bundle (see baseline.mjs).
import { register } from 'node:module';

register('./baselineResolve.mjs', import.meta.url, { data: { lib: process.env.TICKFLOW_BASELINE_LIB } });
