// A `{ Name, Value }` or `{ Key, Value }` object (AWS SSM parameters and tags, .NET
// settings) names its value as `{ name, value }` does: a masked name masks the value, in
// request data and in createEvent content alike.

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { MASK, maskRequestData } from "../../src/masking";
import { normalizeContent } from "../../src/serialize";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);

describe("a PascalCase { Name, Value } object", () => {
  it.each([
    [{ Name: "DbPassword", Value: "Qz-secret-1" }],
    [{ Key: "api_key", Value: "Qz-secret-2" }],
    [{ Field: "Token", Value: "Qz-secret-3" }],
  ])("masks the value of %j in request data and content", (pair) => {
    const data = { Parameters: [pair] };
    for (const stored of [maskRequestData(data, DEFAULTS), normalizeContent(data, DEFAULTS)]) {
      expect(JSON.stringify(stored)).not.toContain("Qz-secret");
      expect(JSON.stringify(stored)).toContain(MASK);
    }
  });

  it("keeps the value of a name that is not masked", () => {
    expect(maskRequestData({ Tags: [{ Key: "env", Value: "prod" }] }, DEFAULTS)).toEqual({ Tags: [{ Key: "env", Value: "prod" }] });
  });
});
