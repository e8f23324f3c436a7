DROP TABLE planner_estimates;
ALTER TABLE assignments DROP COLUMN target_date;
