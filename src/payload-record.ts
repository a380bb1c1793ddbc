import type { JsonObject } from "./model/json";
import type { MaskRules } from "./mask-rules";
import { MAX_DECLARED_TO_CAP_RATIO, maskRequestData } from "./masking";

const JSON_TYPE = /^application\/(?:[\w.+-]*\+)?json\b/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\b/i;

/** Whether a body of this content type is stored as its masked content (JSON, a form); any other is stored as its type and size. */
export function isStructuredType(contentType: string): boolean {
  return JSON_TYPE.test(contentType) || FORM_TYPE.test(contentType);
}

/** A form body's pairs as an object; a repeated name holds an array. */
function formFields(text: string): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    const seen = fields[name];
    fields[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return fields;
}

/** What stands for a body whose content is not stored: its content type and its size in bytes. */
function described(contentType: string, bytes: number): JsonObject {
  return { _contentType: contentType || null, _bytes: bytes };
}

/**
 * A body received or sent as text (or bytes), as a request event stores it: a JSON body
 * parsed and a form body (`application/x-www-form-urlencoded`) read into its fields,
 * both masked as post data (`maskFields` at any depth, URLs, `sensitivePatterns`) and
 * capped at `maxBytes`; any other body (HTML, XML, plain text, scripts, binary, and
 * JSON that does not parse) only as `{ _contentType, _bytes }`. Free text and markup
 * carry secrets in no shape masking can find (`<password>…</password>`, "your code is
 * 1234"), so their content is not kept at all.
 *
 * @param bytes the body's full size, reported in the markers.
 * @example
 * ```ts
 * textPayload("password=x&item=book", "application/x-www-form-urlencoded", rules, 16384, 20); // { password: "****************", item: "book" }
 * textPayload("<p>token 1234</p>", "text/html", rules, 16384, 17); // { _contentType: "text/html", _bytes: 17 }
 * ```
 */
export function textPayload(text: string, contentType: string, rules: MaskRules, maxBytes: number, bytes: number): JsonObject {
  if (!isStructuredType(contentType)) return described(contentType, bytes);
  // Not parsed at all when it could not fit (as maskRequestData does with a declared size).
  if (bytes > maxBytes * MAX_DECLARED_TO_CAP_RATIO) return { _truncated: true, _bytes: bytes };
  if (FORM_TYPE.test(contentType)) return maskRequestData(formFields(text), rules, maxBytes, bytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return described(contentType, bytes);
  }
  return maskRequestData(parsed, rules, maxBytes, bytes);
}

/**
 * A request body as the body parser left it, as stored: an object or array masked as
 * post data; a string or bytes (a text or raw parser) by {@link textPayload}'s rules
 * for the request's content type.
 *
 * @param declaredBytes the request's `Content-Length`, when it declared one.
 */
export function requestBodyPayload(body: unknown, contentType: string, rules: MaskRules, maxBytes: number, declaredBytes: number | undefined): JsonObject {
  if (typeof body === "string") return textPayload(body, contentType, rules, maxBytes, declaredBytes ?? Buffer.byteLength(body));
  if (body instanceof Uint8Array) {
    const bytes = declaredBytes ?? body.byteLength;
    return isStructuredType(contentType) ? textPayload(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"), contentType, rules, maxBytes, bytes) : described(contentType, bytes);
  }
  return maskRequestData(body, rules, maxBytes, declaredBytes);
}
