output "project_id" {
  description = "Project of the deployment."
  value       = module.hris.project_id
}

output "input_bucket" {
  description = "Upload HRIS exports here, under hris/."
  value       = module.hris.input_bucket
}

output "sanitized_bucket" {
  description = "Sanitized exports appear here under the same name; give it to the vendor."
  value       = module.hris.sanitized_bucket
}

output "service_name" {
  description = "The Cloud Run service."
  value       = module.hris.service_name
}

output "eventarc_subscription" {
  description = "The Pub/Sub subscription Eventarc made for the trigger."
  value       = module.hris.eventarc_subscription
}

output "dead_letter_command" {
  description = "Run once after apply: attaches the dead-letter topic to Eventarc's subscription (README step 4)."
  value       = module.hris.dead_letter_command
}

output "dead_letter_subscription" {
  description = "Events that failed every attempt."
  value       = module.hris.dead_letter_subscription
}

output "salt_secret_id" {
  description = "Secret holding the salt (for the CLI, to produce the same pseudonyms)."
  value       = module.hris.salt_secret_id
}
