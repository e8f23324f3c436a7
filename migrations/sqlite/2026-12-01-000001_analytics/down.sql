DROP TABLE retention_stats;
