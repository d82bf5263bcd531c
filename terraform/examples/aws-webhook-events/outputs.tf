output "collector_url" {
  description = "Where tools POST their events, with `Authorization: Bearer <JWT>`."
  value       = module.events.collector_url
}

output "auth_key_arn" {
  description = "The KMS key the issuer signs tokens with (kms:Sign, RSASSA_PKCS1_V1_5_SHA_256 for RS256)."
  value       = module.events.auth_key_arn
}

output "sanitized_bucket" {
  description = "Where the batches (gzipped NDJSON) are written."
  value       = module.events.sanitized_bucket
}
