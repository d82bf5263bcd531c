variable "project_id" {
  description = "Google Cloud project to deploy to."
  type        = string
}

variable "region" {
  description = "Region of the buckets and the service."
  type        = string
  default     = "us-central1"
}

variable "image" {
  description = "The pushed psoxy image, by digest (`<region>-docker.pkg.dev/<project>/<repository>/psoxy-gcp@sha256:...`): README step 1."
  type        = string
}

variable "vendor_service_accounts" {
  description = "Emails of the analytics vendor's service accounts that read the sanitized bucket. Empty: no reader."
  type        = list(string)
  default     = []
}

variable "salt" {
  description = "PSOXY_SALT of an existing Psoxy deployment, to keep its pseudonyms. Null: a new salt is generated."
  type        = string
  default     = null
  sensitive   = true
}

variable "alert_email" {
  description = "Email address told when an export fails to sanitize. Null: alerts without notification."
  type        = string
  default     = null
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` remove the buckets with their objects (for a trial deployment)."
  type        = bool
  default     = false
}
