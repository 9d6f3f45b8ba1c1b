// @tickflow/core/replay: file and stream replay of NDJSON and CSV trades (Node only).
export {};
