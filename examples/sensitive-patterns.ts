import type { SensitivePattern } from "audit-events";

/**
 * The README's example `sensitivePatterns`. Each is linear in the length of the text it
 * scans: a match can start only where the lookbehind or `\b` allows, and no part that
 * can repeat is followed by another that can take the same characters, so a 15 KB string
 * of attacker text costs microseconds, not the quadratic hundreds of milliseconds a naive
 * `[\w.+-]+@...` costs (bench/create-event.ts measures these on such text).
 */
export const EXAMPLE_SENSITIVE_PATTERNS: SensitivePattern[] = [
  // the token of /reset-password/<token> and /invite/<token>
  { label: "path-token", pattern: /(?<=\/(?:reset-password|invite)\/)[^/?#]+/ },
  { label: "email", pattern: /(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}/ },
  { label: "card-number", pattern: /\b(?:\d[ -]?){12,18}\d\b/ },
  { label: "bearer-token", pattern: /\bBearer\s{1,8}[\w.~+/-]+=*/i },
];
