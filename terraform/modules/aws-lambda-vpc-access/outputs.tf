output "role_policy_ids" {
  description = "The `vpc-network-interfaces` policy of each role (`<role>:vpc-network-interfaces`), by the keys of role_names."
  value       = { for key, policy in aws_iam_role_policy.this : key => policy.id }
}

output "policy_json" {
  description = "The policy document the roles get."
  value       = data.aws_iam_policy_document.this.json
}
