# The sanitized bucket the batches go to: an existing one (sanitized_bucket_name), or one made
# here with the guard rails of every psoxy output bucket (modules/aws-private-bucket), readable
# by reader_principal_arns under the batches' prefix.

locals {
  create_bucket = var.sanitized_bucket_name == null
  bucket_name   = local.create_bucket ? module.sanitized_bucket[0].id : var.sanitized_bucket_name
  bucket_arn    = "arn:${local.partition}:s3:::${local.bucket_name}"
}

module "sanitized_bucket" {
  source = "../aws-private-bucket"
  count  = local.create_bucket ? 1 : 0

  name_prefix           = "psoxy-${var.instance_id}-sanitized-"
  kms_key_arn           = var.kms_key_arn
  expiration_days       = var.sanitized_expiration_days
  reader_principal_arns = var.reader_principal_arns
  reader_prefix         = local.output_prefix
  force_destroy         = var.force_destroy_buckets
  tags                  = merge(local.tags, { "psoxy-bucket" = "sanitized" })
}
