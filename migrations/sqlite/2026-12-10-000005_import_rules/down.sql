ALTER TABLE organizations DROP COLUMN strict_imports;
