#!/usr/bin/env bash
# Runs every cargo-fuzz (libFuzzer) target in fuzz/ for a while and reports, per target, how
# many inputs were executed and whether it crashed.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
#
# Needs the nightly toolchain (installed with rustup when missing); installs cargo-fuzz when
# missing. The corpus grows in fuzz/corpus/<target> (seeded from fuzz/seeds/<target>),
# crashing inputs are kept in fuzz/artifacts/<target>/, and each run's libFuzzer log is
# fuzz/logs/<target>.log. Builds go to fuzz/target (or $CARGO_TARGET_DIR).
# Inputs that once found a bug are kept in fuzz/regressions/<target>/ and replayed first.
# Exits non-zero when any target crashed, a regression input fails, or the build failed.
#
# Environment: FUZZ_TIMEOUT (seconds one input may take, default 20), FUZZ_RSS_MB (default
# 2048), FUZZ_SANITIZER (address, none, ...; default address); CARGO_BUILD_JOBS limits the
# build's parallelism.
set -uo pipefail

SECONDS_PER_TARGET="${1:-60}"
shift || true
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]]; then
    echo "usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ_DIR="$ROOT/fuzz"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$FUZZ_DIR/target}"
TIMEOUT="${FUZZ_TIMEOUT:-20}"
RSS_MB="${FUZZ_RSS_MB:-2048}"
SANITIZER="${FUZZ_SANITIZER:-address}"

# Largest input per target (bytes); the default suits text formats.
max_len() {
    case "$1" in
        parquet_reader) echo 262144 ;;
        *) echo 65536 ;;
    esac
}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "== installing the nightly toolchain"
    rustup toolchain install nightly --profile minimal || exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked || cargo install cargo-fuzz || exit 1
fi

cd "$ROOT" || exit 1
build_args=(--fuzz-dir "$FUZZ_DIR" --sanitizer "$SANITIZER")

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir "$FUZZ_DIR")
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "no fuzz targets found in $FUZZ_DIR" >&2
    exit 1
fi

echo "== building ${#targets[@]} fuzz targets"
if ! cargo +nightly fuzz build "${build_args[@]}"; then
    echo "fuzz build failed" >&2
    exit 1
fi

mkdir -p "$FUZZ_DIR/logs"
summary=()
failed=0
for t in "${targets[@]}"; do
    corpus="$FUZZ_DIR/corpus/$t"
    seeds="$FUZZ_DIR/seeds/$t"
    artifacts="$FUZZ_DIR/artifacts/$t"
    log="$FUZZ_DIR/logs/$t.log"
    regressions="$FUZZ_DIR/regressions/$t"
    mkdir -p "$corpus" "$seeds" "$artifacts"

    # Replay the saved regression inputs (each must now pass).
    regression_note=""
    if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
        n="$(ls -A "$regressions" | wc -l)"
        if cargo +nightly fuzz run "${build_args[@]}" "$t" "$regressions" -- \
            -runs=0 -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT" \
            -artifact_prefix="$FUZZ_DIR/logs/$t.regression-" >"$FUZZ_DIR/logs/$t.regressions.log" 2>&1; then
            regression_note="  regressions: $n ok"
        else
            failed=1
            regression_note="  regressions: FAIL (of $n; see fuzz/logs/$t.regressions.log)"
        fi
    fi
    echo "== fuzzing $t for ${SECONDS_PER_TARGET}s (log: ${log#"$ROOT"/})"
    # The corpus comes first: libFuzzer adds new inputs to the first directory.
    cargo +nightly fuzz run "${build_args[@]}" "$t" "$corpus" "$seeds" -- \
        -max_total_time="$SECONDS_PER_TARGET" \
        -rss_limit_mb="$RSS_MB" \
        -max_len="$(max_len "$t")" \
        -timeout="$TIMEOUT" \
        -print_final_stats=1 \
        -artifact_prefix="$artifacts/" \
        >"$log" 2>&1
    rc=$?

    # Executions: the final stats line, else libFuzzer's last "#N ..." status line.
    execs="$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)"
    if [ -z "$execs" ]; then
        execs="$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')"
    fi
    execs="${execs:-0}"
    artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"

    if [ "$rc" -eq 0 ] && grep -qE '^#[0-9]+[[:space:]]+DONE' "$log"; then
        line="$(printf '%-18s %12s execs  ok' "$t" "$execs")$regression_note"
    else
        failed=1
        reason="$(grep -m1 -oE 'ERROR: libFuzzer: [a-z-]+|panicked at [^ ]+' "$log" || true)"
        line="$(printf '%-18s %12s execs  CRASHED (exit %s%s)%s' "$t" "$execs" "$rc" \
            "${reason:+, $reason}" "${artifact:+ artifact: $artifact}")$regression_note"
    fi
    echo "$line"
    summary+=("$line")
done

echo
echo "== fuzz summary (${SECONDS_PER_TARGET}s per target)"
printf '%s\n' "${summary[@]}"
exit "$failed"
