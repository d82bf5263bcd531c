# The webhook collector on AWS: the `psoxy-webhook` function behind a function URL checks each
# webhook's bearer JWT itself (signed by an accepted key: the KMS key made here and/or keys the
# customer gives), sanitizes the payload by the rules and sends it to an SQS queue; the same
# function, triggered by that queue, merges each batch into one gzipped NDJSON object in the
# sanitized bucket, which the analytics vendor reads. Resources by concern:
#   secrets.tf    the salt (and large rules) as SSM parameters, or Secrets Manager secrets
#   auth_key.tf   the KMS signing key of the customer's token issuer (optional)
#   queue.tf      the queue, its dead-letter queue, and the function's trigger
#   bucket.tf     the sanitized bucket (or an existing one) and who may read it
#   function.tf   the Lambda function and its URL
#   iam.tf        the function's execution role (least privilege)
#   monitoring.tf log group and alarms
#   vpc.tf        optional (vpc_config): the function's VPC placement and its network grants

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region
  partition  = data.aws_partition.current.partition

  function_name = "psoxy-${var.instance_id}"
  param_prefix  = "/${var.path_prefix}${var.instance_id}/"
  # IAM resource of a parameter under the prefix.
  param_arn_prefix = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.param_prefix}"

  use_kms = var.kms_key_arn != null

  # Where the salt (and large rules) are: SSM Parameter Store (the default) or, with
  # secrets_store = "aws_secrets_manager", Secrets Manager secrets of the same names, which the
  # function then reads (SECRETS_STORE=AWS_SECRETS_MANAGER).
  use_secrets_manager = var.secrets_store == "aws_secrets_manager"
  use_ssm             = !local.use_secrets_manager
  # IAM resource of every secret under the prefix. The function asks for every setting the
  # environment does not set, and Secrets Manager answers a name the role may not read with
  # AccessDenied (not "not found"), which stops the function; so the grant is the instance's
  # own prefix, as with SSM.
  secret_arn_prefix = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.param_prefix}"

  # The keys tokens may be signed with: those given, then the one made here.
  accepted_auth_keys = concat(
    var.accepted_auth_keys,
    [for key in aws_kms_key.auth : "aws-kms:${key.arn}"],
  )
  # KMS keys whose public half the function reads (GetPublicKey): the one made here and those
  # given as `aws-kms:<ARN>` (an alias or bare id cannot be granted by ARN: give the key's ARN).
  public_key_arns = concat(
    [for key in var.accepted_auth_keys : trimprefix(key, "aws-kms:") if startswith(key, "aws-kms:arn:")],
    aws_kms_key.auth[*].arn,
  )

  # As the function forms keys: no leading or trailing `/`, then one `/`.
  output_prefix = trim(var.output_path_prefix, "/") == "" ? "" : "${trim(var.output_path_prefix, "/")}/"

  tags = merge({ "psoxy-instance" = var.instance_id }, var.tags)
}
