# Sourced after `set -euo pipefail`: a scratch folder `$work` and the background processes
# `pids`, removed and stopped on exit (the end-to-end scripts and the Cloud Run benchmark).
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
