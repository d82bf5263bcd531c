output "collector_url" {
  description = "Where tools POST their events, with `Authorization: Bearer <JWT>`."
  value       = module.events.collector_url
}

output "signing_key_version" {
  description = "The Cloud KMS key version the issuer signs tokens with (asymmetricSign, RSA_SIGN_PKCS1_2048_SHA256 for RS256)."
  value       = module.events.signing_key_version
}

output "accepted_auth_keys" {
  description = "The public keys the collector accepts (not secret)."
  value       = module.events.accepted_auth_keys
}

output "output_bucket" {
  description = "Where the batches (gzipped NDJSON) are written, under `events/`."
  value       = module.events.output_bucket
}

output "salt_secret_id" {
  description = "Secret holding the salt."
  value       = module.events.salt_secret_id
}
