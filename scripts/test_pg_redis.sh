#!/usr/bin/env bash
# The PostgreSQL + Redis tier of `make test`: starts a throw-away PostgreSQL 15 cluster and a
# redis-server on free ports of 127.0.0.1, runs the database- and queue-sensitive tests against
# them (DATABASE_URL, REDIS_URL) and stops both servers on every exit path.
#
# Usage: [PG_TEST_PATHS="paths"] scripts/test_pg_redis.sh [extra pytest args]. PG_BIN overrides /usr/lib/postgresql/15/bin.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
PY=${PY:-.venv/bin/python}
# Tests whose outcome depends on the database engine or the broker: row locks and races,
# constraints, state transitions, the outbox, aggregates, and a real qcluster on Redis.
PATHS=(
  apinvoices/tests/test_states.py
  apinvoices/tests/test_checks.py
  apinvoices/tests/test_checks_runner.py
  apinvoices/tests/ingestion/test_service.py
  apinvoices/tests/test_url_permissions.py
  apinvoices/tests/test_dashboard.py
  apinvoices/tests/test_audit_views.py
  approvals/tests/test_routing.py
  approvals/tests/test_decisions.py
  erp_integration/tests/test_fileexport.py
  tests/integration/test_qcluster.py
)
# PG_TEST_PATHS="a.py b.py" narrows the run (e.g. to re-check one failure).
[ -n "${PG_TEST_PATHS:-}" ] && read -r -a PATHS <<<"$PG_TEST_PATHS"
existing=()
for p in "${PATHS[@]}"; do [ -e "$p" ] && existing+=("$p"); done

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

WORK=$(mktemp -d /tmp/ap-pg-redis-XXXXXX)
chmod 755 "$WORK"
PG_DATA="$WORK/pg"
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
PG_STARTED=0
REDIS_PID=""

# postgres refuses to run as root: the cluster belongs to the `postgres` user (or `nobody`).
PG_USER=postgres
getent passwd "$PG_USER" >/dev/null || PG_USER=nobody
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

cleanup() {
  local rc=$?
  if [ "$PG_STARTED" = 1 ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -n "$REDIS_PID" ]; then
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT INT TERM

mkdir -p "$PG_DATA"
[ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$PG_DATA"
as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log"; exit 1; }
# A test cluster: durability is worth nothing here, speed is.
as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -l "$PG_DATA/server.log" \
  -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
  start >/dev/null || { cat "$PG_DATA/server.log"; exit 1; }
PG_STARTED=1

"$REDIS_SERVER" --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
  --dir "$WORK" --logfile "$WORK/redis.log" --protected-mode yes &
REDIS_PID=$!
for _ in $(seq 50); do
  "$PY" -c "import redis,sys; redis.Redis(host='127.0.0.1', port=$REDIS_PORT).ping()" 2>/dev/null && break
  sleep 0.1
done

export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/ap"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
echo ">> PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT"
"$PY" -m pytest -n 2 -q -m "not e2e and not ocr" "${existing[@]}" "$@"
