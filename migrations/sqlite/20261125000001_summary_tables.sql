-- The summary tables: what the materializer writes and BI tools read (see README).
-- SQLite flavour: instants are UTC text (YYYY-MM-DD HH:MM:SS.ffffff), payload is JSON text.
CREATE TABLE IF NOT EXISTS analytics_run (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger      TEXT NOT NULL CHECK (trigger IN ('schedule', 'startup', 'admin', 'cli')),
    requested_by BIGINT NULL,
    status       TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    started_at   TEXT NOT NULL,
    finished_at  TEXT NULL,
    duration_ms  BIGINT NULL,
    windows      TEXT NOT NULL,
    error        TEXT NULL,
    instance     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS analytics_run_started_idx ON analytics_run (started_at DESC);

CREATE TABLE IF NOT EXISTS analytics_snapshot (
    endpoint    TEXT NOT NULL,
    window_days INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    body        TEXT NOT NULL,
    etag        TEXT NOT NULL,
    computed_at TEXT NOT NULL,
    run_id      BIGINT NOT NULL REFERENCES analytics_run (id),
    PRIMARY KEY (endpoint, window_days)
);

CREATE TABLE IF NOT EXISTS analytics_metric (
    window_days INTEGER NOT NULL,
    metric      TEXT NOT NULL,
    value       NUMERIC NOT NULL,
    computed_at TEXT NOT NULL,
    run_id      BIGINT NOT NULL REFERENCES analytics_run (id),
    PRIMARY KEY (window_days, metric)
);

CREATE TABLE IF NOT EXISTS analytics_daily_metric (
    day         TEXT NOT NULL,
    metric      TEXT NOT NULL,
    dimension   TEXT NOT NULL DEFAULT '',
    value       NUMERIC NOT NULL,
    computed_at TEXT NOT NULL,
    run_id      BIGINT NOT NULL REFERENCES analytics_run (id),
    PRIMARY KEY (day, metric, dimension)
);

-- One row per coordinated job: who holds it and until when. A holder that dies simply stops
-- renewing, and the next instance takes the lease over once it has expired.
CREATE TABLE IF NOT EXISTS analytics_lease (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
