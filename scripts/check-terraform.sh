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
# The options of issue 22, each gated by a variable whose default leaves them out: Secrets Manager
# instead of SSM, VPC placement, a customer key, additional outputs, existing buckets.
cat >target/bulk-options.tfvars <<'EOF'
fanout_enabled = true
secrets_store  = "aws_secrets_manager"
kms_key_arn    = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
vpc_config     = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["sg-0123456789abcdef0"] }
additional_transforms = [
  { destination_bucket_name = "psoxy-extra-outputs", path_within_bucket = "v2/", rules = "columnsToRedact: [SALARY]\n" },
  { destination_bucket_name = "psoxy-team-outputs", rules = "columnsToPseudonymize: [EMPLOYEE_ID]\n", kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111" },
]
EOF
"$checkov_bin/checkov" --directory terraform/modules/aws-bulk --var-file target/bulk-options.tfvars \
  --framework terraform --skip-download --compact --quiet
cat >target/bulk-existing.tfvars <<'EOF'
existing_input_bucket_name     = "psoxy-existing-input"
existing_sanitized_bucket_name = "psoxy-existing-sanitized"
secrets_store                  = "aws_secrets_manager"
EOF
"$checkov_bin/checkov" --directory terraform/modules/aws-bulk --var-file target/bulk-existing.tfvars \
  --framework terraform --skip-download --compact --quiet
cat >target/api-options.tfvars <<'EOF'
source_auth_strategy_identifier   = "oauth2_refresh_token"
grant_type                        = "refresh_token"
use_shared_token                  = true
secrets_store                     = "aws_secrets_manager"
kms_key_arn                       = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
vpc_config                        = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["sg-0123456789abcdef0"] }
enable_async_processing           = true
existing_async_output_destination = "s3://psoxy-existing-answers/api"
EOF
"$checkov_bin/checkov" --directory terraform/modules/aws-api --var-file target/api-options.tfvars \
  --framework terraform --skip-download --compact --quiet
cat >target/webhook-options.tfvars <<'EOF'
secrets_store = "aws_secrets_manager"
kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
vpc_config    = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["sg-0123456789abcdef0"] }
EOF
"$checkov_bin/checkov" --directory terraform/modules/aws-webhook --var-file target/webhook-options.tfvars \
  --framework terraform --skip-download --compact --quiet
# And those of the Google Cloud API module.
printf 'enable_async_processing = true\nside_output_sanitized = "gs://psoxy-side-outputs/api"\n' >target/gcp-api-async.tfvars
"$checkov_bin/checkov" --directory terraform/modules/gcp-api --var-file target/gcp-api-async.tfvars \
  --framework terraform --skip-download --compact --quiet
echo "check-terraform: checkov passed"
