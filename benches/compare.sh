#!/usr/bin/env bash
# The peer comparison and the throughput targets (docs/performance.md), in one run:
#   bash benches/compare.sh            # 1,000,000-row HRIS CSV, 2 threads, every measurement
#   bash benches/compare.sh --rows 200000 --skip-large   # a quicker look
# Installs DuckDB, Polars and polars-hash into target/benchtools (a venv, once), builds psoxy
# with the `dist` profile (PSOXY_PROFILE=release measures the quick-to-build profile instead;
# PSOXY_FEATURES=none builds without the optional features, as the README's first command),
# then runs benches/compare.py (see its --help). Needs about 5 GB of free disk
# for the 2 GB CSV of the memory measurement (skip it with --skip-large).
set -euo pipefail
cd "$(dirname "$0")/.."

bench_bin=$(bash scripts/venv.sh target/benchtools v1 duckdb polars polars-hash)
profile=${PSOXY_PROFILE:-dist}
features=()
case "${PSOXY_FEATURES:-default}" in
  default) ;;
  none) features=(--no-default-features) ;;
  *) features=(--no-default-features --features "$PSOXY_FEATURES") ;;
esac
cargo build --profile "$profile" --quiet --bin psoxy ${features[@]+"${features[@]}"}
exec "$bench_bin/python" benches/compare.py --psoxy "${CARGO_TARGET_DIR:-target}/$profile/psoxy" "$@"
