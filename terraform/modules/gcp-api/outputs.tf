output "project_id" {
  description = "Project the service was deployed to."
  value       = var.project_id
}

output "region" {
  description = "Region of the service."
  value       = var.region
}

output "service_url" {
  description = "The proxy's base URL: append the source API's path and query; each request carries an ID token of a caller whose audience is this URL (`Authorization: Bearer <token>`)."
  value       = google_cloud_run_v2_service.api.uri
}

output "service_name" {
  description = "Name of the Cloud Run service (its logs: `gcloud logging read 'resource.labels.service_name=\"<this>\"'`)."
  value       = google_cloud_run_v2_service.api.name
}

output "service_account_email" {
  description = "Service account the service runs as."
  value       = google_service_account.service.email
}

output "service_account_unique_id" {
  description = "Numeric id of the service's account: with grant_type workload_identity_federation, the subject of the Entra app's federated credential (issuer https://accounts.google.com, audience `audience`)."
  value       = google_service_account.service.unique_id
}

output "secret_prefix" {
  description = "Prefix of the service's secrets in Secret Manager (`PATH_TO_INSTANCE_CONFIG`)."
  value       = local.secret_prefix
}

output "salt_secret_id" {
  description = "Secret holding the salt (the CLI needs the same salt to produce the same pseudonyms)."
  value       = local.secret_environment["PSOXY_SALT"]
}

output "secret_ids" {
  description = "Secrets to fill with the source's credentials (`gcloud secrets versions add <id> --data-file=-`), by setting (with a shared token also ACCESS_TOKEN, which the service fills itself)."
  value       = { for name in local.source_secret_settings : name => google_secret_manager_secret.this[name].secret_id }
}

output "shared_token_lock_secret_id" {
  description = "With a shared token (else null): the secret whose label `locked` is the refresh lock (the service updates it; it holds no version)."
  value       = local.use_shared_token ? google_secret_manager_secret.this[local.shared_token_lock].secret_id : null
}

output "async_output_bucket" {
  description = "With enable_async_processing (else null): the bucket of the asynchronous answers (the `Location` of a 202 names the object, `gs://<this>/yyyyMMdd/<id>`)."
  value       = local.async_enabled ? google_storage_bucket.async["output"].name : null
}

output "async_jobs_bucket" {
  description = "With enable_async_processing (else null): the bucket the accepted asynchronous requests wait in, under `jobs/`, until run."
  value       = local.async_enabled ? google_storage_bucket.async["jobs"].name : null
}

output "async_subscription_command" {
  description = "With enable_async_processing (else null): run once after apply (and after anything that re-creates the trigger): attaches the dead-letter topic to Eventarc's subscription (after max_delivery_attempts) and sets its push deadline to the request timeout (at most 600 s), which Terraform cannot do on a subscription Eventarc manages."
  value       = local.async_subscription_command
}

output "async_eventarc_subscription" {
  description = "With enable_async_processing (else null): the Pub/Sub subscription Eventarc made for the jobs' trigger (`projects/<project>/subscriptions/eventarc-...`), where the dead-letter topic and the push deadline are set."
  value       = local.async_subscription
}

output "async_dead_letter_topic" {
  description = "With enable_async_processing (else null): the topic receiving the job events that failed every delivery attempt, once attached (async_subscription_command)."
  value       = local.async_enabled ? google_pubsub_topic.async_dead_letter[0].id : null
}

output "async_dead_letter_subscription" {
  description = "With enable_async_processing (else null): the subscription holding those dead letters, 7 days (`gcloud pubsub subscriptions pull <this> --limit=10`); each names a job object left in the jobs bucket."
  value       = local.async_enabled ? google_pubsub_subscription.async_dead_letter[0].id : null
}
