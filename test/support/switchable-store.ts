import type { MemoryStore } from "../../src";

/**
 * `inner` behind a switch: while `down` is true, every write fails as an unreachable
 * PostgreSQL would (a connection refused), and nothing reaches `inner`; reads go to
 * `inner` as they are.
 */
export function switchableStore(inner: MemoryStore, { down = false }: { down?: boolean } = {}): MemoryStore & { down: boolean } {
  const store = Object.create(inner) as MemoryStore & { down: boolean };
  store.down = down;
  store.writeRows = (rows) => (store.down ? Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432 (test)")) : inner.writeRows(rows));
  return store;
}
