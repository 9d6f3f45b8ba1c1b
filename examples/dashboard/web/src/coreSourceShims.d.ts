// The page type-checks @tickflow/core from source (the "@tickflow/source" condition), and
// core's synthetic feed (Node only, never bundled into the page) yields with setImmediate.
// Declared here for that type check only, instead of adding all of Node's types to the page.
declare function setImmediate(callback: (value?: unknown) => void): unknown;
