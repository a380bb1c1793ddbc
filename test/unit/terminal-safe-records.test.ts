// What `export` and `list --json` write when standard output is a terminal: no character
// that drives or hides text reaches it, and JSON stays the same JSON.

import fc from "fast-check";

import { terminalSafeRecords } from "../../src/cli/terminal-text";

/** Characters a terminal acts on or hides, as the CLI's escaping defines them. */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u034f\u115f\u1160\u3164\uffa0]/u;

const hostile = fc.string({
  unit: fc.oneof(
    fc.constantFrom("\x1b", "\r", "\x07", "\b", "\u202e", "\u2066", "\u200b", "\u009b", "\u{e0041}", "\u2028", "\ud800", "\n"),
    fc.string({ minLength: 1, maxLength: 1 }),
  ),
  maxLength: 40,
});

describe("terminalSafeRecords", () => {
  it("keeps NDJSON the same JSON, with no hidden character left but the line breaks between records", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ objectId: hostile, content: fc.dictionary(hostile, hostile) }), { minLength: 1, maxLength: 5 }), (events) => {
        const text = events.map((event) => `${JSON.stringify(event)}\n`).join("");
        const safe = terminalSafeRecords(text, "json");
        const lines = safe.split("\n");
        return (
          lines.every((line) => !HIDDEN.test(line)) &&
          JSON.stringify(lines.filter((line) => line !== "").map((line) => JSON.parse(line) as unknown)) === JSON.stringify(events.map((e) => JSON.parse(JSON.stringify(e)) as unknown))
        );
      }),
      { numRuns: 300 },
    );
  });

  it("writes CSV cells' hidden characters visibly and keeps the CRLF between records", () => {
    expect(terminalSafeRecords('id,objectId\r\n1,"a\x1b[2J\u202eb\rc"\r\n', "csv")).toBe('id,objectId\r\n1,"a\\x1b[2J\\u202eb\\x0dc"\r\n');
    fc.assert(fc.property(hostile, (cell) => terminalSafeRecords(cell, "csv").split(/\r?\n/).every((part) => !HIDDEN.test(part))));
  });
});
