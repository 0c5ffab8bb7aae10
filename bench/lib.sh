# Shared by the benchmark scripts (run.sh, capture.sh, reliability.sh, scale-out.sh): sourced
# from the project root, never run on its own.

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

# The median and the P-th percentile (`pct P`) of the numbers on standard input, one a line.
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; print a[i]}'; }
# The users of a bench scale (S, M, L).
users_of() { case "$1" in S) echo 10000 ;; M) echo 100000 ;; L) echo 1000000 ;; esac; }

# `wait_for_day_store PORT TOKEN SECONDS`: waits until the server on PORT answers admin/status
# (with the admin TOKEN) and has read its day store; exits 1 after SECONDS.
wait_for_day_store() {
  for _ in $(seq $(( $3 * 5 ))); do
    curl -fs -H "Authorization: Bearer $2" "http://127.0.0.1:$1/api/analytics/admin/status/" 2>/dev/null \
      | grep -q '"day_store":{' && return 0
    sleep 0.2
  done
  echo "the server on port $1 did not read its day store in $3 s" >&2; exit 1
}
