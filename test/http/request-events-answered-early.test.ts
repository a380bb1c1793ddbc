import http from "node:http";
import fc from "fast-check";

import { CLIENT_CLOSED_REQUEST, configureAudit, memoryStore, type AuditEventRecord, type AuditLogger, type MemoryStore } from "../../src";
import { EARLY_KINDS, frameworks, type EarlyKind, type Framework, type RouteApp } from "../support/request-event-apps";

/** A request of the test: one the earlier middleware was done with, or a normal one. */
type Kind = EarlyKind | "normal";

/** The kinds of each framework: not `client-left-midway` on Fastify (see {@link EARLY_KINDS}). */
function earlyKindsOf(framework: Framework): EarlyKind[] {
  return EARLY_KINDS.filter((kind) => framework.kind !== "fastify" || kind !== "client-left-midway");
}

/** How each kind's one request event must read. */
const EXPECTED: Record<Kind, Partial<AuditEventRecord> & { content: Record<string, unknown> }> = {
  normal: { action: "GET /orders/:id", outcome: "success", severity: "info", content: { status: 200, route: "/orders/:id" } },
  "answered-at-once": { action: "GET (unmatched)", outcome: "success", severity: "info", content: { status: 200, route: null } },
  "answered-after-finish": { action: "GET (unmatched)", outcome: "success", severity: "info", content: { status: 200, route: null } },
  "answered-after-close": { action: "GET (unmatched)", outcome: "success", severity: "info", content: { status: 200, route: null } },
  "client-left": { action: "GET (unmatched)", outcome: "failure", severity: "warning", content: { status: CLIENT_CLOSED_REQUEST, route: null, aborted: true } },
  "client-left-midway": { action: "GET (unmatched)", outcome: "failure", severity: "warning", content: { status: 200, route: null, aborted: true } },
};

/** What the client sees of each kind: the status answered, or null when it left first. */
const ANSWERED: Record<Kind, number | null> = {
  normal: 200,
  "answered-at-once": 200,
  "answered-after-finish": 200,
  "answered-after-close": 200,
  "client-left": null,
  "client-left-midway": null,
};

describe.each(frameworks)("requestEvents on $name, for a request an earlier middleware was done with", (framework) => {
  let store: MemoryStore;
  let app: RouteApp | undefined;
  /** How to make the client of a waiting request go away, by request id. */
  const leave = new Map<string, () => void>();
  const earlier = { waiting: (id: string) => leave.get(id)?.() };
  let sent = 0;

  beforeEach(async () => {
    store = memoryStore();
    // Fastify warns of the hook added before the plugin, as it should.
    const logger: AuditLogger = { warn: () => undefined, error: (message) => void process.stderr.write(`${message}\n`) };
    configureAudit({ store, logger });
    app = await framework.start({ middleware: { requestEvents: true }, earlier });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    leave.clear();
  });

  /**
   * Sends a request of `kind` on a connection of its own; resolves with the status the
   * client got, or null when it left (told to by the earlier middleware's `waiting`).
   */
  function send(kind: Kind): { id: string; answered: Promise<number | null> } {
    const id = `${kind}-${++sent}`;
    const path = kind === "normal" ? "/orders/1" : `/early/${kind}`;
    const answered = new Promise<number | null>((resolve) => {
      const req = http.get({ host: "127.0.0.1", port: app!.port, path, agent: false, headers: { "x-request-id": id } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? null));
      });
      leave.set(id, () => req.destroy());
      req.on("error", () => undefined);
      req.on("close", () => resolve(null));
    });
    return { id, answered };
  }

  /** Waits until every request of `ids` has an event (and a little more, for any second one), then returns them by id. */
  async function eventsOf(ids: string[]): Promise<Map<string, AuditEventRecord[]>> {
    const deadline = Date.now() + 3000;
    const recorded = () => new Set(store.list().map((e) => e.requestId));
    while (!ids.every((id) => recorded().has(id)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 60));
    const byId = new Map<string, AuditEventRecord[]>(ids.map((id) => [id, []]));
    for (const event of store.list()) if (event.contentType === "HttpRequest") byId.get(event.requestId ?? "")?.push(event);
    return byId;
  }

  it.each(earlyKindsOf(framework))("records the request once, as it ended: %s", async (kind) => {
    const { id, answered } = send(kind);
    expect(await answered).toBe(ANSWERED[kind]);
    const events = (await eventsOf([id])).get(id)!;
    expect(events).toEqual([expect.objectContaining({ ...EXPECTED[kind], objectId: id, content: expect.objectContaining(EXPECTED[kind].content) })]);
    if (EXPECTED[kind].content.aborted === undefined) expect(events[0]!.content).not.toHaveProperty("aborted");
  });

  it("says a response body was not captured when it was sent before the middleware saw the request", async () => {
    await app!.close();
    app = await framework.start({ middleware: { requestEvents: { capturePayloads: true } }, earlier });
    const kinds = earlyKindsOf(framework).filter((kind) => kind !== "client-left");
    const requests = ["normal" as const, ...kinds].map((kind) => ({ kind, ...send(kind) }));
    await Promise.all(requests.map((r) => r.answered));
    const byId = await eventsOf(requests.map((r) => r.id));
    for (const { kind, id } of requests) {
      const response = (byId.get(id)![0]!.content as { response: unknown }).response;
      expect([kind, response]).toEqual([kind, kind === "normal" ? { id: "1", token: expect.any(String) } : { _notCaptured: true }]);
    }
  });

  it("records every request exactly once, whatever mix of early answers, early leavers and normal requests arrives together", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom<Kind>("normal", ...earlyKindsOf(framework)), { minLength: 1, maxLength: 6 }), async (kinds) => {
        store.clear();
        const requests = kinds.map((kind) => ({ kind, ...send(kind) }));
        const statuses = await Promise.all(requests.map((r) => r.answered));
        expect(statuses).toEqual(kinds.map((kind) => ANSWERED[kind]));
        const byId = await eventsOf(requests.map((r) => r.id));
        for (const { kind, id } of requests) {
          const events = byId.get(id)!;
          expect([kind, events.length]).toEqual([kind, 1]);
          expect(events[0]).toMatchObject({ ...EXPECTED[kind], objectId: id });
          expect(events[0]!.content.aborted).toBe(EXPECTED[kind].content.aborted);
        }
      }),
      { numRuns: 12 },
    );
  });
});
