import { CHAIN_PART_RANK, CHAIN_TEXT_COLUMNS } from "../model/chain-read";
import type { AuditEventRecord } from "../model/event-record";
import { checkedEvent, type CheckedRow } from "./verify-chain";

const NULL = "\\N";
const ESCAPES: Readonly<Record<string, string>> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };
/** How each column reads, by position (this runs for each column of every row). */
const Kind = { Text: 0, Json: 1, Instant: 2, Seq: 3 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];
const NAMES: readonly string[] = [...CHAIN_TEXT_COLUMNS];
const KINDS: readonly Kind[] = NAMES.map((name) =>
  name === "seq" ? Kind.Seq : name === "timestamp" || name === "createdAt" ? Kind.Instant : ["content", "queryParams", "postData", "headers"].includes(name) ? Kind.Json : Kind.Text,
);
const COLUMN = Object.fromEntries(NAMES.map((name, i) => [name, i])) as Record<(typeof CHAIN_TEXT_COLUMNS)[number], number>;
const PART = COLUMN.part;

/** A column's text without COPY's backslash escapes (`\\`, `\t`, `\n`, ...; a backslash before any other character stands for that character). */
function unescaped(raw: string): string {
  return raw.includes("\\") ? raw.replace(/\\(.)/gs, (_, c: string) => ESCAPES[c] ?? c) : raw;
}

/** Column `i`'s value as the paged read gives it: NULL as null, instants as Dates, JSON parsed, `seq` a number. */
function valueOf(i: number, raw: string): unknown {
  const kind = KINDS[i];
  if (kind === Kind.Seq) return Number(raw === NULL ? null : raw);
  if (raw === NULL) return null;
  if (kind === Kind.Instant) return new Date(Number(raw));
  return kind === Kind.Json ? JSON.parse(unescaped(raw)) : unescaped(raw);
}

/**
 * Reads a chunk of the chain sequence as text (see `ChainStreamRequest`: rows of
 * `CHAIN_TEXT_COLUMNS` in PostgreSQL's COPY text format) and checks each event's hash, as
 * `verifyAuditTrail()` does with a page it reads whole: the same rows, with their
 * {@link CheckedEvent}s. Runs in a hashing thread (verify-worker.ts) or on the main one.
 *
 * @example
 * ```ts
 * checkChainText(Buffer.from(copyOutput)); // [{ part: "live", event: { id, seq, fits: true, ... } }, ...]
 * ```
 * @throws {SyntaxError} for a row with another number of columns (a JSON value that does not
 *   parse is not thrown: its event is checked as unreadable, see `checkedEvent`).
 */
export function checkChainText(chunk: Uint8Array): CheckedRow[] {
  const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("utf8");
  const rows: CheckedRow[] = [];
  for (let start = 0; start < text.length; ) {
    const end = text.indexOf("\n", start);
    const line = text.slice(start, end === -1 ? text.length : end);
    start = end === -1 ? text.length : end + 1;
    const columns = line.split("\t");
    if (columns.length !== NAMES.length) throw new SyntaxError(`a row of the chain sequence has ${columns.length} columns, not ${NAMES.length}`);
    const part = Number(columns[PART]);
    if (part === CHAIN_PART_RANK.checkpoint) {
      const at = (name: keyof typeof COLUMN) => valueOf(COLUMN[name], columns[COLUMN[name]]!);
      rows.push({ part: "checkpoint", checkpoint: { chainId: at("chainId") as string, seq: at("seq") as number, hash: at("hash") as string, keyId: at("keyId") as string, signature: at("signature") as string, createdAt: at("createdAt") as Date } });
      continue;
    }
    const record: Record<string, unknown> = {};
    const unreadable: string[] = [];
    for (let i = 0; i < PART; i++) {
      try {
        record[NAMES[i]!] = valueOf(i, columns[i]!);
      } catch (error) {
        // A value no writer stores (JSON that does not parse): the event is reported altered, verification goes on.
        record[NAMES[i]!] = columns[i];
        unreadable.push(`${NAMES[i]}: it holds text that is not JSON (${(error as Error).message})`);
      }
    }
    rows.push({ part: part === CHAIN_PART_RANK.live ? "live" : "archive", event: checkedEvent(record as unknown as AuditEventRecord, unreadable.length === 0 ? undefined : unreadable.join("; ")) });
  }
  return rows;
}
