# More outputs of each input (additional_transforms; empty: none of this exists). Each is
# written to its destination bucket under its path with its own rules, by the same invocation
# (and, with the fan-out, by the chunk function). The list is the setting ADDITIONAL_TRANSFORMS,
# a YAML list of {destinationBucketName, pathWithinBucket, rules, compressOutput}, stored where
# the rules are (an SSM parameter, or a secret with Secrets Manager) rather than in the
# environment, whose 4 KB would hold few rules. The functions may write each destination only
# under its path (PutObject, AbortMultipartUpload; the chunk function also lists its uploads'
# parts), and use the destination's own KMS key when one is given.

locals {
  has_additional_transforms = length(var.additional_transforms) > 0

  additional_rules_texts = [for t in var.additional_transforms : t.rules_file != null ? file(t.rules_file) : t.rules]
  # Each rules as written, or, when the whole list is over 4 KB, as base64 of gzip (which the
  # rules loader reads as well), so that it fits a parameter.
  additional_transforms_plain = yamlencode([for i, t in var.additional_transforms : {
    destinationBucketName = t.destination_bucket_name
    pathWithinBucket      = t.path_within_bucket
    rules                 = local.additional_rules_texts[i]
    compressOutput        = t.compress_output
  }])
  additional_transforms_packed = yamlencode([for i, t in var.additional_transforms : {
    destinationBucketName = t.destination_bucket_name
    pathWithinBucket      = t.path_within_bucket
    rules                 = base64gzip(local.additional_rules_texts[i])
    compressOutput        = t.compress_output
  }])
  # (UTF-8 bytes, from the base64 length: length() counts characters.)
  additional_transforms_plain_bytes = length(base64encode(local.additional_transforms_plain)) / 4 * 3
  additional_transforms_value = !local.has_additional_transforms ? null : (
    local.additional_transforms_plain_bytes <= 4096 ? local.additional_transforms_plain : local.additional_transforms_packed
  )
  additional_transforms_bytes = local.has_additional_transforms ? length(base64encode(local.additional_transforms_value)) / 4 * 3 : 0

  # What the functions may write: each destination's objects under its path (the output key is
  # the path followed by the input key without input_base_path).
  additional_destination_objects = distinct([
    for t in var.additional_transforms : "arn:${local.partition}:s3:::${t.destination_bucket_name}/${t.path_within_bucket}*"
  ])
  # The destinations' own KMS keys (SSE-KMS), when given.
  additional_kms_key_arns = distinct([for t in var.additional_transforms : t.kms_key_arn if t.kms_key_arn != null])
}
