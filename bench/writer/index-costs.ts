import type { Client as PgClient } from "pg";

import type { AuditEventRecord } from "../../src/model/event-record";
import { int } from "../lib/format";
import { postgresCpuMicros } from "../lib/postgres-cpu";
import { markdownTable } from "../lib/markdown-table";
import { median } from "../lib/stats";
import type { WritePath } from "./write-paths";

/** What one index of `audit_events` costs raw COPY, measured with and without it in the same rounds. */
export interface IndexCost {
  name: string;
  /** `CREATE INDEX ...` as PostgreSQL gives it back (`pg_get_indexdef`). */
  definition: string;
  /** Median rows/s of COPY with every index. */
  withAll: number;
  /** Median rows/s of COPY with this one dropped. */
  without: number;
  /** Median over rounds of 1 - withAll/without: the share of COPY's time this index takes. */
  share: number;
  /**
   * Median over rounds of PostgreSQL's CPU a row with every index minus without this one,
   * in µs: what the index costs the database's CPU, less noise-bound than a rate. NaN where
   * PostgreSQL's processes cannot be seen.
   */
  cpuPerRow: number;
}

/** One timed COPY: rows a second, and PostgreSQL's CPU a row in µs (NaN where not seen). */
interface Timed {
  rate: number;
  cpuPerRow: number;
}

/** Empties the table, then times `copy` of `events` in batches of `batchSize`, by the clock and by PostgreSQL's CPU. */
async function timedCopy(pg: PgClient, copy: WritePath, events: readonly AuditEventRecord[], batchSize: number): Promise<Timed> {
  await pg.query("TRUNCATE audit_events, audit_checkpoints");
  // The backends of this database only: the COPY's own, not other clients' of the same server.
  const cpuBefore = postgresCpuMicros(pg.database);
  const started = performance.now();
  await copy(events, batchSize);
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = postgresCpuMicros(pg.database);
  return { rate: events.length / seconds, cpuPerRow: cpuBefore === undefined || cpuAfter === undefined ? NaN : (cpuAfter - cpuBefore) / events.length };
}

interface IndexRow {
  name: string;
  definition: string;
  constraint: string | null;
  constraintDefinition: string | null;
}

const INDEXES_SQL = `
SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition, c.conname AS constraint, pg_get_constraintdef(c.oid) AS "constraintDefinition"
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
WHERE x.indrelid = 'audit_events'::regclass
ORDER BY i.relname`;

const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * For each index of `audit_events` (the primary key and the unique `(chainId, seq)`
 * included): `rounds` pairs of runs of `copy` over `events` in batches of `batchSize`, one
 * with every index and one with that index dropped (the order alternating by round), each on
 * an emptied table; the index is put back after each pair exactly as it was.
 */
export async function indexCosts(pg: PgClient, copy: WritePath, events: readonly AuditEventRecord[], batchSize: number, rounds: number, log: (line: string) => void): Promise<IndexCost[]> {
  const indexes = (await pg.query<IndexRow>(INDEXES_SQL)).rows;
  const timed = () => timedCopy(pg, copy, events, batchSize);
  const costs: IndexCost[] = [];
  for (const index of indexes) {
    const drop = index.constraint === null ? `DROP INDEX ${quoted(index.name)}` : `ALTER TABLE audit_events DROP CONSTRAINT ${quoted(index.constraint)}`;
    const restore = index.constraint === null ? index.definition : `ALTER TABLE audit_events ADD CONSTRAINT ${quoted(index.constraint)} ${index.constraintDefinition}`;
    const withAll: Timed[] = [];
    const without: Timed[] = [];
    for (let round = 1; round <= rounds; round++) {
      const dropped = async () => {
        await pg.query(drop);
        try {
          without.push(await timed());
        } finally {
          await pg.query("TRUNCATE audit_events");
          await pg.query(restore);
        }
      };
      if (round % 2 === 1) {
        withAll.push(await timed());
        await dropped();
      } else {
        await dropped();
        withAll.push(await timed());
      }
    }
    const cost = {
      name: index.name,
      definition: index.definition,
      withAll: median(withAll.map((t) => t.rate)),
      without: median(without.map((t) => t.rate)),
      share: median(withAll.map((t, i) => 1 - t.rate / without[i]!.rate)),
      cpuPerRow: median(withAll.map((t, i) => t.cpuPerRow - without[i]!.cpuPerRow)),
    };
    log(
      `index ${index.name}: COPY ${int(cost.withAll)} rows/s with every index, ${int(cost.without)} without it: ${(cost.share * 100).toFixed(1)}% of COPY's time, ` +
        `${cost.cpuPerRow.toFixed(2)} µs of PostgreSQL's CPU a row`,
    );
    costs.push(cost);
  }
  return costs;
}

/** What every index but the primary key costs COPY together (see {@link allIndexesCost}). */
export interface AllIndexesCost {
  /** Median rows/s with every index. */
  withAll: number;
  /** Median rows/s with the primary key alone. */
  keyOnly: number;
  /** Median over rounds of 1 - withAll/keyOnly. */
  share: number;
  /** Median PostgreSQL CPU a row with every index, µs (NaN where not seen). */
  cpuWithAll: number;
  /** Median PostgreSQL CPU a row with the primary key alone, µs. */
  cpuKeyOnly: number;
}

/**
 * Rows/s of `copy` with every index and with only the primary key (every other index
 * dropped, then put back as it was), `rounds` interleaved pairs, medians: what the indexes
 * cost together, a larger difference than any one index makes, so less drowned by noise.
 */
export async function allIndexesCost(pg: PgClient, copy: WritePath, events: readonly AuditEventRecord[], batchSize: number, rounds: number): Promise<AllIndexesCost> {
  const secondary = (await pg.query<IndexRow>(INDEXES_SQL)).rows.filter((index) => index.constraint === null || !index.constraint.endsWith("_pkey"));
  const timed = () => timedCopy(pg, copy, events, batchSize);
  const withAll: Timed[] = [];
  const keyOnly: Timed[] = [];
  for (let round = 1; round <= rounds; round++) {
    if (round % 2 === 1) withAll.push(await timed());
    for (const index of secondary) await pg.query(index.constraint === null ? `DROP INDEX ${quoted(index.name)}` : `ALTER TABLE audit_events DROP CONSTRAINT ${quoted(index.constraint)}`);
    try {
      keyOnly.push(await timed());
    } finally {
      await pg.query("TRUNCATE audit_events");
      for (const index of secondary) await pg.query(index.constraint === null ? index.definition : `ALTER TABLE audit_events ADD CONSTRAINT ${quoted(index.constraint)} ${index.constraintDefinition}`);
    }
    if (round % 2 === 0) withAll.push(await timed());
  }
  return {
    withAll: median(withAll.map((t) => t.rate)),
    keyOnly: median(keyOnly.map((t) => t.rate)),
    share: median(withAll.map((t, i) => 1 - t.rate / keyOnly[i]!.rate)),
    cpuWithAll: median(withAll.map((t) => t.cpuPerRow)),
    cpuKeyOnly: median(keyOnly.map((t) => t.cpuPerRow)),
  };
}

/** The markdown section of {@link indexCosts}. */
export function indexCostTable(costs: readonly IndexCost[], all: AllIndexesCost, batchSize: number, rounds: number, events: number): string[] {
  const rows = costs.map((cost) => [
    `\`${cost.name}\``,
    cost.definition.replace(/^CREATE (UNIQUE )?INDEX \S+ ON \S+ /, "$1"),
    int(cost.withAll),
    int(cost.without),
    `${(cost.share * 100).toFixed(1)}%`,
    Number.isNaN(cost.cpuPerRow) ? "–" : cost.cpuPerRow.toFixed(2),
  ]);
  return [
    `### What each index of \`audit_events\` costs the writer`,
    "",
    `Raw COPY of the same ${int(events)} events in batches of ${int(batchSize)}, with every index and with one index dropped, ${rounds} interleaved pair(s) per index, medians; ` +
      "share: the median over pairs of 1 - (rows/s with every index) / (rows/s without this one), the part of COPY's time that index takes; " +
      "PostgreSQL's CPU: the median over pairs of the database's CPU a row (the run time of the backends connected to the benchmark's database, from /proc) with every index minus without this one, a figure less bound to the noise of a shared machine than a rate.",
    "",
    markdownTable(["index", "definition", "rows/s, every index", "rows/s, without it", "share of COPY's time", "PostgreSQL CPU µs a row"], rows),
    "",
    `Every index but the primary key together: COPY ${int(all.withAll)} rows/s with them, ${int(all.keyOnly)} rows/s with the primary key alone; ` +
      `they take ${(all.share * 100).toFixed(1)}% of COPY's time (median over ${rounds} pair(s)). One index's share is a small difference of two noisy rates: read it over several runs. ` +
      (Number.isNaN(all.cpuWithAll) ? "" : `PostgreSQL's CPU a row: ${all.cpuWithAll.toFixed(1)} µs with every index, ${all.cpuKeyOnly.toFixed(1)} µs with the primary key alone.`),
  ];
}
