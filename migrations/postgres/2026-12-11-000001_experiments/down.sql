DROP TRIGGER queue_epoch_experiments ON experiments;
DROP TABLE experiment_kpis;
DROP TABLE probe_results;
DROP TABLE experiment_members;
DROP TABLE experiments;
