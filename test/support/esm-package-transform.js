// Jest on Node 20 cannot load ES-module-only packages (NestJS 12) through
// require(); Node itself can (require(esm)), and so can jest on Node 24.9+. This
// transformer compiles such a package's files to CommonJS for jest, the way
// ts-jest compiles ours; `import.meta.url` becomes the file's URL, which CommonJS
// has no syntax for.
const { pathToFileURL } = require("node:url");
const ts = require("typescript");

module.exports = {
  process(source, filename) {
    const text = source.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(filename).href));
    const { outputText, sourceMapText } = ts.transpileModule(text, {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, allowJs: true, sourceMap: true, esModuleInterop: true },
    });
    return { code: outputText, map: sourceMapText };
  },
};
