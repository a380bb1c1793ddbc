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

const names = Object.keys(require(`${root}/dist/cjs/index.js`)).filter((name) => name !== "__esModule");
mkdirSync(`${root}/dist/esm`, { recursive: true });
writeFileSync(
  `${root}/dist/esm/index.mjs`,
  `import cjs from "../cjs/index.js";\nexport const { ${names.join(", ")} } = cjs;\n`,
);
writeFileSync(`${root}/dist/esm/index.d.mts`, `export * from "../cjs/index.js";\n`);
console.log(`built dist/cjs and dist/esm (${names.length} exports)`);
