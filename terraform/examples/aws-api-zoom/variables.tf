variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "zoom_client_id" {
  description = "Client ID of the Zoom Server-to-Server OAuth app (App Credentials page); not a secret. Its account id and client secret go in SSM (README step 3)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{10,64}$", var.zoom_client_id))
    error_message = "zoom_client_id must be the app's Client ID (letters, digits, `_` and `-`), not its secret."
  }
}

variable "caller_principal_arns" {
  description = "IAM role or user ARNs (e.g. the analytics vendor's AWS role) allowed to call the function URL directly."
  type        = list(string)
  default     = []
}

variable "caller_aws_principals" {
  description = "AWS principal ARNs allowed to assume the caller role `psoxy-zoom-caller` (e.g. your own admin role, to try the proxy). Empty, with no Google service account either: no caller role."
  type        = list(string)
  default     = []
}

variable "caller_external_id" {
  description = "External id the AWS principals must pass when assuming the caller role (null: none required)."
  type        = string
  default     = null
}

variable "caller_google_service_account_ids" {
  description = "Unique (numeric) ids of the vendor's Google service accounts allowed to assume the caller role by web-identity federation."
  type        = list(string)
  default     = []
}

variable "salt" {
  description = "PSOXY_SALT of an existing deployment, to keep its pseudonyms. Null: a new salt is generated."
  type        = string
  default     = null
  sensitive   = true
}

variable "alarm_email" {
  description = "Email address told when the function fails or is throttled (it must confirm the SNS subscription). Null: alarms without notification."
  type        = string
  default     = null
}
