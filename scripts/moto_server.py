"""A moto server (local AWS SSM Parameter Store, Secrets Manager, Step Functions, ...) for the
tests.

Usage: python moto_server.py PORT
Serves on 127.0.0.1:PORT, prints "ready" once it accepts requests, and stops when its standard
input closes: the test process that started it holds that pipe, so the server never outlives
the tests, even when they crash.

Two switches, for the fan-out's end-to-end test (scripts/e2e-fanout.sh):
- PSOXY_MOTO_EXECUTE_STATE_MACHINES=1: Step Functions executions really run their states
  (moto's ASL interpreter), instead of only being recorded.
- PSOXY_LAMBDA_INVOKE_URL=http://127.0.0.1:PORT: a Lambda `Invoke` of any function (as a
  state machine's tasks make) is sent to that Lambda API, cargo-lambda's emulator running the
  real function binary, instead of moto's Docker-based runner (no Docker here). A function
  error (the emulator answers 500) is reported as `X-Amz-Function-Error: Unhandled` with the
  function's error document, as Lambda does.
"""
import logging
import os
import sys
import urllib.error
import urllib.request

os.environ.setdefault("MOTO_PORT", sys.argv[1])  # moto's interpreter calls its own server here

from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer

if os.environ.get("PSOXY_MOTO_EXECUTE_STATE_MACHINES") == "1":
    default_user_config["stepfunctions"]["execute_state_machine"] = True

invoke_url = os.environ.get("PSOXY_LAMBDA_INVOKE_URL")
if invoke_url:
    from moto.awslambda.models import LambdaBackend

    def forward_invoke(self, function_name, qualifier, body, headers, response_headers):
        # The emulator serves its one function as `_`, whatever the caller names it.
        request = urllib.request.Request(
            f"{invoke_url}/2015-03-31/functions/_/invocations",
            data=body if isinstance(body, bytes) else (body or "{}").encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=900) as answer:
                payload = answer.read()
        except urllib.error.HTTPError as e:
            payload = e.read()
            response_headers["x-amz-function-error"] = "Unhandled"
        response_headers["Content-Length"] = str(len(payload))
        return payload

    LambdaBackend.invoke = forward_invoke

logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print("ready", flush=True)
sys.stdin.read()
server.stop()
