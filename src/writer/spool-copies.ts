/**
 * The buffered writer's copies, in memory, of the lines it appended to a spool whose
 * storage can lose them from outside (`AuditSpool.mayLoseLines`: a Redis list evicted
 * or deleted), each kept until the store holds its event (or `onSpoolFull:
 * "drop-oldest"` dropped it): whatever the spool loses, and whenever, an acknowledged
 * event keeps a copy here, and the writer appends again what was lost.
 *
 * It also counts the lines an earlier process left in the spool, of which no copy
 * exists: when the spool loses lines, only those are lost for good.
 *
 * Its memory is the text of the lines it holds (a set of strings, shared with the
 * writer's picture of the spool while that holds them too). It holds no line the spool
 * does not count against its `maxBytes`, except those lost and about to be appended
 * again: it stays within about the spool's `maxBytes`.
 */
export class SpoolCopies {
  private readonly held = new Set<string>();
  /** Lines an earlier process left at the spool's head, not stored yet. */
  private leftOver = 0;
  /** Of {@link leftOver}, those the store holds now, whose acknowledgement is on its way. */
  private leftOverStored = 0;

  /** Lines held. */
  get size(): number {
    return this.held.size;
  }

  /** The lines held, in the order they were first kept. */
  lines(): string[] {
    return [...this.held];
  }

  /** Keeps copies of `lines`, just appended. */
  keep(lines: Iterable<string>): void {
    for (const line of lines) this.held.add(line);
  }

  /** Lets go of `lines`: their events are stored (or refused, or deliberately dropped). */
  release(lines: Iterable<string>): void {
    for (const line of lines) this.held.delete(line);
  }

  /** The spool, just opened, holds `count` lines an earlier process left. */
  leftByEarlier(count: number): void {
    this.leftOver = count;
    this.leftOverStored = 0;
  }

  /**
   * The store holds the events of `lines`, read back from the spool's head, whose
   * acknowledgement follows: copies of them are let go, and those an earlier process left
   * no longer count as lost should the spool lose them now. Then call
   * {@link acknowledged}, whatever came of the acknowledgement.
   */
  storedFromHead(lines: readonly string[]): void {
    let leftOver = 0;
    for (const line of lines) if (!this.held.delete(line)) leftOver++;
    this.leftOverStored = Math.min(leftOver, this.leftOver);
  }

  /**
   * The acknowledgement after {@link storedFromHead} is done: when it removed the lines,
   * those an earlier process left are gone; when it failed, they are read again.
   */
  acknowledged(removed: boolean): void {
    if (removed) this.leftOver -= this.leftOverStored;
    this.leftOverStored = 0;
  }

  /** `onSpoolFull: "drop-oldest"` dropped `lines` from the spool's head. */
  droppedAtHead(lines: readonly string[]): void {
    let leftOver = 0;
    for (const line of lines) if (!this.held.delete(line)) leftOver++;
    this.leftOver = Math.max(0, this.leftOver - leftOver);
  }

  /**
   * The spool lost `count` lines from its head (a whole Redis list: all of them). Returns
   * how many of them were neither held here nor stored: the events lost for good.
   */
  lostAtHead(count: number): number {
    const lost = Math.min(count, this.leftOver - this.leftOverStored);
    this.leftOver = Math.max(0, this.leftOver - count);
    this.leftOverStored = Math.min(this.leftOverStored, this.leftOver);
    return lost;
  }
}
