output "project_id" {
  description = "Project everything was deployed to."
  value       = var.project_id
}

output "region" {
  description = "Region of the services and the buckets."
  value       = var.region
}

output "collector_url" {
  description = "Where tools POST their webhooks (JSON or NDJSON) with `Authorization: Bearer <JWT>`."
  value       = google_cloud_run_v2_service.collector.uri
}

output "collector_service_name" {
  description = "Name of the collector's Cloud Run service (its logs: `gcloud logging read 'resource.labels.service_name=\"<this>\"'`)."
  value       = google_cloud_run_v2_service.collector.name
}

output "batch_service_name" {
  description = "Name of the batch service (Cloud Run)."
  value       = google_cloud_run_v2_service.batch.name
}

output "scheduler_job_name" {
  description = "The Cloud Scheduler job that runs the batches (`gcloud scheduler jobs run <this> --location <region>` runs one now)."
  value       = google_cloud_scheduler_job.batch.name
}

output "queue_bucket" {
  description = "Bucket the sanitized webhooks wait in (under `queue/`) until batched."
  value       = google_storage_bucket.this["queue"].name
}

output "output_bucket" {
  description = "Bucket the batches are written to (gzipped NDJSON, named by their content)."
  value       = google_storage_bucket.this["output"].name
}

output "output_prefix" {
  description = "Prefix of the batches' names in the output bucket."
  value       = local.output_prefix
}

output "signing_key_id" {
  description = "The signing key made here (null without create_signing_key): `projects/.../cryptoKeys/token-signer`."
  value       = one(google_kms_crypto_key.auth[*].id)
}

output "signing_key_version" {
  description = "The key version the issuer signs with, `projects/.../cryptoKeys/token-signer/cryptoKeyVersions/<signing_key_version>` (the API's `<this>:asymmetricSign`, or `gcloud kms asymmetric-sign --version <signing_key_version> ...`); null without create_signing_key."
  value       = one(data.google_kms_crypto_key_version.auth[*].name)
}

output "accepted_auth_keys" {
  description = "The public keys the collector accepts (`ACCEPTED_AUTH_KEYS`, not secret)."
  value       = local.accepted_auth_keys
}

output "collector_service_account_email" {
  description = "Service account the collector runs as."
  value       = google_service_account.collector.email
}

output "batch_service_account_email" {
  description = "Service account the batch service runs as."
  value       = google_service_account.batch.email
}

output "secret_prefix" {
  description = "Prefix of the collector's secrets in Secret Manager (`PATH_TO_INSTANCE_CONFIG`)."
  value       = local.secret_prefix
}

output "salt_secret_id" {
  description = "Secret holding the salt (the CLI and the other modes need the same salt to produce the same pseudonyms)."
  value       = local.secret_environment["PSOXY_SALT"]
}
