export { currentTracer, rememberContext, setTracer, tickTraced } from './tracer.js';
export type { TraceAttributes, TraceContext, TraceHeaders, TraceSpan, TraceSpanKind, TraceSpanOptions, Tracer } from './tracer.js';
