import "reflect-metadata";
import { readFileSync } from "node:fs";
import path from "node:path";
import request from "supertest";
import { configureAudit, memoryStore, type MemoryStore } from "../../src";
import { AppModule } from "../../examples/nestjs-app";
import { nestPlatforms, useNestApp } from "../support/nest-apps";

const platforms = nestPlatforms(AppModule);

let store: MemoryStore;
beforeEach(() => {
  store = memoryStore();
  configureAudit({ store, userResolver: (req) => req.headers["x-user"] ?? null });
});
afterEach(() => configureAudit({}));

describe.each(platforms)("the README's NestJS example on the %s platform", (platform, create) => {
  const nest = useNestApp(platform, create);

  it("records the controller's and the service's events with the request's user, URL and request id", async () => {
    const res = await request(nest().getHttpServer()).post("/orders/42/ship").set("x-user", "ada").set("x-request-id", "r-42").set("user-agent", "jest/1");
    expect(res.status).toBe(201);
    const events = store.list();
    expect(events.map((e) => e.action)).toEqual(["order.ship.requested", "order.ship"]);
    for (const event of events) {
      expect(event).toMatchObject({ objectId: "42", userId: "ada", requestId: "r-42", headers: { "user-agent": "jest/1" }, url: expect.stringMatching(/\/orders\/42\/ship$/) });
    }
    expect(res.body).toMatchObject({ id: events[1]!.id, content: { carrier: "ups" } });
  });
});

it("is in the README word for word", () => {
  const root = path.resolve(__dirname, "../..");
  const file = readFileSync(path.join(root, "examples", "nestjs-app.ts"), "utf8");
  const code = file.slice(file.indexOf("import "));
  expect(code.length).toBeGreaterThan(500);
  expect(readFileSync(path.join(root, "README.md"), "utf8")).toContain(code);
});
