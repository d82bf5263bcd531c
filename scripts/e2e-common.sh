# Shared by the end-to-end scripts, sourced from the repository root after `set -euo pipefail`:
# the Python tools (moto, cargo-lambda) on PATH, a scratch folder `$work` and the background
# processes `pids`, removed and stopped on exit, a free loopback port, and waiting for a
# server's `ready` line.
PATH="$(bash scripts/python-tools.sh):$PATH"
export PATH

source scripts/scratch.sh

# A TCP port free on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_ready LOG WHAT TRIES: waits up to TRIES x 0.2 s for a line starting with `ready` in LOG;
# otherwise prints LOG and fails, naming WHAT.
wait_ready() {
  for _ in $(seq "$3"); do grep -q '^ready' "$1" && return 0; sleep 0.2; done
  cat "$1" >&2
  echo "e2e: $2 did not start" >&2
  return 1
}
