-- CreateIndex
CREATE INDEX "audit_events_userId_timestamp_id_idx" ON "audit_events"("userId", "timestamp", "id");

-- CreateIndex
CREATE INDEX "audit_events_contentType_timestamp_id_idx" ON "audit_events"("contentType", "timestamp", "id");

-- CreateIndex
CREATE INDEX "audit_events_remoteAddr_timestamp_id_idx" ON "audit_events"("remoteAddr", "timestamp", "id");

-- CreateIndex
CREATE INDEX "archived_audit_events_userId_timestamp_id_idx" ON "archived_audit_events"("userId", "timestamp", "id");

-- CreateIndex
CREATE INDEX "archived_audit_events_contentType_timestamp_id_idx" ON "archived_audit_events"("contentType", "timestamp", "id");

-- CreateIndex
CREATE INDEX "archived_audit_events_remoteAddr_timestamp_id_idx" ON "archived_audit_events"("remoteAddr", "timestamp", "id");
