import { decodeSpoolLine, encodeSpoolLine } from "../../src/writer/spool-line";
import { sampleRecord } from "../conformance/store-conformance";

describe("spool lines", () => {
  it("carry a row through, dates, bigints and bytes included", () => {
    const row = { ...sampleRecord(), accountNumber: 9007199254740993n, photo: Buffer.from([0, 255, 10]), seenAt: new Date("2026-01-02T03:04:05.678Z") };
    const line = encodeSpoolLine(row);
    expect(line).not.toContain("\n");
    expect(decodeSpoolLine(line)).toEqual({ row });
  });

  it("keep newlines, control characters and prototype-like keys inside JSON", () => {
    const row = { ...sampleRecord({ content: JSON.parse('{"[__proto__]":1,"text":"a\\nb\\r\\u0001\\u2028"}') }) };
    const line = encodeSpoolLine(row);
    expect(line.split("\n")).toHaveLength(1);
    expect(decodeSpoolLine(line)).toEqual({ row });
  });

  it.each([
    ["a truncated line", (line: string) => line.slice(0, line.length - 7), /checksum/],
    ["a changed character", (line: string) => line.replace("refund", "refunD"), /checksum/],
    ["a wrong checksum", (line: string) => `00000000${line.slice(8)}`, /checksum/],
    ["garbage", () => "\u0000\u00ff garbage", /checksum|not a spool line/],
    ["an empty line", () => "", /not a spool line/],
  ])("report %s as a problem instead of throwing", (_name, spoil, problem) => {
    const decoded = decodeSpoolLine(spoil(encodeSpoolLine({ ...sampleRecord() })));
    expect(decoded).toEqual({ problem: expect.stringMatching(problem) });
  });

  it("report a line whose checksum matches but whose content is not an event", () => {
    const { crc32 } = require("node:zlib") as typeof import("node:zlib");
    const forge = (json: string) => `${crc32(json).toString(16).padStart(8, "0")} ${json}`;
    expect(decodeSpoolLine(forge("{not json"))).toEqual({ problem: expect.stringMatching(/does not parse/) });
    expect(decodeSpoolLine(forge('{"v":99,"r":{},"t":{}}'))).toEqual({ problem: expect.stringMatching(/format 99/) });
    expect(decodeSpoolLine(forge('{"v":1,"r":{"x":1},"t":{}}'))).toEqual({ problem: expect.stringMatching(/no event id/) });
  });
});
