# Who may do what, and nothing more:
#   - the service's account reads the input bucket (objectViewer), creates and deletes objects
#     in the sanitized bucket (a custom role: an upload is created only when it is finalized,
#     and replacing an object deletes the old one), and reads its own secrets;
#   - the trigger's account invokes this service only, and receives Eventarc events (a
#     project-level role: Eventarc has no narrower binding);
#   - the Cloud Storage service agent publishes the bucket's events (project-level: Eventarc
#     checks it there when it creates the trigger);
#   - the Pub/Sub service agent forwards dead letters (on the topic and Eventarc's subscription);
#   - readers (var.sanitized_bucket_readers) read the sanitized bucket.

resource "google_service_account" "service" {
  project      = var.project_id
  account_id   = local.service_name
  display_name = "psoxy ${var.instance_id} bulk service"
  description  = "Runs the psoxy bulk service ${local.service_name}: reads gs://${local.buckets.input.name}, writes gs://${local.buckets.sanitized.name}."
}

resource "google_service_account" "trigger" {
  project      = var.project_id
  account_id   = "${local.service_name}-trigger"
  display_name = "psoxy ${var.instance_id} Eventarc trigger"
  description  = "Identity of the Eventarc trigger that invokes ${local.service_name}."
}

# --- Buckets ---------------------------------------------------------------------------------

resource "google_storage_bucket_iam_member" "service_reads_input" {
  bucket = google_storage_bucket.this["input"].name
  role   = "roles/storage.objectViewer"
  member = google_service_account.service.member
}

resource "google_project_iam_custom_role" "output_writer" {
  project     = var.project_id
  role_id     = "psoxy_${replace(var.instance_id, "-", "_")}_output_writer"
  title       = "psoxy ${var.instance_id} output writer"
  description = "Create and replace objects, nothing else (no read, no list): bound on the sanitized bucket of ${local.service_name} only."
  permissions = [
    "storage.objects.create",
    "storage.objects.delete",
  ]
}

resource "google_storage_bucket_iam_member" "service_writes_sanitized" {
  bucket = google_storage_bucket.this["sanitized"].name
  role   = google_project_iam_custom_role.output_writer.name
  member = google_service_account.service.member
}

resource "google_storage_bucket_iam_member" "reader_reads_sanitized" {
  for_each = toset(var.sanitized_bucket_readers)

  bucket = google_storage_bucket.this["sanitized"].name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${each.value}"
}

# --- Secrets ---------------------------------------------------------------------------------

resource "google_secret_manager_secret_iam_member" "service" {
  for_each = local.secret_environment

  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.service.member
}

# --- The trigger -----------------------------------------------------------------------------

resource "google_cloud_run_v2_service_iam_member" "trigger_invokes_service" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.bulk.name
  role     = "roles/run.invoker"
  member   = google_service_account.trigger.member
}

resource "google_project_iam_member" "trigger_receives_events" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.trigger.member
}

resource "google_project_iam_member" "gcs_agent_publishes_events" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = data.google_storage_project_service_account.gcs.member
}

# --- Dead letters ----------------------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "pubsub_agent_publishes_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

# Pub/Sub acknowledges a forwarded message on the source subscription as its service agent.
# (Eventarc reports the subscription's full name; the grant takes its id in the project.)
resource "google_pubsub_subscription_iam_member" "pubsub_agent_forwards_dead_letters" {
  project      = var.project_id
  subscription = basename(local.eventarc_subscription)
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# --- Customer-managed key (only with kms_key_name) -------------------------------------------

resource "google_kms_crypto_key_iam_member" "agents_use_key" {
  for_each = var.kms_key_name == null ? {} : {
    gcs    = data.google_storage_project_service_account.gcs.member
    pubsub = local.pubsub_agent
  }

  crypto_key_id = var.kms_key_name
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = each.value
}
