import type { WindowRef } from '../aggregator.js';

/** The WindowRef handed to `result`: one object, refilled before each call. */
export class MutableWindowRef implements WindowRef {
  key = '';
  timeframe = '';
  start = 0;
  end = 0;
  final = false;
  rev = 0;
}
