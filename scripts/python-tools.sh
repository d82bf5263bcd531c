#!/usr/bin/env bash
# Installs the Python tools the tests use into target/pytools (a virtualenv, made once):
# moto (local SSM Parameter Store / Secrets Manager for the configuration tests; with its Step
# Functions interpreter for the fan-out end-to-end script),
# cargo-lambda (the Lambda runtime emulator for the end-to-end script, and the arm64 packager),
# cargo-zigbuild (the static musl builds of the CLI in scripts/release.sh; it shares cargo-lambda's
# zig, so every release binary is linked by the same zig),
# pyarrow (an independent Parquet writer and reader for the Parquet tests) and python-hcl2 (the
# Terraform parse check of scripts/check-terraform.sh). Prints the venv's bin directory.
# Idempotent and quick when already installed.
set -euo pipefail
exec bash "$(dirname "$0")/venv.sh" target/pytools v5 \
  'moto[stepfunctions]==5.*' flask flask-cors 'cargo-lambda==1.*' 'cargo-zigbuild==0.24.*' \
  'pyarrow>=15' 'python-hcl2>=7,<8'
