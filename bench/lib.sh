# Shared by the benchmark scripts that build throw-away PostgreSQL clusters (reliability.sh,
# scale-out.sh): sourced from the project root, never run on its own.

# PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup, psql): the newest installed.
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}

# `require SCRIPT TOOL…`: exits 2 naming the first tool that is missing.
require() {
  local script=$1; shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$script needs $tool" >&2; exit 2; }
  done
}

# Builds the release binary into $BIN and makes $TMP, a temporary directory the postgres user
# can enter (clusters live below it).
build_and_tmp() {
  cargo build --release --quiet
  BIN=$PWD/target/release/mafita-analytics
  TMP=$(mktemp -d)
  chmod 755 "$TMP"
}

# Runs a PostgreSQL server binary as postgres when this shell is root (initdb refuses root).
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
now_ms() { date +%s%3N; }
sql() { "$PGBIN/psql" -XAtq "$@"; }
# Prints a Python expression over the JSON document on standard input (`d`).
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
