import http from "node:http";

import express from "express";
import request from "supertest";

import { auditRouter, countEvents, prismaStore, type AuditStore } from "../../src";
import { openDatabase, providers, type Provider, type TestDatabase } from "../support/databases";
import { insertAll, manyEvents } from "../support/read-fixtures";

/**
 * `GET /events/summary?source=all` and `countEvents({ source: "all" })` while archival
 * moves events from the live table to the archive (as scheduleArchival does). Every event
 * has an outcome, a severity and a day, so byOutcome, bySeverity and byDay must each add
 * up to `total`, and `total` and the count must be the number of events, which archival
 * does not change. The summary's grouped queries and the count's two were run one after
 * another, each in its own snapshot: an event archived between them was counted twice or
 * not at all (3060 or 3020 of 3000 on PostgreSQL and MariaDB). Found by a read-side
 * attacker; its test, with the count and SQLite added.
 */
describe.each(providers)("summary and count of source=all during archival on %s", (provider: Provider) => {
  let db: TestDatabase;
  let store: AuditStore;
  const COUNT = 3000;
  beforeAll(async () => {
    db = await openDatabase(provider);
    store = prismaStore(db.prisma);
    await insertAll(store, manyEvents(COUNT));
  }, 120_000);
  afterAll(async () => {
    await db?.close();
  });

  it("answers a summary whose counts agree with each other and with the number of events", async () => {
    const server = http.createServer(express().use("/audit", auditRouter({ store, authorize: () => true })));
    let archiving = true;
    const archiver = (async () => {
      // Move events one small batch at a time, oldest first, as a scheduled archival run does.
      while (archiving) {
        const { moved } = await store.archiveBatch(new Date("2100-01-01"), 20);
        if (moved === 0) break;
      }
    })();
    const seen: Array<{ total: number; outcomes: number; severities: number; days: number; counted: number }> = [];
    try {
      for (let i = 0; i < 25; i++) {
        const { body } = await request(server).get("/audit/events/summary?source=all");
        const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
        const counted = await countEvents({ store, source: "all" });
        seen.push({ total: body.total, outcomes: sum(body.byOutcome), severities: sum(body.bySeverity), days: sum(body.byDay), counted });
      }
    } finally {
      archiving = false;
      await archiver;
    }
    const wrong = seen.filter((s) => s.total !== COUNT || s.outcomes !== COUNT || s.severities !== COUNT || s.days !== COUNT || s.counted !== COUNT);
    expect({ wrong: wrong.slice(0, 5), of: seen.length }).toEqual({ wrong: [], of: seen.length });
  }, 120_000);
});
