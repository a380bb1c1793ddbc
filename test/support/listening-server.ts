// A real HTTP server on a free port for tests that speak raw `http` to it (one request
// per connection, their own headers), and the wait for the request events it writes.
import http from "node:http";
import type { AddressInfo } from "node:net";

import type { AuditEventRecord, MemoryStore } from "../../src";

/**
 * Registers jest hooks that start the server `create` makes on 127.0.0.1 (a free port)
 * before the tests of the enclosing `describe`, and close it, connections and all, after
 * them. Returns the server as it is now (undefined before `beforeAll` ran).
 */
export function listeningServer(create: () => http.Server | Promise<http.Server>): () => http.Server {
  let server: http.Server | undefined;
  beforeAll(async () => {
    server = await create();
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });
  return () => server!;
}

/** What {@link statusOf} sends: a GET of `path` unless a method is named; `body` ends the request. */
export interface TestRequest {
  path: string;
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string;
}

/**
 * Sends `request` to `server` on a connection of its own and resolves with the status
 * it was answered with, once the whole answer has arrived.
 *
 * @throws what the connection fails with (rejects).
 */
export function statusOf(server: http.Server, { path, method = "GET", headers = {}, body }: TestRequest): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const port = (server.address() as AddressInfo).port;
    const req = http.request({ host: "127.0.0.1", port, path, method, agent: false, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Waits until `store` holds `count` events (at most 3 s), then `quietMs` more, time for
 * an event too many, if one were coming, to arrive: what a test that counts request
 * events (written after the responses) reads the store after.
 */
export async function eventsSettled(store: MemoryStore, count: number, quietMs = 60): Promise<void> {
  const deadline = Date.now() + 3000;
  while (store.list().length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  if (quietMs > 0) await new Promise((resolve) => setTimeout(resolve, quietMs));
}

/** The request event of the request `requestId` names, if `store` holds one. */
export function requestEventOf(store: MemoryStore, requestId: string): AuditEventRecord | undefined {
  return store.list().find((e) => e.contentType === "HttpRequest" && e.requestId === requestId);
}

/** The port `server` listens on. */
export function portOf(server: http.Server): number {
  return (server.address() as AddressInfo).port;
}
