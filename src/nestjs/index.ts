export { AuditEventsModule, AUDIT_EVENTS_OPTIONS } from "./audit-events-module";
export { AuditContextService } from "./audit-context-service";
