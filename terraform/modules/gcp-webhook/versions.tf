terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # 6.x: `deletion_protection` and `scaling` of google_cloud_run_v2_service as used here, and
      # the `public_key` of data.google_kms_crypto_key_version.
      version = ">= 6.0.0, < 7.0.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.5.0, < 4.0.0"
    }
  }
}
