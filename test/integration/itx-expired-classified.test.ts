import { isTimeLimit } from "../../src/stores/store-failure";
import { openDatabase, type Provider, type TestDatabase } from "../support/databases";

/**
 * Whether a real Prisma interactive transaction that outlives its `timeout` (the buffered
 * writer's 60 s, here 300 ms) is read as a time limit by `isTimeLimit`, per database.
 * The unit tests only build the P2028 error by hand.
 */
type Raw = { $transaction<T>(fn: (tx: { $queryRawUnsafe(sql: string): Promise<unknown>; $executeRawUnsafe(sql: string): Promise<unknown> }) => Promise<T>, o: object): Promise<T> };

jest.setTimeout(60_000);

const SLOW: Record<Provider, string> = {
  postgresql: "SELECT pg_sleep(1)::text AS s",
  mysql: "SELECT SLEEP(1)",
  sqlite: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT COUNT(*) FROM c",
};

describe.each(["postgresql", "mysql"] as const)("%s", (provider) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openDatabase(provider as Provider, { name: "itx_expired" });
  });
  afterAll(async () => {
    await db?.close();
  });
  it.each(["one slow statement", "a slow statement, then another"])("an expired transaction (%s) is a time limit", async (shape) => {
    const error = await (db.prisma as unknown as Raw)
      .$transaction(
        async (tx) => {
          await tx.$queryRawUnsafe(SLOW[provider]);
          if (shape !== "one slow statement") await tx.$queryRawUnsafe("SELECT 1");
        },
        { timeout: 300, maxWait: 5000 },
      )
      .then(
        () => "committed",
        (e: unknown) => e,
      );
    expect(error).not.toBe("committed");
    expect(isTimeLimit(error)).toBe(true);
  });
});
