DROP TABLE choice_counts;
