// Builds the package: CommonJS + declarations with tsc, then an ES module entry
// that re-exports the CommonJS build. One implementation on purpose: the
// configuration and the AsyncLocalStorage are process-wide, and an application that
// loaded a separate ESM copy next to a CJS copy would see two of each.
//
// The source maps and declaration maps point at ../../src/*.ts, which package.json's
// "files" ships: stack traces, debuggers and "go to definition" then land on the
// TypeScript the package was built from. Inlined sources would fix only the .js maps
// (declaration maps cannot inline them), and without maps users would debug the output.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);

rmSync(`${root}/dist`, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});

// Each entry point: the root, and subpaths whose peers the root must not load
// (audit-events/nestjs needs @nestjs/common). All share the one CommonJS build.
const entries = [
  { esm: "index", cjs: "index.js" },
  { esm: "nestjs", cjs: "nestjs/index.js" },
];
mkdirSync(`${root}/dist/esm`, { recursive: true });
for (const { esm, cjs } of entries) {
  const names = Object.keys(require(`${root}/dist/cjs/${cjs}`)).filter((name) => name !== "__esModule");
  writeFileSync(`${root}/dist/esm/${esm}.mjs`, `import cjs from "../cjs/${cjs}";\nexport const { ${names.join(", ")} } = cjs;\n`);
  writeFileSync(`${root}/dist/esm/${esm}.d.mts`, `export * from "../cjs/${cjs}";\n`);
  console.log(`built dist/cjs and dist/esm for ${esm} (${names.length} exports)`);
}
