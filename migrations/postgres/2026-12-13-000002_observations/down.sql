DROP TABLE observations;
