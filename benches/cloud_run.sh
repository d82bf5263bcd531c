#!/usr/bin/env bash
# Throughput and memory of the Cloud Run bulk service, end to end through the GCS emulator:
#   bash benches/cloud_run.sh             # a ~100 MB HRIS CSV (750,000 rows), 2 threads
#   bash benches/cloud_run.sh --rows N
# Builds psoxy-gcp with the `dist` profile (honours CARGO_TARGET_DIR; PSOXY_GCP_BINARY names a built
# one instead), starts fake-gcs-server on
# 127.0.3.250:80 (root or CAP_NET_BIND_SERVICE), uploads the generated object, POSTs one
# Eventarc event and reports the wall time, rows/s, MB/s and the service's peak RSS (VmHWM).
# The emulator holds the objects in memory and runs on the same two cores, so this measures
# the whole path, emulator included: a floor for what GCS gives.
set -euo pipefail
cd "$(dirname "$0")/.."

rows=750000
if [ "${1:-}" = "--rows" ]; then rows=$2; fi
target_dir=${CARGO_TARGET_DIR:-target}
binary=${PSOXY_GCP_BINARY:-}   # an already built binary: no build
if [ -z "$binary" ]; then
  # The image's features (scripts/package-gcp.sh): no AWS code.
  cargo build --profile dist --quiet --no-default-features --features gcp,parquet --bin psoxy-gcp
  binary=$target_dir/dist/psoxy-gcp
fi
fake=$(bash scripts/fake-gcs-server.sh)
host=127.0.3.250
source scripts/scratch.sh

"$fake" -backend memory -scheme http -host "$host" -port 80 -public-host "$host" \
  -external-url "http://$host" -log-level error &
pids+=($!)
for _ in $(seq 100); do (echo > "/dev/tcp/$host/80") 2>/dev/null && break; sleep 0.1; done
for bucket in bench-in bench-out; do
  curl -sf -X POST "http://$host/storage/v1/b" -H 'content-type: application/json' \
    -d "{\"name\":\"$bucket\"}" > /dev/null
done

python3 - "$work/hris.csv" "$rows" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "benches")
from compare import write_hris
write_hris(Path(sys.argv[1]), int(sys.argv[2]))
PY
bytes=$(wc -c < "$work/hris.csv")
curl -sf -X POST "http://$host/upload/storage/v1/b/bench-in/o?uploadType=media&name=hris.csv" \
  -H 'content-type: text/csv' --data-binary "@$work/hris.csv" > /dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env -i PATH="$PATH" HOME="$work" STORAGE_EMULATOR_HOST="$host:80" PSOXY_SALT=bench-salt \
  RULES="$(cat transforms/hris.yaml)" OUTPUT_BUCKET=bench-out PSOXY_THREADS=2 RUST_LOG=warn \
  "$binary" bulk --listen "127.0.0.1:$port" > "$work/service.log" 2>&1 &
service=$!
pids+=("$service")
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

start=$(date +%s.%N)
status=$(curl -s -o "$work/answer.json" -w '%{http_code}' -X POST "http://127.0.0.1:$port/" \
  -H 'ce-id: 1' -H 'ce-specversion: 1.0' -H 'ce-type: google.cloud.storage.object.v1.finalized' \
  -H 'ce-source: //storage.googleapis.com/projects/_/buckets/bench-in' \
  -H 'ce-subject: objects/hris.csv' -H 'content-type: application/json' \
  -d '{"bucket":"bench-in","name":"hris.csv","size":"1","generation":"1"}')
end=$(date +%s.%N)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$service/status")
if [ "$status" != 200 ] || ! grep -q '"sanitized"' "$work/answer.json"; then
  echo "bench: the event failed ($status): $(cat "$work/answer.json")" >&2
  cat "$work/service.log" >&2
  exit 1
fi
python3 - "$start" "$end" "$rows" "$bytes" "$hwm" "$work/answer.json" <<'PY'
import json, sys
start, end, rows, size, hwm = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
out = json.load(open(sys.argv[6]))["outputs"][0]
secs = end - start
print(f"cloud-run bench: {rows:,} rows, {size / 1e6:.1f} MB in, {out['bytes_out'] / 1e6:.1f} MB out (gzip) "
      f"in {secs:.2f} s: {rows / secs:,.0f} rows/s, {size / 1e6 / secs:.1f} MB/s; "
      f"service peak RSS {hwm / 1024:.0f} MiB")
PY
