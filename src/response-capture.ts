import type { ServerResponse } from "node:http";

import type { JsonObject } from "./model/json";
import type { MaskRules } from "./mask-rules";
import { MAX_DECLARED_TO_CAP_RATIO } from "./masking";
import { isStructuredType, textPayload } from "./payload-record";

type Chunk = string | Buffer | Uint8Array;

function chunkBuffer(chunk: unknown, encoding: unknown): Buffer | undefined {
  if (typeof chunk === "string") return Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return undefined;
}

/** `writeHead`'s headers, an object or a flat `[name, value, ...]` list, by lower-case name. */
function headerRecord(headers: object): Record<string, unknown> {
  const pairs: Array<[unknown, unknown]> = [];
  if (Array.isArray(headers)) for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([headers[i], headers[i + 1]]);
  else pairs.push(...Object.entries(headers));
  return Object.fromEntries(pairs.filter(([name]) => typeof name === "string").map(([name, value]) => [(name as string).toLowerCase(), value]));
}

/**
 * Keeps the first bytes of a response as the app writes it, whichever framework writes
 * (Express's `res.send`, Koa's `respond`, a piped stream all end in `res.write` and
 * `res.end`). It keeps no more than {@link MAX_DECLARED_TO_CAP_RATIO} times the cap, as
 * post data is looked at no further (masking may shrink what it keeps), and counts the
 * rest. A compression middleware registered before the audit middleware compresses after
 * it, so the body kept is the one the app wrote.
 */
export class ResponseCapture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private total = 0;
  private readonly keepAtMost: number;
  /** Headers given to `writeHead` itself, which `getHeader` does not see (Fastify sends its headers so). */
  private headHeaders: Readonly<Record<string, unknown>> = {};

  constructor(res: ServerResponse, private readonly maxBytes: number) {
    this.keepAtMost = maxBytes * MAX_DECLARED_TO_CAP_RATIO;
    const capture = this;
    const write = res.write;
    const end = res.end;
    const writeHead = res.writeHead;
    res.writeHead = function writeHeadCaptured(this: ServerResponse, ...args: unknown[]) {
      const headers = args.find((arg, i): arg is object => i > 0 && typeof arg === "object" && arg !== null);
      if (headers !== undefined) capture.headHeaders = headerRecord(headers);
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as ServerResponse["writeHead"];
    // Replaced on this response only; arguments passed through untouched.
    res.write = function writeCaptured(this: ServerResponse, chunk: Chunk, ...rest: unknown[]) {
      capture.take(chunk, rest[0]);
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as ServerResponse["write"];
    res.end = function endCaptured(this: ServerResponse, ...args: unknown[]) {
      if (typeof args[0] !== "function") capture.take(args[0], args[1]);
      return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as ServerResponse["end"];
  }

  private take(chunk: unknown, encoding: unknown): void {
    const buffer = chunkBuffer(chunk, encoding);
    if (buffer === undefined || buffer.length === 0) return;
    this.total += buffer.length;
    if (this.kept >= this.keepAtMost) return;
    const part = buffer.subarray(0, this.keepAtMost - this.kept);
    // Copied: the app may reuse the buffer it wrote once the write returns.
    this.chunks.push(Buffer.from(part));
    this.kept += part.length;
  }

  /**
   * The response body as stored: a JSON or form body masked as post data and capped at
   * `maxBytes`; any other (HTML, XML, plain text, binary) or an encoded one as
   * `{ _contentType, _bytes }` (see `textPayload`).
   */
  payload(res: ServerResponse, rules: MaskRules): JsonObject {
    if (this.total === 0) return {};
    const type = String(res.getHeader("content-type") ?? this.headHeaders["content-type"] ?? "");
    const encoding = res.getHeader("content-encoding") ?? this.headHeaders["content-encoding"];
    if ((encoding !== undefined && encoding !== "identity") || !isStructuredType(type)) {
      return { _contentType: type || null, _bytes: this.total };
    }
    if (this.total > this.kept) return { _truncated: true, _bytes: this.total };
    return textPayload(Buffer.concat(this.chunks).toString("utf8"), type, rules, this.maxBytes, this.total);
  }
}
