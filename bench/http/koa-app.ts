import Koa from "koa";
import pino from "pino";
import { pinoHttp } from "pino-http";

import { koaAuditEvents } from "../../src/index";
import { viewOrder } from "./order-view";
import type { RequestTally } from "./request-tally";
import { middlewareOptions, VARIANTS, type Variant } from "./variants";

const ORDER_PATH = /^\/orders\/([^/]+)$/;

/** pino-http on Koa's raw request and response, the way koa-pino-logger wraps it. */
function koaPinoHttp(): Koa.Middleware {
  const logRequest = pinoHttp({ logger: pino(pino.destination("/dev/null")) });
  return function pinoHttpMiddleware(ctx, next) {
    logRequest(ctx.req, ctx.res);
    return next();
  };
}

/** The benchmark's Koa app in one variant: the same route, different middleware in front. */
export function koaApp(variant: Variant, tally: RequestTally): Koa {
  const app = new Koa();
  if (variant === "pino") app.use(koaPinoHttp());
  else if (variant !== "bare") app.use(koaAuditEvents(middlewareOptions(variant)));
  const withEvent = VARIANTS[variant].event === "handler";
  app.use(async (ctx) => {
    const match = ORDER_PATH.exec(ctx.path);
    if (ctx.method !== "GET" || match === null) {
      ctx.status = 404;
      return;
    }
    tally.begin();
    try {
      ctx.body = await viewOrder(match[1]!, withEvent);
      tally.end();
    } catch (error) {
      tally.end(error);
      ctx.status = 500;
      ctx.body = { error: String(error) };
    }
  });
  return app;
}
