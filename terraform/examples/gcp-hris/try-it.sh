#!/usr/bin/env bash
# Uploads sample-data/hris.csv to the deployed input bucket, waits for the sanitized copy and
# prints its first lines and its psoxy metadata. Run from this directory after `terraform
# apply`; needs the gcloud CLI with the same credentials.
set -euo pipefail
cd "$(dirname "$0")"
repo_root=../../..

input_bucket=$(terraform output -raw input_bucket)
sanitized_bucket=$(terraform output -raw sanitized_bucket)
service=$(terraform output -raw service_name)
project=$(terraform output -raw project_id)
name="hris/sample-$(date -u +%Y%m%dT%H%M%SZ).csv"

echo "uploading sample-data/hris.csv to gs://$input_bucket/$name"
gcloud storage cp --project "$project" "$repo_root/sample-data/hris.csv" "gs://$input_bucket/$name"

echo "waiting for gs://$sanitized_bucket/$name (up to 2 minutes)"
for _ in $(seq 1 60); do
  if gcloud storage objects describe --project "$project" "gs://$sanitized_bucket/$name" \
    --format='yaml(content_encoding,content_type,custom_fields)' 2>/dev/null; then
    # Stored gzipped (Content-Encoding: gzip); `gzip -dcf` also passes plain text through.
    gcloud storage cat --project "$project" "gs://$sanitized_bucket/$name" | gzip -dcf | head -5
    exit 0
  fi
  sleep 2
done

echo "no sanitized object after 2 minutes; the service's log says why:" >&2
gcloud logging read --project "$project" --freshness=10m --limit=20 \
  "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"$service\"" >&2 || true
exit 1
