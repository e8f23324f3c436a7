DROP TABLE recall_weeks_stale;
DROP TABLE recall_weeks_done;
DROP TABLE recall_weeks;
