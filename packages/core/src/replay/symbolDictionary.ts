import { Buffer } from 'node:buffer';
import { MAX_SYMBOL_LENGTH } from '../events/symbol.js';
import { SLOW, hashBytes } from './scanBytes.js';

/**
 * The symbol dictionary of a TradeScanner: one string per distinct symbol,
 * found from its bytes by open addressing over the symbol bytes (no string
 * per line), with whether the symbol list allows it.
 */
export class SymbolDictionary {
  /** Id → symbol (the `symbols` of the scanned columns; the same array across batches). */
  readonly dict: string[] = [];
  private readonly ids = new Map<string, number>();
  private dictAllowed = new Uint8Array(64);
  private table = new Int32Array(256).fill(-1);
  private hashes = new Int32Array(64);
  private pool = new Uint8Array(64 * MAX_SYMBOL_LENGTH);
  private lens = new Uint8Array(64);

  constructor(private readonly allowed: ReadonlySet<string> | undefined) {}

  /** Dictionary id of a symbol given as a string (slow path). */
  symbolIdOf(symbol: string): number {
    const id = this.ids.get(symbol);
    if (id !== undefined) return id;
    const bytes = Buffer.from(symbol, 'latin1');
    return this.addSymbol(symbol, bytes, 0, bytes.length, hashBytes(bytes, 0, bytes.length));
  }

  /**
   * Dictionary id of the printable-ASCII symbol in `buf[a, b)`, or SLOW when
   * the symbol list rejects it (the line parser writes that dead letter).
   */
  symbolIdAt(buf: Uint8Array, a: number, b: number): number {
    const h = hashBytes(buf, a, b);
    const table = this.table;
    const mask = table.length - 1;
    const len = b - a;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const id = table[slot]!;
      if (id < 0) break;
      if (this.hashes[id] !== h || this.lens[id] !== len) continue;
      const base = id * MAX_SYMBOL_LENGTH;
      let k = 0;
      while (k < len && this.pool[base + k] === buf[a + k]) k++;
      if (k === len) return this.dictAllowed[id] === 1 ? id : SLOW;
    }
    const symbol = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1', a, b);
    const existing = this.ids.get(symbol);
    // Known from the slow path but not yet in the byte table: add it there.
    const id = this.addSymbol(symbol, buf, a, b, h, existing);
    return this.dictAllowed[id] === 1 ? id : SLOW;
  }

  private addSymbol(symbol: string, buf: Uint8Array, a: number, b: number, h: number, existing?: number): number {
    let id = existing;
    if (id === undefined) {
      id = this.dict.length;
      this.dict.push(symbol);
      this.ids.set(symbol, id);
      if (id >= this.hashes.length) {
        const cap = this.hashes.length * 2;
        const hashes = new Int32Array(cap); hashes.set(this.hashes); this.hashes = hashes;
        const lens = new Uint8Array(cap); lens.set(this.lens); this.lens = lens;
        const allowed = new Uint8Array(cap); allowed.set(this.dictAllowed); this.dictAllowed = allowed;
        const pool = new Uint8Array(cap * MAX_SYMBOL_LENGTH); pool.set(this.pool); this.pool = pool;
      }
      this.dictAllowed[id] = this.allowed === undefined || this.allowed.has(symbol) ? 1 : 0;
    }
    const len = b - a;
    if (len > MAX_SYMBOL_LENGTH) return id; // never looked up by bytes (the fast path only takes valid symbols)
    this.hashes[id] = h;
    this.lens[id] = len;
    this.pool.set(buf.subarray(a, b), id * MAX_SYMBOL_LENGTH);
    if ((this.dict.length + 1) * 2 > this.table.length) this.rehash();
    else this.insert(id, h);
    return id;
  }

  private insert(id: number, h: number): void {
    const table = this.table;
    const mask = table.length - 1;
    let slot = h & mask;
    while (table[slot]! >= 0) slot = (slot + 1) & mask;
    table[slot] = id;
  }

  private rehash(): void {
    this.table = new Int32Array(this.table.length * 2).fill(-1);
    for (let id = 0; id < this.dict.length; id++) if (this.lens[id] !== 0) this.insert(id, this.hashes[id]!);
  }
}
