-- Tamper evidence: each event of a writer's hash chain carries its chain, its position
-- (seq, from 1), the hash of the event before it and its own hash (SHA-256 of its
-- canonical form); the heads of the chains are signed into audit_checkpoints. All
-- nullable: events written without `integrity`, and every row before this migration,
-- stay valid and verify as "unsigned". (chainId, seq) is unique in each table, so a
-- writer's bug can never give two events one position.

-- AlterTable
ALTER TABLE "audit_events" ADD COLUMN "chainId" TEXT,
ADD COLUMN "seq" BIGINT,
ADD COLUMN "prevHash" TEXT,
ADD COLUMN "hash" TEXT;

-- AlterTable
ALTER TABLE "archived_audit_events" ADD COLUMN "chainId" TEXT,
ADD COLUMN "seq" BIGINT,
ADD COLUMN "prevHash" TEXT,
ADD COLUMN "hash" TEXT;

-- CreateTable
CREATE TABLE "audit_checkpoints" (
    "chainId" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "hash" TEXT NOT NULL,
    "keyId" TEXT NOT NULL,
    "signature" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "audit_checkpoints_pkey" PRIMARY KEY ("chainId","seq")
);

-- CreateIndex
CREATE INDEX "audit_checkpoints_createdAt_idx" ON "audit_checkpoints"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "audit_events_chainId_seq_key" ON "audit_events"("chainId", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "archived_audit_events_chainId_seq_key" ON "archived_audit_events"("chainId", "seq");
