import type { ChainStreamRequest } from "../model/chain-read";
import { chainCopyStatement, type ChainTables } from "./prisma-chain-read";
import { checkOut, type PgPoolLike } from "./pg-pool";

const NEWLINE = 0x0a;

/**
 * Re-cuts a byte stream of rows (each ending in `\n`) into chunks of whole rows, at most
 * `limit` rows each, in order; each chunk owns its memory (its own `ArrayBuffer`, which can
 * be transferred to a thread). A last row without its `\n` is a chunk of its own.
 */
export async function* wholeRows(source: AsyncIterable<Uint8Array>, limit: number): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let rows = 0;
  const take = (): Uint8Array => {
    const chunk = Buffer.concat(parts);
    parts = [];
    rows = 0;
    // Buffer.concat may hand out a slice of a shared pool: copy it into a buffer of its own.
    return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : new Uint8Array(chunk);
  };
  for await (const bytes of source) {
    let from = 0;
    for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) {
      if (++rows < limit) continue;
      parts.push(bytes.subarray(from, at + 1));
      from = at + 1;
      yield take();
    }
    if (from < bytes.length) parts.push(bytes.subarray(from));
  }
  if (parts.length > 0) yield take();
}

/**
 * Reads the whole chain sequence of `request` with one `COPY ... TO STDOUT` on a connection
 * of `pool`, in a read-only transaction whose settings fix the text's form (UTF-8, floats
 * in their shortest exact form), as chunks of whole rows (see {@link ChainStreamRequest}).
 * One statement: one snapshot of the three tables, so an archival running meanwhile cannot
 * show an event twice or hide it. The connection goes back to the pool at the end; a read
 * ended early discards it (its `COPY` may be unfinished).
 *
 * @throws the driver's error when the database cannot read.
 */
export async function* readChainText(pool: PgPoolLike, tables: ChainTables, request: ChainStreamRequest): AsyncGenerator<Uint8Array> {
  // Loaded here: pg-copy-streams is needed only by a store given a pgPool.
  const { to } = await import("pg-copy-streams");
  const client = await checkOut(pool);
  let done = false;
  try {
    await client.query("BEGIN READ ONLY");
    await client.query("SET LOCAL client_encoding = 'UTF8'; SET LOCAL extra_float_digits = 1");
    const stream = client.query(to(chainCopyStatement(tables, request)));
    try {
      yield* wholeRows(stream, request.limit);
    } finally {
      stream.destroy();
    }
    await client.query("COMMIT");
    done = true;
  } finally {
    client.release(done ? undefined : true);
  }
}
