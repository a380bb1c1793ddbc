import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { AuditConfigError, auditEvents, koaAuditEvents } from "../../src";

describe("auditEvents()", () => {
  it("validates its options when created, naming the fix", () => {
    expect(() => auditEvents({ includeHeader: ["x"] } as never)).toThrow(/Did you mean "includeHeaders"/);
    expect(() => auditEvents({ maxPostDataBytes: -1 })).toThrow(AuditConfigError);
  });

  it("catches app.use(auditEvents) written for app.use(auditEvents())", () => {
    const req = new IncomingMessage(new Socket());
    const res = new ServerResponse(req);
    expect(() => (auditEvents as unknown as (...a: unknown[]) => unknown)(req, res, () => undefined)).toThrow(
      "write app.use(auditEvents()), not app.use(auditEvents)",
    );
  });
});

describe("koaAuditEvents()", () => {
  it("catches app.use(koaAuditEvents) written for app.use(koaAuditEvents())", () => {
    const ctx = { headers: {}, state: {} };
    expect(() => (koaAuditEvents as unknown as (...a: unknown[]) => unknown)(ctx, async () => undefined)).toThrow(
      "write app.use(koaAuditEvents()), not app.use(koaAuditEvents)",
    );
  });

  it("validates its options when created", () => {
    expect(() => koaAuditEvents({ includePostData: "yes" } as never)).toThrow(/includePostData.*must be a boolean/);
  });
});
