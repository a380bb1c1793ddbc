import http from "node:http";

import express from "express";
import request from "supertest";

import { AuditContext, auditRouter, prismaStore } from "../../src";
import { openDatabase, providers, type Provider, type TestDatabase } from "../support/databases";

/**
 * A store that never archives may have no archive model (prismaStore says so only when
 * archival is asked). Looking an event up by id then asks the archive after the live
 * table: for an id it does not hold, that must be "no such event" (404 from the router),
 * not the archive model's absence (a 500). Found by a read-side attacker's reading.
 */
describe.each(providers)("a store without an archive model on %s", (provider: Provider) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openDatabase(provider);
  });
  afterAll(() => db?.close());

  it("answers an event by id, and 404 for an id it does not hold", async () => {
    const store = prismaStore(db.prisma, { archiveModel: "modelNobodyDeclared" });
    const event = await new AuditContext({ store }).createEvent({ contentType: "Order", objectId: "1" }, {});
    const server = http.createServer(express().use("/audit", auditRouter({ store, authorize: () => true })));
    expect((await request(server).get(`/audit/events/${event.id}`)).body).toMatchObject({ id: event.id });
    const missing = await request(server).get("/audit/events/0b7c5d39-5c1e-4f0e-9a53-0c7a0c2d8e11");
    expect({ status: missing.status, error: missing.body.error }).toEqual({ status: 404, error: expect.stringContaining("No event with id") });
    expect(await store.getArchivedEvent(event.id)).toBeNull();
  });
});
