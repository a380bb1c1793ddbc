import { AuditError, type AuditErrorCode } from "../../src";

/**
 * Runs `fn`, asserts it throws an instance of `type` (with `code`, when given) and
 * returns that error for further checks.
 */
export function thrownBy<E extends AuditError>(fn: () => unknown, type: new (...args: never[]) => E, code?: AuditErrorCode): E {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(type);
  expect(caught).toBeInstanceOf(AuditError);
  if (code !== undefined) expect((caught as E).code).toBe(code);
  return caught as E;
}
