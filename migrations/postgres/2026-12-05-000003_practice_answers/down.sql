ALTER TABLE reviews DROP COLUMN practice;
