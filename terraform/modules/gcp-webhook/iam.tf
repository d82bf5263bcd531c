# Who may do what, and nothing more:
#   - anyone may invoke the collector (the JWT it verifies is the check);
#   - the collector's account creates objects in the queue bucket (objectCreator: no read, no
#     list, no delete) and reads its own secrets;
#   - the batch service's account reads, lists and deletes the queued objects (objectUser on
#     the queue bucket) and creates or replaces batches in the output bucket (a custom role:
#     create and delete, no read); no secret;
#   - the scheduler's account invokes the batch service only;
#   - the issuers (issuer_members) sign with the signing key only;
#   - readers (output_reader_members) read the output bucket;
#   - with kms_key_name, the Cloud Storage service agent uses that key only.
# Nothing is granted at the project level.

resource "google_service_account" "collector" {
  project      = var.project_id
  account_id   = local.service_name
  display_name = "psoxy ${var.instance_id} webhook collector"
  description  = "Runs the psoxy webhook collector ${local.service_name}: writes gs://${local.buckets.queue.name}/${local.queue_prefix}."
}

resource "google_service_account" "batch" {
  project      = var.project_id
  account_id   = local.batch_service_name
  display_name = "psoxy ${var.instance_id} webhook batches"
  description  = "Runs ${local.batch_service_name}: takes gs://${local.buckets.queue.name}/${local.queue_prefix}, writes gs://${local.buckets.output.name}/${local.output_prefix}."
}

resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "${local.service_name}-sched"
  display_name = "psoxy ${var.instance_id} batch scheduler"
  description  = "Identity of the Cloud Scheduler job that invokes ${local.batch_service_name}."
}

# --- Who may invoke ---------------------------------------------------------------------------

resource "google_cloud_run_v2_service_iam_member" "public_invokes_collector" {
  #checkov:skip=CKV_GCP_102:A webhook collector is called by tools outside Google Cloud that cannot mint Google ID tokens; every request must carry a JWT signed by an accepted key, which the service verifies before reading the payload.
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.collector.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_v2_service_iam_member" "scheduler_invokes_batch" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.batch.name
  role     = "roles/run.invoker"
  member   = google_service_account.scheduler.member
}

# --- Buckets ---------------------------------------------------------------------------------

resource "google_storage_bucket_iam_member" "collector_writes_queue" {
  bucket = google_storage_bucket.this["queue"].name
  role   = "roles/storage.objectCreator"
  member = google_service_account.collector.member
}

resource "google_storage_bucket_iam_member" "batch_takes_queue" {
  bucket = google_storage_bucket.this["queue"].name
  role   = "roles/storage.objectUser"
  member = google_service_account.batch.member
}

resource "google_project_iam_custom_role" "output_writer" {
  project     = var.project_id
  role_id     = "psoxy_${replace(var.instance_id, "-", "_")}_webhook_output_writer"
  title       = "psoxy ${var.instance_id} webhook batch writer"
  description = "Create and replace objects, nothing else (no read, no list): bound on the output bucket of ${local.batch_service_name} only. Replacing matters: a batch whose queued messages could not be deleted is rebuilt under the same name."
  permissions = [
    "storage.objects.create",
    "storage.objects.delete",
  ]
}

resource "google_storage_bucket_iam_member" "batch_writes_output" {
  bucket = google_storage_bucket.this["output"].name
  role   = google_project_iam_custom_role.output_writer.name
  member = google_service_account.batch.member
}

resource "google_storage_bucket_iam_member" "readers_read_output" {
  for_each = toset(var.output_reader_members)

  bucket = google_storage_bucket.this["output"].name
  role   = "roles/storage.objectViewer"
  member = each.value
}

# --- Secrets ---------------------------------------------------------------------------------

resource "google_secret_manager_secret_iam_member" "collector" {
  for_each = local.secret_environment

  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.collector.member
}

# --- Customer-managed key (only with kms_key_name) -------------------------------------------

data "google_storage_project_service_account" "gcs" {
  count = var.kms_key_name == null ? 0 : 1

  project = var.project_id
}

resource "google_kms_crypto_key_iam_member" "agents_use_key" {
  for_each = var.kms_key_name == null ? {} : { gcs = data.google_storage_project_service_account.gcs[0].member }

  crypto_key_id = var.kms_key_name
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = each.value
}
