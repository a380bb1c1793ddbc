-- The archive is written in bulk and read rarely. A GIN index on its content made
-- archival about a third slower and, whenever its pending list filled (4 MB), stalled
-- one batch for 150-300 ms while the list was merged (bench/archive, README
-- "Performance"). Content filters on archived events scan the archive instead; the
-- README shows how to add the index back for those who search archived content often.

-- DropIndex
DROP INDEX "archived_audit_events_content_idx";
