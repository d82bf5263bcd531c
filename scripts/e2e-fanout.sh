#!/usr/bin/env bash
# End to end: a large object fanned out on the Step Functions state machine Terraform deploys
# (terraform/modules/aws-bulk/fanout.asl.json), executed by moto's ASL interpreter, its Lambda
# tasks run by the real function binary under cargo-lambda's emulator.
#
#  1. builds the CLI and the function (`psoxy-bulk`, which is also the chunk function);
#  2. starts moto on 127.0.0.1 (S3, Step Functions) with state machines executed and Lambda
#     invocations sent to the emulator (scripts/moto_server.py), and the emulator with two
#     function processes (two chunks at a time);
#  3. creates the buckets and the state machine from the module's definition, and uploads a CSV
#     of about 40 MB whose cells hold commas, quotes and line breaks, and the same CSV with a
#     bad row in the middle;
#  4. sends the function an S3 ObjectCreated event for each: it starts an execution (the objects
#     are over FANOUT_THRESHOLD_BYTES) and returns; the executions plan, sanitize the chunks in a
#     Distributed Map and join them;
#  5. checks: the good execution SUCCEEDED and its output, gunzipped, is byte-identical to the
#     CLI's; the bad one FAILED, left no output and no work objects; the failure names the bad
#     row's line; the salt is in no log.
#
# moto's interpreter does not apply ToleratedFailurePercentage (it says so in its log): there a
# failed chunk does not fail the Map, and the join fails instead, finding that chunk's part
# missing. On AWS the Map fails first. Either way the execution goes to Abort, then fails.
#
# Everything listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/e2e-common.sh
cargo build --quiet --bin psoxy --bin psoxy-bulk --example s3_server

fail() { echo "e2e-fanout: FAIL: $*" >&2; for f in "$work"/*.log; do echo "--- $f" >&2; tail -n 30 "$f" >&2; done; exit 1; }

salt="e2e-fanout-salt"
invoke_port=$(free_port)
moto_port=$(free_port)
moto="http://127.0.0.1:$moto_port"

# --- 2. moto and the emulator ------------------------------------------------------------------
mkfifo "$work/moto.stdin"
PSOXY_MOTO_EXECUTE_STATE_MACHINES=1 PSOXY_LAMBDA_INVOKE_URL="http://127.0.0.1:$invoke_port" \
  python scripts/moto_server.py "$moto_port" < "$work/moto.stdin" > "$work/moto.log" 2>&1 &
pids+=($!)
exec 4> "$work/moto.stdin"   # moto stops when this closes
wait_ready "$work/moto.log" moto 150 || fail "moto did not start"

cargo lambda watch --only-lambda-apis -A 127.0.0.1 -P "$invoke_port" > "$work/watch.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do
  (echo > "/dev/tcp/127.0.0.1/$invoke_port") 2>/dev/null && break
  sleep 0.2
done

export AWS_ACCESS_KEY_ID=psoxy-test-access-key AWS_SECRET_ACCESS_KEY=psoxy-test-secret-key
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
sm_arn="arn:aws:states:us-east-1:123456789012:stateMachine:psoxy-fanout"

# --- 3. buckets, the state machine, the inputs -------------------------------------------------
python - "$moto" "$work" terraform/modules/aws-bulk/fanout.asl.json <<'PY'
import boto3, random, sys
endpoint, work, asl = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint)
for b in ["input", "output", "work"]:
    s3.create_bucket(Bucket=b)
definition = open(asl).read()
definition = definition.replace("${chunk_function_arn}",
                                "arn:aws:lambda:us-east-1:123456789012:function:psoxy-chunk")
definition = definition.replace("${max_concurrency}", "2")
assert "${" not in definition, "a placeholder is left in the definition"
sfn = boto3.client("stepfunctions", endpoint_url=endpoint)
sfn.create_state_machine(name="psoxy-fanout", definition=definition, type="STANDARD",
                         roleArn="arn:aws:iam::123456789012:role/psoxy-fanout")
rng = random.Random(7)
def rows(bad_at=None):
    yield "EMPLOYEE_ID,EMPLOYEE_EMAIL,MANAGER_ID,JOB_TITLE,NOTE\r\n"
    for i in range(400_000):
        if i == bad_at:
            yield "short row\r\n"
            continue
        note = rng.choice(['plain', '"two\r\nlines"', '"a ""quoted"" word"', '"comma, inside"'])
        yield f"E{i:07d},user{i}@example.com,E{rng.randrange(400_000):07d},Engineer {i % 97},{note}\r\n"
for name, bad in [("big.csv", None), ("bad.csv", 300_000)]:
    with open(f"{work}/{name}", "w", newline="") as f:
        f.writelines(rows(bad))
    s3.upload_file(f"{work}/{name}", "input", f"hris/{name}")
PY
ls -l "$work/big.csv" | awk '{print "e2e-fanout: input " $5 " bytes"}'

# The function (bulk and chunk: the same binary and settings, as Terraform deploys them).
start_function() {
  (
    export AWS_ENDPOINT_URL="$moto"
    export AWS_EC2_METADATA_DISABLED=true S3_FORCE_PATH_STYLE=true RUST_LOG=info
    export PSOXY_SALT="$salt" RULES="$(cat transforms/hris.yaml)"
    export OUTPUT_BUCKET=output PSOXY_SHUFFLE_ROWS=false
    export FANOUT_STATE_MACHINE_ARN="$sm_arn" FANOUT_WORK_BUCKET=work
    export FANOUT_THRESHOLD_BYTES=1048576 FANOUT_CHUNK_BYTES=16777216
    export AWS_LAMBDA_FUNCTION_NAME=psoxy-hris AWS_LAMBDA_FUNCTION_VERSION=1
    export AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$invoke_port/.rt"
    exec target/debug/psoxy-bulk
  ) > "$work/function-$1.log" 2>&1 &
  pids+=($!)
}
start_function 1
start_function 2

# --- 4. the events -----------------------------------------------------------------------------
for name in big bad; do
  python3 - "$work/event-$name.json" "hris/$name.csv" <<'PY'
import json, sys
record = {
    "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
    "eventTime": "2026-12-06T12:00:00.000Z", "eventName": "ObjectCreated:Put",
    "userIdentity": {"principalId": "AWS:EXAMPLE"},
    "requestParameters": {"sourceIPAddress": "127.0.0.1"},
    "responseElements": {"x-amz-request-id": "1", "x-amz-id-2": "2"},
    "s3": {"s3SchemaVersion": "1.0", "configurationId": "psoxy-input",
           "bucket": {"name": "input", "ownerIdentity": {"principalId": "EXAMPLE"},
                      "arn": "arn:aws:s3:::input"},
           "object": {"key": sys.argv[2], "size": 1, "eTag": "0", "sequencer": "0A1B2C"}}}
json.dump({"Records": [record]}, open(sys.argv[1], "w"))
PY
  cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$invoke_port" \
    --data-file "$work/event-$name.json" --output-format json > "$work/response-$name.json" 2> "$work/invoke.log" \
    || fail "invocation for $name.csv failed"
  grep -q '"fanned-out"' "$work/response-$name.json" || fail "$name.csv was not fanned out: $(cat "$work/response-$name.json")"
done
echo "e2e-fanout: the function started both executions and returned"

# --- 5. wait, then check -----------------------------------------------------------------------
python - "$moto" "$sm_arn" > "$work/executions.txt" <<'PY' || fail "executions did not end as expected: $(cat "$work/executions.txt")"
import boto3, sys, time
sfn = boto3.client("stepfunctions", endpoint_url=sys.argv[1])
deadline = time.time() + 600
while True:
    runs = sfn.list_executions(stateMachineArn=sys.argv[2])["executions"]
    if len(runs) == 2 and all(r["status"] != "RUNNING" for r in runs):
        break
    if time.time() > deadline:
        print("timed out:", [(r["name"], r["status"]) for r in runs]); sys.exit(1)
    time.sleep(1)
statuses = {}
for r in runs:
    d = sfn.describe_execution(executionArn=r["executionArn"])
    import json
    statuses[json.loads(d["input"])["key"]] = (d["status"], d.get("error"), (d["stopDate"] - d["startDate"]).total_seconds())
for key, (status, error, seconds) in sorted(statuses.items()):
    print(f"{key}: {status} {error or ''} in {seconds:.1f} s")
sys.exit(0 if statuses.get("hris/big.csv", ("",))[0] == "SUCCEEDED" and statuses.get("hris/bad.csv", ("",))[0] == "FAILED" else 1)
PY
sed 's/^/e2e-fanout: /' "$work/executions.txt"

target/debug/psoxy sanitize --salt "$salt" --rules transforms/hris.yaml --no-shuffle \
  -o "$work/cli.csv" "$work/big.csv" 2> "$work/cli.log" || fail "the CLI failed"
python - "$moto" "$work" <<'PY' || fail "outputs"
import boto3, gzip, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
work = sys.argv[2]
out = s3.get_object(Bucket="output", Key="hris/big.csv")
assert out.get("ContentEncoding") == "gzip", out.get("ContentEncoding")
body = out["Body"].read()
text = gzip.decompress(body)
cli = open(f"{work}/cli.csv", "rb").read()
assert text == cli, "the fanned-out output differs from the CLI's"
meta = out["Metadata"]
assert meta["psoxy-original-object-key"] == "input/hris/big.csv", meta
lines = text.count(b"\n")
print(f"e2e-fanout: ok: output/hris/big.csv ({len(body)} bytes gzip, {lines} lines) is byte-identical to the CLI's")
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="output").get("Contents", [])]
assert keys == ["hris/big.csv"], f"unexpected outputs: {keys}"
work_keys = [o["Key"] for o in s3.list_objects_v2(Bucket="work").get("Contents", [])]
assert not work_keys, f"work objects left: {work_keys}"
uploads = s3.list_multipart_uploads(Bucket="output").get("Uploads", [])
assert not uploads, f"open uploads left: {uploads}"
print("e2e-fanout: ok: the bad object left no output, no work object and no open upload")
PY
grep -h '"fan-out failed' "$work"/function-*.log | head -1 | sed 's/^/e2e-fanout: ok: logged: /'
bad_line=$(grep -n '^short row' "$work/bad.csv" | cut -d: -f1)
grep -hq "line $bad_line:" "$work"/function-*.log || fail "no log line names the bad row's line ($bad_line)"
echo "e2e-fanout: ok: the failure names line $bad_line of hris/bad.csv"
if grep -q "$salt" "$work"/function-*.log; then fail "the salt appears in a function log"; fi
echo "e2e-fanout: ok"
