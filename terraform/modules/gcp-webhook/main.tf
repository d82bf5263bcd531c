# The webhook collector on Google Cloud. Two Cloud Run services run the same image as the other
# GCP modules (`/psoxy-gcp`):
#   - the collector (`webhook`), reachable by anyone: every request must carry a bearer JWT
#     signed by an accepted key, which the service verifies itself before it reads the payload;
#     it sanitizes the payload by the rules and writes it, as one object, to the queue bucket;
#   - the batch service (`webhook-batch`), private, invoked by a Cloud Scheduler job (an OIDC
#     token of the scheduler's own account): it merges the queued objects into one gzipped
#     NDJSON object in the output bucket, which the analytics vendor reads, and deletes them.
# Resources by concern:
#   auth_key.tf   the Cloud KMS signing key of the customer's token issuer (optional)
#   buckets.tf    the queue and output buckets and their guard rails
#   secrets.tf    salt and encryption key in Secret Manager
#   services.tf   the two Cloud Run services
#   scheduler.tf  the Cloud Scheduler job that runs the batches
#   iam.tf        the service accounts and every grant (bucket-, secret-, key- and service-level;
#                 nothing at the project level)
#   monitoring.tf alert policies (and the batch backlog's log-based metric)

locals {
  service_name       = "psoxy-${var.instance_id}"
  batch_service_name = "${local.service_name}-batch"
  # Secret Manager ids are `<prefix><SETTING>`, the prefix being Psoxy's default instance
  # namespace: the service's name upper-cased, `-` as `_`, and `_` (psoxy-events -> PSOXY_EVENTS_).
  secret_prefix = "${upper(replace(local.service_name, "-", "_"))}_"

  # Where the collector queues each sanitized webhook (one object each), and where the batch
  # service writes the merged batches (as the binary forms keys: no leading or trailing `/`,
  # then one `/`).
  queue_prefix  = "queue/"
  output_prefix = trim(var.output_prefix, "/") == "" ? "" : "${trim(var.output_prefix, "/")}/"
  queue_url     = "gs://${google_storage_bucket.this["queue"].name}/${local.queue_prefix}"
  batch_url     = "gs://${google_storage_bucket.this["output"].name}/${local.output_prefix}"

  labels = merge({ "psoxy-instance" = var.instance_id }, var.labels)
}
