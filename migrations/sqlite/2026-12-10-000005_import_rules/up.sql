-- Whether the organization's imports refuse what is otherwise a warning (a nugget without an
-- explanation, a question type Reprise does not ask).
ALTER TABLE organizations ADD COLUMN strict_imports BOOLEAN NOT NULL DEFAULT FALSE;
