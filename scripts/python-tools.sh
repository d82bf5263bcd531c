#!/usr/bin/env bash
# Installs the Python tools the tests use into target/pytools (a virtualenv, made once):
# moto (local SSM Parameter Store / Secrets Manager for the configuration tests) and
# cargo-lambda (the Lambda runtime emulator for the end-to-end script). Prints the venv's bin
# directory. Idempotent and quick when already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/pytools
stamp="$venv/.installed-v1"
if [ ! -f "$stamp" ]; then
  echo "installing moto and cargo-lambda into $venv (once)..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    'moto==5.*' flask flask-cors 'cargo-lambda==1.*' >&2
  touch "$stamp"
fi
echo "$PWD/$venv/bin"
