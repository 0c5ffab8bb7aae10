#!/usr/bin/env bash
# Change capture's figures, written to the "Change capture" section of BENCHMARKS.md (bench/run.sh
# keeps that section when it rewrites the rest):
#
#   bash bench/capture.sh              # scale M (100k users / 2M transactions)
#   bash bench/capture.sh --large      # also L (1M users / 20M transactions), where the soak runs
#   bash bench/capture.sh --reuse      # keep already-seeded bench databases
#
# Measures, with change capture installed and without it (what runs did before it):
#   1. the triggers' cost to the platform's own writes: pgbench inserting a wallet transaction
#      and then settling its status, each its own commit as Django writes them;
#   2. an incremental run after an hour of platform changes (an hour of new transactions,
#      orders, purchases and bonuses with ids that follow their dates, 50 recent statuses
#      settled, 5 successes of 100–300 days ago reversed, 2 accounts deleted with everything
#      they own, 3 referrers edited), inside `serve` and in a fresh `recompute`;
#   3. a soak at the largest scale: SOAK_RATE (200) platform transactions a second (insert, then
#      settle; 3 % delete a row of any age, 2 % reverse an old success) for SOAK_MINUTES (10)
#      with a run every 10 s: how far behind the platform the served numbers are, the CPU the
#      runs take, the change log's size, and the writers' latency.
# Needs PostgreSQL at $BENCH_PG (default postgres://postgres@127.0.0.1:5432) and its pgbench.
# Never run by `cargo test` or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
RUNS=${BENCH_RUNS:-3}
SOAK_MINUTES=${SOAK_MINUTES:-10}
SOAK_RATE=${SOAK_RATE:-200}
SCALES="M"
REUSE=false
for arg in "$@"; do
  case "$arg" in
    --large) SCALES="M L" ;;
    --reuse) REUSE=true ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done
PGBENCH=$PGBIN/pgbench
require capture.sh curl python3 psql "$PGBENCH"
build_and_tmp
trap 'rm -rf "$TMP"; pkill -f "mafita-analytics serve --database-url $PG/bench_" 2>/dev/null || true' EXIT
export ANALYTICS_JWT_SECRET=bench-only-signing-key
export ANALYTICS_ADMIN_MIN_INTERVAL=0
export RUST_LOG=mafita_analytics=info
TOKEN=$($BIN token --user-id 1)
OUT=BENCHMARKS.md
SECTION=$TMP/section.md

admin() { curl -fs -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$1/api/analytics/admin/recompute/?wait=true"; }

# An hour of platform changes on $1 (a platform of $2 users).
hour_of_changes() {
  local url=$1 n=$(( $2 * 20 / 365 / 24 + 1 ))
  local orders=$(( n / 20 + 1 ))
  psql "$url" -qX >/dev/null <<SQL
INSERT INTO wallet_wallettransaction (tx_type, category, amount, balance_before, balance_after, reference, request_id, status, metadata, created_at, user_id, wallet_id)
  SELECT tx_type, category, amount, balance_before, balance_after, NULL, NULL, status, metadata, now() - interval '1 hour' + g * interval '1 hour' / $n, user_id, wallet_id
  FROM (SELECT *, row_number() OVER () AS g FROM (SELECT * FROM wallet_wallettransaction ORDER BY id DESC LIMIT $n) r) t;
INSERT INTO p2p_depositorder (amount_requested, total_price, status, created_at, buyer_id, sell_offer_id)
  SELECT amount_requested, total_price, status, now() - random() * interval '1 hour', buyer_id, sell_offer_id
  FROM (SELECT * FROM p2p_depositorder ORDER BY id DESC LIMIT $orders) o;
INSERT INTO gasfee_cryptopurchase (input_amount, input_currency, crypto_amount, total_price, wallet_address, status, request_id, tx_hash, created_at, crypto_id, user_id)
  SELECT input_amount, input_currency, crypto_amount, total_price, wallet_address, status, md5(random()::text || id), NULL, now() - random() * interval '1 hour', crypto_id, user_id
  FROM (SELECT * FROM gasfee_cryptopurchase ORDER BY id DESC LIMIT $orders) o;
INSERT INTO rewards_bonus (amount, status, description, metadata, created_at, activated_at, expires_at, updated_at, bonus_type_id, user_id)
  SELECT amount, status, description, metadata, now() - random() * interval '1 hour', NULL, NULL, now(), bonus_type_id, user_id
  FROM (SELECT * FROM rewards_bonus ORDER BY id DESC LIMIT $orders) b;
UPDATE wallet_wallettransaction SET status = 'success' WHERE id IN (SELECT id FROM wallet_wallettransaction
  WHERE status = 'pending' AND created_at > now() - interval '2 days' ORDER BY id LIMIT 50);
UPDATE wallet_wallettransaction SET status = 'failed' WHERE id IN (SELECT id FROM wallet_wallettransaction
  WHERE status = 'success' AND created_at BETWEEN now() - interval '300 days' AND now() - interval '100 days' ORDER BY random() LIMIT 5);
UPDATE accounts_user SET referred_by_id = (SELECT id FROM accounts_user WHERE id > 1 ORDER BY random() LIMIT 1)
  WHERE id IN (SELECT id FROM accounts_user WHERE id > 1 ORDER BY random() LIMIT 3);
BEGIN;
CREATE TEMP TABLE gone ON COMMIT DROP AS SELECT id FROM accounts_user WHERE id > 1 AND NOT is_staff
  AND id NOT IN (SELECT merchant_id FROM p2p_deposit_p2p_offer) AND id NOT IN (SELECT merchant_id FROM p2p_withdraw_p2p_offer)
  ORDER BY random() LIMIT 2;
DELETE FROM wallet_wallettransaction WHERE user_id IN (SELECT id FROM gone);
DELETE FROM p2p_depositorder WHERE buyer_id IN (SELECT id FROM gone);
DELETE FROM p2p_withdraworder WHERE seller_id IN (SELECT id FROM gone);
DELETE FROM gasfee_cryptopurchase WHERE user_id IN (SELECT id FROM gone);
DELETE FROM rewards_bonus WHERE user_id IN (SELECT id FROM gone);
DELETE FROM wallet_wallet WHERE user_id IN (SELECT id FROM gone);
UPDATE accounts_user SET referred_by_id = NULL WHERE referred_by_id IN (SELECT id FROM gone);
DELETE FROM accounts_user WHERE id IN (SELECT id FROM gone);
COMMIT;
SQL
}

# pgbench scripts: a wallet transaction inserted pending and then settled, each its own commit.
cat > "$TMP/write.sql" <<'SQL'
\set wid random(1, :maxwallet)
INSERT INTO wallet_wallettransaction (tx_type, category, amount, balance_before, balance_after, reference, request_id, status, metadata, created_at, user_id, wallet_id) SELECT 'credit', 'deposit', 1500.00, 0, 0, NULL, NULL, 'pending', NULL, now(), w.user_id, w.id FROM (SELECT * FROM wallet_wallet WHERE id >= :wid ORDER BY id LIMIT 1) w RETURNING id AS tx \gset
UPDATE wallet_wallettransaction SET status = 'success' WHERE id = :tx;
SQL
# The soak's occasional deletes of any age, and reversals of old successes.
cat > "$TMP/delete.sql" <<'SQL'
\set rid random(1, :maxtx)
DELETE FROM wallet_wallettransaction WHERE id = :rid;
SQL
cat > "$TMP/reverse.sql" <<'SQL'
\set rid random(1, :maxtx)
UPDATE wallet_wallettransaction SET status = 'failed' WHERE id = :rid AND status = 'success';
SQL

# `pgbench_latency URL SECONDS [extra args]`: mean latency (ms) and tps of the write script.
pgbench_run() {
  local url=$1 seconds=$2; shift 2
  local maxwallet maxtx
  maxwallet=$(psql "$url" -Atc "select max(id) from wallet_wallet")
  maxtx=$(psql "$url" -Atc "select max(id) from wallet_wallettransaction")
  "$PGBENCH" -n -c 4 -j 2 -T "$seconds" -D maxwallet="$maxwallet" -D maxtx="$maxtx" "$@" "$url" 2>/dev/null
}
lat_of() { awk '/^latency average/ {print $4; exit}'; }
tps_of() { awk '/^tps/ {printf "%.0f\n", $3}'; }

{
  echo "<!-- capture -->"
  echo "## Change capture"
  echo
  echo "Produced by \`bash bench/capture.sh $*\` on $(date -u '+%Y-%m-%d %H:%M UTC') at commit $(git rev-parse --short HEAD): $(nproc) cores,"
  echo "$(psql --version | head -1) on the same machine. Medians of $RUNS runs. \"Without\" is the same code with"
  echo "\`capture uninstall\`: runs re-read the settle window (3 days) and the days of rows inserted since, by id."
  echo
} > "$SECTION"

last=""
for scale in $SCALES; do
  users=$(users_of "$scale")
  db="bench_$(echo "$scale" | tr 'A-Z' 'a-z')"
  url="$PG/$db"
  last=$scale
  if ! $REUSE || ! psql "$PG/postgres" -Atc "select 1 from pg_database where datname='$db'" | grep -q 1; then
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    $BIN seed --database-url "$url" --users "$users" --days 365 2>&1 | tail -1
  fi
  $BIN create-indexes --database-url "$url" >/dev/null 2>&1
  $BIN migrate --database-url "$url" >/dev/null 2>&1
  tx=$(psql "$url" -Atc "select count(*) from wallet_wallettransaction")

  # 2. An incremental run after an hour of changes, with and without capture.
  declare -A fresh=() served=() reread=() applied=()
  for mode in without with; do
    if [ $mode = with ]; then $BIN capture install --database-url "$url" >/dev/null 2>&1; else $BIN capture uninstall --database-url "$url" >/dev/null 2>&1; fi
    $BIN recompute --full --database-url "$url" >/dev/null 2>&1
    : > "$TMP/fresh"
    for _ in $(seq "$RUNS"); do
      hour_of_changes "$url" "$users"
      start=$(now_ms)
      ANALYTICS_REBUILD_SCHEDULE="" $BIN recompute --database-url "$url" >/dev/null 2>&1
      echo $(( $(now_ms) - start )) >> "$TMP/fresh"
    done
    fresh[$mode]=$(median < "$TMP/fresh")
    port=$((18000 + RANDOM % 1000))
    ANALYTICS_SCHEDULE="0 0 0 1 1 *" ANALYTICS_REBUILD_SCHEDULE="" $BIN serve --database-url "$url" \
      --bind "127.0.0.1:$port" >"$TMP/serve_$mode.log" 2>&1 &
    server=$!
    wait_for_day_store "$port" "$TOKEN" 240
    for _ in 1 2; do admin "$port" >/dev/null; done
    : > "$TMP/served"
    for _ in $(seq "$RUNS"); do
      hour_of_changes "$url" "$users"
      admin "$port" > "$TMP/run.json"
      field 'd["duration_ms"]' < "$TMP/run.json" >> "$TMP/served"
    done
    served[$mode]=$(median < "$TMP/served")
    reread[$mode]=$(field 'd["days_reread"]' < "$TMP/run.json")
    applied[$mode]=$(field 'd["changes_applied"] if d["changes_applied"] is not None else "–"' < "$TMP/run.json")
    kill -TERM "$server"; wait "$server" 2>/dev/null || true
  done

  # 1. The triggers' cost to the platform's writes (interleaved, 20 s each; after the runs, whose
  # "hour of changes" it would otherwise swamp with a day of rows).
  declare -A lat=() tps=()
  for mode in without with; do : > "$TMP/lat_$mode"; : > "$TMP/tps_$mode"; : > "$TMP/latfast_$mode"; done
  for _ in $(seq "$RUNS"); do
    for mode in without with; do
      if [ $mode = with ]; then $BIN capture install --database-url "$url" >/dev/null 2>&1; else $BIN capture uninstall --database-url "$url" >/dev/null 2>&1; fi
      pgbench_run "$url" 20 -f "$TMP/write.sql" > "$TMP/pgb"
      lat_of < "$TMP/pgb" >> "$TMP/lat_$mode"; tps_of < "$TMP/pgb" >> "$TMP/tps_$mode"
      # Where commits cost nothing (synchronous_commit off): the triggers' CPU cost alone.
      PGOPTIONS="-c synchronous_commit=off" pgbench_run "$url" 20 -f "$TMP/write.sql" > "$TMP/pgb"
      lat_of < "$TMP/pgb" >> "$TMP/latfast_$mode"
    done
  done
  for mode in without with; do
    lat[$mode]=$(median < "$TMP/lat_$mode"); tps[$mode]=$(median < "$TMP/tps_$mode"); lat[fast_$mode]=$(median < "$TMP/latfast_$mode")
  done
  over() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f %%", (b - a) / a * 100}'; }

  {
    echo "### Scale $scale: $users users, $tx wallet transactions"
    echo
    echo "| measure | without capture | with capture | target |"
    echo "|---|---|---|---|"
    echo "| platform write: insert a wallet transaction, then settle it (2 commits; pgbench, 4 clients), mean latency | ${lat[without]} ms (${tps[without]} tps) | ${lat[with]} ms (${tps[with]} tps): $(over "${lat[without]}" "${lat[with]}") | ≤ +10 % |"
    echo "| the same with \`synchronous_commit = off\` (the triggers' CPU alone) | ${lat[fast_without]} ms | ${lat[fast_with]} ms: $(over "${lat[fast_without]}" "${lat[fast_with]}") | |"
    echo "| incremental run after an hour of changes, inside \`serve\` | ${served[without]} ms (${reread[without]} days re-read) | ${served[with]} ms (${reread[with]} days re-read, ${applied[with]} rows applied) | < 100 ms at M, < 300 ms at L |"
    echo "| the same in a fresh \`recompute\` (loads the stored days) | ${fresh[without]} ms | ${fresh[with]} ms | < 400 ms at M, < 1 s at L |"
    echo
  } >> "$SECTION"
  echo "$scale done"
done

# 3. The soak, at the largest scale measured: a platform under a sustained write load, runs
# every 10 s, with and without capture.
url="$PG/bench_$(echo "$last" | tr 'A-Z' 'a-z')"
seconds=$(( SOAK_MINUTES * 60 ))
declare -A lag50=() lag99=() cpu=() machine=() logmax=() wlat=() runs=() runmed=() today=()
for mode in without with; do
  if [ $mode = with ]; then $BIN capture install --database-url "$url" >/dev/null 2>&1; else $BIN capture uninstall --database-url "$url" >/dev/null 2>&1; fi
  $BIN recompute --full --database-url "$url" >/dev/null 2>&1
  first_run=$(psql "$url" -Atc "select coalesce(max(id), 0) from analytics_run")
  port=$((18000 + RANDOM % 1000))
  ANALYTICS_SCHEDULE="*/10 * * * * *" ANALYTICS_REBUILD_SCHEDULE="" $BIN serve --database-url "$url" \
    --bind "127.0.0.1:$port" >"$TMP/soak_$mode.log" 2>&1 &
  server=$!
  wait_for_day_store "$port" "$TOKEN" 240
  ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
  busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
  cpu0=$(ticks); read -r busy0 total0 < <(busy)
  pgbench_run "$url" "$seconds" -R "$SOAK_RATE" -f "$TMP/write.sql@95" -f "$TMP/delete.sql@3" -f "$TMP/reverse.sql@2" > "$TMP/soak_pgb_$mode" &
  writers=$!
  : > "$TMP/lag_$mode"; : > "$TMP/log_$mode"
  end=$(( $(date +%s) + seconds ))
  while [ "$(date +%s)" -lt "$end" ]; do
    generated=$(curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/api/analytics/dashboard/overview/?days=1" | field 'd["generated_at"]')
    python3 -c "import datetime,sys; g=datetime.datetime.fromisoformat(sys.argv[1].replace('Z','+00:00')); print(round((datetime.datetime.now(datetime.timezone.utc)-g).total_seconds(), 2))" "$generated" >> "$TMP/lag_$mode"
    curl -fs "http://127.0.0.1:$port/metrics" | awk '/^analytics_capture_log_rows / {print $2}' >> "$TMP/log_$mode"
    sleep 1
  done
  wait "$writers" || true
  cpu1=$(ticks); read -r busy1 total1 < <(busy)
  kill -TERM "$server"; wait "$server" 2>/dev/null || true
  machine[$mode]=$(awk -v a="$busy0" -v b="$busy1" -v c="$total0" -v d="$total1" 'BEGIN {printf "%.0f", (b - a) / (d - c) * 100}')
  hz=$(getconf CLK_TCK)
  cpu[$mode]=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$hz" -v s="$seconds" 'BEGIN {printf "%.1f", (b - a) / hz / s * 100}')
  lag50[$mode]=$(pct 50 < "$TMP/lag_$mode"); lag99[$mode]=$(pct 99 < "$TMP/lag_$mode")
  logmax[$mode]=$( (cat "$TMP/log_$mode"; echo 0) | sort -n | tail -1)
  wlat[$mode]=$(lat_of < "$TMP/soak_pgb_$mode")
  runs[$mode]=$(psql "$url" -Atc "select count(*) from analytics_run where id > $first_run and status = 'succeeded'")
  runmed[$mode]=$(psql "$url" -Atc "select percentile_cont(0.5) within group (order by duration_ms) from analytics_run where id > $first_run and status = 'succeeded'")
  today[$mode]=$(psql "$url" -Atc "select count(*) from wallet_wallettransaction where created_at >= date_trunc('day', now() at time zone 'Africa/Lagos') at time zone 'Africa/Lagos'")
done
{
  echo "### Soak at scale $last: $SOAK_RATE platform transactions a second for $SOAK_MINUTES minutes, a run every 10 s"
  echo
  echo "Each platform transaction (pgbench \`-R $SOAK_RATE\`, 4 clients): 95 % insert a wallet transaction and settle it, 3 % delete a"
  echo "transaction of any age, 2 % reverse an old success. Lag is sampled every second as now minus the \`generated_at\` of the"
  echo "served \`overview/?days=1\`; CPU is the \`serve\` process's (runs and serving), in % of one core."
  echo
  echo "| measure | without capture | with capture | goal |"
  echo "|---|---|---|---|"
  echo "| served numbers behind the platform, p50 / p99 | ${lag50[without]} s / ${lag99[without]} s | ${lag50[with]} s / ${lag99[with]} s | p99 < 15 s |"
  echo "| runs (succeeded), median duration | ${runs[without]}, ${runmed[without]} ms | ${runs[with]}, ${runmed[with]} ms | |"
  echo "| CPU of the \`serve\` process (% of one core) | ${cpu[without]} % | ${cpu[with]} % | |"
  echo "| the machine's CPU busy (both cores: PostgreSQL, the writers, the service) | ${machine[without]} % | ${machine[with]} % | |"
  echo "| wallet transactions created today by the end (what every run still reads live) | ${today[without]} | ${today[with]} | |"
  echo "| change log, largest size seen after a run | – | ${logmax[with]} rows | bounded |"
  echo "| platform writers' mean latency (pgbench) | ${wlat[without]} ms | ${wlat[with]} ms | |"
  echo
  echo "<!-- /capture -->"
} >> "$SECTION"

python3 - "$OUT" "$SECTION" <<'PY'
import re, sys
out, section = sys.argv[1], open(sys.argv[2]).read().strip()
text = open(out).read() if __import__("os").path.exists(out) else "# Benchmarks\n"
text = re.sub(r"\n*<!-- capture -->.*<!-- /capture -->\n*", "\n", text, flags=re.S).rstrip("\n")
open(out, "w").write(text + "\n\n" + section + "\n")
print("wrote " + out)
PY
