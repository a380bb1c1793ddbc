-- The event model: what was done (action), whether it worked (outcome), how serious
-- (severity), for which tenant, in which request. Added, never edited into an applied
-- migration: a deployed database applies this on top of the earlier ones. Existing rows
-- take outcome 'success' and severity 'info' (the defaults), and null for the rest.
-- Indexed for the read API's filters; each index is (column, timestamp, id) so a
-- filtered page is read in order, except requestId, whose events are few.

-- AlterTable
ALTER TABLE `audit_events` ADD COLUMN `action` VARCHAR(191) NULL,
    ADD COLUMN `outcome` VARCHAR(16) NOT NULL DEFAULT 'success',
    ADD COLUMN `severity` VARCHAR(16) NOT NULL DEFAULT 'info',
    ADD COLUMN `tenantId` VARCHAR(191) NULL,
    ADD COLUMN `requestId` VARCHAR(191) NULL;

-- AlterTable
ALTER TABLE `archived_audit_events` ADD COLUMN `action` VARCHAR(191) NULL,
    ADD COLUMN `outcome` VARCHAR(16) NOT NULL DEFAULT 'success',
    ADD COLUMN `severity` VARCHAR(16) NOT NULL DEFAULT 'info',
    ADD COLUMN `tenantId` VARCHAR(191) NULL,
    ADD COLUMN `requestId` VARCHAR(191) NULL;

-- CreateIndex
CREATE INDEX `audit_events_tenantId_timestamp_id_idx` ON `audit_events`(`tenantId`, `timestamp`, `id`);

-- CreateIndex
CREATE INDEX `audit_events_action_timestamp_id_idx` ON `audit_events`(`action`, `timestamp`, `id`);

-- CreateIndex
CREATE INDEX `audit_events_outcome_timestamp_id_idx` ON `audit_events`(`outcome`, `timestamp`, `id`);

-- CreateIndex
CREATE INDEX `audit_events_severity_timestamp_id_idx` ON `audit_events`(`severity`, `timestamp`, `id`);

-- CreateIndex
CREATE INDEX `audit_events_requestId_idx` ON `audit_events`(`requestId`);

-- CreateIndex
CREATE INDEX `archived_audit_events_tenantId_timestamp_id_idx` ON `archived_audit_events`(`tenantId`, `timestamp`, `id`);

-- CreateIndex
CREATE INDEX `archived_audit_events_action_timestamp_id_idx` ON `archived_audit_events`(`action`, `timestamp`, `id`);

-- CreateIndex
CREATE INDEX `archived_audit_events_outcome_timestamp_id_idx` ON `archived_audit_events`(`outcome`, `timestamp`, `id`);

-- CreateIndex
CREATE INDEX `archived_audit_events_severity_timestamp_id_idx` ON `archived_audit_events`(`severity`, `timestamp`, `id`);

-- CreateIndex
CREATE INDEX `archived_audit_events_requestId_idx` ON `archived_audit_events`(`requestId`);
