#!/usr/bin/env bash
# Checks the fan-out's state machine (terraform/modules/aws-bulk/fanout.asl.json): renders the
# template as templatefile() does, with dummy values for its placeholders (any other `${...}`
# fails), checks the payload contract the chunk function is written to, then validates the
# result with asl-validator (the Amazon States Language schema and its JSONPath checks).
# Installs asl-validator from npm into target/asl-tools once (pinned); offline after that.
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.0.0
tools=target/asl-tools
installed=$(node -p "require('./$tools/node_modules/asl-validator/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$version" ]; then
  echo "installing asl-validator $version into $tools (once)..." >&2
  npm install --prefix "$tools" --no-audit --no-fund --no-save "asl-validator@$version" >&2
fi

template=terraform/modules/aws-bulk/fanout.asl.json
rendered=target/asl-tools/fanout.rendered.json
python3 - "$template" "$rendered" <<'EOF'
import json, re, sys

template, rendered = sys.argv[1], sys.argv[2]
values = {
    "chunk_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:psoxy-example-chunk",
    "max_concurrency": "64",
}
text = open(template).read()
unknown = sorted(set(re.findall(r"\$\{(\w+)\}", text)) - set(values))
if unknown:
    sys.exit(f"{template}: placeholders fanout.tf does not pass: {unknown}")
for name, value in values.items():
    text = text.replace("${" + name + "}", value)
if "${" in text or "%{" in text:
    sys.exit(f"{template}: a template sequence is left after rendering")
asl = json.loads(text)

# The contract of the chunk function (the payloads it receives, the errors it raises).
problems = []
def expect(what, actual, wanted):
    if actual != wanted:
        problems.append(f"{what}: {actual!r}, expected {wanted!r}")

states = asl["States"]
retryable = ["Psoxy.Retryable", "Lambda.ServiceException", "Lambda.AWSLambdaException",
             "Lambda.SdkClientException", "Lambda.TooManyRequestsException"]
chunk = states["Chunks"]["ItemProcessor"]["States"]["Chunk"]
tasks = {name: states[name] for name in ("Plan", "Join", "Abort")} | {"Chunk": chunk}
for name, task in tasks.items():
    expect(f"{name} resource", task["Resource"], "arn:aws:states:::lambda:invoke")
    expect(f"{name} function", task["Parameters"]["FunctionName"], values["chunk_function_arn"])
    retry = {tuple(r["ErrorEquals"]): r for r in task.get("Retry", [])}
    expect(f"{name} retry on InvalidInput", retry.get(("Psoxy.InvalidInput",), {}).get("MaxAttempts"), 0)
    again = retry.get(tuple(retryable), {})
    expect(f"{name} retries", (again.get("MaxAttempts"), again.get("BackoffRate")), (3, 2))
for name, step in (("Plan", "plan"), ("Join", "join"), ("Abort", "abort")):
    expect(f"{name} payload", states[name]["Parameters"]["Payload"], {"fanout": step, "job.$": "$"})
for name in ("Plan", "Chunks", "Join"):
    expect(f"{name} catch", states[name]["Catch"], [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Abort"}])
expect("Plan result", (states["Plan"]["ResultSelector"], states["Plan"]["ResultPath"]),
       ({"bucket.$": "$.Payload.bucket", "key.$": "$.Payload.key", "chunks.$": "$.Payload.chunks"}, "$.plan"))
expect("Chunk payload", chunk["Parameters"].get("Payload.$"), "$")
chunks = states["Chunks"]
expect("Chunks processor", chunks["ItemProcessor"]["ProcessorConfig"], {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"})
expect("Chunks reader", chunks["ItemReader"], {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                                                "Parameters": {"Bucket.$": "$.plan.bucket", "Key.$": "$.plan.key"}})
expect("Chunks selector", chunks["ItemSelector"], {"fanout": "chunk", "job.$": "$", "chunk.$": "$$.Map.Item.Value"})
expect("Chunks failures", (chunks["ToleratedFailurePercentage"], chunks["ResultPath"], chunks["MaxConcurrency"]), (0, None, 64))
expect("Join result", states["Join"]["ResultPath"], "$.joined")
expect("Abort catch", [c["Next"] for c in states["Abort"]["Catch"]], ["AbortFailed"])
for name in ("Failed", "AbortFailed"):
    expect(f"{name} error", (states[name]["Type"], states[name]["Error"]), ("Fail", "Psoxy.FanoutFailed"))
if problems:
    sys.exit("\n".join(f"{template}: {p}" for p in problems))
json.dump(asl, open(rendered, "w"), indent=2)
EOF

"$tools/node_modules/.bin/asl-validator" --json-path "$rendered"
echo "check-asl: $template is valid (asl-validator $version)"
