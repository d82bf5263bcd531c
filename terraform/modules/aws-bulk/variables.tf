# ---------------------------------------------------------------------------------------------
# What is deployed
# ---------------------------------------------------------------------------------------------

variable "instance_id" {
  description = "Name of this connector instance, e.g. `hris`. Used in the function name, the SSM parameter prefix and the bucket name prefixes; reported in each output object's `psoxy-instance-id` metadata."
  type        = string

  validation {
    # At most 20 characters: a generated bucket name prefix (`psoxy-<id>-sanitized-`) may
    # have at most 37.
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,18}[a-z0-9]$", var.instance_id))
    error_message = "instance_id must be 2-20 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "rules_file" {
  description = "Path of the rules YAML the function applies, normally one of the repository's `transforms/*.yaml`. Its content is stored in the SSM parameter `<prefix>RULES`; changing it restarts the function's instances so they read the new rules."
  type        = string

  validation {
    condition     = fileexists(var.rules_file)
    error_message = "rules_file does not exist."
  }
}

variable "lambda_zip_path" {
  description = "Path of the function package built by `scripts/package-lambda.sh` (default output: `target/lambda/psoxy-bulk/bootstrap.zip`). Its SHA-256 decides whether the code is updated, so rebuilding the same code is no change."
  type        = string

  validation {
    condition     = fileexists(var.lambda_zip_path)
    error_message = "lambda_zip_path does not exist: build it first with `bash scripts/package-lambda.sh`."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes them."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Buckets
# ---------------------------------------------------------------------------------------------

variable "input_bucket_name" {
  description = "Name of the bucket HR uploads exports to. Null: a unique name starting `psoxy-<instance_id>-input-` is generated."
  type        = string
  default     = null
}

variable "sanitized_bucket_name" {
  description = "Name of the bucket the sanitized objects are written to (read by the analytics vendor). Null: a unique name starting `psoxy-<instance_id>-sanitized-` is generated."
  type        = string
  default     = null
}

variable "existing_input_bucket_name" {
  description = "An existing bucket to read the exports from, instead of one made here: no bucket, policy, encryption, versioning or lifecycle is managed for it (they stay its owner's); the function may read it under `input_base_path`, and its notification invokes the function (see `manage_input_bucket_notification`). If it is encrypted with a customer-managed key, use that key as `kms_key_arn`. Null: a bucket is made here."
  type        = string
  default     = null

  validation {
    condition     = var.existing_input_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.existing_input_bucket_name, "x")))
    error_message = "existing_input_bucket_name must be a bucket name (not an ARN or s3:// URL)."
  }
}

variable "existing_sanitized_bucket_name" {
  description = "An existing bucket to write the sanitized objects to, instead of one made here (nothing is managed for it but the function's grant: s3:PutObject and s3:AbortMultipartUpload on its objects, and the reader role's read). If it is encrypted with a customer-managed key, use that key as `kms_key_arn`. Null: a bucket is made here."
  type        = string
  default     = null

  validation {
    condition     = var.existing_sanitized_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.existing_sanitized_bucket_name, "x")))
    error_message = "existing_sanitized_bucket_name must be a bucket name (not an ARN or s3:// URL)."
  }
}

variable "manage_input_bucket_notification" {
  description = "Manage the input bucket's S3 event notification (invoke the function on `s3:ObjectCreated:*`). A bucket has one notification configuration, which this replaces as a whole: with an existing input bucket that notifies anything else, set false and add the function (output `function_arn`, with `input_base_path` and `input_suffix` as filters) where that configuration is managed; the invoke permission is made either way."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key (its ARN) for the buckets made here (SSE-KMS), the SSM SecureString parameters or Secrets Manager secrets, the failure queue, the log groups and the functions' environment; the functions (and the reader role) are granted kms:Decrypt and kms:GenerateDataKey on it, which also covers existing buckets encrypted with it. Null: S3-managed keys (SSE-S3), the `aws/ssm` or `aws/secretsmanager` key, SQS-managed encryption. The key policy must let the account use it (IAM policies then grant it), and let `logs.<region>.amazonaws.com` use it for the log groups; the module does not change the key's policy. Step Functions' execution data (bucket names, keys, offsets) is encrypted with an AWS-owned key."
  type        = string
  default     = null
}

variable "enable_versioning" {
  description = "Turn on S3 versioning for both buckets."
  type        = bool
  default     = false
}

variable "input_expiration_days" {
  description = "Delete uploaded input objects this many days after upload (0: keep them). The raw exports hold PII, so a short expiry is recommended once sanitizing is verified."
  type        = number
  default     = 0

  validation {
    condition     = var.input_expiration_days >= 0 && floor(var.input_expiration_days) == var.input_expiration_days
    error_message = "input_expiration_days must be a whole number of days, 0 or more."
  }
}

variable "sanitized_expiration_days" {
  description = "Delete sanitized objects this many days after they are written (0: keep them)."
  type        = number
  default     = 0

  validation {
    condition     = var.sanitized_expiration_days >= 0 && floor(var.sanitized_expiration_days) == var.sanitized_expiration_days
    error_message = "sanitized_expiration_days must be a whole number of days, 0 or more."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "With versioning, delete non-current object versions this many days after they are replaced."
  type        = number
  default     = 30
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` delete buckets that still hold objects. Leave false outside of tests."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------------------------
# Trigger and key mapping
# ---------------------------------------------------------------------------------------------

variable "input_base_path" {
  description = "Only objects whose key starts with this prefix trigger the function (the notification's prefix filter); the prefix is removed from the output key (`INPUT_BASE_PATH`). Empty: every object."
  type        = string
  default     = ""
}

variable "input_suffix" {
  description = "Only objects whose key ends with this suffix trigger the function, e.g. `.csv` (the notification's suffix filter). Empty: any key."
  type        = string
  default     = ""
}

variable "output_base_path" {
  description = "Prefix added to every output key (`OUTPUT_BASE_PATH`)."
  type        = string
  default     = ""
}

variable "compress_output" {
  description = "Gzip outputs (`COMPRESS_OUTPUT_ALWAYS`), as Psoxy does by default. Parquet outputs are never gzip-wrapped."
  type        = bool
  default     = true
}

variable "bulk_output_format" {
  description = "Output format when it should differ from the input (`BULK_OUTPUT_FORMAT`): CSV, NDJSON, JSON_ARRAY or PARQUET. Null: same as the input."
  type        = string
  default     = null

  validation {
    condition     = var.bulk_output_format == null || contains(["CSV", "NDJSON", "JSON_ARRAY", "PARQUET"], coalesce(var.bulk_output_format, "CSV"))
    error_message = "bulk_output_format must be null, CSV, NDJSON, JSON_ARRAY or PARQUET."
  }
}

variable "additional_transforms" {
  description = "More outputs of each input (`ADDITIONAL_TRANSFORMS`), each with its own rules: written to `destination_bucket_name` under `path_within_bucket` followed by the input key (without `input_base_path`), gzipped unless `compress_output` is false. `rules` is the rules' YAML text, or `rules_file` the path of a rules YAML (exactly one). The functions may write each destination only under its path (s3:PutObject, s3:AbortMultipartUpload), and use `kms_key_arn` (kms:Decrypt, kms:GenerateDataKey) when the destination is encrypted with a key of its own (with the module's `kms_key_arn`, leave it null). The list is stored as the parameter (or secret) `ADDITIONAL_TRANSFORMS`, each rules gzipped when the whole is over 4 KB. Empty: no additional output."
  type = list(object({
    destination_bucket_name = string
    path_within_bucket      = optional(string, "")
    rules                   = optional(string)
    rules_file              = optional(string)
    compress_output         = optional(bool, true)
    kms_key_arn             = optional(string)
  }))
  default = []

  validation {
    condition     = alltrue([for t in var.additional_transforms : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", t.destination_bucket_name))])
    error_message = "Each destination_bucket_name must be a bucket name (not an ARN or s3:// URL)."
  }

  validation {
    # `*` and `?` would widen the grant under the path; a key does not start with `/`.
    condition     = alltrue([for t in var.additional_transforms : !can(regex("[*?]", t.path_within_bucket)) && !startswith(t.path_within_bucket, "/")])
    error_message = "path_within_bucket must not contain * or ? nor start with /, e.g. `v2/`."
  }

  validation {
    condition     = alltrue([for t in var.additional_transforms : (t.rules == null) != (t.rules_file == null)])
    error_message = "Each additional transform needs exactly one of rules (YAML text) and rules_file (a path)."
  }

  validation {
    condition     = alltrue([for t in var.additional_transforms : t.rules_file == null || try(fileexists(t.rules_file), false)])
    error_message = "An additional transform's rules_file does not exist."
  }

  validation {
    # IAM grants a key by its ARN: an alias cannot be granted.
    condition     = alltrue([for t in var.additional_transforms : t.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", t.kms_key_arn))])
    error_message = "An additional transform's kms_key_arn must be a key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "extra_environment" {
  description = "More function settings as environment variables, e.g. `{ EMAIL_CANONICALIZATION = \"IGNORE_DOTS\" }` or `{ PSOXY_SHUFFLE_ROWS = \"false\" }`. Never put secrets here: use SSM parameters (or secrets) under the function's prefix."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------

variable "secrets_store" {
  description = "Where the function's secret and large settings (PSOXY_SALT, PSOXY_ENCRYPTION_KEY, RULES, ADDITIONAL_TRANSFORMS) are kept and read: `aws_ssm_parameter_store` (SSM parameters, SecureString for the secrets) or `aws_secrets_manager` (Secrets Manager secrets of the same names, `<prefix><SETTING>`, encrypted with `kms_key_arn` when given; the function gets `SECRETS_STORE=AWS_SECRETS_MANAGER` and secretsmanager:GetSecretValue on the prefix instead of any SSM read). Switching moves nothing: set the salt (`salt`) to keep the pseudonyms."
  type        = string
  default     = "aws_ssm_parameter_store"

  validation {
    condition     = contains(["aws_ssm_parameter_store", "aws_secrets_manager"], var.secrets_store)
    error_message = "secrets_store must be aws_ssm_parameter_store or aws_secrets_manager."
  }
}

variable "ssm_parameter_prefix" {
  description = "Prefix of the function's SSM parameters, or Secrets Manager secrets (`PATH_TO_INSTANCE_CONFIG`). Null: `/psoxy/<instance_id>/`. Must start and end with `/`."
  type        = string
  default     = null

  validation {
    condition     = var.ssm_parameter_prefix == null || can(regex("^/([A-Za-z0-9_.-]+/)+$", coalesce(var.ssm_parameter_prefix, "/x/")))
    error_message = "ssm_parameter_prefix must look like /psoxy/hris/ (starts and ends with /)."
  }
}

variable "salt" {
  description = "The salt of an existing deployment (Psoxy's `PSOXY_SALT`), so pseudonyms stay identical to those already sent. Null: a random 32-character salt is generated once and kept in the Terraform state and the SSM parameter. Changing the salt changes every pseudonym."
  type        = string
  default     = null
  sensitive   = true
}

variable "encryption_key" {
  description = "The `PSOXY_ENCRYPTION_KEY` of an existing deployment (for reversible `p~` tokens). Null: a random one is generated when `generate_encryption_key` is true."
  type        = string
  default     = null
  sensitive   = true
}

variable "generate_encryption_key" {
  description = "Create the `PSOXY_ENCRYPTION_KEY` parameter (needed only by rules that make reversible tokens)."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------------------------

variable "memory_mb" {
  description = "Function memory in MB. CPU grows with memory: 1769 MB is one full vCPU, 3538 MB two."
  type        = number
  default     = 2048

  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240
    error_message = "memory_mb must be between 128 and 10240."
  }
}

variable "timeout_seconds" {
  description = "Function timeout in seconds (at most 900). Size it for the largest export: see the README's throughput figures."
  type        = number
  default     = 900

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 1 and 900."
  }
}

variable "ephemeral_storage_mb" {
  description = "Size of /tmp in MB (512-10240). Parquet inputs are spooled there, so make it larger than the biggest Parquet object."
  type        = number
  default     = 2048

  validation {
    condition     = var.ephemeral_storage_mb >= 512 && var.ephemeral_storage_mb <= 10240
    error_message = "ephemeral_storage_mb must be between 512 and 10240."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions: at most this many exports are sanitized at once; more uploads wait in Lambda's queue. -1: no reservation (the account's unreserved pool); use -1 in a new account whose concurrency limit is 10, where AWS refuses any reservation."
  type        = number
  default     = 5
}

variable "async_retry_attempts" {
  description = "How many times Lambda retries a failed invocation (0-2) before sending the event to the failure queue."
  type        = number
  default     = 2

  validation {
    condition     = var.async_retry_attempts >= 0 && var.async_retry_attempts <= 2
    error_message = "async_retry_attempts must be 0, 1 or 2."
  }
}

variable "max_event_age_seconds" {
  description = "How long (60-21600 s) Lambda keeps retrying an event before it goes to the failure queue."
  type        = number
  default     = 21600

  validation {
    condition     = var.max_event_age_seconds >= 60 && var.max_event_age_seconds <= 21600
    error_message = "max_event_age_seconds must be between 60 and 21600."
  }
}

variable "vpc_config" {
  description = "Run the functions (the bulk function and, with the fan-out, the chunk function) in a VPC: their network interfaces go in `subnet_ids` with `security_group_ids`, and each function's role gets a policy of its own allowing ec2:CreateNetworkInterface in those subnets with those groups, ec2:DeleteNetworkInterface, ec2:AssignPrivateIpAddresses and ec2:UnassignPrivateIpAddresses on this account's network interfaces in the region, and ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets (on `*`, as AWS requires). The subnets need a route to every AWS API the functions call: S3 (a gateway endpoint), SSM or Secrets Manager, SQS, Step Functions with the fan-out, KMS with a customer key (interface endpoints, or a NAT gateway). Null: no VPC."
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
  description = "The function's log filter (`RUST_LOG`), e.g. `info` or `psoxy=debug,info`."
  type        = string
  default     = "info"
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when an invocation fails, an event lands in the failure queue or a fan-out run fails."
  type        = list(string)
  default     = []
}

# ---------------------------------------------------------------------------------------------
# Fan-out of large objects (fanout.tf)
# ---------------------------------------------------------------------------------------------

variable "fanout_enabled" {
  description = "Sanitize objects of at least `fanout_threshold_bytes` in parallel byte ranges: adds a work bucket, a chunk function and a Step Functions state machine (Distributed Map) that the bulk function starts. False: none of these exist."
  type        = bool
  default     = false
}

variable "fanout_threshold_bytes" {
  description = "Objects of at least this size are handed to the state machine (`FANOUT_THRESHOLD_BYTES`); smaller ones are sanitized by the bulk function alone."
  type        = number
  default     = 2147483648 # 2 GiB

  validation {
    condition     = var.fanout_threshold_bytes >= 1 && floor(var.fanout_threshold_bytes) == var.fanout_threshold_bytes
    error_message = "fanout_threshold_bytes must be a whole number of bytes, 1 or more."
  }
}

variable "fanout_chunk_bytes" {
  description = "Approximate size of each byte range a chunk invocation sanitizes (`FANOUT_CHUNK_BYTES`). Each sanitized range becomes one part of the output's multipart upload, so it must be between S3's 5 MiB minimum and 5 GiB maximum part size, and an object may have at most 10,000 parts."
  type        = number
  default     = 268435456 # 256 MiB

  validation {
    condition     = var.fanout_chunk_bytes >= 5242880 && var.fanout_chunk_bytes <= 5368709120 && floor(var.fanout_chunk_bytes) == var.fanout_chunk_bytes
    error_message = "fanout_chunk_bytes must be a whole number between 5242880 (5 MiB) and 5368709120 (5 GiB)."
  }
}

variable "fanout_max_concurrency" {
  description = "At most this many chunks of one object are sanitized at once (the Distributed Map's MaxConcurrency). Each is one invocation of the chunk function, from the account's unreserved concurrency."
  type        = number
  default     = 64

  validation {
    condition     = var.fanout_max_concurrency >= 1 && var.fanout_max_concurrency <= 10000 && floor(var.fanout_max_concurrency) == var.fanout_max_concurrency
    error_message = "fanout_max_concurrency must be a whole number between 1 and 10000."
  }
}

variable "fanout_worker_memory_mb" {
  description = "Memory of the chunk function in MB (128-10240). Null: the bulk function's `memory_mb`."
  type        = number
  default     = null

  validation {
    condition     = var.fanout_worker_memory_mb == null || (coalesce(var.fanout_worker_memory_mb, 128) >= 128 && coalesce(var.fanout_worker_memory_mb, 128) <= 10240)
    error_message = "fanout_worker_memory_mb must be null or between 128 and 10240."
  }
}

variable "fanout_worker_timeout_seconds" {
  description = "Timeout of the chunk function in seconds (at most 900): one invocation sanitizes one range, or copies every part into the output."
  type        = number
  default     = 900

  validation {
    condition     = var.fanout_worker_timeout_seconds >= 1 && var.fanout_worker_timeout_seconds <= 900
    error_message = "fanout_worker_timeout_seconds must be between 1 and 900."
  }
}

# ---------------------------------------------------------------------------------------------
# The analytics vendor's read access
# ---------------------------------------------------------------------------------------------

variable "reader_google_service_account_ids" {
  description = "Unique (numeric) ids of the vendor's Google service accounts allowed to assume the reader role by web-identity federation (`accounts.google.com`, checked on the token's `aud`)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.reader_google_service_account_ids : can(regex("^[0-9]{10,30}$", id))])
    error_message = "reader_google_service_account_ids must be numeric service-account unique ids (not emails)."
  }
}

variable "reader_aws_principals" {
  description = "AWS principal ARNs (accounts, roles or users) allowed to assume the reader role."
  type        = list(string)
  default     = []
}

variable "reader_external_id" {
  description = "External id the AWS principals must pass when assuming the reader role (null: none required)."
  type        = string
  default     = null
}
