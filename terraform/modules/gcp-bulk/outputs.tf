output "project_id" {
  description = "Project everything was deployed to."
  value       = var.project_id
}

output "region" {
  description = "Region of the buckets, the service and the trigger."
  value       = var.region
}

output "input_bucket" {
  description = "Bucket to upload exports to (under `input_base_path`)."
  value       = google_storage_bucket.this["input"].name
}

output "sanitized_bucket" {
  description = "Bucket the sanitized objects appear in, same name (with `output_base_path`)."
  value       = google_storage_bucket.this["sanitized"].name
}

output "service_name" {
  description = "Name of the Cloud Run service (its logs: `gcloud logging read 'resource.labels.service_name=\"<this>\"'`)."
  value       = google_cloud_run_v2_service.bulk.name
}

output "service_account_email" {
  description = "Service account the service runs as."
  value       = google_service_account.service.email
}

output "trigger_name" {
  description = "Name of the Eventarc trigger."
  value       = google_eventarc_trigger.input.name
}

output "eventarc_subscription" {
  description = "The Pub/Sub subscription Eventarc made for the trigger (`projects/<project>/subscriptions/eventarc-...`): where the retry policy and the dead-letter topic are set."
  value       = local.eventarc_subscription
}

output "dead_letter_topic" {
  description = "Topic receiving the events that failed every attempt, once attached (dead_letter_command)."
  value       = google_pubsub_topic.dead_letter.id
}

output "dead_letter_subscription" {
  description = "Subscription holding the dead letters (`gcloud pubsub subscriptions pull <this> --limit=10`)."
  value       = google_pubsub_subscription.dead_letter.id
}

output "dead_letter_command" {
  description = "Run once after apply (and after any change that re-creates the trigger): attaches the dead-letter topic to Eventarc's subscription and sets its push deadline to the request timeout, which Terraform cannot do on a subscription Eventarc manages."
  value       = local.dead_letter_command
}

output "secret_prefix" {
  description = "Prefix of the service's secrets in Secret Manager (`PATH_TO_INSTANCE_CONFIG`)."
  value       = local.secret_prefix
}

output "salt_secret_id" {
  description = "Secret holding the salt; the CLI needs the same salt to produce the same pseudonyms (`gcloud secrets versions access latest --secret <this>`)."
  value       = local.secret_environment["PSOXY_SALT"]
}
