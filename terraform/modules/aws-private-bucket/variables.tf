variable "name_prefix" {
  description = "Prefix of the bucket's name (AWS adds a unique suffix), e.g. `psoxy-events-sanitized-`."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the default encryption (SSE-KMS). Null: SSE-S3."
  type        = string
  default     = null
}

variable "expiration_days" {
  description = "Days before an object is deleted (0: never)."
  type        = number
  default     = 0
}

variable "reader_principal_arns" {
  description = "Principals allowed to list the bucket and read the objects under reader_prefix."
  type        = list(string)
  default     = []
}

variable "reader_prefix" {
  description = "Key prefix the readers may read (empty: every object)."
  type        = string
  default     = ""
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with its objects."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags of the bucket."
  type        = map(string)
  default     = {}
}
