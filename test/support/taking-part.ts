import type { AuditStore } from "../../src";

/**
 * The stores of archivers run at once in one test, for a test that asserts that each of
 * them moves some events: a barrier at their start. Once an archiver has moved events
 * (a batch returned with `moved > 0`, committed), its batches wait before returning until
 * every archiver has moved some; then all run freely. Without it, one archiver's start-up
 * (a new connection, a slow first query on a loaded machine) can outlast another's whole
 * run, which then moved every event: the test failed though the archivers were right.
 * Nothing is held while waiting (the batch's transaction is over), so it cannot deadlock
 * the archivers; an archiver that never moves anything (the failure the assertion is for)
 * releases the others after `giveUpMs`, and the test's own assertions then fail.
 */
export function takingPartTogether<S extends AuditStore>(stores: readonly S[], giveUpMs = 30_000): S[] {
  let waiting = stores.length;
  let release!: () => void;
  const allTookPart = new Promise<void>((resolve) => (release = resolve));
  let timer: NodeJS.Timeout | undefined;
  const giveUp = () => {
    timer ??= setTimeout(release, giveUpMs);
    timer.unref();
  };
  void allTookPart.then(() => clearTimeout(timer));
  return stores.map((store) => {
    let tookPart = false;
    return {
      ...store,
      async archiveBatch(before, limit, after) {
        const batch = await store.archiveBatch(before, limit, after);
        if (batch.moved > 0 && !tookPart) {
          tookPart = true;
          if (--waiting === 0) release();
          else giveUp();
        }
        if (tookPart) await allTookPart;
        return batch;
      },
    } satisfies AuditStore as S;
  });
}
