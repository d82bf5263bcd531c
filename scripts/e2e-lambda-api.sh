#!/usr/bin/env bash
# End to end: the API-mode function (`psoxy-api`) under cargo-lambda's runtime emulator,
# invoked with function-URL events (payload format 2.0), in front of a local source API.
#
#  1. builds the function; starts a small source API on 127.0.0.1 (Python, below) that serves
#     the GitHub example responses of tests/fixtures/api/github/ and records each request;
#  2. configures the function as terraform/modules/aws-api deploys it: PSOXY_SALT,
#     PSOXY_ENCRYPTION_KEY and the source's ACCESS_TOKEN as SecureStrings under /psoxy/github/
#     in SSM Parameter Store (moto on 127.0.0.1), TARGET_HOST, SOURCE_AUTH_STRATEGY and RULES
#     in the environment;
#  3. starts the emulator (`cargo lambda watch --only-lambda-apis`) and the function against
#     it, and invokes it (`cargo lambda invoke`) with: an allowed request, a blocked one, a
#     health check, the allowed one asking for gzip, one from outside the IP allow-list, and a
#     request carrying a reversible token;
#  4. checks the statuses, that the allowed response is the example sanitized (only the
#     schema's keys, logins as p~ and ids as t~ tokens, none of the example's values left), that
#     the source got the token from SSM, never saw the blocked request and got the original
#     login for the reversible token, and that no secret reached the function's log.
#
#  5. asynchronous requests (Prefer: respond-async; SQS and S3 in moto): a success and a 404
#     accepted with 202, the queue's batch delivered to the function, the answer equal to the
#     synchronous one and the 404's failure record in S3; the side output's objects
#     (SIDE_OUTPUT_SANITIZED) and their metadata, which holds no request value.
#
# Everything listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/e2e-common.sh
# With the example in the build, features resolve as for the tests: nothing is rebuilt after
# `cargo test` (see scripts/e2e-lambda.sh).
cargo build --quiet --bin psoxy-api --example s3_server

# --- 1. the source API ------------------------------------------------------------------------
source_port=$(free_port)
cat > "$work/source.py" <<'PY'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
port, fixtures, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
routes = {
    "/orgs/acme-corp/members": "org-members.json",
    "/repos/acme-corp/payroll-service/commits": "commits-by-author.json",
    "/repos/acme-corp/payroll-service/pulls": "pulls-list.json",
}
class Source(BaseHTTPRequestHandler):
    def do_GET(self):
        with open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "authorization": self.headers.get("authorization")}) + "\n")
        name = routes.get(self.path.split("?")[0])
        body = open(f"{fixtures}/{name}", "rb").read() if name else b'{"message":"Not Found"}'
        self.send_response(200 if name else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
print("ready", flush=True)
HTTPServer(("127.0.0.1", port), Source).serve_forever()
PY
python3 "$work/source.py" "$source_port" tests/fixtures/api/github "$work/source.log" > "$work/source.out" 2>&1 &
pids+=($!)
wait_ready "$work/source.out" "the source API" 25

# --- 2. the settings, laid out as terraform/modules/aws-api deploys them ----------------------
salt="e2e-api-salt-5d1c"
key="e2e-api-key-93ab"
access_token="ghp_e2e_SOURCE_TOKEN_77"
moto_port=$(free_port)
mkfifo "$work/moto.stdin"
python scripts/moto_server.py "$moto_port" < "$work/moto.stdin" > "$work/moto.out" 2>&1 &
pids+=($!)
exec 4> "$work/moto.stdin"   # moto stops when this closes
wait_ready "$work/moto.out" moto 150
AWS_ACCESS_KEY_ID=psoxy-test-access-key AWS_SECRET_ACCESS_KEY=psoxy-test-secret-key \
  python - "http://127.0.0.1:$moto_port" "$salt" "$key" "$access_token" <<'PY'
import sys, boto3
ssm = boto3.client("ssm", endpoint_url=sys.argv[1], region_name="us-east-1")
for name, value in [("PSOXY_SALT", sys.argv[2]), ("PSOXY_ENCRYPTION_KEY", sys.argv[3]), ("ACCESS_TOKEN", sys.argv[4])]:
    ssm.put_parameter(Name=f"/psoxy/github/{name}", Value=value, Type="SecureString")
# Asynchronous requests: their queue and the bucket of their answers.
boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1").create_queue(QueueName="psoxy-github-async")
boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").create_bucket(Bucket="psoxy-async")
boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").create_bucket(Bucket="psoxy-side")
PY
async_queue="http://127.0.0.1:$moto_port/123456789012/psoxy-github-async"

# --- 3. the function under the emulator ---------------------------------------------------------
start_emulator
(
  export AWS_ENDPOINT_URL_SSM="http://127.0.0.1:$moto_port"
  export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$moto_port" AWS_ENDPOINT_URL_S3="http://127.0.0.1:$moto_port"
  export S3_FORCE_PATH_STYLE=true
  export ASYNC_OUTPUT_DESTINATION=s3://psoxy-async/api ASYNC_API_REQUEST_QUEUE_URL="$async_queue"
  export SIDE_OUTPUT_SANITIZED=s3://psoxy-side/sanitized
  export AWS_ACCESS_KEY_ID=psoxy-test-access-key AWS_SECRET_ACCESS_KEY=psoxy-test-secret-key
  export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
  export PATH_TO_INSTANCE_CONFIG=/psoxy/github/
  export TARGET_HOST="http://127.0.0.1:$source_port" SOURCE_AUTH_STRATEGY=bearer
  RULES=$(cat transforms/api/github.yaml)
  export RULES PSOXY_INSTANCE_ID=github RUST_LOG=info
  export ALLOWED_DATA_ACCESS_IP_BLOCKS="127.0.0.0/8, 2001:db8::/32"
  export AWS_LAMBDA_FUNCTION_NAME=psoxy-api AWS_LAMBDA_FUNCTION_VERSION=1
  export AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512
  export AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$invoke_port/.rt"
  exec target/debug/psoxy-api
) > "$work/function.log" 2>&1 &
pids+=($!)

# A function-URL event (payload format 2.0) for `GET path?query` with extra headers.
event() {
  python3 - "$@" <<'PY'
import json, sys
path, query = sys.argv[1], sys.argv[2]
headers = {"host": "abc.lambda-url.us-east-1.on.aws", "accept": "application/json"}
source_ip = "127.0.0.1"
for h in sys.argv[3:]:
    k, v = h.split(":", 1)
    if k == "sourceIp":
        source_ip = v
    else:
        headers[k] = v
print(json.dumps({
    "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
    "headers": headers, "isBase64Encoded": False,
    "requestContext": {
        "accountId": "123456789012", "apiId": "abc", "domainName": headers["host"],
        "domainPrefix": "abc", "requestId": "e2e", "routeKey": "$default", "stage": "$default",
        "time": "24/Nov/2026:10:00:00 +0000", "timeEpoch": 1795514400000,
        "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": source_ip, "userAgent": "e2e"}},
}))
PY
}

invoke() {  # name, then event() arguments; the response goes to $work/<name>.json
  local name=$1; shift
  event "$@" > "$work/$name.event.json"
  invoke_event "$name"
}

invoke allowed /orgs/acme-corp/members "per_page=100&page=1"
invoke blocked /orgs/acme-corp/teams ""
invoke health / "" "x-psoxy-health-check:1"
invoke gzipped /repos/acme-corp/payroll-service/pulls "state=all" "accept-encoding:gzip, deflate"
invoke outsider /orgs/acme-corp/members "per_page=100&page=1" "sourceIp:10.9.9.9" "x-forwarded-for:127.0.0.1"

# A reversible token of a login, as the function's own responses carry them: take the first
# member's pseudonymized login from the allowed response and send it back as ?author=.
login_token=$(python3 -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["body"])[0]["login"])' "$work/allowed.json")
invoke reversed /repos/acme-corp/payroll-service/commits "author=$login_token&per_page=10"

# --- 4. the checks -------------------------------------------------------------------------------
python3 - "$work" "$salt" "$key" "$access_token" <<'PY'
import json, sys
work, salt, key, token = sys.argv[1:5]
def response(name):
    return json.load(open(f"{work}/{name}.json"))
problems = []
allowed = response("allowed")
if allowed["statusCode"] != 200:
    problems.append(f"allowed: status {allowed['statusCode']}: {allowed.get('body')}")
# The e2e has its own salt and key (so a leak of them is visible in the log), so the tokens
# differ from the fixtures' expected output: check the shape and that no value survived.
body = json.loads(allowed["body"])
source = json.load(open("tests/fixtures/api/github/org-members.json"))
if len(body) != len(source) or any(set(b) - {"login", "id", "type", "site_admin"} for b in body):
    problems.append(f"allowed: unexpected shape: {allowed['body'][:300]}")
for member in source:
    if member["login"] in allowed["body"] or str(member["id"]) in allowed["body"]:
        problems.append(f"allowed: {member['login']} is still in the output")
if not all(b["login"].startswith("p~") and b["id"].startswith("t~") for b in body):
    problems.append("allowed: logins and ids are not pseudonymized")
headers = {k.lower(): v for k, v in allowed["headers"].items()}
for h in ["x-psoxy-rules-sha", "x-psoxy-salt-sha", "x-psoxy-version"]:
    if h not in headers:
        problems.append(f"allowed: no {h} header")
blocked = response("blocked")
if blocked["statusCode"] != 403 or {k.lower(): v for k, v in blocked["headers"].items()}.get("x-psoxy-error") != "BLOCKED_BY_RULES":
    problems.append(f"blocked: {blocked}")
health = response("health")
if health["statusCode"] != 200 or json.loads(health["body"]).get("status") != "ok":
    problems.append(f"health: {health}")
# Compression (SPEC-API-PARITY 3.8): gzip + base64 when asked, the same answer inside; a
# warning header when not asked.
import base64, gzip
gzipped = response("gzipped")
gz_headers = {k.lower(): v for k, v in gzipped["headers"].items()}
if gzipped["statusCode"] != 200 or not gzipped.get("isBase64Encoded") or gz_headers.get("content-encoding") != "gzip":
    problems.append(f"gzipped: not a gzipped answer: {str(gzipped)[:300]}")
else:
    pulls = json.loads(gzip.decompress(base64.b64decode(gzipped["body"])))
    if len(pulls) != len(json.load(open("tests/fixtures/api/github/pulls-list.json"))):
        problems.append("gzipped: the gzipped answer is not the sanitized pull requests")
if headers.get("x-psoxy-warning") != "compression-not-requested":
    problems.append("allowed: no X-Psoxy-Warning for an answer without Accept-Encoding: gzip")
# The IP allow-list takes the platform's source IP, not X-Forwarded-For.
outsider = response("outsider")
if outsider["statusCode"] != 403 or {k.lower(): v for k, v in outsider["headers"].items()}.get("x-psoxy-error") != "UNAUTHORIZED_IP_ADDRESS":
    problems.append(f"outsider: {str(outsider)[:300]}")
reversed_ = response("reversed")
if reversed_["statusCode"] != 200:
    problems.append(f"reversed: {reversed_}")
seen = [json.loads(l) for l in open(f"{work}/source.log")]
paths = [s["path"] for s in seen]
if any("/teams" in p for p in paths):
    problems.append("the blocked request reached the source")
if f"/repos/acme-corp/payroll-service/commits?author={source[0]['login']}&per_page=10" not in paths:
    problems.append(f"the reversible token did not reach the source as the login: {paths}")
if len([p for p in paths if p.startswith("/orgs/acme-corp/members")]) != 1:
    problems.append(f"the request from outside the IP allow-list reached the source: {paths}")
if any(s["authorization"] != f"Bearer {token}" for s in seen):
    problems.append("the source did not get the access token from SSM")
log = open(f"{work}/function.log").read()
for secret in [salt, key, token]:
    if secret in log:
        problems.append("a secret appears in the function's log")
if '"message":"request"' not in log:
    problems.append("no audit line in the function's log")
if problems:
    print("e2e-api: FAIL:\n  " + "\n  ".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"e2e-api: ok: allowed 200 ({len(body)} members, pseudonymized), blocked 403 BLOCKED_BY_RULES, "
      f"health 200, gzip+base64 when asked, outside the IP allow-list 403, "
      f"reversible token reached the source as the login; source saw {len(seen)} requests")
print("e2e-api: audit line: " + next(l for l in log.splitlines() if '"message":"request"' in l))
PY

# --- 5. asynchronous requests: 202 + Location, the queue's batch, the answers in S3 ----------
invoke async_pulls /repos/acme-corp/payroll-service/pulls "state=all" "prefer:respond-async"
invoke async_missing /orgs/missing/members "" "prefer:respond-async"
AWS_ACCESS_KEY_ID=psoxy-test-access-key AWS_SECRET_ACCESS_KEY=psoxy-test-secret-key \
  python - "http://127.0.0.1:$moto_port" "$async_queue" "$work" <<'PY'
import json, sys, boto3
endpoint, queue, work = sys.argv[1:4]
sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
json.dump({"Records": [{
    "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
    "attributes": {}, "messageAttributes": {}, "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs",
    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:psoxy-github-async", "awsRegion": "us-east-1",
} for m in messages]}, open(f"{work}/async_batch.event.json", "w"))
PY
invoke_event async_batch
AWS_ACCESS_KEY_ID=psoxy-test-access-key AWS_SECRET_ACCESS_KEY=psoxy-test-secret-key \
  python - "http://127.0.0.1:$moto_port" "$work" <<'PY'
import base64, gzip, json, sys, boto3
endpoint, work = sys.argv[1:3]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
problems = []
def response(name):
    return json.load(open(f"{work}/{name}.json"))
def location(name):
    r = response(name)
    headers = {k.lower(): v for k, v in r["headers"].items()}
    if r["statusCode"] != 202 or not headers.get("location", "").startswith("s3://psoxy-async/api/"):
        problems.append(f"{name}: not accepted: {str(r)[:300]}")
        return None
    return headers["location"][len("s3://psoxy-async/"):]
pulls_key, missing_key = location("async_pulls"), location("async_missing")
batch = response("async_batch")
if batch.get("batchItemFailures") != []:
    problems.append(f"async batch: {batch}")
if pulls_key:
    answer = gzip.decompress(s3.get_object(Bucket="psoxy-async", Key=pulls_key)["Body"].read())
    sync = gzip.decompress(base64.b64decode(response("gzipped")["body"]))
    if json.loads(answer) != json.loads(sync):
        problems.append("async answer differs from the synchronous answer of the same request")
if missing_key:
    record = json.loads(s3.get_object(Bucket="psoxy-async", Key=missing_key + ".error.json")["Body"].read())
    if record.get("status") != 404 or record.get("error") != "API_ERROR":
        problems.append(f"async 404: failure record {record}")
# Side output: every 2xx answer from the source (allowed, gzipped, reversed, the async one),
# gzipped, with metadata naming the endpoint's rule and never a query or path value.
side = s3.list_objects_v2(Bucket="psoxy-side").get("Contents", [])
if len(side) != 4:
    problems.append(f"side output: {len(side)} objects, expected 4")
endpoints = set()
for o in side:
    head = s3.head_object(Bucket="psoxy-side", Key=o["Key"])
    meta = head["Metadata"]
    endpoints.add(meta.get("psoxy-endpoint"))
    if head.get("ContentEncoding") != "gzip" or meta.get("psoxy-status") != "200":
        problems.append(f"side output {o['Key']}: {head.get('ContentEncoding')} {meta}")
    text = json.dumps(meta)
    for value in ["per_page", "acme-corp", "payroll-service", "state=all", "author"]:
        if value in text:
            problems.append(f"side output {o['Key']}: metadata shows {value}: {meta}")
    body = gzip.decompress(s3.get_object(Bucket="psoxy-side", Key=o["Key"])["Body"].read())
    json.loads(body)
if not {"/orgs/{org}/members", "/repos/{owner}/{repo}/pulls"} <= endpoints:
    problems.append(f"side output endpoints: {endpoints}")
if problems:
    print("e2e-api: FAIL:\n  " + "\n  ".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"e2e-api: ok: side output: {len(side)} gzipped answers with metadata {sorted(endpoints)}")
print(f"e2e-api: ok: async: 202 with Location, the queued batch run, s3://psoxy-async/{pulls_key} "
      f"equals the synchronous answer, the 404 left {missing_key}.error.json")
PY
