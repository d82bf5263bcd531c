#!/usr/bin/env bash
# End to end: the Lambda function under cargo-lambda's runtime emulator, reading from and
# writing to a local S3 server, checked byte for byte against the CLI.
#
#  1. installs cargo-lambda (scripts/python-tools.sh, into target/pytools) and builds the
#     function (`psoxy-bulk`), the CLI and the local S3 server (examples/s3_server.rs);
#  2. starts the S3 server on 127.0.0.1 with an `input` and an `output` bucket and copies the
#     sample HRIS export in twice: `hris.csv` and `exports/Jan 2026/hris+final.csv.gz` (gzip);
#  3. configures the function as terraform/modules/aws-bulk deploys it: the salt (SecureString)
#     and the rules file's text in SSM Parameter Store under `/psoxy/hris/` (moto on
#     127.0.0.1), the other settings in the environment;
#  4. starts cargo-lambda's Lambda runtime emulator (`cargo lambda watch --only-lambda-apis`) on
#     127.0.0.1 and the function binary against it, and sends it an S3 ObjectCreated event
#     naming both objects with `cargo lambda invoke`;
#  5. sanitizes the same files with `psoxy sanitize` (same salt, rules and keys) and checks
#     the function's objects, decompressed, are identical to the CLI's output;
#  6. deletes the outputs and runs `psoxy replay` on the input bucket through the emulator's
#     Lambda Invoke API: the outputs come back, byte-identical; a bad object's replay names
#     it with the function's error and fails;
#  7. runs `psoxy smoke`: its sample, uploaded, invokes the function through the emulator (the
#     S3 server notifies it, as S3 does), and the sanitized copy passes every check.
#
# Everything listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

source scripts/e2e-common.sh
# One build command for the binaries and the example: with the example in it, cargo resolves
# features as for the tests, so after `cargo test` nothing is rebuilt. (`cargo lambda watch`
# building the function itself would resolve them without dev-dependencies and rebuild every
# dependency once; running the built binary against the emulator's runtime API avoids that.)
cargo build --quiet --bin psoxy --bin psoxy-bulk --example s3_server

# --- 2. the S3 server, with the inputs -------------------------------------------------------
root="$work/s3"
mkdir -p "$root/input/exports/Jan 2026" "$root/output"
cp sample-data/hris.csv "$root/input/hris.csv"
gzip -c sample-data/hris.csv > "$root/input/exports/Jan 2026/hris+final.csv.gz"
s3_port=$(free_port)
# Uploads to `input` invoke the function through the emulator (step 7), as S3's notifications
# do; the port is chosen now, the emulator starts in step 4.
invoke_port=$(free_port)
mkfifo "$work/s3.stdin"
S3_NOTIFY_URL="http://127.0.0.1:$invoke_port/2015-03-31/functions/_/invocations" S3_NOTIFY_BUCKETS=input \
  target/debug/examples/s3_server "$root" "$s3_port" < "$work/s3.stdin" > "$work/s3.out" 2>&1 &
pids+=($!)
exec 3> "$work/s3.stdin"   # the server stops when this closes
wait_ready "$work/s3.out" "the S3 server" 50
endpoint="http://127.0.0.1:$s3_port"

# --- 3. the settings, laid out as the Terraform module deploys them ----------------------------
salt="e2e-demo-salt"
moto_port=$(free_port)
mkfifo "$work/moto.stdin"
python scripts/moto_server.py "$moto_port" < "$work/moto.stdin" > "$work/moto.out" 2>&1 &
pids+=($!)
exec 4> "$work/moto.stdin"   # moto stops when this closes
wait_ready "$work/moto.out" moto 150
# terraform/modules/aws-bulk/secrets.tf: PSOXY_SALT as a SecureString, RULES as the rules
# file's text, under the instance prefix.
AWS_ACCESS_KEY_ID=psoxy-test-access-key AWS_SECRET_ACCESS_KEY=psoxy-test-secret-key \
  python - "http://127.0.0.1:$moto_port" "$salt" transforms/hris.yaml <<'PY'
import sys, boto3
ssm = boto3.client("ssm", endpoint_url=sys.argv[1], region_name="us-east-1")
ssm.put_parameter(Name="/psoxy/hris/PSOXY_SALT", Value=sys.argv[2], Type="SecureString")
ssm.put_parameter(Name="/psoxy/hris/RULES", Value=open(sys.argv[3]).read(), Type="String")
PY
# terraform/modules/aws-bulk/function.tf: the function's environment.
cat > "$work/function.env" <<ENV
AWS_ENDPOINT_URL_S3=$endpoint
AWS_ENDPOINT_URL_SSM=http://127.0.0.1:$moto_port
AWS_ACCESS_KEY_ID=psoxy-test-access-key
AWS_SECRET_ACCESS_KEY=psoxy-test-secret-key
AWS_REGION=us-east-1
AWS_EC2_METADATA_DISABLED=true
S3_FORCE_PATH_STYLE=true
PATH_TO_INSTANCE_CONFIG=/psoxy/hris/
OUTPUT_BUCKET=output
COMPRESS_OUTPUT_ALWAYS=true
RUST_LOG=info
PSOXY_RULES_SHA256=$(sha256sum transforms/hris.yaml | cut -d' ' -f1)
ENV

# --- 4. the function under the emulator --------------------------------------------------------
start_emulator
# The function, as Lambda starts it: its settings plus the runtime variables the emulator names.
(
  set -a
  # shellcheck disable=SC1091
  source "$work/function.env"
  AWS_LAMBDA_FUNCTION_NAME=psoxy-bulk
  AWS_LAMBDA_FUNCTION_VERSION=1
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024
  AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$invoke_port/.rt"
  set +a
  exec target/debug/psoxy-bulk
) > "$work/function.log" 2>&1 &
pids+=($!)

python3 - "$work/event.json" <<'PY'
import json, sys, urllib.parse
def record(key):
    return {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-23T12:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:EXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "1", "x-amz-id-2": "2"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "psoxy-input",
               "bucket": {"name": "input", "ownerIdentity": {"principalId": "EXAMPLE"},
                          "arn": "arn:aws:s3:::input"},
               # S3 URL-encodes keys in notifications: space as '+', '+' as %2B
               "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": 1,
                          "eTag": "0", "sequencer": "01"}}}
event = {"Records": [record("hris.csv"), record("exports/Jan 2026/hris+final.csv.gz")]}
json.dump(event, open(sys.argv[1], "w"), indent=1)
PY

if ! cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$invoke_port" \
    --data-file "$work/event.json" --output-format json > "$work/response.json" 2> "$work/invoke.err"; then
  echo "e2e: invocation failed:" >&2
  cat "$work/invoke.err" "$work/response.json" >&2
  echo "--- emulator log ---" >&2
  tail -n 20 "$work/watch.log" >&2
  echo "--- function log ---" >&2
  tail -n 40 "$work/function.log" >&2
  exit 1
fi
echo "function response: $(cat "$work/response.json")"

# --- 5. the CLI on the same files, and the comparison ------------------------------------------
target/debug/psoxy sanitize --salt "$salt" --rules transforms/hris.yaml -o "$work/cli" "$root/input" 2> "$work/cli.err" \
  || { cat "$work/cli.err" >&2; exit 1; }

status=0
for key in "hris.csv" "exports/Jan 2026/hris+final.csv.gz"; do
  fn_out="$root/output/$key"
  cli_out="$work/cli/$key"
  if [ ! -f "$fn_out" ]; then echo "e2e: FAIL: no output object output/$key" >&2; status=1; continue; fi
  # The function always gzips (COMPRESS_OUTPUT_ALWAYS defaults to true); the CLI gzips names
  # ending in .gz. Compare the sanitized bytes.
  gzip -dc "$fn_out" > "$work/fn.csv"
  if [[ "$key" == *.gz ]]; then gzip -dc "$cli_out" > "$work/cli.csv"; else cp "$cli_out" "$work/cli.csv"; fi
  if cmp -s "$work/fn.csv" "$work/cli.csv"; then
    echo "e2e: ok: output/$key ($(wc -l < "$work/fn.csv") lines) is byte-identical to the CLI's"
  else
    echo "e2e: FAIL: output/$key differs from the CLI's output" >&2
    diff <(head -5 "$work/fn.csv") <(head -5 "$work/cli.csv") >&2 || true
    status=1
  fi
done
grep -Eq '"status": ?"sanitized"' "$work/response.json" || { echo "e2e: FAIL: unexpected response" >&2; status=1; }

# --- 6. psoxy replay: the same objects again, through the Lambda Invoke API of the emulator ----
# The outputs are deleted, then `psoxy replay` lists the input bucket and invokes the function
# once per object with a synthetic ObjectCreated event; the outputs must come back the same.
replay() {
  timeout 120 env AWS_ENDPOINT_URL_S3="$endpoint" AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:$invoke_port" \
    AWS_ACCESS_KEY_ID=psoxy-test-access-key AWS_SECRET_ACCESS_KEY=psoxy-test-secret-key \
    AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true S3_FORCE_PATH_STYLE=true \
    target/debug/psoxy replay "$@"
}
# The emulator serves one function, named `_`, to the runtime at /.rt (what the function
# started above polls); a deployment names its function here.
replay s3://input/ --function _ --dry-run > "$work/replay-dry.txt"
grep -q "dry run: 2 of 2 objects under s3://input/" "$work/replay-dry.txt" \
  || { echo "e2e: FAIL: replay dry run:" >&2; cat "$work/replay-dry.txt" >&2; status=1; }
mkdir -p "$work/before"
cp "$root/output/hris.csv" "$work/before/hris.csv.gz"
rm -rf "${root:?}/output/"*
if replay s3://input/ --function _ > "$work/replay.txt" 2> "$work/replay.err"; then
  echo "e2e: replay: $(cat "$work/replay.txt")"
else
  echo "e2e: FAIL: psoxy replay failed:" >&2; cat "$work/replay.err" "$work/replay.txt" >&2
  tail -n 20 "$work/function.log" >&2; status=1
fi
grep -q "2 sanitized, 0 fanned out, 0 skipped, 0 failed" "$work/replay.txt" || status=1
if cmp -s "$root/output/hris.csv" "$work/before/hris.csv.gz" \
   && [ -f "$root/output/exports/Jan 2026/hris+final.csv.gz" ]; then
  echo "e2e: ok: replayed outputs are back, byte-identical to the first run's"
else
  echo "e2e: FAIL: replay did not rewrite the outputs" >&2; status=1
fi
# An object the function refuses: the replay names it, with the function's error, and fails.
{ head -n 1 sample-data/hris.csv; echo "E1"; } > "$root/input/bad.csv"   # a short row
if replay s3://input/bad --function _ > "$work/replay-bad.txt" 2> "$work/replay-bad.err"; then
  echo "e2e: FAIL: replaying a bad object succeeded" >&2; status=1
elif grep -q "failed: s3://input/bad.csv: the function failed (Psoxy.InvalidInput): .*line 2" "$work/replay-bad.err" \
   && grep -q "0 sanitized, 0 fanned out, 0 skipped, 1 failed" "$work/replay-bad.txt"; then
  echo "e2e: ok: a refused object is reported: $(grep failed: "$work/replay-bad.err")"
else
  echo "e2e: FAIL: unexpected report of a bad object:" >&2; cat "$work/replay-bad.err" "$work/replay-bad.txt" >&2; status=1
fi
# --- 7. psoxy smoke: a generated sample uploaded (the server notifies the function), its
# sanitized copy awaited and checked, byte for byte with the salt, then both deleted ----------
if timeout 120 env AWS_ENDPOINT_URL_S3="$endpoint" AWS_ACCESS_KEY_ID=psoxy-test-access-key \
    AWS_SECRET_ACCESS_KEY=psoxy-test-secret-key AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    S3_FORCE_PATH_STYLE=true target/debug/psoxy smoke --rules transforms/hris.yaml --salt "$salt" \
    --input s3://input/ --output s3://output/ --timeout 60 > "$work/smoke.txt" 2>&1 \
   && grep -q "ok   byte-identical" "$work/smoke.txt" && [ -z "$(ls "$root/input/psoxy-smoke" 2>/dev/null)" ]; then
  echo "e2e: ok: psoxy smoke passed:"; sed 's/^/    /' "$work/smoke.txt"
else
  echo "e2e: FAIL: psoxy smoke:" >&2; cat "$work/smoke.txt" >&2; tail -n 20 "$work/function.log" >&2; status=1
fi

if grep -q "$salt" "$work/function.log"; then echo "e2e: FAIL: the salt appears in the function's log" >&2; status=1; fi
if grep -q '"message":"sanitized"' "$work/function.log"; then
  echo "e2e: ok: JSON logs: $(grep -m1 '"message":"sanitized"' "$work/function.log")"
else
  echo "e2e: FAIL: no JSON log line for the objects" >&2; status=1
fi
exit $status
