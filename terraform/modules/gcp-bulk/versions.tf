terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # 6.x: `deletion_protection` and `scaling` of google_cloud_run_v2_service as used here,
      # `deletion_policy` of google_secret_manager_secret_version, and non-authoritative
      # `labels` (5.0), which leave the labels the service writes at run time alone.
      version = ">= 6.0.0, < 7.0.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.5.0, < 4.0.0"
    }
  }
}
