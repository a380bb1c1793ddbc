import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as source from "../../src";
import { builtPackage } from "../cli/cli-package";

const root = path.resolve(__dirname, "../..");

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: "utf8" });
}

/** The files `npm pack` would put in the tarball (dist/ is put in place by beforeAll). */
function packedFiles(): Set<string> {
  const npm = process.env.npm_execpath;
  const args = ["pack", "--dry-run", "--json", "--ignore-scripts"];
  const output = npm?.endsWith(".js") ? run([npm, ...args]) : execFileSync("npm", args, { cwd: root, encoding: "utf8" });
  const [pack] = JSON.parse(output) as { files: { path: string }[] }[];
  return new Set(pack!.files.map((file) => file.path));
}

/** Link targets of a Markdown text, outside code: inline links and reference definitions. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/^(```|~~~)[\s\S]*?^\1/gm, "").replace(/`[^`\n]*`/g, "");
  const inline = [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const definitions = [...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  return [...inline, ...definitions];
}

describe("the built package", () => {
  // dist/ is what scripts/build.mjs makes of the current sources: the build the CLI tests
  // share (made once per content of the sources, by that script), copied into place.
  beforeAll(() => {
    const built = path.join(builtPackage(), "dist");
    rmSync(path.join(root, "dist"), { recursive: true, force: true });
    cpSync(built, path.join(root, "dist"), { recursive: true });
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

  it("exports audit-events/nestjs to CommonJS and ES modules, sharing the root's context, and the root loads no NestJS", () => {
    const script = `
      import { createRequire } from "node:module";
      import { AuditContextService } from "audit-events/nestjs";
      import { AuditContext, runWithAuditContext } from "audit-events";
      const require = createRequire(import.meta.url);
      const cjs = require("audit-events/nestjs");
      const context = new AuditContext();
      const shared = runWithAuditContext(context, () => new cjs.AuditContextService().current() === context && new AuditContextService().current() === context);
      console.log(JSON.stringify({ names: Object.keys(cjs).sort(), shared }));
    `;
    expect(JSON.parse(run(["--input-type=module", "-e", script]))).toEqual({ names: ["AUDIT_EVENTS_OPTIONS", "AuditContextService", "AuditEventsModule"], shared: true });
    const loaded = run(["-e", "require('audit-events'); console.log(Object.keys(require.cache).filter((f) => f.includes('@nestjs')).length)"]);
    expect(loaded.trim()).toBe("0");
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

  it("ships every source file its source maps and declaration maps point to", () => {
    const files = packedFiles();
    const maps = [...files].filter((file) => file.endsWith(".map"));
    expect(maps.length).toBeGreaterThan(50);
    const missing = maps.flatMap((map) => {
      const { sources, sourceRoot = "" } = JSON.parse(readFileSync(path.join(root, map), "utf8")) as { sources: string[]; sourceRoot?: string };
      return sources.map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(map), sourceRoot, s))).filter((s) => !files.has(s));
    });
    expect(missing).toEqual([]);
  }, 60_000);

  it("names its repository, homepage and bug tracker", () => {
    const manifest = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
    expect(manifest.repository).toEqual({ type: "git", url: expect.stringMatching(/^git\+https:\/\/github\.com\/.+\.git$/) });
    expect(manifest.homepage).toMatch(/^https:\/\//);
    expect(manifest.bugs.url).toMatch(/^https:\/\/.+\/issues$/);
  });

  it("has no relative link in its shipped Markdown that points to a file it does not ship", () => {
    const files = packedFiles();
    const documents = [...files].filter((file) => file.endsWith(".md"));
    expect(documents).toEqual(expect.arrayContaining(["README.md", "docs/errors.md", "docs/cli.md"]));
    const broken = documents.flatMap((doc) =>
      linkTargets(readFileSync(path.join(root, doc), "utf8"))
        .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith("#"))
        .map((target) => ({ doc, target, file: path.posix.normalize(path.posix.join(path.posix.dirname(doc), decodeURI(target.split("#")[0]!))) }))
        .filter(({ file }) => !files.has(file)),
    );
    expect(broken).toEqual([]);
  }, 60_000);

  it("types Koa's ctx.auditContext in the declarations it ships", () => {
    const dir = path.join(root, ".tmp", `koa-types-of-build-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, "app.ts"),
      `import Koa from "koa";
import { koaAuditEvents } from "audit-events";
const app = new Koa();
app.use(koaAuditEvents());
app.use(async (ctx) => {
  await ctx.auditContext.createEvent({ contentType: "Order", objectId: 1 });
  // @ts-expect-error a misspelt method
  await ctx.state.auditContext.createEvnt({ contentType: "Order", objectId: 1 });
});
`,
    );
    // No "paths": "audit-events" resolves through package.json "exports" to dist/, as for a user.
    // skipLibCheck, because @types/koa 3.0.3 itself fails the library check (content-disposition's Options).
    writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, module: "preserve", moduleResolution: "bundler", esModuleInterop: true, skipLibCheck: true, noEmit: true, types: ["node"] }, files: ["app.ts"] }),
    );
    let output = "";
    try {
      run([require.resolve("typescript/bin/tsc"), "-p", path.join(dir, "tsconfig.json")]);
    } catch (error) {
      output = String((error as { stdout?: string }).stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(output).toBe("");
  }, 60_000);
});
