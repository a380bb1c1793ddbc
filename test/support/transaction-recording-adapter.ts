import type { SqlDriverAdapter, SqlDriverAdapterFactory, SqlQuery, Transaction } from "@prisma/driver-adapter-utils";

/** One transaction a Prisma client ran through its driver adapter. */
export interface RecordedTransaction {
  /** UTF-8 bytes of its statements' SQL text and arguments (array items counted one by one). */
  bytes: number;
  /** Every string argument it was given, in order (array items flattened): the ids it wrote are in them. */
  strings: string[];
  /** Whether it committed (rather than rolled back). */
  committed: boolean;
}

function argumentBytes(value: unknown, strings: string[]): number {
  if (typeof value === "string") {
    strings.push(value);
    return Buffer.byteLength(value, "utf8");
  }
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + argumentBytes(item, strings), 0);
  return value === null || value === undefined ? 0 : String(value).length;
}

function note(query: SqlQuery, seen: RecordedTransaction): void {
  seen.bytes += Buffer.byteLength(query.sql, "utf8") + argumentBytes(query.args, seen.strings);
}

/** A statement outside any transaction commits on its own: a transaction of one statement. */
function autocommitted(query: SqlQuery, into: RecordedTransaction[]): void {
  const seen: RecordedTransaction = { bytes: 0, strings: [], committed: true };
  note(query, seen);
  into.push(seen);
}

function recordingTransaction(tx: Transaction, seen: RecordedTransaction): Transaction {
  return Object.assign(Object.create(tx) as Transaction, {
    queryRaw: (query: SqlQuery) => (note(query, seen), tx.queryRaw(query)),
    executeRaw: (query: SqlQuery) => (note(query, seen), tx.executeRaw(query)),
    commit: async () => {
      await tx.commit();
      seen.committed = true;
    },
    rollback: () => tx.rollback(),
  });
}

/**
 * `factory` with every transaction its connections start recorded in `into` (in the
 * order they start; a statement outside a transaction as one of its own): what each
 * transaction sent to the database, so a test sees how a
 * write was split into transactions and how large each one was.
 *
 * @example
 * ```ts
 * const transactions: RecordedTransaction[] = [];
 * const client = connectClient(db, {}, (adapter) => recordTransactions(adapter, transactions));
 * ```
 */
export function recordTransactions<F extends SqlDriverAdapterFactory>(factory: F, into: RecordedTransaction[]): F {
  return Object.assign(Object.create(factory) as F, {
    connect: async () => {
      const adapter = await factory.connect();
      return Object.assign(Object.create(adapter) as SqlDriverAdapter, {
        queryRaw: (query: SqlQuery) => (autocommitted(query, into), adapter.queryRaw(query)),
        executeRaw: (query: SqlQuery) => (autocommitted(query, into), adapter.executeRaw(query)),
        startTransaction: async (...args: Parameters<SqlDriverAdapter["startTransaction"]>) => {
          const seen: RecordedTransaction = { bytes: 0, strings: [], committed: false };
          into.push(seen);
          return recordingTransaction(await adapter.startTransaction(...args), seen);
        },
      });
    },
  });
}
