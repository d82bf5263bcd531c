# The bulk pipeline on AWS: an upload to the input bucket triggers the function, which writes
# the sanitized object to the sanitized bucket. Resources are split by concern:
#   buckets.tf    the two buckets and their guard rails (or existing ones)
#   secrets.tf    salt, encryption key and rules as SSM parameters (or, with secrets_store =
#                 "aws_secrets_manager", Secrets Manager secrets)
#   additional.tf optional (additional_transforms): more outputs of each input, with their rules
#   function.tf   the Lambda function, its trigger, retries and failure queue
#   vpc.tf        optional (vpc_config): the functions' VPC placement and its network grants
#   iam.tf        the function's execution role (least privilege)
#   monitoring.tf log group and alarms
#   reader.tf     the analytics vendor's read-only role
#   fanout.tf     optional (fanout_enabled): the state machine that sanitizes one large object
#                 in byte ranges on parallel invocations of a chunk function

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region
  partition  = data.aws_partition.current.partition

  function_name = "psoxy-${var.instance_id}"
  param_prefix  = coalesce(var.ssm_parameter_prefix, "/psoxy/${var.instance_id}/")
  # IAM resource of every parameter under the prefix (a name starting with `/` follows
  # `parameter` directly in the ARN).
  param_arn_pattern = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.param_prefix}*"

  use_kms = var.kms_key_arn != null

  # Where the function's secret and large settings are: SSM Parameter Store (the default) or,
  # with secrets_store = "aws_secrets_manager", Secrets Manager secrets of the same names
  # (`<prefix><SETTING>`), which the function then reads (SECRETS_STORE=AWS_SECRETS_MANAGER).
  use_secrets_manager = var.secrets_store == "aws_secrets_manager"
  use_ssm             = !local.use_secrets_manager
  # IAM resource of every secret under the prefix (a secret's ARN is its name and a random
  # suffix). The function asks for every setting the environment does not set, and Secrets
  # Manager answers a name the role may not read with AccessDenied (not "not found"), which
  # stops the function; so the grant is the instance's own prefix, as with SSM.
  secret_arn_prefix = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.param_prefix}"

  # The fan-out (fanout.tf). The state machine's ARN is built from its name: its own role and
  # the functions' environment name it, and the state machine depends on both (its role, the
  # chunk function), so the resource's attribute would be a cycle.
  fanout_name              = "${local.function_name}-fanout"
  fanout_state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.fanout_name}"
  # Every object of a run (the plan, the parts) is under `fanout/<run id>/` in the work bucket;
  # the bulk function passes the run's prefix as `work_prefix`.
  fanout_work_prefix = "fanout/"

  tags = merge({ "psoxy-instance" = var.instance_id }, var.tags)
}
