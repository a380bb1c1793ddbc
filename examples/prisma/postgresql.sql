-- CreateTable
CREATE TABLE "orders" (
    "id" SERIAL NOT NULL,
    "reference" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "total" DECIMAL(12,2) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "orders_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "customers" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,

    CONSTRAINT "customers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ledgers" (
    "id" BIGINT NOT NULL,
    "note" TEXT NOT NULL,

    CONSTRAINT "ledgers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tenant_audit_events" (
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
    "tenantId" TEXT,

    CONSTRAINT "tenant_audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tenant_archived_audit_events" (
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
    "tenantId" TEXT,

    CONSTRAINT "tenant_archived_audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "tenant_audit_events_timestamp_id_idx" ON "tenant_audit_events"("timestamp", "id");

-- CreateIndex
CREATE INDEX "tenant_audit_events_contentType_objectId_timestamp_idx" ON "tenant_audit_events"("contentType", "objectId", "timestamp");

-- CreateIndex
CREATE INDEX "tenant_archived_audit_events_timestamp_id_idx" ON "tenant_archived_audit_events"("timestamp", "id");

-- CreateIndex
CREATE INDEX "tenant_archived_audit_events_contentType_objectId_timestamp_idx" ON "tenant_archived_audit_events"("contentType", "objectId", "timestamp");


-- CreateIndex
CREATE INDEX "tenant_audit_events_userId_timestamp_id_idx" ON "tenant_audit_events"("userId", "timestamp", "id");

-- CreateIndex
CREATE INDEX "tenant_audit_events_contentType_timestamp_id_idx" ON "tenant_audit_events"("contentType", "timestamp", "id");

-- CreateIndex
CREATE INDEX "tenant_audit_events_remoteAddr_timestamp_id_idx" ON "tenant_audit_events"("remoteAddr", "timestamp", "id");

-- CreateIndex
CREATE INDEX "tenant_audit_events_content_idx" ON "tenant_audit_events" USING GIN ("content" jsonb_path_ops);

-- CreateIndex
CREATE INDEX "tenant_archived_audit_events_userId_timestamp_id_idx" ON "tenant_archived_audit_events"("userId", "timestamp", "id");

-- CreateIndex
CREATE INDEX "tenant_archived_audit_events_contentType_timestamp_id_idx" ON "tenant_archived_audit_events"("contentType", "timestamp", "id");

-- CreateIndex
CREATE INDEX "tenant_archived_audit_events_remoteAddr_timestamp_id_idx" ON "tenant_archived_audit_events"("remoteAddr", "timestamp", "id");
