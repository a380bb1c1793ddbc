-- CreateTable
CREATE TABLE "audit_events" (
    "id" UUID NOT NULL,
    "timestamp" TIMESTAMPTZ(3) NOT NULL,
    "contentType" TEXT NOT NULL,
    "objectId" TEXT NOT NULL,
    "content" JSONB NOT NULL,
    "userId" TEXT,
    "url" TEXT,
    "method" TEXT,
    "remoteAddr" TEXT,
    "queryParams" JSONB NOT NULL,
    "postData" JSONB NOT NULL,
    "headers" JSONB NOT NULL,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "archived_audit_events" (
    "id" UUID NOT NULL,
    "timestamp" TIMESTAMPTZ(3) NOT NULL,
    "contentType" TEXT NOT NULL,
    "objectId" TEXT NOT NULL,
    "content" JSONB NOT NULL,
    "userId" TEXT,
    "url" TEXT,
    "method" TEXT,
    "remoteAddr" TEXT,
    "queryParams" JSONB NOT NULL,
    "postData" JSONB NOT NULL,
    "headers" JSONB NOT NULL,
    "archivedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "archived_audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_events_timestamp_id_idx" ON "audit_events"("timestamp", "id");

-- CreateIndex
CREATE INDEX "audit_events_contentType_objectId_timestamp_idx" ON "audit_events"("contentType", "objectId", "timestamp");

-- CreateIndex
CREATE INDEX "archived_audit_events_timestamp_id_idx" ON "archived_audit_events"("timestamp", "id");

-- CreateIndex
CREATE INDEX "archived_audit_events_contentType_objectId_timestamp_idx" ON "archived_audit_events"("contentType", "objectId", "timestamp");

