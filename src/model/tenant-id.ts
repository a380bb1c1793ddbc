/** The longest tenant id, in characters: the column's width on MySQL (`VARCHAR(191)`). */
export const TENANT_ID_MAX_LENGTH = 191;

/** Control characters, format characters (bidi overrides, zero-width), lone surrogates. */
export const INVISIBLE_CHARACTER = /[\p{Cc}\p{Cf}\p{Cs}]/u;

/**
 * Why `value` cannot be a tenant id, or undefined when it can. A tenant id is the key of
 * tenancy: two tenants' ids must never be stored alike nor compare alike. So it is taken
 * as it is or refused, never cleaned up: it holds 1 to 191 characters (cutting would
 * merge two long ids), no control or format character (which terminals hide and filters
 * refuse), and no space at either end (which MySQL's collations ignore, so "A " would
 * read "A"'s events).
 *
 * @example
 * ```ts
 * tenantIdProblem("acme");   // undefined
 * tenantIdProblem("acme ");  // "it ends with a space"
 * ```
 */
export function tenantIdProblem(value: string): string | undefined {
  if (value.length === 0) return "it is empty";
  if ([...value].length > TENANT_ID_MAX_LENGTH) return `it is longer than ${TENANT_ID_MAX_LENGTH} characters`;
  if (INVISIBLE_CHARACTER.test(value)) return "it holds a control or format character";
  if (/^\s/u.test(value)) return "it starts with a space";
  if (/\s$/u.test(value)) return "it ends with a space";
  return undefined;
}
