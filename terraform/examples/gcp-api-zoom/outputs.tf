output "project_id" {
  description = "Project of the deployment."
  value       = module.zoom.project_id
}

output "service_url" {
  description = "The proxy's base URL: append a Zoom API path (e.g. `/v2/users`), send an ID token whose audience is this URL."
  value       = module.zoom.service_url
}

output "service_name" {
  description = "The Cloud Run service."
  value       = module.zoom.service_name
}

output "account_id_secret" {
  description = "Secret to put the Zoom account id in."
  value       = module.zoom.secret_ids["ACCOUNT_ID"]
}

output "client_secret_secret" {
  description = "Secret to put the Zoom app's client secret in."
  value       = module.zoom.secret_ids["CLIENT_SECRET"]
}

output "shared_token_secret" {
  description = "Secret where the service keeps the shared access token (written by the service; never set it by hand)."
  value       = module.zoom.secret_ids["ACCESS_TOKEN"]
}

output "salt_secret_id" {
  description = "Secret holding the salt."
  value       = module.zoom.salt_secret_id
}
