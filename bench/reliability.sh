#!/usr/bin/env bash
# The reliability suite: the service under load and under failure, each case a figure in
# RELIABILITY.md.
#
#   bash bench/reliability.sh                 # about 8 minutes
#   RELIABILITY_LOAD_SECONDS=20 bash bench/reliability.sh   # shorter load phases
#
# It builds two throw-away PostgreSQL clusters in a temporary directory (ports of their own,
# loopback only; the machine's own PostgreSQL is never touched): one holds the platform, one
# the summary tables, so each can be stopped on its own. Needs PostgreSQL's server binaries
# (initdb, pg_ctl), wrk (apt-get install wrk), curl and python3. Not a test: `cargo test` and
# CI never run it; the fast cases (forged tokens, random query strings) are in `cargo test`
# and this script runs them too so the figures sit together.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

LOAD=${RELIABILITY_LOAD_SECONDS:-60}
USERS=${RELIABILITY_USERS:-10000}
DAYS=${RELIABILITY_DAYS:-180}
OUT=RELIABILITY.md
# bench/schemathesis.sh keeps its own section in the same file; this script rewrites the rest.
FUZZ_SECTION=$(sed -n '/^<!-- schemathesis -->$/,/^<!-- \/schemathesis -->$/p' "$OUT" 2>/dev/null || true)
require reliability.sh wrk curl python3 "$PGBIN/initdb" "$PGBIN/pg_ctl" "$PGBIN/psql"

build_and_tmp
PLATFORM_PORT=$((25000 + RANDOM % 500))
SUMMARY_PORT=$((PLATFORM_PORT + 500))
PLATFORM=postgres://postgres@127.0.0.1:$PLATFORM_PORT/platform
SUMMARY=postgres://postgres@127.0.0.1:$SUMMARY_PORT/summary
API_PORT=$((PLATFORM_PORT + 1000))
API=http://127.0.0.1:$API_PORT
export ANALYTICS_JWT_SECRET=reliability-only-signing-key
export ANALYTICS_DATABASE_URL=$SUMMARY
export ANALYTICS_SCHEDULE="0 0 0 1 1 *"   # runs only when a case asks for them
export ANALYTICS_REBUILD_SCHEDULE=""
export ANALYTICS_LEASE_TTL=10s
export ANALYTICS_ADMIN_MIN_INTERVAL=0
export RUST_LOG=mafita_analytics=info

# --- throw-away clusters --------------------------------------------------------------------
cluster_init() { # name port
  mkdir -p "$TMP/$1"
  [ "$(id -u)" = 0 ] && chown postgres "$TMP/$1"
  as_pg "$PGBIN/initdb" -D "$TMP/$1" -A trust -U postgres >/dev/null
  printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_connections = 200\n" \
    "$2" "$TMP/$1" >> "$TMP/$1/postgresql.conf"
  pg_up "$1"
}
pg_up() { as_pg "$PGBIN/pg_ctl" -D "$TMP/$1" -l "$TMP/$1/server.log" -w start >/dev/null; }
pg_down() { as_pg "$PGBIN/pg_ctl" -D "$TMP/$1" -m fast -w stop >/dev/null; }
cleanup() {
  set +e
  for pid in $(cat "$TMP"/*.pid 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  for c in platform summary; do [ -f "$TMP/$c/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$TMP/$c" -m immediate -w stop >/dev/null 2>&1; done
  rm -rf "$TMP"
}
trap cleanup EXIT

# --- helpers ----------------------------------------------------------------------------------
TOKEN=$($BIN token --user-id 1)
auth=(-H "Authorization: Bearer $TOKEN")
# `serve` on $API_PORT with extra environment; its pid in $TMP/serve.pid.
serve_up() {
  env "$@" "$BIN" serve --database-url "$PLATFORM" --bind "127.0.0.1:$API_PORT" >>"$TMP/serve.log" 2>&1 &
  echo $! > "$TMP/serve.pid"
  for _ in $(seq 300); do curl -fs "$API/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "serve did not start; log:" >&2; tail -20 "$TMP/serve.log" >&2; exit 1
}
serve_down() { kill -TERM "$(cat "$TMP/serve.pid")" 2>/dev/null; wait "$(cat "$TMP/serve.pid")" 2>/dev/null || true; rm -f "$TMP/serve.pid"; }
recompute_wait() { curl -s -m 120 -X POST "${auth[@]}" "$API/api/analytics/admin/recompute/?wait=true"; }
# Polls until `$1` (a command) succeeds, at most 60 s; prints the milliseconds it took.
wait_until() {
  local t0; t0=$(now_ms)
  for _ in $(seq 600); do eval "$1" && { echo $(( $(now_ms) - t0 )); return 0; }; sleep 0.1; done
  echo "never (60 s)"
}
status_of() { curl -s -o /dev/null -w '%{http_code}' -m 130 "${auth[@]}" "$API$1"; }

# A wrk run: status counts, socket errors and latency percentiles as one markdown table row.
cat > "$TMP/report.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  codes = {}
  paths = args
  if #paths == 0 then paths = nil end
end
function request()
  if paths then return wrk.format(nil, paths[math.random(#paths)]) end
  return wrk.format()
end
function response(status, headers, body) codes[status] = (codes[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("codes")) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, k .. ": " .. v) end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format("| %d | %.0f | %s | %d | %.2f | %.2f | %.2f |\n",
    summary.requests, summary.requests / (summary.duration / 1e6), table.concat(parts, ", "),
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
LUA
WRK_HEADER="| requests | req/s | statuses | socket errors | p50 ms | p99 ms | max ms |
|---:|---:|---|---:|---:|---:|---:|"
load() { # seconds path [paths for random choice…]
  local seconds=$1 path=$2; shift 2
  wrk -t2 -c32 -d"${seconds}s" --timeout 30s -H "Authorization: Bearer $TOKEN" -s "$TMP/report.lua" \
    "$API$path" -- "$@" | grep '^|'
}

# --- set-up ------------------------------------------------------------------------------------
echo "setting up: two clusters, a platform of $USERS users over $DAYS days"
cluster_init platform "$PLATFORM_PORT"
cluster_init summary "$SUMMARY_PORT"
sql "postgres://postgres@127.0.0.1:$PLATFORM_PORT/postgres" -c "CREATE DATABASE platform"
sql "postgres://postgres@127.0.0.1:$SUMMARY_PORT/postgres" -c "CREATE DATABASE summary"
seeded=$($BIN seed --database-url "$PLATFORM" --users "$USERS" --days "$DAYS" 2>&1 | tail -n1)
$BIN create-indexes --database-url "$PLATFORM" >/dev/null 2>&1
$BIN migrate --database-url "$PLATFORM" >/dev/null 2>&1
$BIN recompute --full --database-url "$PLATFORM" >/dev/null 2>&1
tx=$(sql "$PLATFORM" -c "select count(*) from wallet_wallettransaction")

{
  echo "# Reliability"
  echo
  echo "Produced by \`bash bench/reliability.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) cores,"
  echo "$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'), $("$PGBIN/postgres" --version). The platform and the"
  echo "summary tables live in two throw-away PostgreSQL clusters on loopback (so each can be stopped on"
  echo "its own), the platform seeded with \`seed --users $USERS --days $DAYS\` ($tx wallet transactions)."
  echo "wrk (2 threads, 32 connections) runs on the same machine and competes for its two cores."
  echo "Lease TTL 10 s; no scheduled runs except where a case says so."
  echo
} > "$OUT"

SNAPSHOT=/api/analytics/kpis/?days=30

# --- 1. load while runs go back to back -------------------------------------------------------
echo "1. load during back-to-back runs (${LOAD}s per endpoint kind)"
serve_up
runs_loop() {
  while [ ! -f "$TMP/stop_runs" ]; do recompute_wait | field 'd.get("status", d.get("detail"))' >> "$TMP/runs" 2>/dev/null || true; done
}
ondemand_paths=()
for d in $(seq 2 3 200); do
  case $d in 7|30|90) continue ;; esac
  ondemand_paths+=("/api/analytics/dashboard/overview/?days=$d" "/api/analytics/transactions/?days=$d&status=success")
done
{
  echo "## 1. Load while runs go back to back"
  echo
  echo "A loop posts \`admin/recompute/?wait=true\` for the whole time (each run re-reads the settle"
  echo "window and rewrites every snapshot; the server reloads them within 5 s); meanwhile wrk sends"
  echo "$LOAD s of requests. Snapshot: \`$SNAPSHOT\`. On demand: ${#ondemand_paths[@]} uncommon"
  echo "windows of \`dashboard/overview\` and filtered \`transactions\`, picked at random (cold the first"
  echo "time, then from the on-demand cache until its TTL)."
  echo
  echo "| load | runs during it | $(echo "$WRK_HEADER" | head -1 | cut -c3-)"
  echo "|---|---|$(echo "$WRK_HEADER" | tail -1 | cut -c2-)"
} >> "$OUT"
for kind in snapshot on-demand; do
  rm -f "$TMP/stop_runs" "$TMP/runs"
  runs_loop & loop=$!
  if [ "$kind" = snapshot ]; then row=$(load "$LOAD" "$SNAPSHOT"); else row=$(load "$LOAD" "${ondemand_paths[0]}" "${ondemand_paths[@]}"); fi
  touch "$TMP/stop_runs"; wait "$loop" || true
  runs=$(sort "$TMP/runs" | uniq -c | awk '{printf "%s%s %s", sep, $1, $2; sep=", "}')
  echo "| $kind | $runs $row" >> "$OUT"
done
echo >> "$OUT"

# --- 2. platform database stopped and restarted under load ------------------------------------
echo "2. platform database down under load"
half=$((LOAD / 2 > 20 ? LOAD / 2 : 20))
load "$half" "$SNAPSHOT" > "$TMP/wrk2" &
wrk_pid=$!
sleep 3
pg_down platform
stopped=$(now_ms)
sleep 2
readyz_down=$(curl -s -w ' (HTTP %{http_code})' "$API/readyz")
status_down=$(curl -s "${auth[@]}" "$API/api/analytics/admin/status/" | field 'd["databases"]')
ondemand_down=$(curl -s -w ' (HTTP %{http_code})' "${auth[@]}" "$API/api/analytics/kpis/?days=11")
run_down=$(recompute_wait | field 'd.get("status"), (d.get("error") or d.get("detail") or "")[:120]')
sleep 5
pg_up platform
started=$(now_ms)
recovered=$(wait_until "curl -s $API/readyz | grep -q '\"platform_reachable\":true'")
run_up=$(recompute_wait | field 'd["status"]')
ondemand_up=$(status_of "/api/analytics/kpis/?days=11")
wait "$wrk_pid" || true
{
  echo "## 2. Platform database stopped and restarted under load"
  echo
  echo "wrk on the snapshot for $half s; 3 s in, the platform cluster is stopped (\`pg_ctl stop -m fast\`)"
  echo "for $(( (started - stopped) / 1000 )) s, then started again. No restart of the service."
  echo
  echo "$WRK_HEADER"
  cat "$TMP/wrk2"
  echo
  echo "While it was down:"
  echo "- \`/readyz\`: \`$readyz_down\`"
  echo "- \`admin/status/\` databases: \`$status_down\`"
  echo "- an uncommon window: \`$ondemand_down\`"
  echo "- \`admin/recompute/?wait=true\`: \`$run_down\`"
  echo
  echo "After it came back: \`/readyz\` reported the platform reachable after $recovered ms; the next run: \`$run_up\`;"
  echo "the uncommon window: HTTP $ondemand_up."
  echo
} >> "$OUT"

# --- 3. summary database unreachable ------------------------------------------------------------
echo "3. summary database down under load"
load 20 "$SNAPSHOT" > "$TMP/wrk3" &
wrk_pid=$!
sleep 3
pg_down summary
sleep 7
readyz_down=$(curl -s -w ' (HTTP %{http_code})' "$API/readyz")
runs_down=$(curl -s -w ' (HTTP %{http_code})' "${auth[@]}" "$API/api/analytics/admin/runs/")
run_down=$(curl -s -m 120 -w ' (HTTP %{http_code})' -X POST "${auth[@]}" "$API/api/analytics/admin/recompute/?wait=true" | cut -c1-220)
ondemand_down=$(status_of "/api/analytics/kpis/?days=13")
pg_up summary
recovered=$(wait_until "curl -s $API/readyz | grep -q '\"summary_reachable\":true'")
run_up=$(recompute_wait | field 'd["status"]')
wait "$wrk_pid" || true
{
  echo "## 3. Summary database unreachable"
  echo
  echo "wrk on the snapshot for 20 s; 3 s in, the summary cluster is stopped for about 10 s."
  echo
  echo "$WRK_HEADER"
  cat "$TMP/wrk3"
  echo
  echo "While it was down:"
  echo "- \`/readyz\`: \`$readyz_down\`"
  echo "- \`admin/runs/\`: \`$runs_down\`"
  echo "- \`admin/recompute/?wait=true\`: \`$run_down\`"
  echo "- an uncommon window (folds from the day store in memory): HTTP $ondemand_down"
  echo
  echo "After it came back: \`/readyz\` reported it reachable after $recovered ms; the next run: \`$run_up\`."
  echo
} >> "$OUT"
serve_down

# --- 4. a platform query past the statement timeout ---------------------------------------------
echo "4. statement timeout"
serve_up ANALYTICS_STATEMENT_TIMEOUT=2s
sql "$PLATFORM" -c "BEGIN; LOCK TABLE wallet_wallettransaction IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(12); COMMIT;" >/dev/null &
locker=$!
sleep 1
t0=$(now_ms)
run_blocked=$(recompute_wait | field 'd["status"], (d.get("error") or "")[:140]')
run_ms=$(( $(now_ms) - t0 ))
t0=$(now_ms)
ondemand_blocked=$(curl -s -D "$TMP/h4" "${auth[@]}" "$API/api/analytics/kpis/?days=17" | cut -c1-200)
ondemand_ms=$(( $(now_ms) - t0 ))
ondemand_status=$(awk 'NR==1 {print $2}' "$TMP/h4")
retry_after=$(awk -F': ' 'tolower($1)=="retry-after" {print $2}' "$TMP/h4" | tr -d '\r')
snapshot_blocked=$(status_of "$SNAPSHOT")
wait "$locker"
run_after=$(recompute_wait | field 'd["status"]')
ondemand_after=$(status_of "/api/analytics/kpis/?days=17")
{
  echo "## 4. A platform query past the statement timeout"
  echo
  echo "\`ANALYTICS_STATEMENT_TIMEOUT=2s\`; another session holds \`ACCESS EXCLUSIVE\` on"
  echo "\`wallet_wallettransaction\` for 12 s, so every read of it waits."
  echo
  echo "| request during the lock | answer | time |"
  echo "|---|---|---:|"
  echo "| \`admin/recompute/?wait=true\` | \`$run_blocked\` | $run_ms ms |"
  echo "| uncommon window \`kpis/?days=17\` | HTTP $ondemand_status, Retry-After $retry_after: \`$ondemand_blocked\` | $ondemand_ms ms |"
  echo "| snapshot \`$SNAPSHOT\` | HTTP $snapshot_blocked | |"
  echo
  echo "After the lock: the next run \`$run_after\`, the uncommon window HTTP $ondemand_after."
  echo
} >> "$OUT"
serve_down

# --- 5. kill -9 during a run's write --------------------------------------------------------------
echo "5. kill -9 during runs"
$BIN recompute --full --database-url "$PLATFORM" >/dev/null 2>&1
full_ms=$(sql "$SUMMARY" -c "select duration_ms from analytics_run order by id desc limit 1")
{
  echo "## 5. \`kill -9\` during a run"
  echo
  echo "A \`recompute --full\` run takes $full_ms ms here (its own figure, start-up aside). Each row kills"
  echo "one with \`SIGKILL\`: either at a point in time, or inside its write transaction — another"
  echo "session holds a \`SHARE\` lock on one of the tables the write goes through, in write order (the"
  echo "day store, the snapshots, the flattened metrics), and the run is killed while it waits there,"
  echo "with what comes before it already written in its transaction. After each: every snapshot must come"
  echo "from one run, \`verify\` must find the stored snapshots and days equal to a recomputation, and"
  echo "the next \`recompute\` must succeed (the dead run's lease expires after \`ANALYTICS_LEASE_TTL\`,"
  echo "10 s here) and mark the dead run failed."
  echo
  echo "| killed | run row after the kill → after the next run | snapshot runs | verify | next recompute | its wait |"
  echo "|---|---|---:|---|---|---:|"
} >> "$OUT"
kill_case() { # label; the victim is already running as $victim
  wait "$victim" 2>/dev/null || true
  local last runs verify next waited dead t0
  last=$(sql "$SUMMARY" -c "select id || ' ' || status from analytics_run order by id desc limit 1")
  runs=$(sql "$SUMMARY" -c "select count(distinct run_id) from analytics_snapshot")
  verify=$($BIN verify --database-url "$PLATFORM" 2>&1 | tail -n1 | cut -c1-90)
  t0=$(now_ms)
  if $BIN recompute --database-url "$PLATFORM" >/dev/null 2>&1; then next=succeeded; else next=FAILED; fi
  waited=$(( $(now_ms) - t0 ))
  dead=$(sql "$SUMMARY" -c "select status || ' (' || left(coalesce(error, ''), 42) || ')' from analytics_run where id = ${last%% *}")
  echo "| $1 | ${last#* } → $dead | $runs | $verify | $next | $waited ms |" >> "$OUT"
}
for table in analytics_day_transaction analytics_snapshot analytics_metric; do
  sql "$SUMMARY" -c "BEGIN; LOCK TABLE $table IN SHARE MODE; SELECT pg_sleep(60); COMMIT;" >/dev/null 2>&1 &
  locker=$!
  sleep 0.3
  $BIN recompute --full --database-url "$PLATFORM" >/dev/null 2>&1 &
  victim=$!
  waiting=$(wait_until "sql '$SUMMARY' -c \"select 1 from pg_locks l join pg_class c on c.oid = l.relation where not l.granted and c.relname = '$table'\" | grep -q 1")
  kill -9 "$victim" 2>/dev/null || true
  sql "$SUMMARY" -c "select pg_terminate_backend(pid) from pg_stat_activity where query like '%pg_sleep(60)%' and pid <> pg_backend_pid()" >/dev/null
  wait "$locker" 2>/dev/null || true
  kill_case "waiting to write \`$table\` (after $waiting ms)"
done
for pct in 30 60 90; do
  $BIN recompute --full --database-url "$PLATFORM" >/dev/null 2>&1 &
  victim=$!
  sleep "$(python3 -c "print($full_ms * $pct / 100000)")"
  kill -9 "$victim" 2>/dev/null || true
  kill_case "at $pct % of a run's time"
done
echo >> "$OUT"

# --- 6. SIGTERM under load ------------------------------------------------------------------------
echo "6. SIGTERM under load"
serve_up
for i in $(seq 12); do
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -m 120 "${auth[@]}" \
    "$API/api/analytics/reports/export/?report_type=daily&date_from=2020-01-0$(( i % 9 + 1 ))&format=csv" >> "$TMP/inflight" &
done
curl -s -o /dev/null -X POST "${auth[@]}" "$API/api/analytics/admin/recompute/?full=true" || true
wrk -t2 -c32 -d10s -H "Authorization: Bearer $TOKEN" "$API$SNAPSHOT" > "$TMP/wrk6" 2>&1 &
sleep 0.3
pid=$(cat "$TMP/serve.pid")
t0=$(now_ms)
kill -TERM "$pid"
set +e; wait "$pid"; code=$?; set -e
exit_ms=$(( $(now_ms) - t0 ))
rm -f "$TMP/serve.pid"
wait $(jobs -p) 2>/dev/null || true
inflight=$(awk '{print $1}' "$TMP/inflight" | sort | uniq -c | awk '{printf "%s%s × HTTP %s", sep, $1, $2; sep=", "}')
slowest=$(sort -k2 -n "$TMP/inflight" | tail -n1 | awk '{print $2}')
cancelled=$(sql "$SUMMARY" -c "select status || ': ' || left(coalesce(error, ''), 60) from analytics_run order by id desc limit 1")
lease=$(sql "$SUMMARY" -c "select count(*) from analytics_lease where expires_at > now()")
{
  echo "## 6. SIGTERM under load"
  echo
  echo "Twelve ten-year daily CSV reports (slow, queued behind two on-demand slots), a full rebuild"
  echo "and wrk on the snapshot are in flight when \`serve\` gets \`SIGTERM\`."
  echo
  echo "- the twelve reports: $inflight (the slowest finished after $slowest s)"
  echo "- \`serve\` exited with code $code, $exit_ms ms after the signal"
  echo "- the run it was doing: \`$cancelled\`; leases still held: $lease"
  echo
} >> "$OUT"

# --- 7. two serve and one recompute started together ---------------------------------------------
echo "7. two serve and one recompute together"
before=$(sql "$SUMMARY" -c "select coalesce(max(id), 0) from analytics_run")
for n in 1 2; do
  ANALYTICS_SCHEDULE="*/2 * * * * *" "$BIN" serve --database-url "$PLATFORM" --bind "127.0.0.1:$((API_PORT + n))" \
    >"$TMP/serve$n.log" 2>&1 &
  echo $! > "$TMP/serve$n.pid"
done
$BIN recompute --database-url "$PLATFORM" >/dev/null 2>&1 && cli=succeeded || cli=FAILED
sleep 30
for n in 1 2; do kill -TERM "$(cat "$TMP/serve$n.pid")"; done
for n in 1 2; do wait "$(cat "$TMP/serve$n.pid")" 2>/dev/null || true; rm -f "$TMP/serve$n.pid"; done
total=$(sql "$SUMMARY" -c "select count(*) from analytics_run where id > $before")
by=$(sql "$SUMMARY" -F' ' -c "select trigger, status, count(*) from analytics_run where id > $before group by 1, 2 order by 1, 2" | awk '{printf "%s%s %s: %s", sep, $1, $2, $3; sep=", "}')
instances=$(sql "$SUMMARY" -c "select count(distinct instance) from analytics_run where id > $before")
failures=$(sql "$SUMMARY" -c "select string_agg(distinct left(error, 100), '; ') from analytics_run where id > $before and status = 'failed'")
overlaps=$(sql "$SUMMARY" -c "select count(*) from analytics_run a join analytics_run b on a.id < b.id
  and a.started_at < coalesce(b.finished_at, now()) and b.started_at < coalesce(a.finished_at, now())
  where a.id > $before and b.id > $before")
{
  echo "## 7. Two \`serve\` and one \`recompute\` started together"
  echo
  echo "Both servers schedule a run every 2 s (\`*/2 * * * * *\`) for 30 s; the CLI \`recompute\` starts"
  echo "at the same moment (it $cli)."
  echo
  echo "- runs recorded: $total, from $instances instances ($by)"
  echo "- pairs of runs whose [started_at, finished_at] overlap: **$overlaps**"
  [ -n "$failures" ] && echo "- failed runs' errors: \`$failures\` (\`cancelled:\` is a run cut short when the servers were stopped at the end)"
  echo
} >> "$OUT"

# --- 8. the fast cases, from the test suite -------------------------------------------------------
echo "8. forged tokens and random query strings (cargo test)"
tokens=$(cargo test --quiet --test tokens 2>&1 | grep '^test result')
params=$(cargo test --quiet --test query_params 2>&1 | grep '^test result')
{
  echo "## 8. Forged tokens and random query strings"
  echo
  echo "In \`cargo test\` (\`tests/tokens.rs\`, \`tests/query_params.rs\`), run here again:"
  echo
  echo "- forged-token matrix (alg none in every spelling, HS/RS confusion both ways, refresh token,"
  echo "  expired, not yet valid, wrong key, bad user ids, non-staff, inactive, missing user, on an"
  echo "  HS256 and an RS256 server): $tokens"
  echo "- property tests: 800 random query strings over every route (encoded and raw), 3,000 random"
  echo "  window and 3,000 random report parameter sets at random clocks and zones: $params"
} >> "$OUT"
[ -n "$FUZZ_SECTION" ] && printf '\n%s\n' "$FUZZ_SECTION" >> "$OUT"
echo "wrote $OUT"
