import { execFileSync } from "node:child_process";
import path from "node:path";
import * as source from "../../src";

const root = path.resolve(__dirname, "../..");

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: "utf8" });
}

describe("the built package", () => {
  beforeAll(() => {
    run(["scripts/build.mjs"]);
  }, 120_000);

  it("exports every public name to CommonJS", () => {
    const names = JSON.parse(run(["-e", "console.log(JSON.stringify(Object.keys(require('audit-events')).sort()))"]));
    expect(names).toEqual(Object.keys(source).sort());
  });

  it("exports every public name to ES modules", () => {
    const names = JSON.parse(
      run(["--input-type=module", "-e", "import * as m from 'audit-events'; console.log(JSON.stringify(Object.keys(m).sort()))"]),
    );
    expect(names).toEqual(Object.keys(source).sort());
  });

  it("shares one configuration and one context between import and require", () => {
    const script = `
      import { createRequire } from "node:module";
      import { configureAudit, memoryStore, AuditContext } from "audit-events";
      const cjs = createRequire(import.meta.url)("audit-events");
      const store = memoryStore();
      configureAudit({ store, includePostData: true });
      const shared = cjs.getAuditConfig().store === store;
      const sameClass = cjs.AuditContext === AuditContext;
      const inside = cjs.runWithAuditContext(new AuditContext(), () => cjs.currentAuditContext() instanceof AuditContext);
      console.log(JSON.stringify({ shared, sameClass, inside }));
    `;
    expect(JSON.parse(run(["--input-type=module", "-e", script]))).toEqual({ shared: true, sameClass: true, inside: true });
  });
});
