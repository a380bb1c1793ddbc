import http from "node:http";
import request from "supertest";
import { configureAudit, MASK, memoryStore, type AuditEventRecord, type MemoryStore } from "../../src";
import { frameworks, portOf, type AppOptions, type RouteAnswer, type TestApp } from "../support/http-apps";

/** Sends a JSON body in two packets, 50 ms apart, so the parser finishes in a later socket callback. */
function postSlowly(port: number, path: string, body: string, contentType = "application/json"): Promise<{ status: number; json: RouteAnswer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method: "POST", headers: { "content-type": contentType, "content-length": Buffer.byteLength(body) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as RouteAnswer }));
    });
    req.on("error", reject);
    const half = Math.floor(body.length / 2);
    req.write(body.slice(0, half));
    setTimeout(() => req.end(body.slice(half)), 50);
  });
}

let store: MemoryStore;
const running: TestApp[] = [];

beforeEach(() => {
  store = memoryStore();
  configureAudit({ store, includePostData: true, includeQueryParams: true });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
  configureAudit({});
});

describe.each(frameworks)("the $name middleware", (framework) => {
  async function start(options?: AppOptions) {
    const app = await framework.start(options);
    running.push(app);
    return request(app.server);
  }

  function answer(res: request.Response): RouteAnswer {
    expect(res.status).toBe(200);
    return res.body as RouteAnswer;
  }

  function hasPassword(record: unknown, password: string): boolean {
    return JSON.stringify(record).includes(password);
  }

  describe.each(["before", "after"] as const)("placed %s the body parsers", (position) => {
    it("keeps the context through JSON parsing, timers, promise chains and event emitters", async () => {
      const http = await start({ position });
      const { record } = answer(await http.post("/orders/7").set("x-marker", "json").send({ password: "s3cret", total: 12 }));
      expect(record.content).toEqual({ marker: "json", hops: [true, true, true, true] });
      expect(record.postData).toEqual({ password: MASK, total: 12 });
    });

    it("keeps the context when the body arrives in packets spread over time", async () => {
      const app = await framework.start({ position });
      running.push(app);
      const { status, json } = await postSlowly(portOf(app), "/orders/3", JSON.stringify({ password: "slow", n: 1 }));
      expect(status).toBe(200);
      expect(json.record.content.hops).toEqual([true, true, true, true]);
      expect(json.record.postData).toEqual({ password: MASK, n: 1 });
    });

    if (framework.kind !== "koa") {
      it("keeps the context through a parser that finishes in the stream's end event", async () => {
        const app = await framework.start({ position });
        running.push(app);
        const { status, json } = await postSlowly(portOf(app), "/orders/4", "hello in two packets", "text/plain");
        expect(status).toBe(200);
        expect(json.record.content.hops).toEqual([true, true, true, true]);
        expect(json.record.postData).toEqual({ text: "hello in two packets" });
      });
    }

    it("keeps the context through urlencoded parsing", async () => {
      const http = await start({ position });
      const res = await http.post("/orders/8").type("form").send("user[name]=ann&user[password]=s3cret&tags=a&tags=b");
      const { record } = answer(res);
      expect(record.content.hops).toEqual([true, true, true, true]);
      expect(record.postData).toEqual({ user: { name: "ann", password: MASK }, tags: ["a", "b"] });
    });

    it("keeps the context through multipart parsing and records the fields", async () => {
      const http = await start({ position });
      const res = await http
        .post("/orders/9")
        .field("note", "fragile")
        .field("password", "s3cret")
        .attach("invoice", Buffer.from("%PDF-1.4 fake"), "invoice.pdf");
      if (framework.kind === "fastify") {
        // Fastify parses no multipart body without @fastify/multipart: 415, before any handler.
        expect(res.status).toBe(415);
        expect(store.list()).toHaveLength(0);
        return;
      }
      const { record } = answer(res);
      expect(record.content.hops).toEqual([true, true, true, true]);
      expect(record.postData).toEqual({ note: "fragile", password: MASK });
    });
  });

  if (framework.kind === "koa") {
    it.each(["before", "after"] as const)("keeps the context with @koa/bodyparser placed %s it", async (position) => {
      const http = await start({ position, koaParser: "@koa/bodyparser" });
      const { record } = answer(await http.post("/orders/1").send({ password: "x", ok: true }));
      expect(record.content.hops).toEqual([true, true, true, true]);
      expect(record.postData).toEqual({ password: MASK, ok: true });
    });
  }

  if (framework.kind === "fastify") {
    it("keeps the context in preHandler and onSend hooks, with and without a body", async () => {
      const http = await start();
      for (const res of [await http.get("/orders/1"), await http.post("/orders/2").send({ a: 1 }), await http.get("/quiet")]) {
        expect(res.status).toBe(200);
        expect(JSON.parse(res.headers["x-hooks-context"] as string)).toEqual({ preHandler: true, onSend: true });
      }
    });

    it("runs the error handler of a handler that throws after an async hop in the request's context", async () => {
      const http = await start();
      const res = await http.post("/fail").send({ a: 1 });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: "failed after a hop", errorHandlerContext: true });
    });
  }

  it("never lets 200 interleaved concurrent requests see each other's context", async () => {
    const http = await start();
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        http
          .post(`/orders/${i}?n=${i}`)
          .set("x-user", `user-${i}`)
          .set("x-marker", `marker-${i}`)
          .send({ n: i }),
      ),
    );
    responses.forEach((res, i) => {
      const { record } = answer(res);
      expect(record).toMatchObject({
        objectId: String(i),
        userId: `user-${i}`,
        queryParams: { n: String(i) },
        postData: { n: i },
        content: { marker: `marker-${i}`, hops: [true, true, true, true] },
      });
    });
    expect(new Set(store.list().map((e) => e.userId)).size).toBe(200);
  });

  it("records the absolute URL with its query string, masked keys reading MASK", async () => {
    const http = await start();
    const { record } = answer(await http.get("/orders/5?password=pw-one&PassWord=pw-two&q=shoes&user[password]=x"));
    const port = http.get("/").url.match(/:(\d+)\//)![1];
    expect(record.url).toBe(`http://127.0.0.1:${port}/orders/5?password=${MASK}&PassWord=${MASK}&q=shoes&user[password]=${MASK}`);
    expect(record.method).toBe("GET");
    // Not "abc": hex letters can occur in the event's UUID.
    expect(hasPassword(record, "pw-one")).toBe(false);
    expect(hasPassword(record, "pw-two")).toBe(false);
  });

  it("resolves the user when the event is created, so authentication after the middleware is seen", async () => {
    const http = await start();
    const { record } = answer(await http.post("/orders/1").set("x-user", "u-77").send({}));
    expect(record.userId).toBe("u-77");
    const anonymous = answer(await http.post("/orders/1").send({}));
    expect(anonymous.record.userId).toBeNull();
  });

  it("records only whitelisted headers, masking authorization, proxy-authorization and cookie", async () => {
    const http = await start({
      options: { includeHeaders: ["User-Agent", "Authorization", "proxy-authorization", "Cookie", "X-Request-Id", "x-absent"] },
    });
    const res = await http
      .get("/orders/1")
      .set("User-Agent", "test-agent/1.0")
      .set("Authorization", "Bearer top-secret")
      .set("Proxy-Authorization", "Basic c2VjcmV0")
      .set("Cookie", "session=secret-cookie")
      .set("X-Request-Id", "req-1")
      .set("X-Not-Listed", "nope");
    const { record } = answer(res);
    expect(record.headers).toEqual({
      "user-agent": "test-agent/1.0",
      authorization: MASK,
      "proxy-authorization": MASK,
      cookie: MASK,
      "x-request-id": "req-1",
    });
    expect(hasPassword(record, "top-secret")).toBe(false);
    expect(hasPassword(record, "secret-cookie")).toBe(false);
  });

  it("records the socket address, not a spoofed X-Forwarded-For, by default", async () => {
    const http = await start();
    const { record } = answer(await http.get("/orders/1").set("X-Forwarded-For", "6.6.6.6"));
    expect(record.remoteAddr).toBe("127.0.0.1");
  });

  it("honours the app's trusted proxy hop count", async () => {
    const oneHop = await start({ trustedHops: 1 });
    const one = answer(await oneHop.get("/orders/1").set("X-Forwarded-For", "6.6.6.6, 203.0.113.9"));
    expect(one.record.remoteAddr).toBe("203.0.113.9");
    const twoHops = await start({ trustedHops: 2 });
    const two = answer(await twoHops.get("/orders/1").set("X-Forwarded-For", "198.51.100.4, 203.0.113.9"));
    expect(two.record.remoteAddr).toBe("198.51.100.4");
  });

  it("lets clientIpResolver and userResolver decide instead", async () => {
    const http = await start({
      options: {
        clientIpResolver: (req) => (framework.kind === "koa" ? req.get("x-real-ip") : req.headers["x-real-ip"]),
        userResolver: () => "resolved-user",
      },
    });
    const { record } = answer(await http.get("/orders/1").set("x-real-ip", "192.0.2.1").set("x-user", "ignored"));
    expect(record.remoteAddr).toBe("192.0.2.1");
    expect(record.userId).toBe("resolved-user");
  });

  it("records query params and post data only when enabled", async () => {
    configureAudit({ store });
    const http = await start();
    const { record } = answer(await http.post("/orders/1?q=1").send({ a: 1 }));
    expect(record.queryParams).toEqual({});
    expect(record.postData).toEqual({});
    expect(record.headers).toEqual({});
  });

  it("writes nothing for a request that creates no event", async () => {
    const http = await start();
    const res = await http.post("/quiet").send({ password: "x" });
    expect(res.status).toBe(200);
    expect(store.list()).toHaveLength(0);
  });

  it("never mutates the parsed body while masking it", async () => {
    const http = await start();
    const sent = { password: "p1", items: [{ sku: "A", Password: "p2" }], deep: { a: { b: { password: "p3" } } } };
    const { record, body } = answer(await http.post("/orders/1").set("x-echo-body", "1").send(sent));
    expect(body).toEqual(sent);
    expect(record.postData).toEqual({
      password: MASK,
      items: [{ sku: "A", Password: MASK }],
      deep: { a: { b: { password: MASK } } },
    });
  });

  it("masks a password nested ten levels deep and inside arrays", async () => {
    const http = await start();
    let body: Record<string, unknown> = { password: "deep-secret", keep: "yes" };
    for (let i = 0; i < 9; i++) body = { [`level${i}`]: [body] };
    const { record } = answer(await http.post("/orders/1").send(body));
    expect(hasPassword(record, "deep-secret")).toBe(false);
    expect(JSON.stringify(record.postData)).toContain(`"password":"${MASK}","keep":"yes"`);
  });

  it("stores a 1 MB body as the truncation marker, without a crash or a leaked password", async () => {
    const http = await start();
    const big = { password: "big-secret", blob: "x".repeat(1024 * 1024) };
    const { record } = answer(await http.post("/orders/1").send(big));
    expect(record.postData).toEqual({ _truncated: true, _bytes: expect.any(Number) });
    expect((record.postData as { _bytes: number })._bytes).toBeGreaterThan(1024 * 1024);
    expect(hasPassword(record, "big-secret")).toBe(false);
  });

  it("stores a 10 000-deep body bounded, without a crash or a leaked password", async () => {
    const http = await start();
    const json = '{"a":'.repeat(10_000) + '{"password":"deep-secret"}' + "}".repeat(10_000);
    const res = await http.post("/orders/1").set("content-type", "application/json").send(json);
    expect(res.status).toBe(200);
    const events = store.list();
    expect(events).toHaveLength(1);
    const stored = JSON.stringify(events[0]);
    expect(stored).not.toContain("deep-secret");
    expect(stored.length).toBeLessThan(20_000);
  });

  it("keeps __proto__ keys as data under [__proto__], masks inside them and pollutes nothing", async () => {
    const http = await start();
    const json = '{"__proto__":{"password":"proto-secret","isAdmin":true},"constructor":{"prototype":{"polluted":1}}}';
    const res = await http.post("/orders/1").set("content-type", "application/json").send(json);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    if (framework.kind !== "express") {
      // Koa's JSON parser, and Fastify's (onProtoPoisoning: "error" by default), refuse
      // __proto__ keys outright: nothing reaches the app.
      expect(res.status).toBe(400);
      expect(store.list()).toHaveLength(0);
      return;
    }
    expect(res.status).toBe(200);
    const [event] = store.list() as AuditEventRecord[];
    expect(event!.postData).toEqual({ "[__proto__]": { password: MASK, isAdmin: true }, constructor: { prototype: { polluted: 1 } } });
    expect(hasPassword(event, "proto-secret")).toBe(false);
  });

  it("answers invalid JSON with 400 before any handler, writing nothing", async () => {
    const http = await start();
    const res = await http.post("/orders/1").set("content-type", "application/json").send('{"password":"bad-secret",');
    expect(res.status).toBe(400);
    expect(store.list()).toHaveLength(0);
    expect(res.text).not.toContain("bad-secret");
    if (framework.kind === "fastify") {
      // Fastify hands the parse error to the app's error handler, which runs in the request's context.
      expect(res.body).toMatchObject({ errorHandlerContext: true });
    }
  });

  it("stores control characters, NUL and invalid UTF-8 safely", async () => {
    const http = await start({ options: { includeHeaders: ["x-note"] } });
    const payload = Buffer.concat([
      Buffer.from('{"note":"tab\\t bell\\u0007 nul\\u0000 lone\\ud800 end","bad":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}'),
    ]);
    const res = await http.post("/orders/1").set("content-type", "application/json").set("x-note", "a\tb").serialize(((raw: Buffer) => raw) as unknown as (body: unknown) => string).send(payload);
    if (framework.name === "Fastify 4") {
      // Fastify 4 measures the body after decoding it as UTF-8, so each invalid byte (now
      // U+FFFD, three bytes) breaks the Content-Length check: 400, before any handler.
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: "FST_ERR_CTP_INVALID_CONTENT_LENGTH" });
      expect(store.list()).toHaveLength(0);
      return;
    }
    const { record } = answer(res);
    const postData = record.postData as { note: string; bad: string };
    expect(postData.note).toBe("tab\t bell\u0007 nul\u2400 lone\ufffd end");
    expect(postData.bad).toMatch(/^\ufffd+$/);
    expect((record.headers as Record<string, string>)["x-note"]).toBe("a\tb");
  });
});
