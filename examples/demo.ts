// `npm run demo`: a shop on Express and Koa writes audit events into SQLite,
// a background job adds its own, and every stored event is read back and shown.
import type { AddressInfo } from "node:net";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { configureAudit, prismaStore } from "audit-events";
import { nightlyPaymentSync } from "./background-job";
import { createExpressApp } from "./express-app";
import { createKoaApp } from "./koa-app";
import { openExampleDatabase } from "./sqlite-database";

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

async function post(url: string, user: string, body: unknown = {}) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", "x-user": user, "user-agent": "demo/1.0" }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${url} answered ${res.status}: ${await res.text()}`);
  return res.json() as Promise<{ id: number }>;
}

async function main() {
  const file = path.resolve(__dirname, "..", ".tmp", "demo.db");
  const prisma = openExampleDatabase(file);
  configureAudit({ store: prismaStore(prisma), includePostData: true, includeHeaders: ["user-agent"] });

  const expressServer = createServer(createExpressApp(prisma));
  const koaServer = createServer(createKoaApp(prisma).callback());
  try {
    const [expressUrl, koaUrl] = await Promise.all([listen(expressServer), listen(koaServer)]);
    const first = await post(`${expressUrl}/orders`, "alice", { reference: "A-100", total: "49.90", password: "never-stored" });
    const second = await post(`${expressUrl}/orders`, "alice", { reference: "A-101", total: "15.00" });
    await post(`${expressUrl}/orders/${first.id}/refund`, "alice", { reason: "damaged" });
    await post(`${koaUrl}/orders/${second.id}/ship`, "bob");
    await post(`${expressUrl}/orders`, "carol", { reference: "A-102", total: "7.25" });
    const synced = await nightlyPaymentSync(prisma);

    const events = await prisma.auditEvent.findMany({ orderBy: [{ timestamp: "asc" }, { id: "asc" }] });
    console.log(`audit-events demo: ${events.length} events stored in ${path.relative(process.cwd(), file)} (the job marked ${synced} order(s) paid)\n`);
    for (const e of events) {
      console.log(`${e.timestamp.toISOString()}  ${e.contentType}#${e.objectId}  ${e.action ?? "-"} (${e.outcome})  user=${e.userId ?? "-"}  ${e.method ?? "JOB"} ${e.url ?? ""}`);
      console.log(`    content=${JSON.stringify(e.content)}`);
      if (Object.keys(e.postData as object).length > 0) console.log(`    postData=${JSON.stringify(e.postData)}`);
    }
  } finally {
    expressServer.close();
    koaServer.close();
    await prisma.$disconnect();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
