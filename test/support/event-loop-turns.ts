/** Counts turns of the event loop while a test runs (see {@link turnCounter}). */
export interface TurnCounter {
  /** Turns of the event loop since `start()`. */
  readonly turns: number;
  /** Starts counting from 0: call it in `beforeEach`. */
  start(): void;
  /** Stops counting: call it in `afterEach`. */
  stop(): void;
}

/**
 * An immediate that re-arms itself runs once per turn of the event loop, so its count,
 * read when something happens, says in which turn it happened: what a test needs to show
 * that work is spread over turns (no turn holds the process long).
 *
 * @example
 * ```ts
 * const counter = turnCounter();
 * beforeEach(() => counter.start());
 * afterEach(() => counter.stop());
 * // ... record counter.turns as the work goes, then compare with unitsPerTurn()
 * ```
 */
export function turnCounter(): TurnCounter {
  let turns = 0;
  let ticking: NodeJS.Immediate | undefined;
  const tick = () => {
    turns++;
    ticking = setImmediate(tick);
  };
  return {
    get turns() {
      return turns;
    },
    start() {
      turns = 0;
      ticking = setImmediate(tick);
    },
    stop() {
      clearImmediate(ticking);
    },
  };
}

/** The units of work done in each turn, summed from `(turn, units)` records. */
export function unitsPerTurn(records: readonly { turn: number; units: number }[]): Map<number, number> {
  const byTurn = new Map<number, number>();
  for (const { turn, units } of records) byTurn.set(turn, (byTurn.get(turn) ?? 0) + units);
  return byTurn;
}
