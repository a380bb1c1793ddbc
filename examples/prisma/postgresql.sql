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

-- CreateTable
CREATE TABLE "buyers" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "tier" TEXT NOT NULL,

    CONSTRAINT "buyers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "purchases" (
    "id" INTEGER NOT NULL,
    "buyerId" TEXT NOT NULL,
    "item" TEXT NOT NULL,
    "status" TEXT NOT NULL,

    CONSTRAINT "purchases_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "purchase_lines" (
    "id" INTEGER NOT NULL,
    "purchaseId" INTEGER NOT NULL,
    "sku" TEXT NOT NULL,
    "note" TEXT NOT NULL,

    CONSTRAINT "purchase_lines_pkey" PRIMARY KEY ("id")
);

-- AddForeignKey
ALTER TABLE "purchases" ADD CONSTRAINT "purchases_buyerId_fkey" FOREIGN KEY ("buyerId") REFERENCES "buyers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "purchase_lines" ADD CONSTRAINT "purchase_lines_purchaseId_fkey" FOREIGN KEY ("purchaseId") REFERENCES "purchases"("id") ON DELETE CASCADE ON UPDATE CASCADE;
