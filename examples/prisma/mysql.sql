-- CreateTable
CREATE TABLE `orders` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `reference` VARCHAR(191) NOT NULL,
    `status` VARCHAR(191) NOT NULL,
    `total` DECIMAL(12, 2) NOT NULL,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `customers` (
    `id` VARCHAR(191) NOT NULL,
    `name` VARCHAR(191) NOT NULL,
    `email` VARCHAR(191) NOT NULL,

    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `ledgers` (
    `id` BIGINT NOT NULL,
    `note` VARCHAR(191) NOT NULL,

    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `tenant_audit_events` (
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
    `tenantId` VARCHAR(191) NULL,

    INDEX `tenant_audit_events_timestamp_id_idx`(`timestamp`, `id`),
    INDEX `tenant_audit_events_contentType_objectId_timestamp_idx`(`contentType`, `objectId`, `timestamp`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `tenant_archived_audit_events` (
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
    `tenantId` VARCHAR(191) NULL,

    INDEX `tenant_archived_audit_events_timestamp_id_idx`(`timestamp`, `id`),
    INDEX `tenant_archived_audit_events_contentType_objectId_timestamp_idx`(`contentType`, `objectId`, `timestamp`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;


-- CreateIndex
CREATE INDEX `tenant_audit_events_userId_timestamp_id_idx` ON `tenant_audit_events`(`userId`, `timestamp`, `id`);

-- CreateIndex
CREATE INDEX `tenant_audit_events_contentType_timestamp_id_idx` ON `tenant_audit_events`(`contentType`, `timestamp`, `id`);

-- CreateIndex
CREATE INDEX `tenant_audit_events_remoteAddr_timestamp_id_idx` ON `tenant_audit_events`(`remoteAddr`, `timestamp`, `id`);

-- CreateIndex
CREATE INDEX `tenant_archived_audit_events_userId_timestamp_id_idx` ON `tenant_archived_audit_events`(`userId`, `timestamp`, `id`);

-- CreateIndex
CREATE INDEX `tenant_archived_audit_events_contentType_timestamp_id_idx` ON `tenant_archived_audit_events`(`contentType`, `timestamp`, `id`);

-- CreateIndex
CREATE INDEX `tenant_archived_audit_events_remoteAddr_timestamp_id_idx` ON `tenant_archived_audit_events`(`remoteAddr`, `timestamp`, `id`);

-- CreateTable
CREATE TABLE `buyers` (
    `id` VARCHAR(191) NOT NULL,
    `name` VARCHAR(191) NOT NULL,
    `email` VARCHAR(191) NOT NULL,
    `tier` VARCHAR(191) NOT NULL,

    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `purchases` (
    `id` INTEGER NOT NULL,
    `buyerId` VARCHAR(191) NOT NULL,
    `item` VARCHAR(191) NOT NULL,
    `status` VARCHAR(191) NOT NULL,

    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `purchase_lines` (
    `id` INTEGER NOT NULL,
    `purchaseId` INTEGER NOT NULL,
    `sku` VARCHAR(191) NOT NULL,
    `note` VARCHAR(191) NOT NULL,

    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- AddForeignKey
ALTER TABLE `purchases` ADD CONSTRAINT `purchases_buyerId_fkey` FOREIGN KEY (`buyerId`) REFERENCES `buyers`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `purchase_lines` ADD CONSTRAINT `purchase_lines_purchaseId_fkey` FOREIGN KEY (`purchaseId`) REFERENCES `purchases`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;
