#!/usr/bin/env bash
# The whole test suite: unit and integration tests (`cargo test`; the S3 server runs inside
# the tests, moto is installed into target/pytools on first use), then the end-to-end runs of
# the Lambda functions under cargo-lambda's emulator (scripts/e2e-lambda.sh for bulk mode,
# scripts/e2e-lambda-api.sh for API mode, scripts/e2e-lambda-webhook.sh for the webhook collector,
# scripts/e2e-fanout.sh for a large object fanned out on
# the Step Functions state machine in moto's interpreter), the Terraform checks (scripts/check-terraform.sh),
# the arm64 deployment packages, which must build and stay under 20 MB
# (scripts/package-lambda.sh), and the Cloud Run image's packaging, checked on the debug binary
# (scripts/package-gcp.sh --profile dev: complete, reproducible; the release image is built by
# `bash scripts/package-gcp.sh`). The GCS emulator (fake-gcs-server) is installed and started
# by the tests that use it. Also: the build without optional features (the README's quick first
# command: no AWS, Google Cloud or Parquet code) lints clean and passes its unit tests, and the
# release SBOMs list exactly the crates linked (scripts/sbom-check.sh; installs cargo-cyclonedx
# into target/sbomtools on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test "$@"
cargo clippy --no-default-features --all-targets -- -D warnings
cargo test --no-default-features --lib
bash scripts/sbom-check.sh
bash scripts/e2e-lambda.sh
bash scripts/e2e-lambda-api.sh
bash scripts/e2e-lambda-webhook.sh
bash scripts/e2e-fanout.sh
bash scripts/check-terraform.sh
bash scripts/package-lambda.sh
bash scripts/package-gcp.sh --profile dev
