import { AuditConfigError } from "../errors";
import type { AuditStore } from "../stores/store";

/** A store that can keep hash chains: one with checkpoint methods. */
export type IntegrityStore = AuditStore & Required<Pick<AuditStore, "insertCheckpoint">>;

/** The stores found able to keep chains, so each is asked once per process. */
const checked = new WeakSet<AuditStore>();

/**
 * Checks that `store` can keep hash chains and checkpoints, once per store: at
 * `configureAudit()` for the configured store, at the first write for a context's own.
 *
 * @throws {AuditConfigError} `ERR_AUDIT_STORE_SCHEMA` from the store when its model lacks
 * the chain columns or the checkpoint model; `ERR_AUDIT_CONFIG` for a store without
 * checkpoint methods.
 */
export function requireIntegrityStore(store: AuditStore): asserts store is IntegrityStore {
  if (checked.has(store)) return;
  if (typeof store.insertCheckpoint !== "function") {
    throw new AuditConfigError(
      `integrity needs a store that keeps signed checkpoints, and ${store.name} has no insertCheckpoint(); use prismaStore(prisma) (with the migration 20261202000000_audit_events_integrity) or memoryStore(), or remove the integrity option.`,
    );
  }
  store.requireIntegrity?.();
  checked.add(store);
}
