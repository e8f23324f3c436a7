ALTER TABLE sign_in_links DROP COLUMN purpose;
