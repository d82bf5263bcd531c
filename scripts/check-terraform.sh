#!/usr/bin/env bash
# Checks terraform/ without the terraform binary: every .tf file parses (python-hcl2), every
# reference and module call resolves and the IAM policies stay least-privilege
# (scripts/check_terraform.py), the fan-out's state machine definition is valid Amazon States
# Language and keeps the chunk function's payload contract (scripts/check-asl.sh), then checkov
# passes with no failed check (each skip in the code carries a one-line reason). Installs
# checkov into its own venv (target/tftools) and asl-validator into target/asl-tools once.
set -euo pipefail
cd "$(dirname "$0")/.."

tools_bin=$(bash scripts/python-tools.sh)
for script in terraform/examples/*/*.sh; do bash -n "$script"; done
"$tools_bin/python" scripts/check_terraform.py terraform
bash scripts/check-asl.sh

checkov_bin=$(bash scripts/venv.sh target/tftools v1 'checkov==3.*')
# --skip-download: no calls to the Prisma Cloud API (this runs offline).
"$checkov_bin/checkov" --directory terraform --framework terraform --skip-download --compact --quiet
# The fan-out's resources exist only with fanout_enabled (checkov drops a resource whose count
# is 0), so the bulk module is scanned once more with it on.
printf 'fanout_enabled = true\n' >target/fanout.tfvars
"$checkov_bin/checkov" --directory terraform/modules/aws-bulk --var-file target/fanout.tfvars \
  --framework terraform --skip-download --compact --quiet
# So do the API module's asynchronous requests and side output.
printf 'enable_async_processing = true\nside_output_sanitized = "s3://psoxy-side-outputs/api"\n' >target/api-async.tfvars
"$checkov_bin/checkov" --directory terraform/modules/aws-api --var-file target/api-async.tfvars \
  --framework terraform --skip-download --compact --quiet
# And those of the Google Cloud API module.
printf 'enable_async_processing = true\nside_output_sanitized = "gs://psoxy-side-outputs/api"\n' >target/gcp-api-async.tfvars
"$checkov_bin/checkov" --directory terraform/modules/gcp-api --var-file target/gcp-api-async.tfvars \
  --framework terraform --skip-download --compact --quiet
echo "check-terraform: checkov passed"
