import Fastify, { type FastifyInstance } from "fastify";
import pino from "pino";

import { fastifyAuditEvents } from "../../src/index";
import { viewOrder } from "./order-view";
import type { RequestTally } from "./request-tally";
import { middlewareOptions, VARIANTS, type Variant } from "./variants";

/**
 * The benchmark's Fastify app in one variant: the same route, the plugin in front or not.
 * Fastify's peer for pino-http is its own request logging, which is pino.
 */
export async function fastifyApp(variant: Variant, tally: RequestTally): Promise<FastifyInstance> {
  const app = Fastify(variant === "pino" ? { logger: { level: "info", stream: pino.destination("/dev/null") } } : {});
  if (variant !== "bare" && variant !== "pino") await app.register(fastifyAuditEvents, middlewareOptions(variant));
  const withEvent = VARIANTS[variant].event === "handler";
  app.get("/orders/:id", async (request, reply) => {
    tally.begin();
    try {
      const body = await viewOrder((request.params as { id: string }).id, withEvent);
      tally.end();
      return body;
    } catch (error) {
      tally.end(error);
      return reply.code(500).send({ error: String(error) });
    }
  });
  await app.ready();
  return app as unknown as FastifyInstance;
}
