#!/usr/bin/env bash
# `make test`: the whole suite on SQLite and, when MEDNUM_TEST_POSTGRES_URL names a PostgreSQL server,
# the same suite on it at the same time (its report is printed after SQLite's). Both suites spend much
# of their time waiting (browser, database server, subprocesses): side by side on two cores they take
# hardly longer than each alone. Arguments go to both pytest runs. Exit status: non-zero when either failed.
set -u
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export MEDNUM_IGNORE_DOTENV=1
if [ -z "${MEDNUM_TEST_POSTGRES_URL:-}" ]; then
  exec "$PY" -m pytest "$@"
fi

log=$(mktemp "${TMPDIR:-/tmp}/mednum-tests-postgresql.XXXXXX")
DATABASE_URL="$MEDNUM_TEST_POSTGRES_URL" "$PY" -m pytest "$@" >"$log" 2>&1 &
pg=$!
trap 'kill "$pg" 2>/dev/null; rm -f "$log"' EXIT
trap 'exit 130' INT TERM

echo "=== Suite sur SQLite (la même tourne en même temps sur PostgreSQL : son rapport suit) ==="
"$PY" -m pytest "$@"
sqlite=$?
wait "$pg"
postgres=$?
echo "=== Même suite sur PostgreSQL ==="
cat "$log"
verdict() { [ "$1" -eq 0 ] && echo "réussie" || echo "ÉCHEC (statut $1)"; }
echo "=== SQLite : $(verdict "$sqlite") ; PostgreSQL : $(verdict "$postgres") ==="
[ "$sqlite" -eq 0 ] && [ "$postgres" -eq 0 ]
