import fc from "fast-check";
import { mountTemplate } from "../../src/adapters/express-route-template";

/* eslint-disable @typescript-eslint/no-require-imports */
type LayerConstructor = new (path: unknown, options: object, fn: () => void) => Parameters<typeof mountTemplate>[0];
const Layer4 = require("express4/lib/router/layer") as LayerConstructor;
const Layer5 = require("router/lib/layer") as LayerConstructor;

const mountOptions = { sensitive: false, strict: false, end: false };
const literal = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);
const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,7}$/);
/** Mount paths as apps write them: literal segments and named parameters, a parameter after a literal in one segment. */
const mountPath = fc
  .array(fc.oneof(literal, name.map((n) => `:${n}`), fc.tuple(literal, name).map(([l, n]) => `${l}-:${n}`)), { minLength: 1, maxLength: 5 })
  .map((segments) => `/${segments.join("/")}`);

describe("mountTemplate", () => {
  it.each([
    ["Express 4", Layer4],
    ["Express 5", Layer5],
  ])("reads back the mount path a router was mounted on (%s), never a request's values", (_name, Layer) => {
    fc.assert(
      fc.property(mountPath, fc.boolean(), (path, trailing) => {
        const layer = new Layer(trailing ? `${path}/` : path, mountOptions, () => undefined);
        expect(mountTemplate(layer)).toBe(path);
      }),
    );
  });

  it("says the root is no prefix, and reads optional and custom-pattern parameters and alternatives on Express 4", () => {
    const read = (path: unknown) => mountTemplate(new Layer4(path, mountOptions, () => undefined));
    expect(read("/")).toBe("");
    expect(read("/files/:name?")).toBe("/files/:name?");
    expect(read("/v/:id(\\d+)")).toBe("/v/:id");
    expect(read("/a.:ext")).toBe("/a.:ext");
    expect(read(["/a/:id", "/b/:bid"])).toBe("(/a/:id|/b/:bid)");
  });

  it("does not know a mount given as a RegExp on Express 4, and writes it as given on Express 5", () => {
    expect(mountTemplate(new Layer4(/^\/v\d+/, mountOptions, () => undefined))).toBeNull();
    expect(mountTemplate(new Layer5(/^\/v\d+/, mountOptions, () => undefined))).toBe("/^\\/v\\d+/");
  });
});
