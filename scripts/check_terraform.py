"""Static checks of terraform/ for a machine without the terraform binary.

1. Every .tf file parses (python-hcl2).
2. In each module directory, every reference (var., local., module., data.<type>.<name>,
   <resource type>.<name>) names something declared in that directory, and every module call
   passes each required variable of the called module and nothing it does not declare; a
   `module.<name>.<output>` reference names an output that module has.
3. No IAM policy document allows the action `*` or a service wildcard, and the bulk
   function's policy allows exactly the actions its issue lists (plus its own logs and failure
   queue; its parameters or secrets, additional outputs and KMS only in conditional blocks); so
   do the fan-out's policies (the chunk function's, the state machine's, the bulk function's
   right to start it), and only the state machine's log-delivery and X-Ray statements name the
   resource `*` in aws-bulk; no policy but the VPC policy (modules/aws-lambda-vpc-access) has
   an EC2 action.
4. Every `#checkov:skip=` comment carries a reason.
5. Every environment variable the bulk module gives the function, and every SSM parameter it
   creates under the function's prefix, is a setting the binary reads (listed in
   src/settings/pseudonym.rs and the OWN_SETTINGS of src/bulk/settings.rs, or a secret-store
   location setting), so a
   typo cannot deploy silently. Settings are declared once, in src/settings/catalog.rs.
6. Every AWS SDK operation the code calls (in src/) is authorized by an action of the bulk
   function's policy (or, for the API function's own operations, of the API function's, and
   for the fan-out's, of the chunk function's or the bulk function's start right; the chunk
   function's also covers the bulk code it runs), so the roles are not too narrow either.
7. The API module (modules/aws-api): its function's policy allows exactly its actions
   (parameter writes, the lock's delete, Cognito and KMS only in conditional blocks), and its
   parameter writes and deletes name exact parameter ARNs (the instance prefix and one of the
   names the function writes, no `*`); no conditional statement has a `*` resource; its
   caller policy allows only invoking the function URL, under conditions; every environment
   variable, SSM parameter and setting name it lists is a setting of the `psoxy-api` binary
   (whose environment names a strategy, by our name or Psoxy's), and its auth strategies,
   Psoxy's strategy identifiers and grants are the binary's, the same in its maps and in its
   variables' validations.
8. Every example that calls modules/aws-api (aws-api-github and aws-api-zoom at least) names
   exactly one valid strategy (ours or Psoxy's, with a valid grant where one is needed), and
   each secret parameter its outputs name is one the module creates for that strategy.
9. The webhook module (modules/aws-webhook): its function's policy allows exactly sending to,
   receiving from and deleting from its queue, writing batches and writing its logs, and
   reading its parameters (or secrets) and KMS only in conditional blocks (the accepted keys'
   GetPublicKey, a customer key); the signer policy allows only kms:Sign and kms:GetPublicKey; every
   environment variable and SSM parameter is a setting of the `psoxy-webhook` binary, and no
   secret is in its environment.
10. The Google Cloud modules (modules/gcp-bulk, modules/gcp-api, modules/gcp-webhook) and their
   examples: no public member but the webhook collector's invoker, the services' modes and
   internal-only ones, the webhook batch service's single instance and its scheduler's OIDC
   token, Eventarc triggers, invoker and project-level grants, bucket-, key- and secret-level
   grants, custom roles, environment and secret names, gs:// locations
   (scripts/check_terraform_gcp.py says each).
11. secrets_store (aws-bulk, aws-api, aws-webhook; default aws_ssm_parameter_store): the
   functions' SSM reads and every SSM parameter exist only with SSM (in aws-api with Secrets
   Manager only the shared token's lock stays in SSM), every Secrets Manager grant and secret
   only with Secrets Manager, under the instance's prefix and named as settings the binary reads;
   secretsmanager:GetSecretValue on the instance's own prefix only, PutSecretValue only in
   aws-api, on the ARN of each token it writes; the environment sets SECRETS_STORE then.
12. vpc_config (the same modules; default null): every Lambda function is placed by it and its
   role gets the VPC policy only with it (and before the function is made): each module calls
   modules/aws-lambda-vpc-access once, with `count = local.use_vpc ? 1 : 0`, its vpc_config,
   its own account, region and partition and every function's role, and moves the policies it
   had before (aws_iam_role_policy.vpc[<key>]) there; the functions depend on that call. The
   shared module's one policy, attached to each role it is given and nothing else, allows
   exactly AWSLambdaVPCAccessExecutionRole's EC2 actions, CreateNetworkInterface only on the
   account's network interfaces and the given subnets and security groups,
   Delete/Assign/UnassignPrivateIpAddresses only on the account's network interfaces in the
   region, the Describe actions alone on `*`.
13. The bulk functions write (s3:PutObject) only the sanitized bucket (made here or existing),
   the fan-out's run objects and each additional_transforms destination under its path (which
   may hold no `*` or `?`), and use no KMS key but kms_key_arn and the destinations' own.

Usage: python check_terraform.py TERRAFORM_DIR   (exit 1 with every problem listed)
"""

import re
import sys
from pathlib import Path

import hcl2

REFERENCE = re.compile(
    r"(?<![\w.])(?:(var|local|module)\.(\w+)(?:\.(\w+))?|data\.(\w+)\.(\w+)|((?:aws|google|random)_\w+)\.(\w+))"
)
META_ARGUMENTS = {"source", "version", "providers", "count", "for_each", "depends_on"}
# Reading the settings: SSM parameters (secrets_store = "aws_ssm_parameter_store", the default)
# or Secrets Manager secrets; each only in a block that exists with that store (check 11).
SSM_READ_ACTIONS = {"ssm:GetParameter", "ssm:GetParameters"}
SECRET_READ_ACTIONS = {"secretsmanager:GetSecretValue"}
STORE_READ_ACTIONS = SSM_READ_ACTIONS | SECRET_READ_ACTIONS
# What the bulk function may do (issue 5): read input, write output, abort its uploads; and, to
# run at all, write its own logs and report failed events; in blocks that exist only with their
# option, read its parameters (or secrets), write the additional outputs (additional_transforms,
# each under its path: check 13) and use a customer key (the module's, the destinations').
BULK_FUNCTION_ACTIONS = {
    "s3:GetObject",
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:SendMessage",
}
BULK_FUNCTION_CONDITIONAL_ACTIONS = {
    "kms:Decrypt", "kms:GenerateDataKey", "s3:PutObject", "s3:AbortMultipartUpload",
} | STORE_READ_ACTIONS
# The fan-out of modules/aws-bulk (fanout.tf, only with fanout_enabled): each policy document
# allows exactly these actions, and KMS only in a block conditioned on a key.
#   chunk            the chunk function: read the input, use the run's objects in the work
#                    bucket (plan, parts), write the output by multipart upload (UploadPartCopy
#                    is s3:GetObject on the part and s3:PutObject on the output; the upload's
#                    parts are listed to complete it), its parameters, its own logs;
#   fanout           the state machine: invoke the chunk function, run the Distributed Map's
#                    child executions (StartExecution on itself, Describe/Stop on its
#                    executions, as AWS documents), read the plan, deliver its logs, trace;
#   function_fanout  the bulk function: start the state machine.
FANOUT_POLICY_ACTIONS = {
    "chunk": {
        "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts", "logs:CreateLogStream", "logs:PutLogEvents",
    },
    "fanout": {
        "lambda:InvokeFunction", "states:StartExecution", "states:DescribeExecution",
        "states:StopExecution", "s3:GetObject",
        "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
        "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
    },
    "function_fanout": {"states:StartExecution"},
}
# Conditional: the chunk function's parameters (or secrets), additional outputs and keys, as the
# bulk function's; the state machine's key.
FANOUT_POLICY_CONDITIONAL_ACTIONS = {
    "chunk": {"kms:Decrypt", "kms:GenerateDataKey", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"} | STORE_READ_ACTIONS,
    "fanout": {"kms:Decrypt"},
    "function_fanout": set(),
}
# The statements of aws-bulk's policies that may name the resource `*`: Step Functions' log
# delivery and X-Ray (the VPC policy's Describe statement is in modules/aws-lambda-vpc-access).
BULK_WILDCARD_STATEMENTS = {("fanout", "DeliverLogs"), ("fanout", "Tracing")}
# What the API function may do: write its own logs; and, in blocks that exist only with their
# option, read its own parameters (or secrets), write back the rotated refresh token and the
# shared access token (SSM or Secrets Manager), create, read and delete the shared token's lock,
# get Cognito OpenID tokens (workload identity federation) and use a customer key.
API_FUNCTION_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
API_FUNCTION_CONDITIONAL_ACTIONS = STORE_READ_ACTIONS | {"secretsmanager:PutSecretValue"} | {
    # Asynchronous requests (their queue) and their answers and side outputs (S3).
    "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
    "s3:PutObject", "s3:AbortMultipartUpload",
    "ssm:PutParameter",
    "ssm:DeleteParameter",
    "cognito-identity:GetOpenIdTokenForDeveloperIdentity",
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
}
# The statements of the API function's policy that may name a resource pattern: its own
# parameter (or secret) prefix (read), its own log group's streams, and the objects of its own
# async bucket and of the side output's prefix (written under new ids).
API_WILDCARD_STATEMENTS = {"ReadOwnParameters", "ReadOwnSecrets", "WriteOwnLogs", "WriteAnswers"}
# The parameters (setting names under the instance prefix) the API function may write and
# delete; the lock's name is checked against the binary's (LOCK_SOURCE).
API_WRITTEN_SETTINGS = {"REFRESH_TOKEN", "ACCESS_TOKEN"}
LOCK_SOURCE = ("src/api/auth/shared.rs", re.compile(r'pub const LOCK_SETTING: &str = "(\w+)";'))
# What the webhook function may do (modules/aws-webhook): its logs, its queue (send; receive
# and delete as the queue's trigger), batches into its bucket prefix; and in conditional blocks
# its parameters (or secrets), the accepted KMS keys' public halves and a customer key.
WEBHOOK_FUNCTION_ACTIONS = {
    "logs:CreateLogStream", "logs:PutLogEvents",
    "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
    "s3:PutObject", "s3:AbortMultipartUpload",
}
WEBHOOK_FUNCTION_CONDITIONAL_ACTIONS = {"kms:GetPublicKey", "kms:Decrypt", "kms:GenerateDataKey"} | STORE_READ_ACTIONS
# Every action of each function role (its own policies), for check 6.
BULK_FUNCTION_ALL_ACTIONS = BULK_FUNCTION_ACTIONS | BULK_FUNCTION_CONDITIONAL_ACTIONS
CHUNK_ALL_ACTIONS = FANOUT_POLICY_ACTIONS["chunk"] | FANOUT_POLICY_CONDITIONAL_ACTIONS["chunk"]
API_FUNCTION_ALL_ACTIONS = API_FUNCTION_ACTIONS | API_FUNCTION_CONDITIONAL_ACTIONS
WEBHOOK_FUNCTION_ALL_ACTIONS = WEBHOOK_FUNCTION_ACTIONS | WEBHOOK_FUNCTION_CONDITIONAL_ACTIONS
# The VPC policy of the AWS modules (modules/aws-lambda-vpc-access, which each module's vpc.tf
# calls only with vpc_config; check 12): the EC2 actions of
# AWSLambdaVPCAccessExecutionRole, Create only in the given subnets with the given security
# groups, Delete/Assign/Unassign only on the account's network interfaces in the region, the
# Describe actions (no resource-level permission) alone on `*`.
VPC_ACTIONS = {
    "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
}
VPC_DESCRIBE_ACTIONS = {"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"}
# The AWS modules with the options of issue 22 (secrets_store, vpc_config), and the policy
# documents of their functions' roles.
AWS_MODULE_FUNCTION_POLICIES = {"aws-bulk": ("function", "chunk"), "aws-api": ("function",), "aws-webhook": ("function",)}
WEBHOOK_SIGNER_ACTIONS = {"kms:Sign", "kms:GetPublicKey"}
# The caller role may invoke the function through its URL, nothing else.
API_CALLER_ACTIONS = {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}


def strings(node):
    """Every string inside a parsed HCL value."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def expressions(node):
    """The strings that hold HCL expressions (python-hcl2 renders them as `${...}`)."""
    return (s for s in strings(node) if "${" in s)


class Module:
    """The declarations and parsed blocks of one directory of .tf files."""

    def __init__(self, directory: Path, problems: list):
        self.directory = directory
        self.blocks = []  # (file, parsed)
        for path in sorted(directory.glob("*.tf")):
            try:
                with path.open() as handle:
                    self.blocks.append((path, hcl2.load(handle)))
            except Exception as error:  # noqa: BLE001 - report any parse failure
                problems.append(f"{path}: does not parse: {error}")
        self.variables, self.locals, self.outputs = {}, set(), set()
        self.resources, self.data, self.modules = set(), set(), {}
        for _, parsed in self.blocks:
            for block in parsed.get("variable", []):
                self.variables.update(block)
            for block in parsed.get("locals", []):
                self.locals.update(k for k in block if not k.startswith("__"))
            for block in parsed.get("output", []):
                self.outputs.update(block)
            for block in parsed.get("resource", []):
                for kind, named in block.items():
                    self.resources.update(f"{kind}.{name}" for name in named)
            for block in parsed.get("data", []):
                for kind, named in block.items():
                    self.data.update(f"{kind}.{name}" for name in named)
            for block in parsed.get("module", []):
                self.modules.update(block)

    def required_variables(self):
        return {name for name, body in self.variables.items() if "default" not in body}


def check_references(module: Module, problems: list, modules_by_dir: dict):
    for path, parsed in module.blocks:
        # A moved block's `from` names an address that is gone on purpose (its `to` is checked).
        referring = {**parsed, "moved": [{k: v for k, v in block.items() if k != "from"} for block in parsed.get("moved", [])]}
        for expression in expressions(referring):
            for match in REFERENCE.finditer(expression):
                kind, name, attribute, data_kind, data_name, res_kind, res_name = match.groups()
                where = f"{path}: `{match.group(0)}`"
                if kind == "var" and name not in module.variables:
                    problems.append(f"{where}: no variable {name}")
                elif kind == "local" and name not in module.locals:
                    problems.append(f"{where}: no local {name}")
                elif kind == "module":
                    if name not in module.modules:
                        problems.append(f"{where}: no module {name}")
                        continue
                    called = modules_by_dir.get(called_dir(module, name))
                    if called is not None and attribute and attribute not in called.outputs:
                        problems.append(f"{where}: module {name} has no output {attribute}")
                elif data_kind and f"{data_kind}.{data_name}" not in module.data:
                    problems.append(f"{where}: no data source {data_kind}.{data_name}")
                elif res_kind and f"{res_kind}.{res_name}" not in module.resources:
                    problems.append(f"{where}: no resource {res_kind}.{res_name}")


def called_dir(module: Module, name: str):
    source = module.modules[name].get("source", "")
    if not source.startswith("."):
        return None
    return (module.directory / source).resolve()


def check_module_calls(module: Module, problems: list, modules_by_dir: dict):
    for name, arguments in module.modules.items():
        directory = called_dir(module, name)
        if directory is None:
            continue
        called = modules_by_dir.get(directory)
        if called is None:
            problems.append(f"{module.directory}: module {name}: no module at {directory}")
            continue
        given = {key for key in arguments if not key.startswith("__")} - META_ARGUMENTS
        for missing in sorted(called.required_variables() - given):
            problems.append(f"{module.directory}: module {name} does not set required variable {missing}")
        for unknown in sorted(given - set(called.variables)):
            problems.append(f"{module.directory}: module {name} sets undeclared variable {unknown}")


def policy_statements(document: dict, with_for_each: bool = False):
    """(statement, conditional) pairs of an aws_iam_policy_document body; with_for_each adds the
    for_each expression of a dynamic statement (None for a static one)."""
    for statement in document.get("statement", []):
        yield (statement, False, None) if with_for_each else (statement, False)
    for dynamic in document.get("dynamic", []):
        block = dynamic.get("statement")
        if not isinstance(block, dict):
            continue
        for statement in block.get("content", []):
            yield (statement, True, str(block.get("for_each", ""))) if with_for_each else (statement, True)


def check_policies(module: Module, problems: list):
    for path, parsed in module.blocks:
        for block in parsed.get("data", []):
            for name, document in block.get("aws_iam_policy_document", {}).items():
                actions, kms_conditional = set(), set()
                for statement, conditional in policy_statements(document):
                    for action in statement.get("actions", []):
                        if action == "*" or action.endswith(":*"):
                            if statement.get("effect") != "Deny":
                                problems.append(f"{path}: policy {name} allows wildcard action {action}")
                        (kms_conditional if conditional else actions).add(action)
                if module.directory.name == "aws-api":
                    check_api_policy(path, name, document, actions, kms_conditional, problems)
                    if name == "function":
                        check_api_resources(module, path, document, problems)
                if module.directory.name == "aws-webhook":
                    check_webhook_policy(path, name, actions, kms_conditional, problems)
                if module.directory.name == "aws-bulk" and name == "function":
                    if actions != BULK_FUNCTION_ACTIONS:
                        extra = sorted(actions - BULK_FUNCTION_ACTIONS)
                        missing = sorted(BULK_FUNCTION_ACTIONS - actions)
                        problems.append(f"{path}: function policy: extra {extra}, missing {missing}")
                    if kms_conditional != BULK_FUNCTION_CONDITIONAL_ACTIONS:
                        problems.append(f"{path}: function policy: conditional actions {sorted(kms_conditional)}, expected {sorted(BULK_FUNCTION_CONDITIONAL_ACTIONS)}")
                if module.directory.name == "aws-bulk" and name in FANOUT_POLICY_ACTIONS:
                    expected = FANOUT_POLICY_ACTIONS[name]
                    if actions != expected:
                        problems.append(f"{path}: {name} policy: extra {sorted(actions - expected)}, missing {sorted(expected - actions)}")
                    if kms_conditional != FANOUT_POLICY_CONDITIONAL_ACTIONS[name]:
                        problems.append(f"{path}: {name} policy: conditional actions {sorted(kms_conditional)}, expected {sorted(FANOUT_POLICY_CONDITIONAL_ACTIONS[name])}")
                if any(action.startswith("ec2:") for action in actions | kms_conditional) and module.directory.name != VPC_ACCESS_MODULE:
                    problems.append(f"{path}: policy {name} allows EC2 actions: only the VPC policy (modules/{VPC_ACCESS_MODULE}) may")
                if module.directory.name == "aws-bulk":
                    for statement, _ in policy_statements(document):
                        if "*" in statement.get("resources", []) and (name, statement.get("sid")) not in BULK_WILDCARD_STATEMENTS:
                            problems.append(f"{path}: policy {name}: statement {statement.get('sid')} names the resource *")


def check_webhook_policy(path, name, actions, conditional, problems):
    expected = {
        "function": (WEBHOOK_FUNCTION_ACTIONS, WEBHOOK_FUNCTION_CONDITIONAL_ACTIONS),
        "signer": (WEBHOOK_SIGNER_ACTIONS, set()),
    }.get(name)
    if expected is None:
        return
    if (actions, conditional) != expected:
        problems.append(
            f"{path}: webhook {name} policy allows {sorted(actions)} and, conditionally, {sorted(conditional)};"
            f" expected {sorted(expected[0])} and {sorted(expected[1])}"
        )


def check_webhook_settings(module: Module, source_dir: Path, problems: list):
    check_function_settings(
        module,
        listed_settings(source_dir, WEBHOOK_SETTING_SOURCES, problems),
        {"PATH_TO_INSTANCE_CONFIG", "WEBHOOK_OUTPUT", "WEBHOOK_BATCH_OUTPUT", "ACCEPTED_AUTH_KEYS"},
        secret_settings(source_dir, problems),
        problems,
    )


def check_api_policy(path, name, document, actions, conditional, problems):
    if name == "function":
        if actions != API_FUNCTION_ACTIONS:
            extra = sorted(actions - API_FUNCTION_ACTIONS)
            missing = sorted(API_FUNCTION_ACTIONS - actions)
            problems.append(f"{path}: API function policy: extra {extra}, missing {missing}")
        if conditional != API_FUNCTION_CONDITIONAL_ACTIONS:
            problems.append(f"{path}: API function policy: conditional actions {sorted(conditional)}, expected {sorted(API_FUNCTION_CONDITIONAL_ACTIONS)}")
    elif name == "caller":
        if actions | conditional != API_CALLER_ACTIONS:
            problems.append(f"{path}: API caller policy allows {sorted(actions | conditional)}, expected {sorted(API_CALLER_ACTIONS)}")
        for statement, _ in policy_statements(document):
            if not statement.get("condition"):
                problems.append(f"{path}: API caller policy: statement {statement.get('sid')} has no condition (URL invocations only)")


def module_locals(module: Module) -> dict:
    found = {}
    for _, parsed in module.blocks:
        for block in parsed.get("locals", []):
            found.update({k: v for k, v in block.items() if not k.startswith("__")})
    return found


LOCAL_REFERENCE = re.compile(r"\blocal\.(\w+)")
ARN_OF_PARAMETER = re.compile(r"\$\{local\.param_arn_prefix\}(\$\{[\w.]+\}|[A-Za-z0-9_]+)?(.?)")


def lock_setting(source_dir: Path, problems: list):
    path, pattern = LOCK_SOURCE
    match = pattern.search((source_dir / path).read_text())
    if match is None:
        problems.append(f"{path}: no LOCK_SETTING (the shared token's lock parameter)")
        return None
    return match.group(1)


def check_api_resources(module: Module, path: Path, document: dict, problems: list):
    """No `*` in a conditional statement's resources; every PutParameter and DeleteParameter
    resource is `<instance prefix ARN><NAME>` for a NAME the function writes (deletes)."""
    locals_ = module_locals(module)
    lock = lock_setting(module.directory.parents[2], problems)
    if lock is not None and locals_.get("shared_token_lock") != lock:
        problems.append(f"{path}: local shared_token_lock is {locals_.get('shared_token_lock')!r}, the binary's lock is {lock!r}")
    writable = API_WRITTEN_SETTINGS | {lock}
    for statement, conditional, for_each in policy_statements(document, with_for_each=True):
        sid = statement.get("sid")
        actions = set(statement.get("actions", []))
        resources = str(statement.get("resources", ""))
        if "statement.value" in resources:
            resources += "\n" + (for_each or "")
        # The local lists the resources come from (one level: e.g. writable_parameter_arns).
        sources = [str(locals_[name]) for name in dict.fromkeys(LOCAL_REFERENCE.findall(resources)) if name in locals_]
        expanded = "\n".join([resources] + sources)
        if sid not in API_WILDCARD_STATEMENTS and "*" in expanded:
            problems.append(f"{path}: API function policy: statement {sid} has a `*` in its resources")
        allowed = {"ssm:PutParameter": writable, "ssm:DeleteParameter": {lock}}
        for action in sorted(actions & set(allowed)):
            if not conditional:
                problems.append(f"{path}: API function policy: {action} in the unconditional statement {sid}")
            arns = list(ARN_OF_PARAMETER.finditer(expanded))
            if not arns or "arn:" in expanded:
                problems.append(f"{path}: API function policy: {action} (statement {sid}) is not on `${{local.param_arn_prefix}}<NAME>` ARNs")
            for arn in arns:
                name, after = arn.group(1), arn.group(2)
                if name is None or after not in ("'", '"', ""):
                    problems.append(f"{path}: API function policy: {action} (statement {sid}) names a parameter pattern, not one parameter")
                    continue
                for setting in parameter_names(name, expanded, locals_):
                    if setting not in allowed[action]:
                        problems.append(f"{path}: API function policy: {action} (statement {sid}) on {setting}, not one of {sorted(allowed[action])}")


def parameter_names(name: str, text: str, locals_: dict) -> set:
    """The setting names a parameter ARN's last part may take: a literal, a local holding one,
    or the variable of a `for` over locals (their quoted names)."""
    if not name.startswith("${"):
        return {name}
    reference = name[2:-1]
    if reference.startswith("local."):
        value = str(locals_.get(reference[len("local."):], reference))
        return {value} if "${" not in value else set(re.findall(r"['\"]([A-Za-z0-9_]+)['\"]", value)) or {value}
    loop = re.search(rf"for\s+{re.escape(reference)}\s+in\s+(.*?)\s+:", text, re.S)
    if loop is None:
        return {name}
    names = set(re.findall(r"['\"]([A-Z][A-Za-z0-9_]+)['\"]", loop.group(1)))
    for local in LOCAL_REFERENCE.findall(loop.group(1)):
        value = locals_.get(local)
        if isinstance(value, str) and "${" not in value:
            names.add(value)
        elif isinstance(value, str) and local not in ("use_shared_token", "writes_refresh_token"):
            names.update(re.findall(r"['\"]([A-Z][A-Za-z0-9_]+)['\"]", value))
    return names


# Environment variables the module sets that the binary does not read, and why.
INFORMATIONAL_ENVIRONMENT = {
    "RUST_LOG": "the log filter, read by tracing-subscriber",
    "PSOXY_RULES_SHA256": "changes with the rules so a rules change restarts the function",
}
ENVIRONMENT_KEY = re.compile(r"""["']([A-Z][A-Z0-9_]+)["']\s*:""")


# Where the binaries list the settings they read: (file, the constant holding the list).
# Every setting is declared in src/settings/catalog.rs (name, default, secret, doc).
CATALOG = "src/settings/catalog.rs"
DECLARATION = re.compile(r"^\s+([A-Z][A-Z0-9_]+) \{ group: \w+, default: (?:None|Some\(\"[^\"]*\"\)), secret: (true|false),", re.M)
BULK_SETTING_SOURCES = [
    ("src/settings/remote.rs", "LOCATION_SETTINGS"),
    ("src/settings/pseudonym.rs", "PSEUDONYM_SETTINGS"),
    ("src/bulk/settings.rs", "OWN_SETTINGS"),
]
API_SETTING_SOURCES = [
    ("src/settings/remote.rs", "LOCATION_SETTINGS"),
    ("src/settings/pseudonym.rs", "PSEUDONYM_SETTINGS"),
    ("src/api/settings.rs", "OWN_SETTINGS"),
    ("src/api/auth/mod.rs", "AUTH_SETTINGS"),
]
WEBHOOK_SETTING_SOURCES = [
    ("src/settings/remote.rs", "LOCATION_SETTINGS"),
    ("src/settings/pseudonym.rs", "PSEUDONYM_SETTINGS"),
    ("src/webhook/settings.rs", "OWN_SETTINGS"),
]
API_AUTH_STRATEGIES = {
    "none", "bearer", "header", "basic", "oauth2_client_credentials", "oauth2_refresh_token",
    "google_service_account", "ms_workload_identity",
}
# Psoxy's strategies (SOURCE_AUTH_STRATEGY_IDENTIFIER) and its grants (GRANT_TYPE, with
# oauth2_refresh_token), as the module offers them (`none` is ours: source_auth_strategy).
API_AUTH_IDENTIFIERS = {
    "oauth2_access_token", "oauth2_refresh_token", "gcp_service_account_key", "basic_auth",
    "claude_admin_api_key", "windsurf_service_key",
}
API_GRANT_TYPES = {
    "refresh_token", "refresh_token_via_query_parameter", "account_credentials",
    "client_credentials", "certificate_credentials", "workload_identity_federation",
}
# client_credentials' secrets depend on CREDENTIALS_FLOW (jwt_assertion by default).
API_GRANT_KEYS = (API_GRANT_TYPES - {"client_credentials"}) | {
    "client_credentials_client_secret", "client_credentials_jwt_assertion",
}
# Each variable whose validation lists names: what it must list.
API_NAME_LISTS = {
    "source_auth_strategy": API_AUTH_STRATEGIES,
    "source_auth_strategy_identifier": API_AUTH_IDENTIFIERS,
    "grant_type": API_GRANT_TYPES,
}
UPPER_NAME = re.compile(r"\b([A-Z][A-Z0-9_]{2,})\b")


def declared_settings(source_dir: Path, problems: list) -> dict:
    """Name -> whether it is a secret, for every setting of the catalog."""
    declared = {name: secret == "true" for name, secret in DECLARATION.findall((source_dir / CATALOG).read_text())}
    if not declared:
        problems.append(f"{CATALOG}: no setting declarations found")
    return declared


def listed_settings(source_dir: Path, sources: list, problems: list) -> set:
    """The settings named in each list of `sources`, plus the secret-store location settings
    every shell reads; each must be declared in the catalog."""
    declared = declared_settings(source_dir, problems)
    known = set()
    for source, constant in sources:
        text = (source_dir / source).read_text()
        block = re.search(rf"{constant}: &\[&Setting\] = &\[(.*?)\];", text, re.S)
        if block is None:
            problems.append(f"{source}: no {constant} list of settings")
            continue
        known.update(re.findall(r"&([A-Z][A-Z0-9_]+)", block.group(1)))
    for name in sorted(known - set(declared)):
        problems.append(f"{CATALOG}: {name} is read but not declared")
    return known


def secret_settings(source_dir: Path, problems: list) -> set:
    return {name for name, secret in declared_settings(source_dir, problems).items() if secret}


def api_setting_names(source_dir: Path, problems: list) -> set:
    known = listed_settings(source_dir, API_SETTING_SOURCES, problems)
    known.add("SSM_KMS_KEY_ID")
    for secret in ("PSOXY_SALT", "PSOXY_ENCRYPTION_KEY", "ACCESS_TOKEN", "BASIC_AUTH_PASSWORD",
                   "CLIENT_SECRET", "REFRESH_TOKEN", "SERVICE_ACCOUNT_KEY", "ACCOUNT_ID",
                   "PRIVATE_KEY", "PRIVATE_KEY_ID", "BASIC_AUTH_USER_ID", "ADMIN_API_KEY",
                   "SERVICE_KEY"):
        if secret not in known or secret not in secret_settings(source_dir, problems):
            problems.append(f"scripts/check_terraform.py: secret setting {secret} is not read as a secret by the psoxy-api binary")
    return known


def check_api_settings(module: Module, source_dir: Path, problems: list):
    known = api_setting_names(source_dir, problems)
    secrets = secret_settings(source_dir, problems)
    locals_ = module_locals(module)
    for path, parsed in module.blocks:
        for block in parsed.get("resource", []):
            for name, body in block.get("aws_lambda_function", {}).items():
                for environment in body.get("environment", []):
                    text = str(environment.get("variables", ""))
                    reference = re.fullmatch(r"\$\{local\.(\w+)\}", text)
                    if reference:
                        text = str(locals_.get(reference.group(1), ""))
                    keys = set(ENVIRONMENT_KEY.findall(text))
                    if not {"PATH_TO_INSTANCE_CONFIG", "TARGET_HOST"} <= keys:
                        problems.append(f"{path}: function {name}: environment lacks PATH_TO_INSTANCE_CONFIG or TARGET_HOST")
                    if not keys & {"SOURCE_AUTH_STRATEGY", "SOURCE_AUTH_STRATEGY_IDENTIFIER"}:
                        problems.append(f"{path}: function {name}: environment lacks SOURCE_AUTH_STRATEGY and SOURCE_AUTH_STRATEGY_IDENTIFIER")
                    for key in sorted(keys):
                        if key in secrets:
                            problems.append(f"{path}: function {name} puts the secret {key} in its environment")
                        elif key not in known and key not in INFORMATIONAL_ENVIRONMENT:
                            problems.append(f"{path}: function {name} sets {key}, which the binary does not read")
            for name, body in block.get("aws_ssm_parameter", {}).items():
                setting = re.sub(r"^\$\{local\.param_prefix\}", "", body.get("name", ""))
                if setting == "${each.key}":
                    continue  # the strategy's secrets, checked below
                if setting not in known:
                    problems.append(f"{path}: parameter {name} is named {setting}, which the binary does not read")
    check_secret_names(module, known, problems)
    check_name_validations(module, known, problems)
    check_strategy_locals(module, secrets, problems)


def check_name_validations(module: Module, known: set, problems: list):
    """The setting names the validations of source_settings and extra_environment list are the
    binary's, and each strategy, identifier and grant validation lists exactly the binary's."""
    for path, parsed in module.blocks:
        for block in parsed.get("variable", []):
            for name, body in block.items():
                for validation in body.get("validation", []):
                    condition = str(validation.get("condition", ""))
                    if name in ("source_settings", "extra_environment"):
                        for setting in UPPER_NAME.findall(condition):
                            if setting not in known:
                                problems.append(f"{path}: variable {name} names {setting}, which the binary does not read")
                    if name in API_NAME_LISTS:
                        listed = set(re.findall(r"\b[a-z][a-z0-9_]+\b", condition.split("]")[0].split("[")[-1]))
                        if listed != API_NAME_LISTS[name]:
                            problems.append(f"{path}: {name} validation lists {sorted(listed)}, expected {sorted(API_NAME_LISTS[name])}")


def check_strategy_locals(module: Module, secrets: set, problems: list):
    """The module's maps of secrets by strategy, identifier and grant have the binary's keys and
    name only secret settings."""
    locals_ = module_locals(module)
    for local, expected in (
        ("secret_settings_by_strategy", API_AUTH_STRATEGIES),
        ("secret_settings_by_identifier", API_AUTH_IDENTIFIERS),
        ("secret_settings_by_grant", API_GRANT_KEYS),
    ):
        by_strategy = locals_.get(local)
        if not isinstance(by_strategy, dict):
            problems.append(f"{module.directory}: no local {local}")
            continue
        if set(by_strategy) != expected:
            problems.append(f"{module.directory}: {local} has {sorted(by_strategy)}, expected {sorted(expected)}")
        for strategy, settings in by_strategy.items():
            for setting in settings:
                if setting not in secrets:
                    problems.append(f"{module.directory}: {local}: {strategy} stores {setting}, which is not a secret setting of the binary")


# The examples that must call modules/aws-api (each is checked like any other caller).
API_EXAMPLES = ("aws-api-github", "aws-api-zoom")
# The output of an API module that maps each setting to its secret (parameter or secret id).
SECRET_OUTPUT = "secret_parameter_names"


def literal(value):
    """A module argument's value when it is a literal (python-hcl2 keeps expressions as
    `${...}`), else None."""
    if isinstance(value, str) and "${" in value:
        return None
    return value


def expected_secrets(api_locals: dict, arguments: dict):
    """The secret parameters the API module creates for literal strategy arguments, or None
    when they are expressions."""
    strategy = literal(arguments.get("source_auth_strategy"))
    identifier = literal(arguments.get("source_auth_strategy_identifier"))
    grant = literal(arguments.get("grant_type"))
    flow = literal(arguments.get("credentials_flow")) or "jwt_assertion"
    shared = literal(arguments.get("use_shared_token"))
    if strategy is not None:
        secrets = set(api_locals.get("secret_settings_by_strategy", {}).get(strategy, []))
        token_strategy = strategy in ("oauth2_client_credentials", "oauth2_refresh_token", "ms_workload_identity")
    elif identifier is not None:
        secrets = set(api_locals.get("secret_settings_by_identifier", {}).get(identifier, []))
        token_strategy = identifier == "oauth2_refresh_token"
        if token_strategy and grant is not None:
            key = f"client_credentials_{flow}" if grant == "client_credentials" else grant
            secrets |= set(api_locals.get("secret_settings_by_grant", {}).get(key, []))
    else:
        return None
    if token_strategy and (shared if shared is not None else grant == "account_credentials"):
        secrets.add("ACCESS_TOKEN")
    return secrets


def module_callers(modules_by_dir: dict, called: Module) -> dict:
    """Directory name -> [(calling module, call name, arguments)] of every call of `called`."""
    callers = {}
    for module in modules_by_dir.values():
        for name, arguments in module.modules.items():
            if called_dir(module, name) == called.directory.resolve():
                callers.setdefault(module.directory.name, []).append((module, name, arguments))
    return callers


def check_examples_call(root: Path, modules_by_dir: dict, called: Module, examples, problems: list) -> dict:
    """Each of `examples` calls the module `called`; returns every caller of it."""
    callers = module_callers(modules_by_dir, called)
    for example in examples:
        if example not in callers:
            problems.append(f"{root / 'examples' / example}: missing, or does not call modules/{called.directory.name}")
    return callers


def check_api_examples(root: Path, modules_by_dir: dict, api: Module, problems: list,
                       examples=API_EXAMPLES, secrets_output=SECRET_OUTPUT):
    """Every caller of the API module `api` (the `examples` at least) names exactly one valid
    strategy, and each secret its outputs take from `secrets_output` is one the module creates
    for that strategy."""
    api_locals = module_locals(api)
    secret_output = re.compile(rf"module\.(\w+)\.{secrets_output}\[['\"](\w+)['\"]\]")
    callers = check_examples_call(root, modules_by_dir, api, examples, problems)
    for calls in callers.values():
        for module, name, arguments in calls:
            where = f"{module.directory}: module {name}"
            strategy = arguments.get("source_auth_strategy")
            identifier = arguments.get("source_auth_strategy_identifier")
            if (strategy is None) == (identifier is None):
                problems.append(f"{where}: give exactly one of source_auth_strategy and source_auth_strategy_identifier")
            for variable, value in (("source_auth_strategy", strategy), ("source_auth_strategy_identifier", identifier), ("grant_type", arguments.get("grant_type"))):
                if literal(value) is not None and value not in API_NAME_LISTS[variable]:
                    problems.append(f"{where}: {variable} {value!r} is not one of {sorted(API_NAME_LISTS[variable])}")
            if literal(identifier) is not None and (identifier == "oauth2_refresh_token") != ("grant_type" in arguments):
                problems.append(f"{where}: grant_type goes with source_auth_strategy_identifier oauth2_refresh_token, and only there")
            secrets = expected_secrets(api_locals, arguments)
            for path, parsed in module.blocks:
                for expression in expressions(parsed):
                    for match in secret_output.finditer(expression):
                        if match.group(1) == name and secrets is not None and match.group(2) not in secrets:
                            problems.append(f"{path}: module {name} creates no secret {match.group(2)} (it creates {sorted(secrets)})")


def expand_locals(text: str, locals_: dict, seen=frozenset()) -> str:
    """`text` followed by the values of the locals it references, recursively (the bulk
    functions' environment is a local they share)."""
    for name in LOCAL_REFERENCE.findall(text):
        if name in locals_ and name not in seen:
            seen = seen | {name}
            text += "\n" + expand_locals(str(locals_[name]), locals_, seen)
    return text


def check_bulk_settings(module: Module, source_dir: Path, problems: list):
    check_function_settings(
        module,
        listed_settings(source_dir, BULK_SETTING_SOURCES, problems),
        {"PATH_TO_INSTANCE_CONFIG"},
        set(),
        problems,
    )


def check_function_settings(module: Module, known: set, required: set, secrets: set, problems: list):
    """Every environment variable of the module's functions and every SSM parameter under the
    instance prefix is a setting the binary reads (`known`); the environment sets `required`
    and holds none of `secrets`."""
    locals_ = module_locals(module)
    for path, parsed in module.blocks:
        for block in parsed.get("resource", []):
            for name, body in block.get("aws_lambda_function", {}).items():
                for environment in body.get("environment", []):
                    keys = set(ENVIRONMENT_KEY.findall(expand_locals(str(environment.get("variables", "")), locals_)))
                    if not required <= keys:
                        problems.append(f"{path}: function {name}: environment lacks {', '.join(sorted(required - keys))} (or the check cannot read it)")
                    for key in sorted(keys):
                        if key in secrets:
                            problems.append(f"{path}: function {name} puts the secret {key} in its environment")
                        elif key not in known and key not in INFORMATIONAL_ENVIRONMENT:
                            problems.append(f"{path}: function {name} sets {key}, which the binary does not read")
            for name, body in block.get("aws_ssm_parameter", {}).items():
                setting = re.sub(r"^\$\{local\.param_prefix\}", "", body.get("name", ""))
                if setting not in known:
                    problems.append(f"{path}: parameter {name} is named {setting}, which the binary does not read")
    check_secret_names(module, known, problems)


# The IAM action authorizing each SDK operation the code may call (snake_case as in the Rust
# SDK). Operations missing here that appear in src/ fail the check until they are mapped.
SDK_OPERATION_ACTIONS = {
    "get_object": "s3:GetObject",
    "head_object": "s3:GetObject",
    "put_object": "s3:PutObject",
    "create_multipart_upload": "s3:PutObject",
    "upload_part": "s3:PutObject",
    "complete_multipart_upload": "s3:PutObject",
    "abort_multipart_upload": "s3:AbortMultipartUpload",
    "get_parameter": "ssm:GetParameter",
    "get_parameters": "ssm:GetParameters",
    "put_parameter": "ssm:PutParameter",
    "delete_parameter": "ssm:DeleteParameter",
    "get_open_id_token_for_developer_identity": "cognito-identity:GetOpenIdTokenForDeveloperIdentity",
    # The fan-out: the bulk function starts the state machine, the chunk function copies each
    # part into the output (UploadPartCopy: s3:PutObject, and s3:GetObject on the part), lists
    # the upload's parts and deletes the run's objects.
    "start_execution": "states:StartExecution",
    "upload_part_copy": "s3:PutObject",
    "list_parts": "s3:ListMultipartUploadParts",
    "delete_object": "s3:DeleteObject",
    # The webhook collector: the accepted KMS keys' public halves, and its queue.
    "get_public_key": "kms:GetPublicKey",
    "send_message": "sqs:SendMessage",
    # Secrets Manager (SECRETS_STORE=AWS_SECRETS_MANAGER, secrets_store = "aws_secrets_manager"):
    # every function reads its settings; the API function writes back its tokens.
    "get_secret_value": "secretsmanager:GetSecretValue",
    "put_secret_value": "secretsmanager:PutSecretValue",
}
# Operations only the webhook function calls: authorized by its policy.
WEBHOOK_ONLY_OPERATIONS = {"get_public_key"}
# Operations both the webhook function and the API function's asynchronous requests call
# (sending to their queue; writing objects is the bulk code's S3 writer, granted to both).
QUEUE_OPERATIONS = {"send_message"}
S3_WRITE_ACTIONS = {"s3:PutObject", "s3:AbortMultipartUpload"}
# Operations only the API function calls: authorized by its policy, not the bulk function's.
API_ONLY_OPERATIONS = {"put_parameter", "delete_parameter", "get_open_id_token_for_developer_identity", "put_secret_value"}
# Operations only the fan-out calls: authorized by the fan-out's policies (the chunk function's,
# and the bulk function's right to start the state machine), not the bulk function's own.
FANOUT_ONLY_OPERATIONS = {"start_execution", "upload_part_copy", "list_parts", "delete_object"}
# Operations of the shared settings code the API function calls too (the shared token and its
# lock are read with GetParameter).
API_SHARED_OPERATIONS = {"get_parameter", "get_parameters", "get_secret_value"}
# Operations the code has that the module's deployment never calls, and why.
SDK_OPERATIONS_NOT_DEPLOYED = {
    "list_multipart_uploads": "storage::list_multipart_uploads, a helper the tests use to prove no upload was left behind",
    "list_objects_v2": "storage::s3::list_objects, which only `psoxy replay` (the CLI, with the operator's credentials) calls to list the objects it replays",
}
SDK_OPERATION = re.compile(
    r"\.((?:get|head|put|create|upload|complete|abort|list|delete|copy|restore|select|start|send|receive)_[a-z0-9_]+)\(\)"
)


def check_sdk_operations(source_dir: Path, problems: list):
    for path in sorted((source_dir / "src").rglob("*.rs")):
        if path.name.startswith("test") or "/tests/" in str(path):
            continue
        text = path.read_text()
        # Unit tests at the end of a file may call anything.
        text = text.split("#[cfg(test)]")[0]
        for operation in sorted(set(SDK_OPERATION.findall(text))):
            if operation in SDK_OPERATION_ACTIONS or operation in SDK_OPERATIONS_NOT_DEPLOYED:
                continue
            if not looks_like_sdk_call(text, operation):
                continue
            problems.append(f"{path}: calls {operation}(), which no IAM action of the functions is mapped to")
    granted = {action for operation, action in SDK_OPERATION_ACTIONS.items()
               if operation not in API_ONLY_OPERATIONS | FANOUT_ONLY_OPERATIONS | WEBHOOK_ONLY_OPERATIONS | QUEUE_OPERATIONS}
    queue_actions = {SDK_OPERATION_ACTIONS[o] for o in QUEUE_OPERATIONS}
    if queue_actions - API_FUNCTION_CONDITIONAL_ACTIONS or S3_WRITE_ACTIONS - API_FUNCTION_CONDITIONAL_ACTIONS:
        problems.append("API function policy lacks the queue or object writes of asynchronous requests")
    # The webhook function reads its settings as every shell does (either store).
    store_reads = {SDK_OPERATION_ACTIONS[o] for o in ("get_parameters", "get_secret_value")}
    webhook_missing = ({SDK_OPERATION_ACTIONS[o] for o in WEBHOOK_ONLY_OPERATIONS} | queue_actions | S3_WRITE_ACTIONS | store_reads) - WEBHOOK_FUNCTION_ALL_ACTIONS
    if webhook_missing:
        problems.append(f"webhook function policy lacks {sorted(webhook_missing)} needed by the code")
    # The chunk function runs the bulk code (reads, writes, parameters) and the fan-out's.
    fanout_missing = {SDK_OPERATION_ACTIONS[o] for o in FANOUT_ONLY_OPERATIONS} - FANOUT_POLICY_ACTIONS["chunk"] - FANOUT_POLICY_ACTIONS["function_fanout"]
    if fanout_missing:
        problems.append(f"fan-out policies lack {sorted(fanout_missing)} needed by the code")
    if granted - CHUNK_ALL_ACTIONS:
        problems.append(f"chunk function policy lacks {sorted(granted - CHUNK_ALL_ACTIONS)}, which the bulk code it runs needs")
    api_missing = {SDK_OPERATION_ACTIONS[o] for o in API_ONLY_OPERATIONS | API_SHARED_OPERATIONS} - API_FUNCTION_ALL_ACTIONS
    if api_missing:
        problems.append(f"API function policy lacks {sorted(api_missing)} needed by the code")
    missing = granted - BULK_FUNCTION_ALL_ACTIONS
    if missing:
        problems.append(f"bulk function policy lacks {sorted(missing)} needed by the code")


def looks_like_sdk_call(text: str, operation: str) -> bool:
    """An SDK call is a builder: `.operation()` followed by setters and `.send()`."""
    for match in re.finditer(rf"\.{operation}\(\)", text):
        if ".send()" in text[match.end() : match.end() + 600]:
            return True
    return False


# --- 11-13. The options of issue 22 in the AWS modules ------------------------------------------

STORE_NAMES = {"aws_ssm_parameter_store", "aws_secrets_manager"}
STORE_LOCALS = {
    "use_secrets_manager": re.compile(r"""^\$\{var\.secrets_store == ["']aws_secrets_manager["']\}$"""),
    "use_ssm": re.compile(r"^\$\{!local\.use_secrets_manager\}$"),
    # Every secret of the instance: its prefix (the role reads no other secret).
    "secret_arn_prefix": re.compile(r"^arn:\$\{local\.partition\}:secretsmanager:\$\{local\.region\}:\$\{local\.account_id\}:secret:\$\{local\.param_prefix\}$"),
}
# The read grant of Secrets Manager: the instance's own prefix, only with that store (the
# function asks for every setting the environment does not set, and an AccessDenied answer
# stops it, so the grant cannot be narrower than the prefix).
OWN_SECRETS_FOR_EACH = re.compile(r"""^\$\{local\.use_secrets_manager \? \[["']\$\{local\.secret_arn_prefix\}\*["']\] : \[\]\}$""")
# The API function's writes of its tokens: the ARN of each secret it writes, by name.
WRITTEN_SECRET_ARNS = re.compile(r"for (\w+) in local\.(\w+) : aws_secretsmanager_secret\.\w+\[\1\]\.arn")
SECRETS_STORE_ENVIRONMENT = re.compile(r"""local\.use_secrets_manager \? \{["']SECRETS_STORE["']: ["']AWS_SECRETS_MANAGER["']\} : \{\}""")
UPPER_WORD = re.compile(r"\b([A-Z][A-Z0-9_]{2,})\b")

# Each AWS module's vpc.tf: the gate, and its call of the shared module with its own account,
# region and partition (which the locals take from the provider's data sources).
VPC_LOCALS = {
    "use_vpc": re.compile(r"^\$\{var\.vpc_config != null\}$"),
    "account_id": re.compile(r"^\$\{data\.aws_caller_identity\.current\.account_id\}$"),
    "region": re.compile(r"^\$\{data\.aws_region\.current\.region\}$"),
    "partition": re.compile(r"^\$\{data\.aws_partition\.current\.partition\}$"),
}
VPC_ACCESS_MODULE = "aws-lambda-vpc-access"
VPC_ACCESS_CALL_ARGUMENTS = {
    "count": "${local.use_vpc ? 1 : 0}",
    "vpc_config": "${var.vpc_config}",
    "partition": "${local.partition}",
    "region": "${local.region}",
    "account_id": "${local.account_id}",
}
# One entry of the call's role_names: a literal key (known at plan time) and a role's name.
VPC_ROLE_ENTRY = re.compile(r"""['"](\w+)['"]: ['"]\$\{aws_iam_role\.(\w+)(?:\[0\])?\.id\}['"]""")
# The shared module: the ARNs of the given subnets and security groups (any account: a subnet
# shared by AWS RAM is the VPC owner's), and the account's network interfaces in the region.
VPC_ACCESS_LOCALS = {
    "subnet_arns": re.compile(r"""^\$\{\[for (\w+) in var\.vpc_config\.subnet_ids : "arn:\$\{var\.partition\}:ec2:\$\{var\.region\}:\*:subnet/\$\{\1\}"\]\}$"""),
    "security_group_arns": re.compile(r"""^\$\{\[for (\w+) in var\.vpc_config\.security_group_ids : "arn:\$\{var\.partition\}:ec2:\$\{var\.region\}:\*:security-group/\$\{\1\}"\]\}$"""),
    "network_interfaces": re.compile(r"^arn:\$\{var\.partition\}:ec2:\$\{var\.region\}:\$\{var\.account_id\}:network-interface/\*$"),
}
VPC_CREATE_RESOURCES = "${concat([${local.network_interfaces}], local.subnet_arns, local.security_group_arns)}"
VPC_MANAGE_RESOURCES = ["${local.network_interfaces}"]
LAMBDA_ROLE = re.compile(r"^\$\{aws_iam_role\.(\w+)(?:\[0\])?\.arn\}$")

# What the bulk module's functions may write (s3:PutObject): the sanitized bucket (made here or
# existing), the fan-out's run objects, and each additional destination under its own path.
BULK_WRITTEN_RESOURCES = {"${local.sanitized_bucket_arn}/*", "${local.fanout_work_objects}"}
ADDITIONAL_FOR_EACH = re.compile(r"""^\$\{local\.has_additional_transforms \? \[["']\$\{local\.additional_destination_objects\}["']\] : \[\]\}$""")
ADDITIONAL_OBJECTS = re.compile(r"""^\$\{distinct\(\[for (\w+) in var\.additional_transforms : "arn:\$\{local\.partition\}:s3:::\$\{\1\.destination_bucket_name\}/\$\{\1\.path_within_bucket\}\*"\]\)\}$""")
ADDITIONAL_KEYS = re.compile(r"^\$\{distinct\(\[for (\w+) in var\.additional_transforms : \1\.kms_key_arn if \1\.kms_key_arn != null\]\)\}$")
BULK_KMS_FOR_EACH = {
    # The module's key, and the additional destinations' own keys.
    re.compile(r"""^\$\{local\.use_kms \? \[["']\$\{var\.kms_key_arn\}["']\] : \[\]\}$"""),
    re.compile(r"""^\$\{length\(local\.additional_kms_key_arns\) > 0 \? \[["']\$\{local\.additional_kms_key_arns\}["']\] : \[\]\}$"""),
}
SANITIZED_ARN = re.compile(r"""^\$\{var\.existing_sanitized_bucket_name != null \? "arn:\$\{local\.partition\}:s3:::\$\{var\.existing_sanitized_bucket_name\}" : aws_s3_bucket\.this\[["']sanitized["']\]\.arn\}$""")


def function_policy_documents(module: Module):
    """(path, name, document) of the policies of the module's function roles."""
    names = AWS_MODULE_FUNCTION_POLICIES.get(module.directory.name, ())
    for path, parsed in module.blocks:
        for block in parsed.get("data", []):
            for name, document in block.get("aws_iam_policy_document", {}).items():
                if name in names:
                    yield path, name, document


def module_variable(module: Module, name: str):
    for _, parsed in module.blocks:
        for block in parsed.get("variable", []):
            if name in block:
                return block[name]
    return None


def module_resources(module: Module, kind: str):
    """(path, name, body) of every resource of `kind`."""
    for path, parsed in module.blocks:
        for block in parsed.get("resource", []):
            for name, body in block.get(kind, {}).items():
                yield path, name, body


def check_locals(module: Module, expected: dict, problems: list):
    locals_ = module_locals(module)
    for name, pattern in expected.items():
        if not pattern.match(str(locals_.get(name, ""))):
            problems.append(f"{module.directory}: local {name} is {locals_.get(name)!r}, not what the check expects ({pattern.pattern})")


def check_secret_store(module: Module, problems: list):
    """11. secrets_store: SSM reads, SSM parameters only with SSM, Secrets Manager grants and
    secrets only with Secrets Manager; the read grant is the instance's own prefix, writes name
    each secret the API function writes; the environment says which store."""
    variable = module_variable(module, "secrets_store")
    if variable is None:
        problems.append(f"{module.directory}: no variable secrets_store")
        return
    listed = set(re.findall(r"aws_[a-z_]+", " ".join(str(v.get("condition", "")) for v in variable.get("validation", []))))
    if variable.get("default") != "aws_ssm_parameter_store" or listed != STORE_NAMES:
        problems.append(f"{module.directory}: variable secrets_store must default to aws_ssm_parameter_store and accept only {sorted(STORE_NAMES)}")
    check_locals(module, STORE_LOCALS, problems)
    locals_ = module_locals(module)
    lock = locals_.get("shared_token_lock")
    for path, name, document in function_policy_documents(module):
        for statement, conditional, for_each in policy_statements(document, with_for_each=True):
            sid = statement.get("sid")
            where = f"{path}: policy {name}: statement {sid}"
            actions = set(statement.get("actions", []))
            resources = str(statement.get("resources", ""))
            effective = resources + ("\n" + for_each if for_each and "statement.value" in resources else "")
            expanded = expand_locals(effective, locals_)
            ssm = sorted(a for a in actions if a.startswith("ssm:"))
            secrets = {a for a in actions if a.startswith("secretsmanager:")}
            gated_ssm = conditional and str(for_each).startswith("${local.use_ssm ?")
            if ssm and not gated_ssm:
                names = set()
                for arn in ARN_OF_PARAMETER.finditer(expanded):
                    names |= parameter_names(arn.group(1) or "*", expanded, locals_) if arn.group(1) else {"*"}
                # The API function's writes: its tokens only under `local.use_ssm ?`, the lock
                # (an SSM String whatever the store) otherwise.
                others = names - {lock}
                ok = module.directory.name == "aws-api" and names and (
                    not others or re.search(r"local\.use_ssm \? local\.written_secure_settings", expanded)
                ) and "*" not in names and "${local.param_arn_prefix}*" not in expanded
                if not ok:
                    lock_note = f"; with Secrets Manager only the lock {lock} stays in SSM" if module.directory.name == "aws-api" else ""
                    problems.append(f"{where}: {ssm} whatever secrets_store (only in a block `for_each = local.use_ssm ? ...`{lock_note})")
            if not secrets:
                continue
            if not conditional or "local.use_secrets_manager" not in expand_locals(str(for_each), locals_):
                problems.append(f"{where}: {sorted(secrets)} whatever secrets_store (only in a block that exists with local.use_secrets_manager)")
            if len(secrets) != 1 or not secrets <= {"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"}:
                problems.append(f"{where}: {sorted(secrets)}: one statement each for secretsmanager:GetSecretValue and secretsmanager:PutSecretValue, nothing else")
            if "secretsmanager:GetSecretValue" in secrets and not (statement.get("resources") == ["${statement.value}"] and OWN_SECRETS_FOR_EACH.match(str(for_each))):
                problems.append(f"{where}: secretsmanager:GetSecretValue on {effective!r}: only on the instance's own secrets, [\"${{local.secret_arn_prefix}}*\"]")
            if "secretsmanager:PutSecretValue" in secrets:
                written = WRITTEN_SECRET_ARNS.search(expanded)
                names = set(UPPER_WORD.findall(str(locals_.get(written.group(2), "")))) if written else set()
                if module.directory.name != "aws-api" or not written or "*" in expanded or not names or not names <= API_WRITTEN_SETTINGS:
                    problems.append(f"{where}: secretsmanager:PutSecretValue only by the API function, on the ARN of each secret it writes ({sorted(API_WRITTEN_SETTINGS)}), no pattern")
    for path, name, body in module_resources(module, "aws_ssm_parameter"):
        if "local.use_ssm" not in str(body.get("count", "")) + str(body.get("for_each", "")):
            problems.append(f"{path}: parameter {name} exists whatever secrets_store (count or for_each on local.use_ssm)")
    for path, name, body in module_resources(module, "aws_secretsmanager_secret"):
        if "local.use_secrets_manager" not in str(body.get("count", "")) + str(body.get("for_each", "")):
            problems.append(f"{path}: secret {name} exists whatever secrets_store (count or for_each on local.use_secrets_manager)")
        if not str(body.get("name", "")).startswith("${local.param_prefix}"):
            problems.append(f"{path}: secret {name} is not under the instance's prefix (local.param_prefix), where the function reads and its grant is")
    for path, name, body in module_resources(module, "aws_lambda_function"):
        for environment in body.get("environment", []):
            if not SECRETS_STORE_ENVIRONMENT.search(expand_locals(str(environment.get("variables", "")), locals_)):
                problems.append(f"{path}: function {name}: environment lacks `local.use_secrets_manager ? {{ SECRETS_STORE = \"AWS_SECRETS_MANAGER\" }} : {{}}`")


def secret_setting_names(body: dict, locals_: dict):
    """The setting names of an aws_secretsmanager_secret under the prefix, or None for the
    strategy's secrets (checked with the strategy's maps)."""
    name = re.sub(r"^\$\{local\.param_prefix\}", "", str(body.get("name", "")))
    if name != "${each.key}":
        return {name}
    for_each = str(body.get("for_each", ""))
    if "local.source_secret_settings" in for_each:
        return None
    text = for_each + "".join("\n" + str(locals_.get(n, "")) for n in LOCAL_REFERENCE.findall(for_each))
    return set(UPPER_WORD.findall(text))


def check_secret_names(module: Module, known: set, problems: list):
    locals_ = module_locals(module)
    for path, name, body in module_resources(module, "aws_secretsmanager_secret"):
        for setting in sorted(secret_setting_names(body, locals_) or ()):
            if setting not in known:
                problems.append(f"{path}: secret {name} is named {setting}, which the binary does not read")


def check_vpc_access(module: Module, problems: list):
    """12. The shared module aws-lambda-vpc-access: one policy, allowing exactly the EC2 actions
    Lambda needs, each on the narrowest resources AWS allows, attached to each role it is given
    and to nothing else; nothing else in the module."""
    variable = module_variable(module, "vpc_config")
    if variable is None or not all(k in str(variable.get("type")) for k in ("subnet_ids", "security_group_ids")):
        problems.append(f"{module.directory}: variable vpc_config must be an object of subnet_ids and security_group_ids")
    check_locals(module, VPC_ACCESS_LOCALS, problems)
    documents = [(path, name, body) for path, parsed in module.blocks for block in parsed.get("data", [])
                 for name, body in block.get("aws_iam_policy_document", {}).items()]
    if len(documents) != 1:
        problems.append(f"{module.directory}: {len(documents)} policy documents, expected the VPC policy alone")
    for path, _, document in documents:
        allowed = set()
        for statement, conditional, _ in policy_statements(document, with_for_each=True):
            sid = statement.get("sid")
            actions = set(statement.get("actions", []))
            allowed |= actions
            resources = statement.get("resources")
            if statement.get("effect", "Allow") != "Allow" or conditional or statement.get("condition") or statement.get("not_actions") or statement.get("not_resources"):
                problems.append(f"{path}: VPC policy statement {sid}: only plain Allow statements (no dynamic, condition, not_actions or not_resources)")
            if actions & VPC_DESCRIBE_ACTIONS or resources == ["*"] or "*" == resources:
                if not actions <= VPC_DESCRIBE_ACTIONS or resources != ["*"]:
                    problems.append(f"{path}: VPC policy statement {sid}: only {sorted(VPC_DESCRIBE_ACTIONS)} may be, and alone, on `*`")
            if "ec2:CreateNetworkInterface" in actions and (actions != {"ec2:CreateNetworkInterface"} or resources != VPC_CREATE_RESOURCES):
                problems.append(f"{path}: VPC policy statement {sid}: ec2:CreateNetworkInterface alone, on {VPC_CREATE_RESOURCES} (the network interfaces, the given subnets and security groups), not {resources!r}")
            managed = actions & (VPC_ACTIONS - VPC_DESCRIBE_ACTIONS - {"ec2:CreateNetworkInterface"})
            if managed and resources != VPC_MANAGE_RESOURCES:
                problems.append(f"{path}: VPC policy statement {sid}: {sorted(managed)} only on {VPC_MANAGE_RESOURCES}, not {resources!r}")
        if allowed != VPC_ACTIONS:
            problems.append(f"{path}: VPC policy allows {sorted(allowed)}, expected {sorted(VPC_ACTIONS)}")
    names = {name for _, name, _ in documents}
    resources = [(path, kind, name, body) for path, parsed in module.blocks for block in parsed.get("resource", [])
                 for kind, named in block.items() for name, body in named.items()]
    attached = [(path, name, body) for path, kind, name, body in resources if kind == "aws_iam_role_policy"]
    for path, kind, name, body in resources:
        policy = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", str(body.get("policy", "")))
        if (kind != "aws_iam_role_policy" or policy is None or policy.group(1) not in names
                or body.get("for_each") != "${var.role_names}" or body.get("role") != "${each.value}" or "count" in body):
            problems.append(f"{path}: {kind}.{name}: the module holds only the VPC policy, attached to each of var.role_names (for_each = var.role_names, role = each.value)")
    if len(attached) != 1:
        problems.append(f"{module.directory}: {len(attached)} aws_iam_role_policy resources, expected one (the VPC policy of each role)")


def check_vpc(module: Module, problems: list, modules_by_dir: dict):
    """12. vpc_config: every function of the module in the VPC when it is set, its role with the
    VPC policy of modules/aws-lambda-vpc-access, which the module calls only then, before the
    function is made, and where it moved its former policies."""
    variable = module_variable(module, "vpc_config")
    if variable is None:
        problems.append(f"{module.directory}: no variable vpc_config")
        return
    if variable.get("default", "none") is not None or not all(k in str(variable.get("type")) for k in ("subnet_ids", "security_group_ids")):
        problems.append(f"{module.directory}: variable vpc_config must be an object of subnet_ids and security_group_ids, default null")
    check_locals(module, VPC_LOCALS, problems)
    shared = module.directory.parent / VPC_ACCESS_MODULE
    calls = [name for name in module.modules if called_dir(module, name) == shared.resolve()]
    if len(calls) != 1:
        problems.append(f"{module.directory}: {len(calls)} calls of modules/{VPC_ACCESS_MODULE}, expected one (vpc.tf)")
        return
    call = calls[0]
    arguments = module.modules[call]
    for argument, expected in VPC_ACCESS_CALL_ARGUMENTS.items():
        if arguments.get(argument) != expected:
            problems.append(f"{module.directory}: module {call}: {argument} is {arguments.get(argument)!r}, expected {expected!r} (the VPC policy only with vpc_config, on this account and region)")
    if "for_each" in arguments or "depends_on" in arguments:
        problems.append(f"{module.directory}: module {call}: only `count = local.use_vpc ? 1 : 0` (moved blocks name its instance [0])")
    role_names = str(arguments.get("role_names", ""))
    entries = VPC_ROLE_ENTRY.findall(role_names)
    roles = {role for _, role in entries}
    if not entries or len(entries) != len(re.findall(r"aws_iam_role\.", role_names)) or len({key for key, _ in entries}) != len(entries):
        problems.append(f"{module.directory}: module {call}: role_names must map literal keys (known at plan time) to roles' ids, e.g. {{ function = aws_iam_role.function.id }}, not {role_names!r}")
    # Each former aws_iam_role_policy.vpc[<key>] moves to the call's instance, so an existing
    # deployment keeps its policies.
    shared_module = modules_by_dir.get(shared.resolve())
    policies = [name for _, name, _ in module_resources(shared_module, "aws_iam_role_policy")] if shared_module else []
    policy = policies[0] if len(policies) == 1 else "this"
    moved = {(block.get("from"), block.get("to")) for _, parsed in module.blocks for block in parsed.get("moved", [])}
    for key, _ in entries:
        expected = (f'${{aws_iam_role_policy.vpc["{key}"]}}', f'${{module.{call}[0].aws_iam_role_policy.{policy}["{key}"]}}')
        if expected not in moved:
            problems.append(f"{module.directory}: no `moved {{ from = aws_iam_role_policy.vpc[\"{key}\"], to = module.{call}[0].aws_iam_role_policy.{policy}[\"{key}\"] }}` (an existing deployment would recreate its VPC policy)")
    for path, name, body in module_resources(module, "aws_lambda_function"):
        role = LAMBDA_ROLE.match(str(body.get("role", "")))
        if role is None or role.group(1) not in roles:
            problems.append(f"{path}: function {name}: its role does not get the VPC policy with vpc_config (role_names of module {call})")
        blocks = [d["vpc_config"] for d in body.get("dynamic", []) if "vpc_config" in d]
        content = blocks[0].get("content", [{}])[0] if blocks else {}
        if (len(blocks) != 1 or "var.vpc_config" not in str(blocks[0].get("for_each"))
                or content.get("subnet_ids") != "${vpc_config.value.subnet_ids}"
                or content.get("security_group_ids") != "${vpc_config.value.security_group_ids}"):
            problems.append(f"{path}: function {name} is not placed by vpc_config (dynamic \"vpc_config\" over var.vpc_config)")
        if f"${{module.{call}}}" not in body.get("depends_on", []):
            problems.append(f"{path}: function {name} does not depend on module.{call} (Lambda checks the role's EC2 grants when it creates the function)")


def check_bulk_writes(module: Module, problems: list):
    """13. The bulk module's functions write only the sanitized bucket, the fan-out's run objects
    and each additional destination under its path (no `*` or `?` in a path), and use only the
    module's KMS key and the destinations' own."""
    locals_ = module_locals(module)
    if not ADDITIONAL_OBJECTS.match(str(locals_.get("additional_destination_objects", ""))):
        problems.append(f"{module.directory}: local additional_destination_objects must be each destination's objects under its path (arn:...:s3:::<destination_bucket_name>/<path_within_bucket>*)")
    if not ADDITIONAL_KEYS.match(str(locals_.get("additional_kms_key_arns", ""))):
        problems.append(f"{module.directory}: local additional_kms_key_arns must be the destinations' kms_key_arn")
    if not SANITIZED_ARN.match(str(locals_.get("sanitized_bucket_arn", ""))):
        problems.append(f"{module.directory}: local sanitized_bucket_arn must be the existing sanitized bucket's ARN or the one made here")
    variable = module_variable(module, "additional_transforms") or {}
    if not any("path_within_bucket" in str(v.get("condition")) and "[*?]" in str(v.get("condition")) for v in variable.get("validation", [])):
        problems.append(f"{module.directory}: variable additional_transforms must refuse `*` and `?` in path_within_bucket (they would widen the grant)")
    for path, name, document in function_policy_documents(module):
        for statement, conditional, for_each in policy_statements(document, with_for_each=True):
            sid = statement.get("sid")
            actions = set(statement.get("actions", []))
            resources = statement.get("resources")
            if "s3:PutObject" in actions:
                listed = resources if isinstance(resources, list) else [resources]
                additional = conditional and listed == ["${statement.value}"] and ADDITIONAL_FOR_EACH.match(str(for_each))
                if not additional and not (listed and set(listed) <= BULK_WRITTEN_RESOURCES):
                    problems.append(f"{path}: policy {name}: statement {sid} writes {resources!r}: only the sanitized bucket, the run objects or each additional destination under its path")
            if any(action.startswith("kms:") for action in actions):
                if not conditional or not any(p.match(str(for_each)) for p in BULK_KMS_FOR_EACH):
                    problems.append(f"{path}: policy {name}: statement {sid} uses KMS keys other than kms_key_arn and the additional destinations' kms_key_arn")


SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def check_skip_reasons(directory: Path, problems: list):
    for path in sorted(directory.rglob("*.tf")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = SKIP.search(line)
            if match and len((match.group(2) or "").split()) < 4:
                problems.append(f"{path}:{number}: checkov skip {match.group(1)} without a reason")


def main(root: str) -> int:
    root_path = Path(root).resolve()
    problems = []
    directories = sorted({path.parent for path in root_path.rglob("*.tf") if ".terraform" not in path.parts})
    modules_by_dir = {directory: Module(directory, problems) for directory in directories}
    for module in modules_by_dir.values():
        check_references(module, problems, modules_by_dir)
        check_module_calls(module, problems, modules_by_dir)
        check_policies(module, problems)
    check_skip_reasons(root_path, problems)
    for name in AWS_MODULE_FUNCTION_POLICIES:
        module = modules_by_dir.get(root_path / "modules" / name)
        if module is not None:
            check_secret_store(module, problems)
            check_vpc(module, problems, modules_by_dir)
    vpc_access = modules_by_dir.get(root_path / "modules" / VPC_ACCESS_MODULE)
    if vpc_access is None:
        problems.append(f"{root_path}: no modules/{VPC_ACCESS_MODULE}")
    else:
        check_vpc_access(vpc_access, problems)
    bulk = modules_by_dir.get(root_path / "modules" / "aws-bulk")
    if bulk is None:
        problems.append(f"{root_path}: no modules/aws-bulk")
    else:
        check_bulk_settings(bulk, root_path.parent, problems)
        check_bulk_writes(bulk, problems)
        check_sdk_operations(root_path.parent, problems)
    api = modules_by_dir.get(root_path / "modules" / "aws-api")
    if api is None:
        problems.append(f"{root_path}: no modules/aws-api")
    else:
        check_api_settings(api, root_path.parent, problems)
        check_api_examples(root_path, modules_by_dir, api, problems)
    webhook = modules_by_dir.get(root_path / "modules" / "aws-webhook")
    if webhook is None:
        problems.append(f"{root_path}: no modules/aws-webhook")
    else:
        check_webhook_settings(webhook, root_path.parent, problems)
    import check_terraform_gcp  # noqa: PLC0415 - it imports this module: only once loaded

    check_terraform_gcp.check(root_path, modules_by_dir, problems)
    files = sum(len(module.blocks) for module in modules_by_dir.values())
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"check_terraform: {files} files in {len(directories)} modules, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
