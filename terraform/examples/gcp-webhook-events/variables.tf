variable "project_id" {
  description = "Google Cloud project to deploy to."
  type        = string
}

variable "region" {
  description = "Region of the services, buckets and signing key."
  type        = string
  default     = "us-central1"
}

variable "image" {
  description = "The pushed psoxy image, by digest (`<region>-docker.pkg.dev/<project>/<repository>/psoxy-gcp@sha256:...`): README step 1."
  type        = string
}

variable "auth_issuer" {
  description = "The `iss` the issuer puts in every token (null: not checked)."
  type        = string
  default     = null
}

variable "issuer_members" {
  description = "IAM members of the token issuer (e.g. `serviceAccount:token-issuer@my-project.iam.gserviceaccount.com`): allowed to sign with the collector's key."
  type        = list(string)
  default     = []
}

variable "salt" {
  description = "The salt of your existing deployment (its secret PSOXY_SALT), so the webhook pseudonyms join your HRIS data. Null: a new salt is generated."
  type        = string
  default     = null
  sensitive   = true
}

variable "output_reader_members" {
  description = "The analytics vendor's members (e.g. `serviceAccount:reader@vendor-project.iam.gserviceaccount.com`), allowed to read the batches."
  type        = list(string)
  default     = []
}

variable "alert_email" {
  description = "Email address told when the collector or a batch fails. Null: alerts without notification."
  type        = string
  default     = null
}
