-- The archive is written in bulk and read rarely. A GIN index on its content cost
-- archival a fifth to a third of its rows a second and, whenever its pending list filled
-- (4 MB), stalled one batch for 150-300 ms while the list was merged (bench/README.md,
-- "Archival on PostgreSQL"). Content filters on archived events scan the archive instead;
-- the README ("Indexes, and MySQL's collation") shows how to add the index back.

-- DropIndex
DROP INDEX "archived_audit_events_content_idx";
