DROP TABLE torn_job_schedules;
DROP TABLE torn_jobs;
