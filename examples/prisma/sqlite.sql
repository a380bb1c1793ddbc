-- CreateTable
CREATE TABLE "orders" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "reference" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "total" DECIMAL NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "customers" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "ledgers" (
    "id" BIGINT NOT NULL PRIMARY KEY,
    "note" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "tenant_audit_events" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "timestamp" DATETIME NOT NULL,
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
    "tenantId" TEXT
);

-- CreateTable
CREATE TABLE "tenant_archived_audit_events" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "timestamp" DATETIME NOT NULL,
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
    "archivedAt" DATETIME NOT NULL,
    "tenantId" TEXT
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
CREATE INDEX "tenant_archived_audit_events_userId_timestamp_id_idx" ON "tenant_archived_audit_events"("userId", "timestamp", "id");

-- CreateIndex
CREATE INDEX "tenant_archived_audit_events_contentType_timestamp_id_idx" ON "tenant_archived_audit_events"("contentType", "timestamp", "id");

-- CreateIndex
CREATE INDEX "tenant_archived_audit_events_remoteAddr_timestamp_id_idx" ON "tenant_archived_audit_events"("remoteAddr", "timestamp", "id");

-- CreateTable
CREATE TABLE "buyers" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "tier" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "purchases" (
    "id" INTEGER NOT NULL PRIMARY KEY,
    "buyerId" TEXT NOT NULL,
    "item" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    CONSTRAINT "purchases_buyerId_fkey" FOREIGN KEY ("buyerId") REFERENCES "buyers" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "purchase_lines" (
    "id" INTEGER NOT NULL PRIMARY KEY,
    "purchaseId" INTEGER NOT NULL,
    "sku" TEXT NOT NULL,
    "note" TEXT NOT NULL,
    CONSTRAINT "purchase_lines_purchaseId_fkey" FOREIGN KEY ("purchaseId") REFERENCES "purchases" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
