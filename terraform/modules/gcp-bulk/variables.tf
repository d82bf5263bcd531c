# ---------------------------------------------------------------------------------------------
# What is deployed, and where
# ---------------------------------------------------------------------------------------------

variable "project_id" {
  description = "Google Cloud project to deploy to; it also holds the secrets (`GOOGLE_CLOUD_PROJECT`)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project id (6-30 lowercase letters, digits and hyphens), not its number or name."
  }
}

variable "region" {
  description = "Region of the buckets, the service and the trigger, e.g. `europe-west1` (an Eventarc trigger on a bucket must be in the bucket's location)."
  type        = string
}

variable "instance_id" {
  description = "Name of this connector instance, e.g. `hris`. Used in the service's name (`psoxy-<instance_id>`), its service accounts, the secrets' prefix (`PSOXY_<INSTANCE_ID>_`) and the bucket names; reported in each output object's `psoxy-instance-id` metadata."
  type        = string

  validation {
    # At most 16 characters: the trigger's service account id, `psoxy-<id>-trigger`, may have 30.
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,14}[a-z0-9]$", var.instance_id))
    error_message = "instance_id must be 2-16 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "image" {
  description = "The psoxy image (the `/psoxy-gcp` binary as entrypoint), by digest: `<region>-docker.pkg.dev/<project>/<repository>/psoxy-gcp@sha256:<digest>`, as `bash scripts/package-gcp.sh` prints it. Building and pushing it is not this module's job (see the README)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[^[:space:]@]+(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$", var.image))
    error_message = "image must be a full image reference with a digest (`...@sha256:<64 hex>`, preferred: a deployment is then exactly that image) or a tag."
  }
}

variable "rules_file" {
  description = "Path of the rules YAML the service applies, normally one of the repository's `transforms/*.yaml`. Its content travels in the `RULES` environment variable (gzipped when over 16 KB); changing it deploys a new revision."
  type        = string

  validation {
    condition     = fileexists(var.rules_file)
    error_message = "rules_file does not exist."
  }
}

variable "labels" {
  description = "Labels added to every resource that takes them."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Buckets
# ---------------------------------------------------------------------------------------------

variable "input_bucket_name" {
  description = "Name of the bucket HR uploads exports to. Null: `psoxy-<instance_id>-input-<8 random hex>`."
  type        = string
  default     = null
}

variable "sanitized_bucket_name" {
  description = "Name of the bucket the sanitized objects are written to (read by the analytics vendor). Null: `psoxy-<instance_id>-sanitized-<8 random hex>`."
  type        = string
  default     = null
}

variable "kms_key_name" {
  description = "Customer-managed Cloud KMS key (`projects/.../locations/.../keyRings/.../cryptoKeys/...`, in the buckets' region) for both buckets and the dead-letter topic; the module lets the Cloud Storage and Pub/Sub service agents use it (on the key only). Null: Google-managed encryption."
  type        = string
  default     = null
}

variable "enable_versioning" {
  description = "Turn on object versioning for both buckets."
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

variable "sanitized_bucket_readers" {
  description = "Service-account emails (e.g. the analytics vendor's, `reader@vendor-project.iam.gserviceaccount.com`) given `roles/storage.objectViewer` on the sanitized bucket, nothing else."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.sanitized_bucket_readers : can(regex("^[a-z0-9][a-z0-9._-]*@[a-z0-9.-]+\\.gserviceaccount\\.com$", email))])
    error_message = "sanitized_bucket_readers must be service-account emails (…@….gserviceaccount.com), without `serviceAccount:`."
  }
}

# ---------------------------------------------------------------------------------------------
# Key mapping and outputs
# ---------------------------------------------------------------------------------------------

variable "input_base_path" {
  description = "Prefix removed from input object names to make the output's (`INPUT_BASE_PATH`), e.g. `hris/`. Eventarc cannot filter a bucket's events by prefix: every object finalized in the input bucket is sent to the service."
  type        = string
  default     = ""
}

variable "output_base_path" {
  description = "Prefix added to every output object name (`OUTPUT_BASE_PATH`)."
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
  description = "More outputs of each input (`ADDITIONAL_TRANSFORMS`): a YAML list of `{destinationBucketName, pathWithinBucket, rules, compressOutput}`. The service may write only to the sanitized bucket, so each destinationBucketName must be it (different paths). Null: none."
  type        = string
  default     = null
}

variable "extra_environment" {
  description = "More settings as environment variables, e.g. `{ EMAIL_CANONICALIZATION = \"IGNORE_DOTS\" }` or `{ PSOXY_SHUFFLE_ROWS = \"false\" }`. Never secrets: the names of the secret settings are refused."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([for name in keys(var.extra_environment) : !contains([
      "PSOXY_SALT", "PSOXY_ENCRYPTION_KEY", "SALT_EMAIL_DOMAINS", "ENCRYPTION_KEY_EMAIL_DOMAINS",
      "SALT_IP", "ENCRYPTION_KEY_IP",
    ], name)])
    error_message = "extra_environment must not hold secrets (PSOXY_SALT, PSOXY_ENCRYPTION_KEY, SALT_EMAIL_DOMAINS, ENCRYPTION_KEY_EMAIL_DOMAINS, SALT_IP, ENCRYPTION_KEY_IP): they are Secret Manager secrets."
  }
}

# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------

variable "shared_secret_prefix" {
  description = "Secret-id prefix of settings shared by several instances (`PATH_TO_SHARED_CONFIG`), e.g. `PSOXY_SHARED_`, read after the instance's own. The service is granted no secret under it but `salt_secret_id`. Null: none."
  type        = string
  default     = null

  validation {
    condition     = var.shared_secret_prefix == null || can(regex("^[A-Za-z0-9_-]+$", coalesce(var.shared_secret_prefix, "x")))
    error_message = "shared_secret_prefix must be letters, digits, `_` and `-` (a secret id prefix)."
  }
}

variable "salt" {
  description = "The salt of an existing deployment (Psoxy's `PSOXY_SALT`), so pseudonyms stay identical to those already sent. Null: a random 32-character salt is generated once and kept in the Terraform state and the secret. Changing the salt changes every pseudonym. Ignored with `salt_secret_id`."
  type        = string
  default     = null
  sensitive   = true
}

variable "salt_secret_id" {
  description = "Id of an existing secret in `project_id` holding the salt (e.g. `PSOXY_SHARED_PSOXY_SALT`, shared with other instances, as Psoxy keeps it). Null: the module creates `PSOXY_<INSTANCE_ID>_PSOXY_SALT`."
  type        = string
  default     = null

  validation {
    condition     = var.salt_secret_id == null || can(regex("^[A-Za-z0-9_-]{1,255}$", coalesce(var.salt_secret_id, "x")))
    error_message = "salt_secret_id must be a secret id (letters, digits, `_` and `-`), not a resource name."
  }
}

variable "encryption_key" {
  description = "The `PSOXY_ENCRYPTION_KEY` of an existing deployment (for reversible `p~` tokens). Null: a random one is generated when `generate_encryption_key` is true."
  type        = string
  default     = null
  sensitive   = true
}

variable "generate_encryption_key" {
  description = "Create the `PSOXY_ENCRYPTION_KEY` secret (needed only by rules that make reversible tokens)."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Service
# ---------------------------------------------------------------------------------------------

variable "cpu" {
  description = "vCPUs of each instance (`1`, `2`, `4`, `6` or `8`). The sanitizer parses and writes in parallel, so more CPUs shorten large objects."
  type        = string
  default     = "2"

  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.cpu)
    error_message = "cpu must be 1, 2, 4, 6 or 8."
  }
}

variable "memory" {
  description = "Memory of each instance, e.g. `2Gi` (at most 4Gi per vCPU, 32Gi in all). The file system is in memory: a Parquet input is spooled there, so make it larger than the biggest Parquet object."
  type        = string
  default     = "2Gi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.memory))
    error_message = "memory must look like 512Mi or 2Gi."
  }
}

variable "max_instances" {
  description = "At most this many instances run at once (so at most this many objects are sanitized at once with `concurrency` 1); more events wait in Pub/Sub and are retried."
  type        = number
  default     = 5

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 1000
    error_message = "max_instances must be between 1 and 1000."
  }
}

variable "concurrency" {
  description = "Events one instance handles at once. 1 gives each object all of an instance's CPUs and memory."
  type        = number
  default     = 1

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be between 1 and 1000."
  }
}

variable "max_delivery_attempts" {
  description = "Delivery attempts of an event before it goes to the dead-letter topic (5-100), used in the output dead_letter_command."
  type        = number
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be between 5 and 100 (Pub/Sub's range)."
  }
}

variable "log_level" {
  description = "The service's log filter (`RUST_LOG`), e.g. `info` or `psoxy=debug,info`."
  type        = string
  default     = "info"
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channels (`projects/<project>/notificationChannels/<id>`) told when an event fails or lands in the dead-letter topic."
  type        = list(string)
  default     = []
}
