import fc from "fast-check";

import { HashChain } from "../../src/integrity/hash-chain";
import { recordArbitrary } from "./record-arbitrary";

/**
 * The buffered writer links a batch in slices with a turn of the event loop between them
 * (hashing 1000 events in one go held the process for 10 ms or more): the chain it makes
 * must be the one `link` makes in one go, whatever the batch and the slice size, and the
 * head must not move before `commit`.
 */
describe("HashChain.linkInTurns", () => {
  it("links exactly as link() does, for any batch, slice size and committed head", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(recordArbitrary, { maxLength: 40 }), fc.array(recordArbitrary, { maxLength: 5 }), fc.integer({ min: 1, max: 50 }), async (rows, earlier, slice) => {
        const chain = new HashChain();
        chain.commit(chain.link(earlier));
        const head = chain.head();
        const inTurns = await chain.linkInTurns(rows, slice);
        expect(inTurns).toEqual(chain.link(rows));
        expect(chain.head()).toEqual(head);
        // Each copy continues the one before it, from the committed head.
        inTurns.forEach((row, i) => expect([row.seq, row.prevHash]).toEqual([head.seq + i + 1, i === 0 ? head.hash : inTurns[i - 1]!.hash]));
      }),
      { numRuns: 200 },
    );
  });

  it("lets the event loop turn between slices, and links no more than a slice in one turn", async () => {
    const rows = fc.sample(recordArbitrary, 50);
    let turns = 0;
    let ticking = setImmediate(function tick() {
      turns++;
      ticking = setImmediate(tick);
    });
    const hashedIn: number[] = [];
    const chain = new HashChain();
    // Reads of each row's id, as linking copies it, note the turn it was linked in.
    const watched = rows.map((row) => {
      const copy = { ...row };
      Object.defineProperty(copy, "id", { enumerable: true, get: () => (hashedIn.push(turns), row.id) });
      return copy;
    });
    try {
      await chain.linkInTurns(watched, 10);
    } finally {
      clearImmediate(ticking);
    }
    const perTurn = new Map<number, number>();
    for (const turn of hashedIn) perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
    expect({ linked: hashedIn.length, turns: perTurn.size, most: Math.max(...perTurn.values()) }).toEqual({ linked: 50, turns: 5, most: 10 });
  });
});
