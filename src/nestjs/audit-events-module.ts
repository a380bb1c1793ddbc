import { Inject, Module, type DynamicModule, type MiddlewareConsumer, type NestModule } from "@nestjs/common";
import { HttpAdapterHost } from "@nestjs/core";
import { auditEvents } from "../adapters/express";
import { fastifyAuditEvents } from "../adapters/fastify";
import { middlewareSetup, type AuditMiddlewareOptions } from "../middleware-options";
import { AuditContextService } from "./audit-context-service";

/** The injection token of the options given to {@link AuditEventsModule.forRoot}. */
export const AUDIT_EVENTS_OPTIONS = Symbol("audit-events:options");

/** What the module needs of a Fastify instance: registering a plugin. */
interface FastifyRegistry {
  register(plugin: typeof fastifyAuditEvents, options: AuditMiddlewareOptions): unknown;
}

/**
 * The NestJS module of audit-events, on the Express and the Fastify platform:
 * every request gets an `AuditContext` (`req.auditContext` in controllers,
 * {@link AuditContextService} in services, `currentAuditContext()` anywhere).
 * Global: import it once, in the root module. Options are those of
 * `auditEvents()`, `requestEvents` included (one event per finished request, its
 * action the Nest route's template: `POST /orders/:id/ship`), laid over
 * `configureAudit()`'s (call that before the app starts, e.g. in `main.ts`).
 *
 * On Express it is Nest middleware for every route. On Fastify it registers the
 * `fastifyAuditEvents` plugin on the instance instead: Nest middleware runs there
 * through @fastify/middie on the raw Node request, before Fastify has parsed the
 * body or a guard has set `request.user`, which the plugin reads.
 *
 * @example
 * ```ts
 * @Module({ imports: [AuditEventsModule.forRoot({ includeHeaders: ["user-agent"], requestEvents: { skipPaths: ["/health"] } })], controllers: [OrdersController] })
 * export class AppModule {}
 * ```
 */
export class AuditEventsModule implements NestModule {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly options: AuditMiddlewareOptions,
  ) {}

  /**
   * The module with `options`, validated now.
   *
   * @default options `{}`: `configureAudit()`'s settings as they are
   * @throws {AuditConfigError} (`ERR_AUDIT_CONFIG`) for bad options, naming the fix.
   */
  static forRoot(options: AuditMiddlewareOptions = {}): DynamicModule {
    middlewareSetup("AuditEventsModule.forRoot", options, 0);
    return {
      module: AuditEventsModule,
      global: true,
      providers: [{ provide: AUDIT_EVENTS_OPTIONS, useValue: options }, AuditContextService],
      exports: [AuditContextService],
    };
  }

  /** Called by Nest before it registers the routes. */
  configure(consumer: MiddlewareConsumer): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter.getType() === "fastify") {
      (adapter.getInstance() as FastifyRegistry).register(fastifyAuditEvents, this.options);
      return;
    }
    consumer.apply(auditEvents(this.options)).forRoutes("{*path}");
  }
}

Module({})(AuditEventsModule);
Inject(HttpAdapterHost)(AuditEventsModule, undefined, 0);
Inject(AUDIT_EVENTS_OPTIONS)(AuditEventsModule, undefined, 1);
