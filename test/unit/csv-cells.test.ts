import { neutralizeFormula } from "../../src/export/csv-cells";

describe("neutralizeFormula", () => {
  it.each(["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])("prefixes %j with a quote", (cell) => {
    expect(neutralizeFormula(cell)).toBe(`'${cell}`);
  });

  it.each(["", "refund", "1-2", " =x", "'=x", "{\"a\":\"=b\"}"])("keeps %j as it is", (cell) => {
    expect(neutralizeFormula(cell)).toBe(cell);
  });
});
