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

# start_emulator: cargo-lambda's runtime emulator on a free port of 127.0.0.1 (`invoke_port`, or
# the one already chosen in it),
# its log in $work/watch.log; waits until it accepts connections.
start_emulator() {
  invoke_port=${invoke_port:-$(free_port)}
  cargo lambda watch --only-lambda-apis -A 127.0.0.1 -P "$invoke_port" > "$work/watch.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do
    (echo > "/dev/tcp/127.0.0.1/$invoke_port") 2>/dev/null && return 0
    sleep 0.2
  done
  cat "$work/watch.log" >&2
  echo "e2e: the emulator did not start" >&2
  return 1
}

# invoke_event NAME: invokes the function under the emulator with $work/NAME.event.json; its
# answer goes to $work/NAME.json. On failure, prints the error and the function's log's tail.
invoke_event() {
  if ! cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$invoke_port" \
      --data-file "$work/$1.event.json" --output-format json > "$work/$1.json" 2> "$work/$1.err"; then
    echo "e2e: invocation $1 failed:" >&2
    cat "$work/$1.err" >&2
    tail -n 30 "$work/function.log" >&2
    exit 1
  fi
}
