variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "vendor_service_account_ids" {
  description = "Unique (numeric) ids of the analytics vendor's Google service accounts that read the sanitized bucket (from the vendor's console). Empty: no federated reader."
  type        = list(string)
  default     = []
}

variable "vendor_aws_principals" {
  description = "AWS principal ARNs allowed to assume the reader role instead of (or as well as) the Google service accounts."
  type        = list(string)
  default     = []
}

variable "salt" {
  description = "PSOXY_SALT of an existing Psoxy deployment, to keep its pseudonyms. Null: a new salt is generated."
  type        = string
  default     = null
  sensitive   = true
}

variable "alarm_email" {
  description = "Email address told when an export fails to sanitize (it must confirm the SNS subscription). Null: alarms without notification."
  type        = string
  default     = null
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` remove the buckets with their objects (for a trial deployment)."
  type        = bool
  default     = false
}
