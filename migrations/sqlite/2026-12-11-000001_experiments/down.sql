DROP TRIGGER queue_epoch_experiments_delete;
DROP TRIGGER queue_epoch_experiments_update;
DROP TRIGGER queue_epoch_experiments_insert;
DROP TABLE experiment_kpis;
DROP TABLE probe_results;
DROP TABLE experiment_members;
DROP TABLE experiments;
