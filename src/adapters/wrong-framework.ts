import { AuditConfigError } from "../errors";

/** How each framework takes the request layer: the fix a misplaced middleware names. */
const HOW =
  'On Express: app.use(auditEvents()) and auditAccess({ request }); on Koa: app.use(koaAuditEvents()) and koaAuditAccess({ request }); on Fastify: fastify.register(fastifyAuditEvents) and fastify.addHook("preHandler", fastifyAuditAccess({ request })).';

/**
 * The error of a request-layer middleware called by a framework it is not made for
 * (`koaAuditEvents()` in `app.use` of Express, `fastifyAuditAccess()` given to
 * `fastify.register`), naming the one to use instead.
 *
 * @param used what was used, such as `"koaAuditEvents()"`.
 * @param madeFor the framework it is made for, such as `"Koa middleware"`.
 * @returns an {@link AuditConfigError} (`ERR_AUDIT_CONFIG`) to throw.
 */
export function wrongFramework(used: string, madeFor: string): AuditConfigError {
  return new AuditConfigError(`${used} is ${madeFor}, but it was called as another framework's. ${HOW}`);
}
