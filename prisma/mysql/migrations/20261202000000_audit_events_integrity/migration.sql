-- Tamper evidence: each event of a writer's hash chain carries its chain, its position
-- (seq, from 1), the hash of the event before it and its own hash (SHA-256 of its
-- canonical form); the heads of the chains are signed into audit_checkpoints. All
-- nullable: events written without `integrity`, and every row before this migration,
-- stay valid and verify as "unsigned". (chainId, seq) is unique in each table, so a
-- writer's bug can never give two events one position.

-- AlterTable
ALTER TABLE `audit_events` ADD COLUMN `chainId` VARCHAR(64) NULL,
    ADD COLUMN `seq` BIGINT NULL,
    ADD COLUMN `prevHash` VARCHAR(64) NULL,
    ADD COLUMN `hash` VARCHAR(64) NULL;

-- AlterTable
ALTER TABLE `archived_audit_events` ADD COLUMN `chainId` VARCHAR(64) NULL,
    ADD COLUMN `seq` BIGINT NULL,
    ADD COLUMN `prevHash` VARCHAR(64) NULL,
    ADD COLUMN `hash` VARCHAR(64) NULL;

-- CreateTable
CREATE TABLE `audit_checkpoints` (
    `chainId` VARCHAR(64) NOT NULL,
    `seq` BIGINT NOT NULL,
    `hash` VARCHAR(64) NOT NULL,
    `keyId` VARCHAR(191) NOT NULL,
    `signature` VARCHAR(64) NOT NULL,
    `createdAt` DATETIME(3) NOT NULL,

    INDEX `audit_checkpoints_createdAt_idx`(`createdAt`),
    PRIMARY KEY (`chainId`, `seq`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateIndex
CREATE UNIQUE INDEX `audit_events_chainId_seq_key` ON `audit_events`(`chainId`, `seq`);

-- CreateIndex
CREATE UNIQUE INDEX `archived_audit_events_chainId_seq_key` ON `archived_audit_events`(`chainId`, `seq`);
