#!/usr/bin/env bash
# End to end: the webhook collector's function (`psoxy-webhook`) under cargo-lambda's runtime
# emulator, with SSM, KMS, SQS and S3 served by moto on 127.0.0.1, configured as
# terraform/modules/aws-webhook deploys it.
#
#  1. moto: the salt as a SecureString under /psoxy/hooks/, an RSA_2048 SIGN_VERIFY KMS key
#     (the issuer's), the queue and the sanitized bucket;
#  2. the function, with ACCEPTED_AUTH_KEYS naming the KMS key and a base64 SPKI key
#     (tests/fixtures/webhook/issuer-a), AUTH_ISSUER, WEBHOOK_OUTPUT and WEBHOOK_BATCH_OUTPUT;
#  3. function-URL events (payload format 2.0): a webhook with a token signed by KMS `Sign`,
#     one signed by the fixture key (NDJSON, two events), and refused ones (a stranger's key,
#     `alg: none`, an expired token, a claim that does not match the payload);
#  4. the queued messages, received from SQS, as an SQS event (plus one message that is not
#     NDJSON): one object in the bucket, the bad message reported in batchItemFailures;
#  5. checks: statuses, one gzipped NDJSON object whose three records are the sanitized events
#     (emails pseudonymized as the CLI's pseudonymizer makes them, free text gone), nothing
#     queued by a refused request, no salt, email or token in the function's log.
#
# Everything listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/e2e-common.sh
cargo build --quiet --bin psoxy-webhook --bin psoxy

# --- 1. moto ---------------------------------------------------------------------------------
salt="e2e-webhook-salt-41f7"
moto_port=$(free_port)
mkfifo "$work/moto.stdin"
python scripts/moto_server.py "$moto_port" < "$work/moto.stdin" > "$work/moto.out" 2>&1 &
pids+=($!)
exec 4> "$work/moto.stdin"   # moto stops when this closes
wait_ready "$work/moto.out" moto 150
export AWS_ACCESS_KEY_ID=psoxy-test-access-key AWS_SECRET_ACCESS_KEY=psoxy-test-secret-key
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
moto="http://127.0.0.1:$moto_port"
python - "$moto" "$salt" "$work" <<'PY'
import json, sys, boto3
endpoint, salt, work = sys.argv[1:4]
aws = lambda s: boto3.client(s, endpoint_url=endpoint, region_name="us-east-1")
aws("ssm").put_parameter(Name="/psoxy/hooks/PSOXY_SALT", Value=salt, Type="SecureString")
key = aws("kms").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
queue = aws("sqs").create_queue(QueueName="psoxy-hooks-to-batch")["QueueUrl"]
aws("s3").create_bucket(Bucket="sanitized-webhooks")
json.dump({"key": key, "queue": queue}, open(f"{work}/aws.json", "w"))
PY
kms_key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$work/aws.json")
queue_url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["queue"])' "$work/aws.json")

# --- 2. the function under the emulator ---------------------------------------------------------
start_emulator
(
  export AWS_ENDPOINT_URL="$moto"
  export PATH_TO_INSTANCE_CONFIG=/psoxy/hooks/ PSOXY_INSTANCE_ID=hooks RUST_LOG=trace
  RULES=$(cat transforms/webhook/events.yaml)
  export RULES
  export ACCEPTED_AUTH_KEYS="aws-kms:$kms_key,base64:$(cat tests/fixtures/webhook/issuer-a.spki.b64)"
  export AUTH_ISSUER=https://issuer.acme.example
  export WEBHOOK_OUTPUT="$queue_url" WEBHOOK_BATCH_OUTPUT=s3://sanitized-webhooks/hooks
  export S3_FORCE_PATH_STYLE=true
  export AWS_LAMBDA_FUNCTION_NAME=psoxy-hooks AWS_LAMBDA_FUNCTION_VERSION=1
  export AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512
  export AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$invoke_port/.rt"
  exec target/debug/psoxy-webhook
) > "$work/function.log" 2>&1 &
pids+=($!)

# --- 3. webhooks ---------------------------------------------------------------------------------
# Tokens and function-URL events, written by Python: tokens signed with KMS (moto) and with the
# fixture keys, each event's body and headers.
python - "$moto" "$kms_key" "$work" <<'PY'
import base64, json, sys, time, boto3
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
endpoint, kms_key, work = sys.argv[1:4]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
now = int(time.time())
def claims(sub, **over):
    c = {"iss": "https://issuer.acme.example", "sub": sub, "iat": now, "exp": now + 3600}
    c.update(over)
    return c
def signing_input(alg, c):
    return f"{b64(json.dumps({'alg': alg, 'typ': 'JWT'}).encode())}.{b64(json.dumps(c).encode())}"
def with_pem(path, c):
    key = serialization.load_pem_private_key(open(path, "rb").read(), None)
    si = signing_input("RS256", c)
    return f"{si}.{b64(key.sign(si.encode(), padding.PKCS1v15(), hashes.SHA256()))}"
def with_kms(c):
    si = signing_input("RS256", c)
    kms = boto3.client("kms", endpoint_url=endpoint, region_name="us-east-1")
    sig = kms.sign(KeyId=kms_key, Message=si.encode(), MessageType="RAW",
                   SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["Signature"]
    return f"{si}.{b64(sig)}"
def event(actor, email):
    return {"event": "meeting.ended", "actor": {"id": actor, "email": email},
            "attendees": ["bob@acme.example", email], "subject": "Salary review of " + email,
            "occurred_at": "2026-12-01T10:00:00Z"}
def url_event(token, body, content_type="application/json"):
    headers = {"host": "abc.lambda-url.us-east-1.on.aws", "content-type": content_type}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": headers, "body": body, "isBase64Encoded": False,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc", "domainName": headers["host"],
            "domainPrefix": "abc", "requestId": "e2e", "routeKey": "$default", "stage": "$default",
            "time": "06/Dec/2026:10:00:00 +0000", "timeEpoch": 1796551200000,
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "e2e"}},
    }
alice = json.dumps(event("u-1", "alice@acme.example"))
two = json.dumps(event("u-2", "carol@acme.example")) + "\n" + json.dumps(event("u-2", "carol@acme.example")) + "\n"
events = {
    "kms": url_event(with_kms(claims("u-1")), alice),
    "fixture": url_event(with_pem("tests/fixtures/webhook/issuer-a.pem", claims("u-2")), two, "application/x-ndjson"),
    "stranger": url_event(with_pem("tests/fixtures/webhook/stranger.pem", claims("u-1")), alice),
    "none": url_event(signing_input("none", claims("u-1")) + ".", alice),
    "expired": url_event(with_kms(claims("u-1", exp=now - 600)), alice),
    "mismatch": url_event(with_kms(claims("u-9")), alice),
}
for name, e in events.items():
    json.dump(e, open(f"{work}/{name}.event.json", "w"))
PY

for name in kms fixture stranger none expired mismatch; do invoke_event "$name"; done

# --- 4. the batch: what SQS holds, delivered as the queue's trigger delivers it ----------------
python - "$moto" "$queue_url" "$work" <<'PY'
import json, sys, boto3
endpoint, queue, work = sys.argv[1:4]
sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
messages = []
for _ in range(5):
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    messages += got
    if not got:
        break
records = [{
    "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
    "attributes": {}, "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
    "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:psoxy-hooks-to-batch",
    "awsRegion": "us-east-1"} for m in messages]
records.append(dict(records[0], messageId="not-ndjson", body="this is not JSON"))
json.dump({"Records": records}, open(f"{work}/batch.event.json", "w"))
json.dump(len(messages), open(f"{work}/queued.json", "w"))
PY
invoke_event batch

# --- 5. the checks -------------------------------------------------------------------------------
# The CLI's pseudonyms of the three emails, with the same salt: the collector's must be these.
printf 'EMAIL\nalice@acme.example\nbob@acme.example\ncarol@acme.example\n' > "$work/emails.csv"
target/debug/psoxy sanitize "$work/emails.csv" -p EMAIL --salt "$salt" \
  --pseudonym-format URL_SAFE_TOKEN --no-shuffle -o "$work/pseudonyms.csv" 2> /dev/null
python - "$moto" "$work" "$salt" <<'PY'
import gzip, json, sys, boto3
endpoint, work, salt = sys.argv[1:4]
problems = []
def response(name):
    return json.load(open(f"{work}/{name}.json"))
def code(r):
    return {k.lower(): v for k, v in (r.get("headers") or {}).items()}.get("x-psoxy-error")
for name, status, error in [("kms", 200, None), ("fixture", 200, None),
                            ("stranger", 401, "UNAUTHORIZED"), ("none", 401, "UNAUTHORIZED"),
                            ("expired", 401, "UNAUTHORIZED"), ("mismatch", 401, "CLAIMS_MISMATCH")]:
    r = response(name)
    if r["statusCode"] != status or code(r) != error:
        problems.append(f"{name}: {r['statusCode']} {code(r)} (expected {status} {error}): {str(r)[:200]}")
queued = json.load(open(f"{work}/queued.json"))
if queued != 2:
    problems.append(f"{queued} messages were queued, expected 2 (the refused webhooks queue nothing)")
batch = response("batch")
failures = [f["itemIdentifier"] for f in batch.get("batchItemFailures", [])]
if failures != ["not-ndjson"]:
    problems.append(f"batch: batchItemFailures {failures}, expected ['not-ndjson']")
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="sanitized-webhooks").get("Contents", [])]
if len(keys) != 1 or not keys[0].startswith("hooks/") or not keys[0].endswith(".ndjson.gz"):
    problems.append(f"batch: objects {keys}, expected one hooks/<sha256>.ndjson.gz")
else:
    obj = s3.get_object(Bucket="sanitized-webhooks", Key=keys[0])
    text = gzip.decompress(obj["Body"].read()).decode()
    records = [json.loads(l) for l in text.splitlines()]
    if len(records) != 3:
        problems.append(f"batch: {len(records)} records, expected 3")
    for email in ["alice@acme.example", "bob@acme.example", "carol@acme.example", "Salary"]:
        if email in text:
            problems.append(f"batch: {email} is in the output")
    for r in records:
        if "subject" in r or not r["actor"]["email"].startswith("t~") or r["event"] != "meeting.ended":
            problems.append(f"batch: a record is not sanitized as the rules say: {r}")
    actors = sorted(r["actor"]["id"] for r in records)
    if actors != ["u-1", "u-2", "u-2"]:
        problems.append(f"batch: actors {actors}")
    cli = dict(zip(["alice", "bob", "carol"], open(f"{work}/pseudonyms.csv").read().split()[1:]))
    for r in records:
        who = "alice" if r["actor"]["id"] == "u-1" else "carol"
        if r["actor"]["email"] != cli[who] or r["attendees"] != [cli["bob"], cli[who]]:
            problems.append(f"batch: pseudonyms differ from the CLI's: {r}")
log = open(f"{work}/function.log").read()

for secret in [salt, "alice@acme.example", "carol@acme.example", "Salary review"]:
    if secret in log:
        problems.append(f"the function's log shows {secret!r}")
token = json.load(open(f"{work}/kms.event.json"))["headers"]["authorization"].split()[1]
if token.split(".")[2] in log or token.split(".")[1] in log:
    problems.append("the function's log shows a token")
if problems:
    print("e2e-webhook: FAILED", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"e2e-webhook: ok: 2 webhooks accepted (KMS and base64 keys), 4 forgeries refused, "
      f"1 batch object {keys[0]} with 3 sanitized records, the bad message returned")
PY
