#!/usr/bin/env bash
# Uploads sample-data/hris.csv to the deployed input bucket, waits for the sanitized copy and
# prints its first lines and its psoxy metadata. Run from this directory after `terraform
# apply`; needs the AWS CLI with the same credentials.
set -euo pipefail
cd "$(dirname "$0")"
repo_root=../../..

input_bucket=$(terraform output -raw input_bucket)
sanitized_bucket=$(terraform output -raw sanitized_bucket)
region=$(terraform output -raw region)
key="hris/sample-$(date -u +%Y%m%dT%H%M%SZ).csv"

echo "uploading sample-data/hris.csv to s3://$input_bucket/$key"
aws s3 cp --region "$region" "$repo_root/sample-data/hris.csv" "s3://$input_bucket/$key"

echo "waiting for s3://$sanitized_bucket/$key (up to 2 minutes)"
for _ in $(seq 1 60); do
  if aws s3api head-object --region "$region" --bucket "$sanitized_bucket" --key "$key" >/dev/null 2>&1; then
    aws s3api head-object --region "$region" --bucket "$sanitized_bucket" --key "$key" \
      --query '{ContentEncoding: ContentEncoding, ContentType: ContentType, Metadata: Metadata}'
    # The object is stored gzipped (Content-Encoding: gzip).
    aws s3 cp --region "$region" "s3://$sanitized_bucket/$key" - | gunzip | head -5
    exit 0
  fi
  sleep 2
done

echo "no sanitized object after 2 minutes; the function's log says why:" >&2
aws logs tail --region "$region" "$(terraform output -raw log_group)" --since 10m >&2 || true
exit 1
