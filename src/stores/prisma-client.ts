/**
 * The parts of a Prisma client the Prisma store calls, typed by shape so the library never
 * imports the application's generated client.
 */

/** The raw-query part of a Prisma client or transaction client. */
export interface RawClient {
  $queryRawUnsafe<T = unknown>(sql: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number>;
}

/** A Prisma client that can run an interactive transaction. */
export interface TransactionalClient extends RawClient {
  $transaction<T>(fn: (tx: RawClient & Record<string, unknown>) => Promise<T>, options?: { isolationLevel?: string; timeout?: number; maxWait?: number }): Promise<T>;
}

/** A client or transaction client: raw SQL plus the model delegates. */
export type ModelClient = RawClient & Record<string, unknown>;
