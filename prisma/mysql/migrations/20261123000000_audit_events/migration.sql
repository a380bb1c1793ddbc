-- CreateTable
CREATE TABLE `audit_events` (
    `id` CHAR(36) NOT NULL,
    `timestamp` DATETIME(3) NOT NULL,
    `contentType` VARCHAR(191) NOT NULL,
    `objectId` VARCHAR(191) NOT NULL,
    `content` JSON NOT NULL,
    `userId` VARCHAR(191) NULL,
    `url` TEXT NULL,
    `method` VARCHAR(16) NULL,
    `remoteAddr` VARCHAR(64) NULL,
    `queryParams` JSON NOT NULL,
    `postData` JSON NOT NULL,
    `headers` JSON NOT NULL,

    INDEX `audit_events_timestamp_id_idx`(`timestamp`, `id`),
    INDEX `audit_events_contentType_objectId_timestamp_idx`(`contentType`, `objectId`, `timestamp`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `archived_audit_events` (
    `id` CHAR(36) NOT NULL,
    `timestamp` DATETIME(3) NOT NULL,
    `contentType` VARCHAR(191) NOT NULL,
    `objectId` VARCHAR(191) NOT NULL,
    `content` JSON NOT NULL,
    `userId` VARCHAR(191) NULL,
    `url` TEXT NULL,
    `method` VARCHAR(16) NULL,
    `remoteAddr` VARCHAR(64) NULL,
    `queryParams` JSON NOT NULL,
    `postData` JSON NOT NULL,
    `headers` JSON NOT NULL,
    `archivedAt` DATETIME(3) NOT NULL,

    INDEX `archived_audit_events_timestamp_id_idx`(`timestamp`, `id`),
    INDEX `archived_audit_events_contentType_objectId_timestamp_idx`(`contentType`, `objectId`, `timestamp`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

