import { neutralizeFormula } from "../../src/export/csv-cells";

describe("neutralizeFormula", () => {
  it.each(["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])("prefixes %j with a quote", (cell) => {
    expect(neutralizeFormula(cell)).toBe(`'${cell}`);
  });

  it.each(["", "refund", "1-2", " =x", "'=x", "{\"a\":\"=b\"}"])("keeps %j as it is", (cell) => {
    expect(neutralizeFormula(cell)).toBe(cell);
  });

  it.each([
    ["ok;=cmd|' /C calc'!A0;@SUM(1+1)", "ok;'=cmd|' /C calc'!A0;'@SUM(1+1)"],
    ["a\t+1", "a\t'+1"],
    ["line\n-1", "line\n'-1"],
    ["line\r\n=1", "line\r\n'=1"],
    ["a;\t=1", "a;'\t'=1"],
    ["a; =1", "a; =1"],
    ["a;b,c", "a;b,c"],
  ])("prefixes a quote where a spreadsheet splitting at ';', a tab or a line break would start a formula: %j", (cell, neutral) => {
    expect(neutralizeFormula(cell)).toBe(neutral);
  });
});
