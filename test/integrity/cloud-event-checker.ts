/** The context attributes CloudEvents 1.0 defines, with whether each is required. */
const SPEC_ATTRIBUTES: Record<string, boolean> = { id: true, source: true, specversion: true, type: true, datacontenttype: false, dataschema: false, subject: false, time: false };
/** What the CloudEvents type system allows in a String: no control characters, lone surrogates or noncharacters. */
export const SPEC_STRING = /^[^\p{Cc}\p{Cs}\p{Noncharacter_Code_Point}]*$/u;
const URI_REFERENCE = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(;.*)?$/i;

/**
 * The rules of the CloudEvents 1.0 spec and its JSON format that an event in JSON can
 * break: the problems found, none for a valid event.
 */
export function cloudEventProblems(event: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [name, required] of Object.entries(SPEC_ATTRIBUTES)) {
    if (required && (typeof event[name] !== "string" || (event[name] as string).length === 0)) problems.push(`${name} is required, a non-empty string`);
  }
  if (event.specversion !== "1.0") problems.push("specversion must be 1.0");
  if (typeof event.source === "string" && !URI_REFERENCE.test(event.source)) problems.push("source must be a URI-reference");
  if (event.time !== undefined && (typeof event.time !== "string" || !RFC_3339.test(event.time))) problems.push("time must be RFC 3339");
  if (event.datacontenttype !== undefined && (typeof event.datacontenttype !== "string" || !MEDIA_TYPE.test(event.datacontenttype))) problems.push("datacontenttype must be an RFC 2046 media type");
  if (event.subject !== undefined && (typeof event.subject !== "string" || event.subject.length === 0)) problems.push("subject must be non-empty");
  if ("data" in event && "data_base64" in event) problems.push("data and data_base64 are exclusive");
  for (const [name, value] of Object.entries(event)) {
    if (name === "data" || name === "data_base64") continue;
    if (!/^[a-z0-9]+$/.test(name)) problems.push(`attribute name ${JSON.stringify(name)} must be lower-case letters and digits`);
    if (name.length > 20) problems.push(`attribute name ${name} should not exceed 20 characters`);
    if (value === null) problems.push(`${name}: an unset attribute is left out`);
    else if (typeof value === "string" && !SPEC_STRING.test(value)) problems.push(`${name}: ${JSON.stringify(value)} holds a character a CloudEvents String may not`);
    else if (!["string", "boolean", "number"].includes(typeof value)) problems.push(`${name}: ${typeof value} is no CloudEvents type`);
    else if (typeof value === "number" && (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31)) problems.push(`${name}: an Integer is a 32-bit signed integer`);
  }
  return problems;
}
