-- PostgreSQL drops the day tables' foreign keys to analytics_run here (a lookup per written
-- row). SQLite connections run with foreign-key enforcement off, so they were never checked
-- here and the tables stay as they are.
SELECT 1;
