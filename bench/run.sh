#!/usr/bin/env bash
# Reproducible benchmarks against the local PostgreSQL, written to BENCHMARKS.md.
#
#   bash bench/run.sh            # scales S and M
#   bash bench/run.sh --large    # also L (1M users / 20M transactions; takes a while)
#   bash bench/run.sh --reuse    # keep already-seeded bench databases
#
# Needs: the release binary (built here), wrk (apt-get install wrk), PostgreSQL at
# $BENCH_PG (default postgres://postgres@127.0.0.1:5432). Benchmarks are not tests: this script
# is never run by `cargo test` or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
RUNS=${BENCH_RUNS:-3}
SCALES="S M"
REUSE=false
for arg in "$@"; do
  case "$arg" in
    --large) SCALES="S M L" ;;
    --reuse) REUSE=true ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 2; }

cargo build --release --quiet
BIN=./target/release/mafita-analytics
export ANALYTICS_JWT_SECRET=bench-only-signing-key
export RUST_LOG=mafita_analytics=info
# The incremental runs are triggered back to back through admin/recompute/.
export ANALYTICS_ADMIN_MIN_INTERVAL=0
OUT=BENCHMARKS.md
# bench/capture.sh keeps its own section in the same file; this script rewrites the rest.
CAPTURE_SECTION=$(sed -n '/^<!-- capture -->$/,/^<!-- \/capture -->$/p' "$OUT" 2>/dev/null || true)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; pkill -f "mafita-analytics serve --database-url $PG/bench_" 2>/dev/null || true' EXIT

# An hour of platform activity: copies of the newest transactions (users/365 × 20 / 24 of
# them) stamped within the last hour, and 50 pending transactions of the last two days settled.
hour_of_rows() {
  local n=$(( $2 * 20 / 365 / 24 + 1 ))
  psql "$1" -qc "INSERT INTO wallet_wallettransaction (tx_type, category, amount, balance_before, balance_after, reference, request_id, status, metadata, created_at, user_id, wallet_id)
    SELECT tx_type, category, amount, balance_before, balance_after, NULL, NULL, status, metadata, now() - random() * interval '1 hour', user_id, wallet_id
    FROM (SELECT * FROM wallet_wallettransaction ORDER BY id DESC LIMIT $n) t" \
    -c "UPDATE wallet_wallettransaction SET status = 'success' WHERE id IN (SELECT id FROM wallet_wallettransaction
    WHERE status = 'pending' AND created_at > now() - interval '2 days' ORDER BY id LIMIT 50)"
}
# wrk latency ("385.00us", "1.94ms", "1.02s") in milliseconds.
to_ms() { awk '{v = $1; f = 1; if (v ~ /us$/) f = 0.001; else if (v ~ /ms$/) f = 1; else if (v ~ /s$/) f = 1000; gsub(/[a-z]+$/, "", v); printf "%.2f\n", v * f}'; }

# Streams the stored span's fact rows (730 days) once, the columns the day store's folds read,
# to the server's /dev/null: what reading the platform cannot go below in one stream.
floor_read() {
  psql "$1" -qX >/dev/null <<'SQL'
COPY (SELECT created_at, user_id, category, tx_type, status, reference, amount FROM wallet_wallettransaction WHERE created_at >= now() - interval '730 days') TO '/dev/null';
COPY (SELECT created_at, buyer_id, status, total_price FROM p2p_depositorder WHERE created_at >= now() - interval '730 days') TO '/dev/null';
COPY (SELECT created_at, seller_id, status, total_price FROM p2p_withdraworder WHERE created_at >= now() - interval '730 days') TO '/dev/null';
COPY (SELECT created_at, user_id, crypto_id, status, total_price FROM gasfee_cryptopurchase WHERE created_at >= now() - interval '730 days') TO '/dev/null';
COPY (SELECT created_at, user_id, status, amount FROM rewards_bonus WHERE created_at >= now() - interval '730 days') TO '/dev/null';
COPY (SELECT id, date_joined, referred_by_id FROM accounts_user) TO '/dev/null';
SQL
}

{
  echo "# Benchmarks"
  echo
  echo "Produced by \`bash bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB,"
  echo "$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'), $(psql --version | head -1), PostgreSQL on the same machine,"
  echo "wrk on the same machine (it competes with the server for the 2 cores). Medians of $RUNS runs (load tests: $RUNS interleaved 10 s runs per path). Seeded with"
  echo "\`seed --users N --days 365\` (20 transactions per user), then \`create-indexes\` and \`migrate\`."
  echo
} > "$OUT"

for scale in $SCALES; do
  users=$(users_of "$scale")
  db="bench_$(echo "$scale" | tr 'A-Z' 'a-z')"
  url="$PG/$db"
  if ! $REUSE || ! psql "$PG/postgres" -Atc "select 1 from pg_database where datname='$db'" | grep -q 1; then
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    seed_out=$($BIN seed --database-url "$url" --users "$users" --days 365 2>&1 | tail -1)
    echo "$scale: $seed_out"
  fi
  $BIN create-indexes --database-url "$url" >/dev/null 2>&1
  $BIN migrate --database-url "$url" >/dev/null 2>&1
  tx=$(psql "$url" -Atc "select count(*) from wallet_wallettransaction")

  # 1. Full rebuilds (every stored day re-read, all common windows), wall time and peak memory.
  : > "$TMP/run_ms"; : > "$TMP/run_rss"
  for _ in $(seq "$RUNS"); do
    start=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$TMP/rss" $BIN recompute --full --database-url "$url" >/dev/null 2>&1
    echo $(( ($(date +%s%N) - start) / 1000000 )) >> "$TMP/run_ms"
    cat "$TMP/rss" >> "$TMP/run_rss"
  done
  run_ms=$(median < "$TMP/run_ms"); run_rss=$(median < "$TMP/run_rss")
  # The single-stream floor a full rebuild is held to: every row of the stored span's fact tables
  # streamed once, with the columns the folds need, by the server to /dev/null (no client).
  : > "$TMP/floor_ms"
  for _ in $(seq "$RUNS"); do
    start=$(date +%s%N)
    floor_read "$url"
    echo $(( ($(date +%s%N) - start) / 1000000 )) >> "$TMP/floor_ms"
  done
  floor_ms=$(median < "$TMP/floor_ms")
  days_size=$(psql "$url" -Atc "select pg_size_pretty(sum(pg_total_relation_size(c.oid))) from pg_class c where c.relname like 'analytics_day%' and c.relkind = 'r'")

  # 2. Incremental runs after an hour of new rows and some settled statuses: a fresh
  # `recompute` process (loads the stored days), then inside a running `serve` (reuses them).
  : > "$TMP/inc_ms"; : > "$TMP/inc_rss"
  for _ in $(seq "$RUNS"); do
    hour_of_rows "$url" "$users"
    start=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$TMP/rss" $BIN recompute --database-url "$url" >/dev/null 2>&1
    echo $(( ($(date +%s%N) - start) / 1000000 )) >> "$TMP/inc_ms"
    cat "$TMP/rss" >> "$TMP/inc_rss"
  done
  inc_ms=$(median < "$TMP/inc_ms"); inc_rss=$(median < "$TMP/inc_rss")
  port=$((18000 + RANDOM % 1000))
  token=$($BIN token --user-id 1)
  ANALYTICS_SCHEDULE="0 0 0 1 1 *" ANALYTICS_REBUILD_SCHEDULE="" $BIN serve --database-url "$url" \
    --bind "127.0.0.1:$port" >"$TMP/serve_inc.log" 2>&1 &
  server=$!
  wait_for_day_store "$port" "$($BIN token --user-id 1)" 120
  # Steady state: the first run of a process gives the settle days their hour slots, the
  # second the other days the windows cut; from then on a run reuses them.
  for _ in 1 2; do
    curl -fs -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/analytics/admin/recompute/?wait=true" >/dev/null
  done
  : > "$TMP/serve_inc_ms"
  for _ in $(seq "$RUNS"); do
    hour_of_rows "$url" "$users"
    curl -fs -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/analytics/admin/recompute/?wait=true" \
      | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["status"]=="succeeded", r; print(r["duration_ms"])' >> "$TMP/serve_inc_ms"
  done
  serve_inc_ms=$(median < "$TMP/serve_inc_ms")
  kill -TERM "$server"; wait "$server" 2>/dev/null || true

  # 3. Each endpoint computed on demand, as the API answers an uncommon window: a server whose
  # summary database holds the stored days but no snapshot (so even 7/30/365 are computed) and
  # a 1 s answer cache. First request of each window per pass; before them, the first answers
  # right after /readyz (what a new replica's first user sees).
  today=$(TZ=Africa/Lagos date +%F)
  from=$(TZ=Africa/Lagos date -d "$today - 60 days" +%F); to=$(TZ=Africa/Lagos date -d "$today - 31 days" +%F)
  specs=("days=7" "days=30" "days=365" "date_from=$from&date_to=$to")
  empty="${db}_days_only"
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $empty WITH (FORCE)" -c "CREATE DATABASE $empty"
  $BIN migrate --database-url "$url" --analytics-database-url "$PG/$empty" >/dev/null 2>&1
  $BIN recompute --full --database-url "$url" --analytics-database-url "$PG/$empty" >/dev/null 2>&1
  psql "$PG/$empty" -qc "DELETE FROM analytics_snapshot"
  port=$((18000 + RANDOM % 1000))
  ANALYTICS_CACHE_TTL=1s $BIN serve --database-url "$url" --analytics-database-url "$PG/$empty" \
    --bind "127.0.0.1:$port" --no-scheduler >"$TMP/ondemand.log" 2>&1 &
  server=$!
  for _ in $(seq 600); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  first_users=$(curl -fs -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/api/analytics/users/?days=45" | awk '{printf "%.1f\n", $1 * 1000}')
  first_kpis=$(curl -fs -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/api/analytics/kpis/?days=200" | awk '{printf "%.1f\n", $1 * 1000}')
  wait_for_day_store "$port" "$($BIN token --user-id 1)" 120
  store_ms=$(sed 's/\x1b\[[0-9;]*m//g' "$TMP/ondemand.log" | grep -o 'day store loaded.* ms=[0-9]*' | grep -o 'ms=[0-9]*' | cut -d= -f2 | head -1)
  store_mb=$(curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/analytics/admin/status/" \
    | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["day_store"]["approx_bytes"] / 1048576, 1))')
  declare -A ondemand=()
  for endpoint in overview transactions revenue users services kpis; do
    for spec in "${specs[@]}"; do : > "$TMP/od_${endpoint}_${spec//[^a-z0-9]/_}"; done
  done
  for _ in $(seq "$RUNS"); do
    for spec in "${specs[@]}"; do
      for endpoint in overview transactions revenue users services kpis; do
        path=$endpoint; [ "$endpoint" = overview ] && path=dashboard/overview
        curl -fs -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" \
          "http://127.0.0.1:$port/api/analytics/$path/?$spec" | awk '{printf "%.1f\n", $1 * 1000}' \
          >> "$TMP/od_${endpoint}_${spec//[^a-z0-9]/_}"
      done
    done
    sleep 1.2 # let the 1 s answer cache expire: every pass computes again
  done
  for endpoint in overview transactions revenue users services kpis; do
    for spec in "${specs[@]}"; do
      ondemand["$endpoint|$spec"]=$(median < "$TMP/od_${endpoint}_${spec//[^a-z0-9]/_}")
    done
  done
  ondemand_rss=$(ps -o rss= -p "$server" | tr -d ' ')
  kill -TERM "$server"; wait "$server" 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $empty WITH (FORCE)"

  # 2b. The same payloads from a fresh process with no day store (every row of the window is
  # read): what the day store saves, and the cost of a window it does not cover.
  # Skipped at L: a year of 20M rows read from scratch, 72 times, would take most of an hour.
  declare -A standalone=()
  [ "$scale" = L ] || for spec in "--days 7" "--days 30" "--days 365" "--date-from $from --date-to $to"; do
    for endpoint in overview transactions revenue users services kpis; do
      : > "$TMP/ms"
      for _ in $(seq "$RUNS"); do
        # shellcheck disable=SC2086
        $BIN compute --database-url "$url" --endpoint "$endpoint" $spec --quiet 2>&1 | awk '$1 !~ /total/ {print $2}' | head -1 >> "$TMP/ms"
      done
      standalone["$endpoint|$spec"]=$(median < "$TMP/ms")
    done
  done

  # 3. Serving: snapshot answers under load, beside /healthz on the same server.
  port=$((18000 + RANDOM % 1000))
  $BIN serve --database-url "$url" --bind "127.0.0.1:$port" --no-scheduler >"$TMP/serve.log" 2>&1 &
  server=$!
  # Load only once the server has read its day store: the read competes for the 2 cores.
  wait_for_day_store "$port" "$($BIN token --user-id 1)" 120
  # Each path RUNS times, interleaved, 10 s each; medians of throughput and of each latency
  # (wrk shares the 2 cores with the server, so single samples swing by ±15 %).
  # The last path again as a browser asks for it (compressed): its 42 KB plain body at M costs
  # more to copy than to find, and the dashboard in a browser always sends Accept-Encoding.
  paths=("/healthz" "/api/analytics/dashboard/overview/?days=30" "/api/analytics/users/?days=365" "/api/analytics/users/?days=365")
  encodings=("" "" "" "br, gzip")
  for i in 0 1 2 3; do : > "$TMP/load_$i"; done
  for _ in $(seq "$RUNS"); do
    for i in 0 1 2 3; do
      accept=(); [ -n "${encodings[$i]}" ] && accept=(-H "Accept-Encoding: ${encodings[$i]}")
      wrk -t2 -c32 -d10s --latency -H "Authorization: Bearer $token" "${accept[@]}" "http://127.0.0.1:$port${paths[$i]}" > "$TMP/wrk"
      rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk")
      p50=$(awk '$1 == "50%" {print $2}' "$TMP/wrk" | to_ms); p99=$(awk '$1 == "99%" {print $2}' "$TMP/wrk" | to_ms)
      echo "$rps $p50 $p99" >> "$TMP/load_$i"
    done
  done
  load() { # median rps, p50, p99 (ms) of path number $1
    echo "$(cut -d' ' -f1 "$TMP/load_$1" | median) $(cut -d' ' -f2 "$TMP/load_$1" | median)ms $(cut -d' ' -f3 "$TMP/load_$1" | median)ms"
  }
  read -r base_rps base_p50 base_p99 < <(load 0)
  read -r ov_rps ov_p50 ov_p99 < <(load 1)
  read -r us_rps us_p50 us_p99 < <(load 2)
  read -r br_rps br_p50 br_p99 < <(load 3)
  serve_rss=$(ps -o rss= -p "$server" | tr -d ' ')
  kill -TERM "$server"; wait "$server" 2>/dev/null || true

  ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
  {
    echo "## Scale $scale: $users users, $tx wallet transactions"
    echo
    echo "| measure | value | target |"
    echo "|---|---|---|"
    echo "| full rebuild (\`recompute --full\`: every stored day re-read), 6 endpoints × 5 windows | ${run_ms} ms | ≤ 2 × the floor below |"
    echo "| the single-stream floor: the span's fact rows streamed once (\`COPY … TO '/dev/null'\`, the columns the folds need) | ${floor_ms} ms; the full rebuild is $(ratio "$run_ms" "$floor_ms") × it | full rebuild ≤ 2 × |"
    echo "| peak resident memory of a full rebuild | $((run_rss / 1024)) MB | < 250 MB at L |"
    echo "| incremental run in a fresh \`recompute\` process (loads the stored days), after an hour of rows | ${inc_ms} ms (peak $((inc_rss / 1024)) MB) | < 500 ms at M, < 2 s at L |"
    echo "| incremental run inside a running \`serve\` (\`duration_ms\` of \`admin/recompute/?wait=true\`) | ${serve_inc_ms} ms | < 200 ms at M, < 1 s at L |"
    echo "| stored days in the summary database (\`analytics_day_*\`, tables and indexes) | ${days_size} | |"
    echo "| a new replica's first answers after \`/readyz\`: \`users/?days=45\`, \`kpis/?days=200\` | ${first_users} ms, ${first_kpis} ms | < 100 ms at M, < 300 ms at L |"
    echo "| server resident memory after load | $((serve_rss / 1024)) MB | < 100 MB at M |"
    echo "| \`/healthz\` (baseline) | $base_rps req/s, p50 $base_p50, p99 $base_p99 | |"
    echo "| \`dashboard/overview/?days=30\` (snapshot, 0.8 KB) | $ov_rps req/s ($(ratio "$ov_rps" "$base_rps") × baseline), p50 $ov_p50, p99 $ov_p99 | ≥ 0.8 × baseline, p99 < 2 ms |"
    echo "| \`users/?days=365\` (snapshot, 42 KB at M, no \`Accept-Encoding\`) | $us_rps req/s ($(ratio "$us_rps" "$base_rps") × baseline), p50 $us_p50, p99 $us_p99 | ≥ 0.8 × baseline, p99 < 2 ms |"
    echo "| \`users/?days=365\` with \`Accept-Encoding: br, gzip\` (as browsers ask; 6 KB) | $br_rps req/s ($(ratio "$br_rps" "$base_rps") × baseline), p50 $br_p50, p99 $br_p99 | ≥ 0.8 × baseline, p99 < 2 ms |"
    echo
    echo 'On demand through the API (ms, first request of the window, curl `time_total`; target < 100 at M, < 300 at L).'
    echo "The server's summary database holds the stored days but no snapshot, so every window is computed,"
    echo "folded from the days it loaded at start-up (in ${store_ms} ms, ~${store_mb} MB; server resident memory afterwards $((ondemand_rss / 1024)) MB):"
    echo
    echo "| endpoint | days=7 | days=30 | days=365 | $from..$to |"
    echo "|---|---|---|---|---|"
    for endpoint in overview transactions revenue users services kpis; do
      echo "| $endpoint | ${ondemand["$endpoint|days=7"]} | ${ondemand["$endpoint|days=30"]} | ${ondemand["$endpoint|days=365"]} | ${ondemand["$endpoint|date_from=$from&date_to=$to"]} |"
    done
    echo
    if [ "$scale" != L ]; then
      echo 'The same payloads from a fresh process without a day store (`compute --quiet`, every row of'
      echo "the window read; ms):"
      echo
      echo "| endpoint | days=7 | days=30 | days=365 | $from..$to |"
      echo "|---|---|---|---|---|"
      for endpoint in overview transactions revenue users services kpis; do
        echo "| $endpoint | ${standalone["$endpoint|--days 7"]} | ${standalone["$endpoint|--days 30"]} | ${standalone["$endpoint|--days 365"]} | ${standalone["$endpoint|--date-from $from --date-to $to"]} |"
      done
      echo
    fi
  } >> "$OUT"
  echo "$scale done"
done
if [ -n "$CAPTURE_SECTION" ]; then printf '\n%s\n' "$CAPTURE_SECTION" >> "$OUT"; fi
echo "wrote $OUT"
