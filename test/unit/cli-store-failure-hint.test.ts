import fc from "fast-check";

import { AuditConfigError, AuditError, AuditStoreError } from "../../src/errors";
import { ExitCode } from "../../src/cli/exit-codes";
import { reportError } from "../../src/cli/report-error";
import { databaseAnswerCode } from "../../src/stores/store-failure";

// What the CLI adds to a store failure follows what the database answered, wherever in the
// cause chain and in whichever driver's shape the answer sits. The same errors from real
// databases: test/cli/grants.test.ts.

const OUTAGE = "Check that the database is running and reachable";
const ROLE = "The database refused the role your config file connects as";
const LOGIN = "The database refused the login";
const NO_DATABASE = "The server has no database of that name";

/** The code's class, and the hint each class gets. */
const CLASSES = {
  unavailable: { codes: ["08006", "08001", "08P01", "57P01", "57P03", "53300", "1040", "1053", "2002", "2013"], hint: OUTAGE },
  privilege: { codes: ["42501", "1044", "1142", "1143"], hint: ROLE },
  login: { codes: ["28000", "28P01", "1045"], hint: LOGIN },
  noDatabase: { codes: ["3D000", "1049"], hint: NO_DATABASE },
  other: { codes: ["42703", "22001", "23505", "1406", "40001", "XX000"], hint: undefined },
} as const;
const HINTS = [OUTAGE, ROLE, LOGIN, NO_DATABASE];

/** The answer `code` as each driver hands it over. */
const SHAPES: Record<string, (code: string) => object> = {
  // PrismaClientKnownRequestError of a raw query through a driver adapter.
  prisma: (code) => Object.assign(new Error(`\nInvalid \`prisma.$queryRawUnsafe()\` invocation:\n\n\nRaw query failed. Code: \`${code}\`. Message: \`no\``), { code: "P2010", meta: { driverAdapterError: { cause: { originalCode: code } } } }),
  // The adapter's own error at COMMIT.
  adapter: (code) => Object.assign(new Error("commit failed"), { name: "DriverAdapterError", cause: { originalCode: code } }),
  // node-postgres' DatabaseError (a read through pgPool).
  pg: (code) => Object.assign(new Error("refused"), { severity: "ERROR", code }),
  // mariadb's SqlError.
  mariadb: (code) => Object.assign(new Error("refused"), { errno: Number(code), sqlState: "42000" }),
  // mariadb's pool timeout, the server's answer only in its text.
  mariadbPool: (code) =>
    Object.assign(new Error("pool timeout"), {
      code: "P2010",
      meta: { driverAdapterError: { cause: { originalCode: "45028", cause: `(conn:7, no: ${code}, SQLState: 42000) Access denied` } } },
    }),
};
/** The codes a shape can carry: a MySQL error number on mariadb's, a SQLSTATE on node-postgres'. */
const carries: Record<string, (code: string) => boolean> = {
  pg: (code) => code.length === 5,
  mariadb: (code) => /^\d{4}$/.test(code),
  mariadbPool: (code) => /^\d{4}$/.test(code),
};

/** `inner` under `depth` wrappers, the outermost the store's own error. */
function wrapped(inner: object, depth: number): AuditStoreError {
  let error: unknown = inner;
  for (let i = 0; i < depth; i++) error = Object.assign(new Error(`layer ${i}`), { cause: error });
  return new AuditStoreError("prisma(auditEvent): could not read events: refused", { cause: error });
}

function reported(error: unknown): string {
  let text = "";
  reportError(error, { write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WritableStream, false);
  return text;
}

describe("the CLI's hint after a store failure", () => {
  it("follows the class of the database's answer, in every driver's shape, at any depth of the cause chain", () => {
    const classNames = Object.keys(CLASSES) as (keyof typeof CLASSES)[];
    const cases = fc
      .record({ klass: fc.constantFrom(...classNames), shape: fc.constantFrom(...Object.keys(SHAPES)), depth: fc.integer({ min: 0, max: 3 }), pick: fc.nat() })
      .map(({ klass, shape, depth, pick }) => {
        const codes = CLASSES[klass].codes.filter((code) => carries[shape]?.(code) ?? true);
        return { klass, shape, depth, code: codes[pick % Math.max(codes.length, 1)] };
      })
      .filter((c) => c.code !== undefined);
    fc.assert(
      fc.property(cases, ({ klass, shape, depth, code }) => {
        const error = wrapped(SHAPES[shape]!(code!), depth);
        expect(databaseAnswerCode(error)).toBe(code);
        const text = reported(error);
        const expected = CLASSES[klass].hint;
        for (const hint of HINTS) expect(text.includes(hint)).toBe(hint === expected);
      }),
      { numRuns: 300 },
    );
  });

  it("says to check that the database runs when none answered: a refused connection, Prisma's can't reach, a driver's own timeout", () => {
    const unanswered = [
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED", errno: -111, syscall: "connect" }),
      Object.assign(new Error("Can't reach database server at 127.0.0.1:1"), { code: "P1001" }),
      Object.assign(new Error("pool timeout"), { code: "P2010", meta: { driverAdapterError: { cause: { originalCode: "45028" } } } }),
      new Error("socket hang up"),
    ];
    for (const cause of unanswered) {
      expect(databaseAnswerCode(cause)).toBeUndefined();
      const text = reported(wrapped(cause, 1));
      expect(text).toContain(OUTAGE);
      for (const hint of HINTS.filter((h) => h !== OUTAGE)) expect(text).not.toContain(hint);
    }
  });

  it("adds no hint to an archival failure that no database answered, and the database's own to one it did", () => {
    const archive = (cause: unknown) => Object.assign(new AuditError("ERR_AUDIT_ARCHIVE", "archival failed", { cause }), { archived: 3 });
    const unanswered = reported(archive(new Error("connection reset by peer")));
    expect(unanswered).toContain("archival failed after moving 3 event(s) to the archive.\n  connection reset by peer\nEvery event moved");
    for (const hint of HINTS) expect(unanswered).not.toContain(hint);
    const refused = reported(archive(SHAPES.pg!("42501")));
    expect(refused).toContain(`\n  ${ROLE}`);
    expect(refused).not.toContain(OUTAGE);
  });

  it("says 'cannot archive' of a configuration error under an archival failure only, and exits 3 for every configuration error", () => {
    const sink = () => {
      let text = "";
      return { stream: { write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WritableStream, text: () => text };
    };
    for (const code of ["ERR_AUDIT_CONFIG", "ERR_AUDIT_NO_STORE"] as const) {
      const bare = sink();
      expect(reportError(new AuditConfigError("no store is configured", code), bare.stream, false)).toBe(ExitCode.Config);
      expect(bare.text()).toBe("error: no store is configured\n");
      const underArchive = sink();
      const archival = Object.assign(new AuditError("ERR_AUDIT_ARCHIVE", "archival failed", { cause: new AuditConfigError("the archive model needs an archivedAt field", code) }), { archived: 0 });
      expect(reportError(archival, underArchive.stream, false)).toBe(ExitCode.Config);
      expect(underArchive.text()).toBe("error: the store in the config file cannot archive: the archive model needs an archivedAt field\n");
    }
  });
});
