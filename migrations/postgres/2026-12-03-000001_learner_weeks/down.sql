DROP TABLE learner_weeks;
