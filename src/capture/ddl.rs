//! The change log's DDL for both databases, generated from one description of what each
//! captured table contributes, so the log, the triggers, the printed SQL and the Django
//! migration cannot disagree.

use crate::db::Dialect;

/// The change-log table in the platform database.
pub const LOG_TABLE: &str = "analytics_change_log";

/// The one-row table saying capture is installed: its epoch (new at every install, so days
/// built before it are never continued with an incomplete log) and how far the log was pruned.
pub const STATE_TABLE: &str = "analytics_capture";

/// Prefix of every trigger (and PostgreSQL trigger function) capture installs.
pub const TRIGGER_PREFIX: &str = "analytics_capture_";

/// Layout of the log and triggers; a log of another version is installed again.
pub const CAPTURE_VERSION: i64 = 1;

/// The columns every log row carries for each of its two versions (old and new), in order.
/// `at` places the row on a local day, `who` is the user it belongs to, `ref_id` a second key
/// (a purchase's crypto, a user's referrer), `kind` a category or network, `kobo` its money.
pub const VERSION_COLUMNS: [&str; 8] = ["at", "who", "ref_id", "status", "kind", "tx_type", "p2p", "kobo"];

/// What one value of a captured row is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value {
    /// A column as stored.
    Column(&'static str),
    /// A money column as integer kobo, rounded the way the day store sums it.
    Kobo(&'static str),
    /// Whether a reference marks a P2P credit (`p2p-…`, case-sensitive on both databases).
    P2p(&'static str),
    /// Not recorded for this table.
    Null,
}

/// A platform table the metrics read, with what its log rows record (in [`VERSION_COLUMNS`]
/// order).
#[derive(Clone, Copy, Debug)]
pub struct Captured {
    /// The Django table.
    pub table: &'static str,
    values: [Value; 8],
}

use Value::{Column, Kobo, Null, P2p};

/// Every table whose rows the stored days are made of. Wallets, offers and users' flags are
/// current state that every run reads whole, so they are not captured.
pub const CAPTURED: [Captured; 7] = [
    Captured {
        table: "wallet_wallettransaction",
        values: [
            Column("created_at"),
            Column("user_id"),
            Null,
            Column("status"),
            Column("category"),
            Column("tx_type"),
            P2p("reference"),
            Kobo("amount"),
        ],
    },
    Captured {
        table: "p2p_depositorder",
        values: [
            Column("created_at"),
            Column("buyer_id"),
            Null,
            Column("status"),
            Null,
            Null,
            Null,
            Kobo("total_price"),
        ],
    },
    Captured {
        table: "p2p_withdraworder",
        values: [
            Column("created_at"),
            Column("seller_id"),
            Null,
            Column("status"),
            Null,
            Null,
            Null,
            Kobo("total_price"),
        ],
    },
    Captured {
        table: "gasfee_cryptopurchase",
        values: [
            Column("created_at"),
            Column("user_id"),
            Column("crypto_id"),
            Column("status"),
            Null,
            Null,
            Null,
            Kobo("total_price"),
        ],
    },
    Captured {
        table: "rewards_bonus",
        values: [
            Column("created_at"),
            Column("user_id"),
            Null,
            Column("status"),
            Null,
            Null,
            Null,
            Kobo("amount"),
        ],
    },
    Captured {
        table: "accounts_user",
        values: [Column("date_joined"), Null, Column("referred_by_id"), Null, Null, Null, Null, Null],
    },
    Captured {
        table: "gasfee_crypto",
        values: [Null, Null, Null, Null, Column("network"), Null, Null, Null],
    },
];

impl Captured {
    /// The value expressions of row `alias` (`NEW` or `OLD`) in [`VERSION_COLUMNS`] order.
    fn expressions(&self, dialect: Dialect, alias: &str) -> Vec<String> {
        self.values
            .iter()
            .map(|v| match (v, dialect) {
                (Column(c), _) => format!("{alias}.{c}"),
                (Kobo(c), Dialect::Postgres) => format!("CAST({alias}.{c} * 100 AS BIGINT)"),
                (Kobo(c), Dialect::Sqlite) => format!("CAST(ROUND({alias}.{c} * 100) AS INTEGER)"),
                (P2p(c), Dialect::Postgres) => format!("COALESCE(substr({alias}.{c}, 1, 4) = 'p2p-', false)"),
                (P2p(c), Dialect::Sqlite) => format!("COALESCE(substr({alias}.{c}, 1, 4) = 'p2p-', 0)"),
                (Null, _) => "NULL".to_string(),
            })
            .collect()
    }

    /// The recorded values that are not NULL for this table, as `(log column, expression)`.
    fn recorded(&self, dialect: Dialect, alias: &str, prefix: &str) -> Vec<(String, String)> {
        VERSION_COLUMNS
            .iter()
            .zip(self.values)
            .zip(self.expressions(dialect, alias))
            .filter(|((_, v), _)| *v != Null)
            .map(|((c, _), e)| (format!("{prefix}{c}"), e))
            .collect()
    }

    /// Adds the `old_*` columns (read from row `aliases.0`) unless `op` is an insert, and the
    /// `new_*` ones (from `aliases.1`) unless it is a delete.
    fn push_versions(
        &self,
        dialect: Dialect,
        op: char,
        aliases: (&str, &str),
        columns: &mut Vec<String>,
        values: &mut Vec<String>,
    ) {
        let sides = [(op != 'I', aliases.0, "old_"), (op != 'D', aliases.1, "new_")];
        for (c, e) in sides
            .into_iter()
            .filter(|s| s.0)
            .flat_map(|(_, alias, prefix)| self.recorded(dialect, alias, prefix))
        {
            columns.push(c);
            values.push(e);
        }
    }

    /// `INSERT INTO the log …` for operation `op` (`I`, `U`, `D`).
    fn log_insert(&self, dialect: Dialect, op: char) -> String {
        let mut columns = vec!["tbl".to_string(), "op".to_string(), "row_id".to_string()];
        let id = if op == 'D' { "OLD.id" } else { "NEW.id" };
        let mut values = vec![format!("'{}'", self.table), format!("'{op}'"), id.to_string()];
        self.push_versions(dialect, op, ("OLD", "NEW"), &mut columns, &mut values);
        format!("INSERT INTO {LOG_TABLE} ({}) VALUES ({})", columns.join(", "), values.join(", "))
    }

    /// PostgreSQL's statement-level form: `INSERT INTO the log … SELECT` from the statement's
    /// transition tables (`new_rows` / `old_rows`), one log row per changed row. An update's
    /// rows are paired by id (a full join, so an update that changed an id logs a delete and an
    /// insert) and kept only when a logged value changed.
    fn log_select(&self, op: char) -> String {
        let dialect = Dialect::Postgres;
        let mut columns = vec!["tbl".to_string(), "op".to_string(), "row_id".to_string()];
        let mut values = vec![format!("'{}'", self.table)];
        match op {
            'I' => values.extend(["'I'".to_string(), "n.id".to_string()]),
            'D' => values.extend(["'D'".to_string(), "o.id".to_string()]),
            _ => values.extend([
                "CASE WHEN o.id IS NULL THEN 'I' WHEN n.id IS NULL THEN 'D' ELSE 'U' END".to_string(),
                "COALESCE(n.id, o.id)".to_string(),
            ]),
        }
        self.push_versions(dialect, op, ("o", "n"), &mut columns, &mut values);
        let from = match op {
            'I' => "new_rows n".to_string(),
            'D' => "old_rows o".to_string(),
            _ => {
                let (old, new) = (self.recorded(dialect, "o", ""), self.recorded(dialect, "n", ""));
                let tuple =
                    |v: &[(String, String)]| v.iter().map(|(_, e)| e.as_str()).collect::<Vec<_>>().join(", ");
                format!(
                    "old_rows o FULL JOIN new_rows n ON n.id = o.id WHERE o.id IS NULL OR n.id IS NULL OR \
                     ({}) IS DISTINCT FROM ({})",
                    tuple(&old),
                    tuple(&new)
                )
            }
        };
        format!("INSERT INTO {LOG_TABLE} ({}) SELECT {} FROM {from}", columns.join(", "), values.join(", "))
    }

    /// The condition under which an update changed something the metrics read.
    fn changed(&self, dialect: Dialect) -> String {
        let old = self.recorded(dialect, "OLD", "");
        let new = self.recorded(dialect, "NEW", "");
        let op = match dialect {
            Dialect::Postgres => "IS DISTINCT FROM",
            Dialect::Sqlite => "IS NOT",
        };
        old.iter()
            .zip(&new)
            .map(|((_, o), (_, n))| format!("({o}) {op} ({n})"))
            .collect::<Vec<_>>()
            .join(" OR ")
    }

    /// The trigger (and function) name for this table.
    fn trigger(&self) -> String {
        format!("{TRIGGER_PREFIX}{}", self.table)
    }
}

/// How many triggers a complete installation has on `dialect`.
pub fn expected_triggers(dialect: Dialect) -> i64 {
    let per_table = match dialect {
        // One statement trigger each for inserts, updates and deletes, one for TRUNCATE.
        Dialect::Postgres => 4,
        Dialect::Sqlite => 3,
    };
    per_table * CAPTURED.len() as i64
}

/// The statements that install capture (idempotent: running them again reinstalls, with a new
/// epoch). Each element is one statement.
pub fn install_sql(dialect: Dialect) -> Vec<String> {
    let mut out = Vec::new();
    let version_columns = |ty: &dyn Fn(&str) -> &'static str| -> String {
        ["old_", "new_"]
            .iter()
            .flat_map(|p| VERSION_COLUMNS.iter().map(move |c| (p, c)))
            .map(|(p, c)| format!("    {p}{c} {}", ty(c)))
            .collect::<Vec<_>>()
            .join(",\n")
    };
    match dialect {
        Dialect::Postgres => {
            let ty = |c: &str| match c {
                "at" => "TIMESTAMPTZ",
                "who" | "ref_id" | "kobo" => "BIGINT",
                "p2p" => "BOOLEAN",
                _ => "TEXT",
            };
            out.push(format!(
                "CREATE TABLE IF NOT EXISTS {LOG_TABLE} (\n    txid XID8 NOT NULL DEFAULT pg_current_xact_id(),\n    \
                 seq BIGINT GENERATED ALWAYS AS IDENTITY,\n    tbl TEXT NOT NULL,\n    op TEXT NOT NULL,\n    \
                 row_id BIGINT NOT NULL,\n{}\n)",
                version_columns(&ty)
            ));
            out.push(format!("CREATE INDEX IF NOT EXISTS {LOG_TABLE}_txid_idx ON {LOG_TABLE} (txid)"));
            out.push(format!(
                "CREATE TABLE IF NOT EXISTS {STATE_TABLE} (\n    id INTEGER PRIMARY KEY CHECK (id = 1),\n    \
                 version INTEGER NOT NULL,\n    epoch TEXT NOT NULL,\n    installed_at TIMESTAMPTZ NOT NULL,\n    \
                 pruned_below XID8 NOT NULL\n)"
            ));
            // A TRUNCATE removes rows without a row trigger: it renews the epoch, so the next run
            // rebuilds instead of applying an incomplete log.
            out.push(format!(
                "CREATE OR REPLACE FUNCTION {TRIGGER_PREFIX}truncated() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    \
                 UPDATE {STATE_TABLE} SET epoch = md5(random()::text || clock_timestamp()::text) WHERE id = 1;\n    \
                 RETURN NULL;\nEND\n$$"
            ));
            // Statement-level triggers with transition tables: one log insert per statement,
            // however many rows it changed (Django's cascades delete in batches), and measurably
            // cheaper than a row trigger even for one row.
            for t in &CAPTURED {
                let name = t.trigger();
                out.push(format!(
                    "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    \
                     IF TG_OP = 'INSERT' THEN\n        {};\n    ELSIF TG_OP = 'UPDATE' THEN\n        {};\n    \
                     ELSE\n        {};\n    END IF;\n    RETURN NULL;\nEND\n$$",
                    t.log_select('I'),
                    t.log_select('U'),
                    t.log_select('D')
                ));
                let table = t.table;
                for (kind, event, transition) in [
                    ("insert", "INSERT", "NEW TABLE AS new_rows"),
                    ("update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                    ("delete", "DELETE", "OLD TABLE AS old_rows"),
                ] {
                    out.push(format!("DROP TRIGGER IF EXISTS {name}_{kind} ON {table}"));
                    out.push(format!(
                        "CREATE TRIGGER {name}_{kind} AFTER {event} ON {table} REFERENCING {transition} \
                         FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
                    ));
                }
                out.push(format!("DROP TRIGGER IF EXISTS {name}_truncate ON {table}"));
                out.push(format!(
                    "CREATE TRIGGER {name}_truncate AFTER TRUNCATE ON {table} FOR EACH STATEMENT \
                     EXECUTE FUNCTION {TRIGGER_PREFIX}truncated()"
                ));
                // Fire in every session, also those in `session_replication_role = replica`
                // (logical replication, some restore tools): a change they skip is a change lost.
                for kind in ["insert", "update", "delete", "truncate"] {
                    out.push(format!("ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}_{kind}"));
                }
            }
            out.push(format!(
                "INSERT INTO {STATE_TABLE} (id, version, epoch, installed_at, pruned_below) \
                 VALUES (1, {CAPTURE_VERSION}, md5(random()::text || clock_timestamp()::text), now(), '0') \
                 ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, epoch = EXCLUDED.epoch, \
                 installed_at = EXCLUDED.installed_at"
            ));
        }
        Dialect::Sqlite => {
            let ty = |c: &str| match c {
                "at" | "status" | "kind" | "tx_type" => "TEXT",
                _ => "INTEGER",
            };
            // AUTOINCREMENT: a sequence number is never reused, even after pruning.
            out.push(format!(
                "CREATE TABLE IF NOT EXISTS {LOG_TABLE} (\n    seq INTEGER PRIMARY KEY AUTOINCREMENT,\n    \
                 tbl TEXT NOT NULL,\n    op TEXT NOT NULL,\n    row_id INTEGER NOT NULL,\n{}\n)",
                version_columns(&ty)
            ));
            out.push(format!(
                "CREATE TABLE IF NOT EXISTS {STATE_TABLE} (\n    id INTEGER PRIMARY KEY CHECK (id = 1),\n    \
                 version INTEGER NOT NULL,\n    epoch TEXT NOT NULL,\n    installed_at TEXT NOT NULL,\n    \
                 pruned_through INTEGER NOT NULL\n)"
            ));
            for t in &CAPTURED {
                let (name, table) = (t.trigger(), t.table);
                for (suffix, event, op) in
                    [("insert", "INSERT", 'I'), ("update", "UPDATE", 'U'), ("delete", "DELETE", 'D')]
                {
                    out.push(format!("DROP TRIGGER IF EXISTS {name}_{suffix}"));
                    let when =
                        if op == 'U' { format!(" WHEN {}", t.changed(dialect)) } else { String::new() };
                    out.push(format!(
                        "CREATE TRIGGER {name}_{suffix} AFTER {event} ON {table} FOR EACH ROW{when}\nBEGIN\n    {};\nEND",
                        t.log_insert(dialect, op)
                    ));
                }
            }
            out.push(format!(
                "INSERT INTO {STATE_TABLE} (id, version, epoch, installed_at, pruned_through) \
                 VALUES (1, {CAPTURE_VERSION}, lower(hex(randomblob(16))), strftime('%Y-%m-%d %H:%M:%f', 'now'), 0) \
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version, epoch = excluded.epoch, \
                 installed_at = excluded.installed_at"
            ));
        }
    }
    out
}

/// The statements that remove capture: triggers, functions, the log and its state.
pub fn uninstall_sql(dialect: Dialect) -> Vec<String> {
    let mut out = Vec::new();
    for t in &CAPTURED {
        let (name, table) = (t.trigger(), t.table);
        match dialect {
            Dialect::Postgres => {
                for kind in ["insert", "update", "delete", "truncate"] {
                    out.push(format!("DROP TRIGGER IF EXISTS {name}_{kind} ON {table}"));
                }
                out.push(format!("DROP FUNCTION IF EXISTS {name}()"));
            }
            Dialect::Sqlite => {
                for suffix in ["insert", "update", "delete"] {
                    out.push(format!("DROP TRIGGER IF EXISTS {name}_{suffix}"));
                }
            }
        }
    }
    if dialect == Dialect::Postgres {
        out.push(format!("DROP FUNCTION IF EXISTS {TRIGGER_PREFIX}truncated()"));
    }
    out.push(format!("DROP TABLE IF EXISTS {LOG_TABLE}"));
    out.push(format!("DROP TABLE IF EXISTS {STATE_TABLE}"));
    out
}

/// `statements` as one script (what `capture install --print` writes and the Django migration
/// ships), in one transaction.
pub fn script(statements: &[String]) -> String {
    let mut text = String::from("BEGIN;\n\n");
    for s in statements {
        text.push_str(s);
        text.push_str(";\n\n");
    }
    text.push_str("COMMIT;\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_records_a_day_or_a_network_and_updates_compare_what_they_record() {
        for t in &CAPTURED {
            let recorded = t.recorded(Dialect::Postgres, "NEW", "");
            assert!(!recorded.is_empty(), "{}", t.table);
            let when = t.changed(Dialect::Sqlite);
            assert_eq!(when.matches(" IS NOT ").count(), recorded.len(), "{}", t.table);
        }
        let tx = CAPTURED[0].log_insert(Dialect::Sqlite, 'U');
        assert!(tx.contains("old_kobo") && tx.contains("new_p2p") && tx.contains("OLD.created_at"), "{tx}");
        assert!(!CAPTURED[0].log_insert(Dialect::Sqlite, 'D').contains("NEW."));
        assert!(!CAPTURED[0].log_insert(Dialect::Sqlite, 'I').contains("OLD."));
    }

    #[test]
    fn the_trigger_count_matches_what_install_creates() {
        for dialect in [Dialect::Postgres, Dialect::Sqlite] {
            let created = install_sql(dialect).iter().filter(|s| s.starts_with("CREATE TRIGGER")).count();
            assert_eq!(created as i64, expected_triggers(dialect));
        }
    }
}
