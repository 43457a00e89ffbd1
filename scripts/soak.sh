#!/usr/bin/env bash
# The soak run (issue 10): a bounded mixed load of agents, customers and API clients on the
# 1,000,000-case benchmark data, through gunicorn (2 sync workers) on 127.0.0.1, wrk minute by minute.
# Reports per minute: requests, p50/p95/p99, errors, gunicorn worker RSS, load average; and
# var/bench/soak.json. Same database and settings as scripts/bench.sh (which it runs in soak mode).
#
#   scripts/soak.sh                               # 1 min warm-up + 5 measured minutes, 8 connections, 1M cases
#   SOAK_MINUTES=9 SOAK_CONNECTIONS=16 scripts/soak.sh    # at most 9 (+1 warm-up): 10 minutes of load
#   BENCH_CASES=100000 scripts/soak.sh            # on the 100,000-case database
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_MODE=soak
export BENCH_CASES="${BENCH_CASES:-1000000}"
exec bash scripts/bench.sh
