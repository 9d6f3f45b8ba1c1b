// Module resolve hook registered by baselineHooks.mjs.
import { pathToFileURL } from 'node:url';

let lib;

export function initialize(data) {
  lib = data?.lib;
}

export async function resolve(specifier, context, next) {
  if (lib && (specifier === '@tickflow/core' || specifier === '@tickflow/windowing')) return { url: pathToFileURL(lib).href, shortCircuit: true };
  return next(specifier, context);
}
