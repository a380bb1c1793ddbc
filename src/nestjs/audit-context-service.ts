import { Injectable } from "@nestjs/common";
import { currentAuditContext } from "../async-context";
import type { AuditContext } from "../context";

/**
 * Injectable access to the audit context of the request being served: the same
 * context as `req.auditContext`, for services that have no request at hand.
 * Outside a request (a cron job, a queue consumer) it is a new blank context, as
 * `currentAuditContext()` is.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class RefundService {
 *   constructor(private readonly audit: AuditContextService) {}
 *   async refund(order: Order) {
 *     await this.audit.current().createEvent(order, {}, { action: "refund" });
 *   }
 * }
 * ```
 */
export class AuditContextService {
  /** The current request's (or job's) context; never throws. */
  current(): AuditContext {
    return currentAuditContext();
  }
}

// Applied as calls, not as @-syntax, so the library builds without the compiler's
// decorator options; the application's own classes use them as Nest documents.
Injectable()(AuditContextService);
