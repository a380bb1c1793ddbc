import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const OUT = path.join(ROOT, ".tmp", `koa-context-types-${process.pid}`);

/**
 * A Koa app as a user writes it, with a misspelt method on each of the two places
 * the context lives. Each `@ts-expect-error` must meet an error: were either place
 * `any`, tsc would report the directive as unused and the compilation would fail.
 */
const APP = `
import Koa from "koa";
import { koaAuditEvents, type AuditContext } from "audit-events";

const app = new Koa();
app.use(koaAuditEvents());
app.use(async (ctx) => {
  const fromContext: AuditContext = ctx.auditContext;
  const fromState: AuditContext = ctx.state.auditContext;
  await fromContext.createEvent({ contentType: "Order", objectId: 1 }, { action: "view" });
  await ctx.state.auditContext.createFieldsEvent({ contentType: "Order", objectId: 1, status: "paid" }, ["status"]);
  ctx.auditContext.setUser({ id: 1 });
  // @ts-expect-error createEvnt is not a method of AuditContext
  await ctx.auditContext.createEvnt({ contentType: "Order", objectId: 1 });
  // @ts-expect-error neither is creatEvent
  await ctx.state.auditContext.creatEvent({ contentType: "Order", objectId: 1 });
  // @ts-expect-error extraData is a record, not a string
  ctx.auditContext.extraData = "tenant";
  ctx.body = fromState.extraData;
});
`;

function compile(): string {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, "app.ts");
  writeFileSync(file, APP);
  writeFileSync(path.join(OUT, "tsconfig.json"), JSON.stringify({ extends: "../../tsconfig.json", include: [], files: [file] }));
  try {
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(OUT, "tsconfig.json")], { cwd: ROOT, encoding: "utf8" });
    return "";
  } catch (error) {
    return String((error as { stdout?: string }).stdout);
  }
}

afterAll(() => rmSync(OUT, { recursive: true, force: true }));

describe("Koa's ctx.auditContext and ctx.state.auditContext", () => {
  it("are typed as AuditContext, so a misspelt method fails tsc", () => {
    expect(compile()).toBe("");
  }, 60_000);
});
