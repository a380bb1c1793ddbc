import { DEFAULT_MASK_FIELDS } from "../mask-rules";
import type { AuditLogger } from "../writer/spool";

/** Default of `includeQueryParams`. */
export const DEFAULT_INCLUDE_QUERY_PARAMS = false;
/** Default of `includePostData`. */
export const DEFAULT_INCLUDE_POST_DATA = false;
/** Default of `maskPostFields`, the former name of `maskFields`: {@link DEFAULT_MASK_FIELDS}. */
export const DEFAULT_MASK_POST_FIELDS: readonly string[] = DEFAULT_MASK_FIELDS;
/** Default of `includeHeaders`. */
export const DEFAULT_INCLUDE_HEADERS: readonly string[] = Object.freeze([]);
/** Default of `maxPostDataBytes`. */
export const DEFAULT_MAX_POST_DATA_BYTES = 16384;
/** Default of `writeMode`. */
export const DEFAULT_WRITE_MODE = "sync";
/** Default of `flushIntervalMs`. */
export const DEFAULT_FLUSH_INTERVAL_MS = 200;
/** Default of `maxBatchSize`. */
export const DEFAULT_MAX_BATCH_SIZE = 1000;
/** Default of `maxBufferedEvents`. */
export const DEFAULT_MAX_BUFFERED_EVENTS = 100_000;
/** Default of `onSpoolFull`. */
export const DEFAULT_ON_SPOOL_FULL = "block";
/** Default of `disabled`. */
export const DEFAULT_DISABLED = false;
/** Default of `integrity.checkpointEvery`: events between checkpoints of a chain. */
export const DEFAULT_CHECKPOINT_EVERY = 1000;
/** Default of `integrity.checkpointIntervalMs`: the longest a chain's new events wait for a checkpoint. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;
/** Default of `requestIdHeader`. */
export const DEFAULT_REQUEST_ID_HEADER = "x-request-id";
/**
 * Default of `logger`: `console.warn` and `console.error`, looked up when called (so a
 * test's spy hears them), and no `debug`: pass a logger with one to hear every write.
 */
export const DEFAULT_LOGGER: AuditLogger = Object.freeze({
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
});
