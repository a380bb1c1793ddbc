import express from "express";
import pino from "pino";
import { pinoHttp } from "pino-http";

import { auditEvents } from "../../src/index";
import { viewOrder } from "./order-view";
import type { RequestTally } from "./request-tally";
import { middlewareOptions, VARIANTS, type Variant } from "./variants";

/** The benchmark's Express app in one variant: the same route, different middleware in front. */
export function expressApp(variant: Variant, tally: RequestTally): express.Express {
  const app = express();
  if (variant === "pino") app.use(pinoHttp({ logger: pino(pino.destination("/dev/null")) }));
  else if (variant !== "bare") app.use(auditEvents(middlewareOptions(variant)));
  const withEvent = VARIANTS[variant].event === "handler";
  app.get("/orders/:id", async (req, res) => {
    tally.begin();
    try {
      const body = await viewOrder(req.params.id, withEvent);
      tally.end();
      res.json(body);
    } catch (error) {
      tally.end(error);
      res.status(500).json({ error: String(error) });
    }
  });
  return app;
}
