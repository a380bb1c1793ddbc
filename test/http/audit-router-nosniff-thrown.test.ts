import http from "node:http";

import Koa from "koa";
import request from "supertest";

import { koaAuditRouter, memoryStore } from "../../src";

/* eslint-disable @typescript-eslint/no-require-imports */
const Koa2 = require("koa2") as typeof Koa;

/**
 * README: "Every answer, errors and exports included, carries X-Content-Type-Options:
 * nosniff". An app's `authorize` (or store) that fails with something other than a
 * plain, extensible Error, answered by Koa's own error handling.
 */
class HeaderlessError extends Error {
  get headers() {
    return undefined;
  }
}
const THROWN: Array<[string, () => unknown]> = [
  ["a string", () => "session store unavailable"],
  ["an Error whose headers is a getter", () => new HeaderlessError("getter")],
  ["a frozen Error", () => Object.freeze(new Error("frozen"))],
  ["an object with a status", () => ({ status: 503, message: "down" })],
];

describe.each([
  ["Koa 3", Koa],
  ["Koa 2", Koa2],
] as const)("%s: authorize fails", (_name, Make) => {
  it.each(THROWN)("with %s: the 500 carries nosniff", async (_what, thrown) => {
    const app = new Make();
    app.silent = true;
    app.use(
      koaAuditRouter({
        prefix: "/audit",
        store: memoryStore(),
        authorize: () => {
          throw thrown();
        },
      }),
    );
    const answer = await request(http.createServer(app.callback())).get("/audit/events");
    const status = (thrown() as { status?: number } | undefined)?.status ?? 500;
    expect({ status: answer.status, nosniff: answer.headers["x-content-type-options"] }).toEqual({ status, nosniff: "nosniff" });
  });
});
