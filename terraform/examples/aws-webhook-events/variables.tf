variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "auth_issuer" {
  description = "The `iss` the issuer puts in every token (null: not checked)."
  type        = string
  default     = null
}

variable "signer_role_names" {
  description = "IAM roles (names, this account) of the token issuer: allowed kms:Sign with the collector's key."
  type        = list(string)
  default     = []
}

variable "salt" {
  description = "The salt of your existing deployment (its SSM parameter PSOXY_SALT), so the webhook pseudonyms join your HRIS data."
  type        = string
  default     = null
  sensitive   = true
}

variable "reader_principal_arns" {
  description = "The analytics vendor's role(s), allowed to read the batches."
  type        = list(string)
  default     = []
}
