#!/usr/bin/env bash
# Scale-out on one machine: a PostgreSQL primary with a streaming hot standby, one scheduling
# instance and three `serve --no-scheduler` replicas reading the standby and writing the
# summary tables on the primary, nginx in front. Each case is a figure in SCALING.md.
#
#   bash bench/scale-out.sh                       # about 5 minutes
#   SCALE_LOAD_SECONDS=10 bash bench/scale-out.sh # shorter load phases
#
# Everything lives in a temporary directory with ports of its own on 127.0.0.1 (the machine's
# own PostgreSQL is never touched) and is removed at the end. Needs PostgreSQL's server binaries
# (initdb, pg_ctl, pg_basebackup), nginx (apt-get install nginx-light), wrk, curl and python3.
# Not a test: `cargo test` and CI never run it; what can run there is in tests/standby.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

LOAD=${SCALE_LOAD_SECONDS:-20}
USERS=${SCALE_USERS:-20000}
DAYS=${SCALE_DAYS:-365}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
OUT=SCALING.md
require scale-out.sh wrk curl python3 "$NGINX" "$PGBIN/initdb" "$PGBIN/pg_ctl" "$PGBIN/pg_basebackup" "$PGBIN/psql"

build_and_tmp
BASE=$((26000 + RANDOM % 400))
PRIMARY_PORT=$BASE
STANDBY_PORT=$((BASE + 1))
NGINX_PORT=$((BASE + 2))
SCHED_PORT=$((BASE + 10))
REPLICA_PORTS=($((BASE + 11)) $((BASE + 12)) $((BASE + 13)))
PRIMARY=postgres://postgres@127.0.0.1:$PRIMARY_PORT
STANDBY=postgres://postgres@127.0.0.1:$STANDBY_PORT
export ANALYTICS_JWT_SECRET=scale-out-only-signing-key
export DATABASE_URL=$STANDBY/platform
export ANALYTICS_DATABASE_URL=$PRIMARY/summary
export ANALYTICS_SCHEDULE="0 0 0 1 1 *"   # runs only when a case asks for them
export ANALYTICS_REBUILD_SCHEDULE=""
export ANALYTICS_LEASE_TTL=10s
export ANALYTICS_ADMIN_MIN_INTERVAL=0
export RUST_LOG=mafita_analytics=info

# --- throw-away clusters ----------------------------------------------------------------------
pg_ctl_() { as_pg "$PGBIN/pg_ctl" -D "$TMP/$1" -l "$TMP/$1.log" -w "${@:2}" >/dev/null; }
cleanup() {
  set +e
  for pid in $(cat "$TMP"/*.pid 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  [ -f "$TMP/nginx/nginx.pid" ] && kill "$(cat "$TMP/nginx/nginx.pid")" 2>/dev/null
  for c in standby primary; do [ -f "$TMP/$c/postmaster.pid" ] && pg_ctl_ "$c" -m immediate stop 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TMP/primary"
[ "$(id -u)" = 0 ] && chown postgres "$TMP" "$TMP/primary"
as_pg "$PGBIN/initdb" -D "$TMP/primary" -A trust -U postgres >/dev/null
cat >> "$TMP/primary/postgresql.conf" <<EOF
port = $PRIMARY_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$TMP/primary'
max_connections = 200
wal_level = replica
max_wal_senders = 4
EOF
pg_ctl_ primary start
sql "$PRIMARY/postgres" -c "CREATE DATABASE platform" -c "CREATE DATABASE summary" -c "CREATE DATABASE summary_primary"
echo "seeding $USERS users over $DAYS days on the primary"
"$BIN" seed --database-url "$PRIMARY/platform" --users "$USERS" --days "$DAYS" >/dev/null 2>&1
as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$TMP/standby" -R -X stream
cat >> "$TMP/standby/postgresql.conf" <<EOF
port = $STANDBY_PORT
unix_socket_directories = '$TMP/standby'
hot_standby = on
EOF
pg_ctl_ standby start
for _ in $(seq 100); do
  [ "$(sql "$PRIMARY/postgres" -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" = 1 ] && break
  sleep 0.1
done
"$BIN" migrate >/dev/null 2>&1
ANALYTICS_DATABASE_URL=$PRIMARY/summary_primary "$BIN" migrate >/dev/null 2>&1

# --- helpers ----------------------------------------------------------------------------------
TOKEN=$("$BIN" token --user-id 1)
auth=(-H "Authorization: Bearer $TOKEN")
# `serve` on port $1 with extra arguments; its pid in $TMP/serve-$1.pid.
serve_up() {
  local port=$1; shift
  "$BIN" serve --bind "127.0.0.1:$port" "$@" >>"$TMP/serve-$port.log" 2>&1 &
  echo $! > "$TMP/serve-$port.pid"
  for _ in $(seq 300); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "serve on $port did not start; log:" >&2; tail -20 "$TMP/serve-$port.log" >&2; exit 1
}
serve_kill() { kill -9 "$(cat "$TMP/serve-$1.pid")" 2>/dev/null; wait "$(cat "$TMP/serve-$1.pid")" 2>/dev/null || true; rm -f "$TMP/serve-$1.pid"; }
recompute() { curl -s -m 120 -X POST "${auth[@]}" "http://127.0.0.1:$1/api/analytics/admin/recompute/?wait=true${2:-}"; }
summary() { sql "$PRIMARY/summary" -c "$1"; }
verify_against() { # platform URL, summary URL → "agree" or the number of differing lines
  if DATABASE_URL=$1 ANALYTICS_DATABASE_URL=$2 "$BIN" verify >"$TMP/verify.out" 2>&1; then echo agree
  else echo "$(grep -c . "$TMP/verify.out") lines differ"; fi
}
# Inserts $1 successful deposits of ₦1,000.00 on the primary, stamped now.
insert_deposits() {
  sql "$PRIMARY/platform" -c "INSERT INTO wallet_wallettransaction (user_id, wallet_id, tx_type, category, amount, balance_before, balance_after, reference, status, created_at)
    SELECT u.id, w.id, 'credit', 'deposit', 1000.00, 0, 0, 'scale-' || g || '-' || clock_timestamp(), 'success', now()
    FROM generate_series(1, $1) g, LATERAL (SELECT id FROM accounts_user ORDER BY id LIMIT 1) u, LATERAL (SELECT id FROM wallet_wallet WHERE user_id = u.id LIMIT 1) w"
}
lag_of_newest() { summary "SELECT platform_lag_ms FROM analytics_run WHERE status = 'succeeded' ORDER BY id DESC LIMIT 1"; }
# Today's successful transactions as the newest run stored them (the daily series of the largest
# window in analytics_daily_metric: a count that, unlike a rolling window, only grows today).
today_count() { summary "SELECT CAST(CAST(value AS NUMERIC) AS BIGINT) FROM analytics_daily_metric WHERE metric = 'transactions.daily_trend.count' ORDER BY day DESC LIMIT 1"; }

{
echo "# Scale-out"
echo
echo "Measured by \`bash bench/scale-out.sh\` on $(date -u +%Y-%m-%d) on this machine ($(nproc) cores): a"
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') primary and a streaming hot standby built with \`pg_basebackup -R\`, a platform of"
echo "$USERS users over $DAYS days on the primary; \`DATABASE_URL\` on the standby,"
echo "\`ANALYTICS_DATABASE_URL\` on the primary; one scheduling instance and three \`serve --no-scheduler\`"
echo "replicas behind nginx $("$NGINX" -v 2>&1 | sed 's|.*/||'). Everything on 127.0.0.1, in a temporary directory."
echo
} > "$TMP/report.md"
report() { echo "$*" >> "$TMP/report.md"; }

# --- 1. runs on the standby equal runs on the primary ----------------------------------------
serve_up "$SCHED_PORT"
full=$(recompute "$SCHED_PORT" "&full=true")
report "## Runs on the standby"
report
report "- A full run reading the standby: $(echo "$full" | field "d['status']") in $(echo "$full" | field "d['duration_ms']") ms, platform lag"
report "  $(echo "$full" | field "d['platform_lag_ms']") ms (the summary tables live on the primary too, so the standby is always"
report "  replaying something; when it has not replayed all it received, the run ends at its last replayed commit)."
report "- \`verify\` of its 30 snapshots and stored days against the **primary**, each as of its own"
report "  \`computed_at\`: $(verify_against "$PRIMARY/platform" "$PRIMARY/summary")."
ANALYTICS_DATABASE_URL=$PRIMARY/summary_primary DATABASE_URL=$PRIMARY/platform "$BIN" recompute --full >/dev/null 2>&1
report "- A full run reading the primary into a second summary database, verified against the standby:"
report "  $(verify_against "$STANDBY/platform" "$PRIMARY/summary_primary")."

# --- 2. replay paused: the run's now follows the standby --------------------------------------
sql "$STANDBY/postgres" -c "SELECT pg_wal_replay_pause()" >/dev/null
sleep 1
insert_deposits 300
sleep 2
paused=$(recompute "$SCHED_PORT")
lag=$(echo "$paused" | field "d['platform_lag_ms']")
report
report "## A standby that lags"
report
report "Replay paused on the standby (\`pg_wal_replay_pause()\`), then 300 deposits committed on the primary:"
report
report "- The run on the standby: $(echo "$paused" | field "d['status']"), platform lag **$lag ms**; its snapshots'"
report "  \`computed_at\` is the standby's last replayed commit, not the wall clock."
report "- \`verify\` against the primary: $(verify_against "$PRIMARY/platform" "$PRIMARY/summary") (each snapshot is exactly what the primary"
report "  showed at its \`computed_at\`). Before runs were bounded this way, the same experiment stored"
report "  snapshots that disagreed with the primary in 1,842 fields across 30 snapshots."
report "- \`admin/status/\` on the scheduling instance: \`platform_lag_ms\` = $(curl -s "${auth[@]}" "http://127.0.0.1:$SCHED_PORT/api/analytics/admin/status/" | field "d['platform_lag_ms']")."
sql "$STANDBY/postgres" -c "SELECT pg_wal_replay_resume()" >/dev/null
for _ in $(seq 100); do
  [ "$(sql "$STANDBY/postgres" -c "SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()")" = t ] && break; sleep 0.1
done
resumed=$(recompute "$SCHED_PORT")
report "- Replay resumed: the next run's lag is $(echo "$resumed" | field "d['platform_lag_ms']") ms and \`verify\` says $(verify_against "$PRIMARY/platform" "$PRIMARY/summary")."

# --- 3. writes on the primary during a run are seen by the next run --------------------------
before=$(today_count)
( recompute "$SCHED_PORT" "&full=true" > "$TMP/during.json" ) &
during=$!
sleep 0.5
insert_deposits 200
wait "$during"
after_run=$(today_count)
sleep 1
recompute "$SCHED_PORT" >/dev/null
next_run=$(today_count)
report
report "## Writes during a run"
report
report "200 successful deposits committed on the primary 0.5 s into a full run on the standby. Today's"
report "successful transactions in the stored daily series (\`transactions.daily_trend.count\`): $before before,"
report "$after_run after that run (whether a run sees writes made while it reads depends on when its snapshot"
report "was taken; either way it is true as of its \`computed_at\`), **$next_run** after the next run ($((next_run - before)) more than before), and"
report "\`verify\` against the primary: $(verify_against "$PRIMARY/platform" "$PRIMARY/summary")."

# --- 4. replicas behind nginx: the same bytes, and throughput ---------------------------------
for p in "${REPLICA_PORTS[@]}"; do serve_up "$p" --no-scheduler; done
nginx_up() { # upstream ports…
  mkdir -p "$TMP/nginx"
  {
    echo "worker_processes 2; pid $TMP/nginx/nginx.pid; error_log $TMP/nginx/error.log;"
    [ "$(id -u)" = 0 ] && echo "user root;"
    echo "events { worker_connections 1024; }"
    echo "http { access_log off; client_body_temp_path $TMP/nginx; proxy_temp_path $TMP/nginx;"
    echo "  fastcgi_temp_path $TMP/nginx; uwsgi_temp_path $TMP/nginx; scgi_temp_path $TMP/nginx;"
    echo "  upstream analytics { keepalive 64;"
    for p in "$@"; do echo "    server 127.0.0.1:$p;"; done
    echo "  }"
    echo "  server { listen 127.0.0.1:$NGINX_PORT;"
    echo "    location /api/analytics/ { proxy_pass http://analytics; proxy_http_version 1.1; proxy_set_header Connection \"\"; }"
    echo "  }"
    echo "}"
  } > "$TMP/nginx/nginx.conf"
  [ -f "$TMP/nginx/nginx.pid" ] && { kill "$(cat "$TMP/nginx/nginx.pid")"; sleep 0.5; }
  "$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf"
  for _ in $(seq 50); do curl -fs -o /dev/null "${auth[@]}" "http://127.0.0.1:$NGINX_PORT/api/analytics/kpis/?days=30" && return 0; sleep 0.1; done
  echo "nginx did not start" >&2; cat "$TMP/nginx/error.log" >&2; exit 1
}
cat > "$TMP/paths.lua" <<'EOF'
local paths = {}
for _, e in ipairs({"dashboard/overview/", "transactions/", "revenue/", "users/", "services/", "kpis/"}) do
  for _, d in ipairs({1, 7, 30, 90, 365}) do paths[#paths + 1] = "/api/analytics/" .. e .. "?days=" .. d end
end
request = function() return wrk.format(nil, paths[math.random(#paths)]) end
EOF
load() { # url → "requests/s | p50 | p99"
  wrk -t2 -c64 -d"${LOAD}s" --latency -H "Authorization: Bearer $TOKEN" -s "$TMP/paths.lua" "$1" > "$TMP/wrk.out"
  python3 - "$TMP/wrk.out" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)
lat = dict(re.findall(r"\s+(50|99)%\s+([\d.]+\w+)", text))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{float(rps):,.0f} | {lat.get('50')} | {lat.get('99')} | {errors.group(1) if errors else 0}")
EOF
}
report
report "## Throughput of snapshot endpoints"
report
report "wrk (2 threads, 64 connections, ${LOAD} s) over the 30 snapshot URLs (6 endpoints × 5 windows) with a"
report "staff token; wrk, nginx and the replicas share the machine's $(nproc) cores."
report
report "| Path | Requests/s | p50 | p99 | Non-2xx |"
report "|---|---|---|---|---|"
report "| one replica, direct | $(load "http://127.0.0.1:${REPLICA_PORTS[0]}") |"
nginx_up "${REPLICA_PORTS[0]}"
report "| nginx → 1 replica | $(load "http://127.0.0.1:$NGINX_PORT") |"
nginx_up "${REPLICA_PORTS[@]}"
report "| nginx → 3 replicas | $(load "http://127.0.0.1:$NGINX_PORT") |"
report
report "Here every process shares $(nproc) cores, so more replicas cannot add capacity: the figures show"
report "what nginx costs and that three replicas behind it serve the same load without an error. Each"
report "answer is a copy from memory, so capacity grows with the cores and machines the replicas get."

# Every replica serves the same bytes once a run lands.
run=$(recompute "$SCHED_PORT")
committed=$(now_ms)
etag=$(summary "SELECT etag FROM analytics_snapshot WHERE endpoint = 'kpis/' AND window_days = 30")
for p in "${REPLICA_PORTS[@]}" "$SCHED_PORT"; do
  for i in $(seq 1200); do # at most 60 s
    [ "$(curl -s -o /dev/null -D - "${auth[@]}" "http://127.0.0.1:$p/api/analytics/kpis/?days=30" | tr -d '\r' | awk 'tolower($1)=="etag:"{print $2}')" = "$etag" ] && break
    [ "$i" = 1200 ] && { echo "instance on $p never served run's ETag $etag" >&2; exit 1; }
    sleep 0.05
  done
done
converged=$(( $(now_ms) - committed ))
sums=$(for p in "${REPLICA_PORTS[@]}" "$SCHED_PORT"; do
  for e in dashboard/overview/ transactions/ revenue/ users/ services/ kpis/; do for d in 1 7 30 90 365; do
    curl -s "${auth[@]}" "http://127.0.0.1:$p/api/analytics/$e?days=$d"; done; done | md5sum | cut -c1-12
done | sort -u)
report
report "## Replicas agree"
report
report "After run $(echo "$run" | field "d['id']") committed, all four instances served its ETag for \`kpis/?days=30\` within"
report "**$converged ms** (replicas reload snapshots every \`ANALYTICS_RELOAD_INTERVAL\`, 5 s by default; the"
report "instance that ran serves at once). The 30 snapshot bodies of every instance hash to"
report "$(echo "$sums" | wc -l) value(s): \`$(echo "$sums" | tr '\n' ' ' | sed 's/ $//')\`."

# --- 5. recovery conflicts: a vacuum on the primary during a long read on the standby ---------
standby_set() { # setting value
  sql "$STANDBY/postgres" -c "ALTER SYSTEM SET $1 = $2" -c "SELECT pg_reload_conf()" >/dev/null
  sleep 0.5
}
conflict_case() { # label
  local log_lines; log_lines=$(wc -l < "$TMP/serve-$SCHED_PORT.log")
  ( recompute "$SCHED_PORT" "&full=true" > "$TMP/conflict.json" ) &
  local job=$!
  sleep 0.3
  sql "$PRIMARY/platform" -c "UPDATE wallet_wallettransaction SET status = status WHERE id % 20 = 0" -c "VACUUM wallet_wallettransaction" >/dev/null
  wait "$job"
  local retries; retries=$(tail -n +"$((log_lines + 1))" "$TMP/serve-$SCHED_PORT.log" | grep -c "recovery conflict cancelled the platform read" || true)
  report "| $1 | $(field "d['status']" < "$TMP/conflict.json") | $retries | $(field "d['duration_ms']" < "$TMP/conflict.json") ms |"
}
report
report "## Recovery conflicts"
report
report "A full run on the standby while the primary updates 5 % of the transactions and vacuums the"
report "table 0.3 s into it; the standby must either delay replay or cancel the run's query."
report
report "| Standby settings | Run | Reads cancelled and retried | Duration |"
report "|---|---|---|---|"
standby_set max_standby_streaming_delay 0
conflict_case "\`max_standby_streaming_delay = 0\`, \`hot_standby_feedback = off\`"
standby_set hot_standby_feedback on
sleep 1
conflict_case "\`max_standby_streaming_delay = 0\`, \`hot_standby_feedback = on\`"
standby_set max_standby_streaming_delay "'30s'"
standby_set hot_standby_feedback off
conflict_case "\`max_standby_streaming_delay = 30s\` (default), \`hot_standby_feedback = off\`"

# --- 6. the lease holder killed mid-run ---------------------------------------------------------
( recompute "$SCHED_PORT" "&full=true" > /dev/null ) &
doomed=$!
for _ in $(seq 100); do
  [ "$(summary "SELECT count(*) FROM analytics_run WHERE status = 'running'")" = 1 ] && break; sleep 0.05
done
sleep 0.5
dead_run=$(summary "SELECT id FROM analytics_run WHERE status = 'running'")
serve_kill "$SCHED_PORT"
killed=$(now_ms)
wait "$doomed" 2>/dev/null || true
takeover=$(recompute "${REPLICA_PORTS[0]}")
took_over_at=$(echo "$takeover" | field "d['started_at']")
gap=$(python3 -c "from datetime import datetime; print(round(datetime.fromisoformat('$took_over_at'.replace('Z','+00:00')).timestamp()*1000 - $killed))")
overlap=$(summary "SELECT count(*) FROM analytics_run a JOIN analytics_run b ON a.id < b.id
  WHERE a.status = 'succeeded' AND b.status = 'succeeded' AND b.started_at < a.finished_at")
report
report "## The lease holder killed mid-run"
report
report "\`kill -9\` of the scheduling instance 0.5 s into full run $dead_run (lease TTL 10 s), then a recompute"
report "asked of a replica:"
report
report "- the replica's run $(echo "$takeover" | field "d['id']") started **$gap ms** after the kill and $(echo "$takeover" | field "d['status']");"
report "- run $dead_run is now \`$(summary "SELECT status FROM analytics_run WHERE id = $dead_run")\`: \"$(summary "SELECT error FROM analytics_run WHERE id = $dead_run")\";"
report "- pairs of successful runs whose times overlap, over all $(summary "SELECT count(*) FROM analytics_run") runs: **$overlap**."
report "- \`verify\` against the primary afterwards: $(verify_against "$PRIMARY/platform" "$PRIMARY/summary")."

mv "$TMP/report.md" "$OUT"
echo "wrote $OUT"
