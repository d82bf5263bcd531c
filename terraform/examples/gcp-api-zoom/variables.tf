variable "project_id" {
  description = "Google Cloud project to deploy to."
  type        = string
}

variable "region" {
  description = "Region of the service."
  type        = string
  default     = "us-central1"
}

variable "image" {
  description = "The pushed psoxy image, by digest (`<region>-docker.pkg.dev/<project>/<repository>/psoxy-gcp@sha256:...`): README step 1."
  type        = string
}

variable "zoom_client_id" {
  description = "Client ID of the Zoom Server-to-Server OAuth app (App Credentials page); not a secret. Its account id and client secret go in Secret Manager (README step 4)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{10,64}$", var.zoom_client_id))
    error_message = "zoom_client_id must be the app's Client ID (letters, digits, `_` and `-`), not its secret."
  }
}

variable "caller_service_accounts" {
  description = "Emails of the service accounts allowed to call the proxy (the analytics vendor's, and your own to try it)."
  type        = list(string)
  default     = []
}

variable "salt" {
  description = "PSOXY_SALT of an existing deployment, to keep its pseudonyms. Null: a new salt is generated."
  type        = string
  default     = null
  sensitive   = true
}

variable "alert_email" {
  description = "Email address told when the service answers with a server error. Null: alerts without notification."
  type        = string
  default     = null
}
