# ---------------------------------------------------------------------------------------------
# What is deployed
# ---------------------------------------------------------------------------------------------

variable "instance_id" {
  description = "Name of this collector, e.g. `meetings-webhooks`. Used in the function name (`psoxy-<instance_id>`), the SSM parameter prefix, the queue and bucket names and `PSOXY_INSTANCE_ID`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$", var.instance_id))
    error_message = "instance_id must be 2-40 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "lambda_zip_path" {
  description = "Path of the `psoxy-webhook` function package (`target/lambda/psoxy-webhook/bootstrap.zip` from `scripts/package-lambda.sh`). Its SHA-256 decides whether the code is updated."
  type        = string

  validation {
    condition     = fileexists(var.lambda_zip_path)
    error_message = "lambda_zip_path does not exist: build the psoxy-webhook package first (bash scripts/package-lambda.sh)."
  }
}

variable "rules_file" {
  description = "Path of the webhook rules YAML (Psoxy's WebhookCollectionRules: jwtClaimsToVerify and one endpoint's transforms); its content becomes `RULES`. Give this or `rules`, not both."
  type        = string
  default     = null

  validation {
    condition     = var.rules_file == null || try(fileexists(var.rules_file), false)
    error_message = "rules_file does not exist."
  }
}

variable "rules" {
  description = "The webhook rules as YAML text, instead of `rules_file`."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource that takes them."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------

variable "provision_auth_key" {
  description = "Create an asymmetric KMS key (RSA, SIGN_VERIFY) whose signatures the collector accepts: the customer's token issuer signs webhook JWTs with kms:Sign (RS256 or PS256). Rotate by creating a new key and listing the old one in accepted_auth_keys until its tokens expire."
  type        = bool
  default     = true
}

variable "auth_key_spec" {
  description = "Key spec of the provisioned signing key."
  type        = string
  default     = "RSA_2048"

  validation {
    condition     = contains(["RSA_2048", "RSA_3072", "RSA_4096"], var.auth_key_spec)
    error_message = "auth_key_spec must be RSA_2048, RSA_3072 or RSA_4096 (the collector accepts RSA signatures only)."
  }
}

variable "auth_key_signer_role_names" {
  description = "IAM roles (by name, in this account) allowed to sign tokens with the provisioned key (kms:Sign)."
  type        = list(string)
  default     = []
}

variable "accepted_auth_keys" {
  description = "Other keys tokens may be signed with (`ACCEPTED_AUTH_KEYS`): `base64:<RSA SubjectPublicKeyInfo, DER, base64>` or `aws-kms:<key ARN>` (the function is granted kms:GetPublicKey on it)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.accepted_auth_keys : startswith(k, "base64:") || (startswith(k, "aws-kms:arn:") && strcontains(k, ":key/"))])
    error_message = "Each accepted key starts with `base64:` or is `aws-kms:<key ARN>` (arn:...:key/<id>, not an alias: IAM grants kms:GetPublicKey on the key's ARN)."
  }
}

variable "auth_issuer" {
  description = "`AUTH_ISSUER`: the `iss` every token must carry (and the issuer of the collector's discovery document). Null: `iss` is not checked."
  type        = string
  default     = null
}

variable "auth_audience" {
  description = "`AUTH_AUDIENCE`: a value every token's `aud` must hold. Null: `aud` is not checked."
  type        = string
  default     = null
}

variable "allow_origins" {
  description = "Browser origins allowed to send webhooks (CORS), e.g. [\"https://tools.example.com\"]; `*` allows any."
  type        = list(string)
  default     = ["*"]
}

variable "allowed_ip_blocks" {
  description = "Addresses and CIDR blocks allowed to send (`ALLOWED_DATA_ACCESS_IP_BLOCKS`); empty: any."
  type        = list(string)
  default     = []
}

# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------

variable "sanitized_bucket_name" {
  description = "An existing bucket to write the batches to. Null: a bucket is made here with the bulk module's guard rails."
  type        = string
  default     = null
}

variable "output_path_prefix" {
  description = "Key prefix of the batches in the bucket, e.g. `webhooks/meetings`; empty: the bucket's root."
  type        = string
  default     = ""
}

variable "sanitized_expiration_days" {
  description = "Days before a batch in the bucket made here is deleted (0: never)."
  type        = number
  default     = 0
}

variable "reader_principal_arns" {
  description = "Principals (e.g. the analytics vendor's role) allowed to list and read the batches, by a bucket policy on the bucket made here."
  type        = list(string)
  default     = []
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` delete the bucket made here with its objects."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------------------------
# Queue
# ---------------------------------------------------------------------------------------------

variable "batch_size" {
  description = "Most messages (webhooks) merged into one object."
  type        = number
  default     = 1000

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be between 1 and 10000."
  }
}

variable "batch_window_seconds" {
  description = "Most seconds the queue waits to fill a batch (`maximum_batching_window_in_seconds`); more seconds, fewer and larger objects."
  type        = number
  default     = 300

  validation {
    condition     = var.batch_window_seconds >= 0 && var.batch_window_seconds <= 300
    error_message = "batch_window_seconds must be between 0 and 300."
  }
}

variable "max_receive_count" {
  description = "Deliveries of a message before it goes to the dead-letter queue."
  type        = number
  default     = 5
}

# ---------------------------------------------------------------------------------------------
# Settings, function and logs
# ---------------------------------------------------------------------------------------------

variable "path_prefix" {
  description = "Parameters live under `/<path_prefix><instance_id>/` (`PATH_TO_INSTANCE_CONFIG`). Empty or ending with `/`."
  type        = string
  default     = "psoxy/"

  validation {
    condition     = can(regex("^([A-Za-z0-9_.-]+/)*$", var.path_prefix))
    error_message = "path_prefix must be empty or look like `psoxy/` (no leading /, ends with /)."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key (its ARN) for the SecureString parameters or Secrets Manager secrets, the queues, the bucket made here, the log group and the function's environment; the function is granted kms:Decrypt and kms:GenerateDataKey on it, which also covers an existing `sanitized_bucket_name` encrypted with it. Null: AWS-managed encryption. The key policy must let the account use it (IAM policies then grant it), and let `logs.<region>.amazonaws.com` use it for the log group; the module does not change the key's policy."
  type        = string
  default     = null
}

variable "secrets_store" {
  description = "Where the salt (and rules too large for the environment) are kept and read: `aws_ssm_parameter_store` (SSM parameters) or `aws_secrets_manager` (Secrets Manager secrets of the same names, `/<path_prefix><instance_id>/PSOXY_SALT`, encrypted with `kms_key_arn` when given; the function gets `SECRETS_STORE=AWS_SECRETS_MANAGER` and secretsmanager:GetSecretValue on its prefix instead of any SSM read). Switching moves nothing: set `salt` to keep the pseudonyms."
  type        = string
  default     = "aws_ssm_parameter_store"

  validation {
    condition     = contains(["aws_ssm_parameter_store", "aws_secrets_manager"], var.secrets_store)
    error_message = "secrets_store must be aws_ssm_parameter_store or aws_secrets_manager."
  }
}

variable "salt" {
  description = "The salt of an existing deployment (`PSOXY_SALT`), so webhook pseudonyms join its bulk and API data. Null: a random salt is generated once."
  type        = string
  default     = null
  sensitive   = true
}

variable "memory_mb" {
  description = "Function memory in MB."
  type        = number
  default     = 512
}

variable "timeout_seconds" {
  description = "Function timeout in seconds (one webhook, or one batch)."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 1 and 900."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions (-1: no reservation)."
  type        = number
  default     = 20
}

variable "vpc_config" {
  description = "Run the function in a VPC: its network interfaces go in `subnet_ids` with `security_group_ids`, and its role gets a policy of its own allowing ec2:CreateNetworkInterface in those subnets with those groups, ec2:DeleteNetworkInterface, ec2:AssignPrivateIpAddresses and ec2:UnassignPrivateIpAddresses on this account's network interfaces in the region, and ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets (on `*`, as AWS requires). The function URL still receives the webhooks. The subnets need a route to every AWS API the function calls: SQS, S3 (a gateway endpoint), SSM or Secrets Manager, KMS (the accepted keys' public halves, a customer key) (interface endpoints, or a NAT gateway). Null: no VPC."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null

  validation {
    condition = var.vpc_config == null || try(
      length(var.vpc_config.subnet_ids) > 0 && length(var.vpc_config.security_group_ids) > 0
      && alltrue([for id in var.vpc_config.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
      && alltrue([for id in var.vpc_config.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))]),
      false,
    )
    error_message = "vpc_config needs at least one subnet id (subnet-...) and one security group id (sg-...)."
  }
}

variable "log_level" {
  description = "The function's log filter (`RUST_LOG`)."
  type        = string
  default     = "info"
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts."
  }
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when the function fails or a webhook reaches the dead-letter queue."
  type        = list(string)
  default     = []
}
