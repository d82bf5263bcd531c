"""The Google Cloud checks of scripts/check_terraform.py: modules/gcp-bulk, modules/gcp-api,
modules/gcp-webhook and the examples calling them, for what checkov does not check.

a. No `allUsers` or `allAuthenticatedUsers` member anywhere (resources and module calls of
   every module under terraform/; c. and d. hold there too), but the one public grant of the
   webhook collector (PUBLIC_GRANTS: roles/run.invoker on its own service, whose callers
   authenticate with a JWT the service verifies).
b. Every Cloud Run service runs the binary's mode (SERVICES: `args = ["bulk"]`, `["api"]`, the
   webhook's collector `["webhook"]` and batch service `["webhook-batch"]`, each service of its
   module) and keeps its invoker check (no `invoker_iam_disabled`); gcp-bulk's and the webhook
   batch service take internal traffic only; the batch service runs at most one instance of
   one request. The webhook's Cloud Scheduler job calls the batch service with an OIDC token of
   the scheduler's account (audience: the batch service); every Eventarc trigger sends Cloud
   Storage finalized events to its module's service, on its path (EVENTARC_PATHS).
c. `roles/run.invoker` is granted only by google_cloud_run_v2_service_iam_member on the
   module's own service, never at the project level, and each service's only to its callers
   (INVOKERS).
d. google_project_iam_member only for the roles Eventarc and Cloud Storage require there
   (PROJECT_GRANTS, each to its one member; none in gcp-webhook); no authoritative IAM resource
   (`_iam_binding`, `_iam_policy`), no folder or organization grant, no ACL. Key grants are
   key-level and only those of KMS_GRANTS (the webhook issuers sign with its signing key; the
   Cloud Storage agent uses the customer's key).
e. Storage grants are bucket-level (google_storage_bucket_iam_member), each one of its module's
   BUCKET_GRANTS (bucket, role, holder): e.g. the webhook collector only creates objects in the
   queue bucket; nothing broader. A service account holds nothing but what BUCKET_GRANTS,
   secrets and invoker grants give it.
f. Secret grants are per secret (google_secret_manager_secret_iam_member) to the module's
   secret reader only (the webhook's collector, never its batch service): secretAccessor; in
   gcp-api also its custom roles, on the secrets the binary rewrites (token writer) and on the
   shared token's lock (lock holder) only. Every custom role has exactly the permissions of its
   job (CUSTOM_ROLES).
g. Every environment variable of the services' containers is a setting the binary's shell
   reads (gcp-webhook's: the psoxy-webhook settings); the secret-bound ones are secret settings,
   the plain ones are not; every secret the module creates is named after a secret setting (or
   the lock). Each service sets what it cannot run without (REQUIRED_ENVIRONMENT); the storage
   locations (GS_SETTINGS: WEBHOOK_OUTPUT, WEBHOOK_BATCH_OUTPUT, ASYNC_*, SIDE_OUTPUT_*) are
   `gs://` on Google Cloud; gcp-webhook's accepted keys are `base64:` only.
h. The examples gcp-hris, gcp-api-zoom and gcp-webhook-events call the modules; gcp-api's
   strategy maps and validations are the binary's, as aws-api's, and each caller names one valid
   strategy and outputs only secrets the module creates for it. gcp-api's source-auth locals
   are aws-api's, word for word (SHARED_AUTH_LOCALS), so the two cannot drift apart.
i. What the modules keep and what they set themselves: the buckets of NO_SOFT_DELETE (gcp-api's
   async jobs, the callers' requests; gcp-webhook's queue) keep no soft-deleted copy (a
   soft_delete_policy of 0 for exactly that bucket); gcp-webhook's extra_environment refuses
   the secret settings and what the module sets itself (WEBHOOK_MODULE_SETTINGS: the token
   check, never to be turned off on a public collector, and the queue and batch locations),
   naming only settings the binary reads; the batch service's request timeout and its
   scheduler's attempt deadline are batch_timeout_seconds, whose validation allows no less than
   BATCH_MIN_TIMEOUT (a call merges for the binary's budget before it answers); the backlog
   alert's log message is the binary's, word for word; every Eventarc subscription's command
   attaches its dead-letter topic (DEAD_LETTER_COMMANDS).

Imported by check_terraform.py's main (after it is loaded, so the import below is not circular).
"""

import re
from pathlib import Path

import check_terraform as base

BULK = "gcp-bulk"
API = "gcp-api"
WEBHOOK = "gcp-webhook"
GCP_MODULES = (BULK, API, WEBHOOK)
EXAMPLES = {"gcp-hris": BULK, "gcp-api-zoom": API, "gcp-webhook-events": WEBHOOK}
# Each module's Cloud Run services, and the mode each container runs (`/psoxy-gcp <mode>`).
SERVICES = {
    BULK: {"bulk": ["bulk"]},
    API: {"api": ["api"]},
    WEBHOOK: {"collector": ["webhook"], "batch": ["webhook-batch"]},
}
# The services that take internal traffic only (Eventarc, Cloud Scheduler in the project).
INTERNAL_SERVICES = {(BULK, "bulk"), (WEBHOOK, "batch")}
# The services that run one request at a time in one instance.
SINGLE_SERVICES = {(WEBHOOK, "batch")}
# Who may invoke each service (the member of its run.invoker grants, or the variable its
# for_each takes them from).
INVOKERS = {
    BULK: {"bulk": {"${google_service_account.trigger.member}"}},
    API: {"api": {"var.caller_service_accounts", "${google_service_account.trigger[0].member}"}},
    WEBHOOK: {"collector": {"allUsers"}, "batch": {"${google_service_account.scheduler.member}"}},
}
# The only public grants: (module, resource kind, resource name, role, member, service). The
# webhook collector is called by tools outside Google Cloud with a JWT the service verifies.
PUBLIC_GRANTS = {
    (WEBHOOK, "google_cloud_run_v2_service_iam_member", "public_invokes_collector", "roles/run.invoker",
     "allUsers", "${google_cloud_run_v2_service.collector.name}"),
}
# The path each module's Eventarc triggers push to.
EVENTARC_PATHS = {BULK: "/", API: "/_psoxy/async"}
PUBLIC_MEMBER = re.compile(r"\ball(Authenticated)?Users\b")
# Authoritative or too wide: none of these in a GCP module.
FORBIDDEN_KINDS = re.compile(r"^google_(\w+_iam_(binding|policy|audit_config)|(folder|organization)_iam_\w+|\w*_acl|\w+_access_control)$")

# The project-level roles Eventarc and Cloud Storage require, and who may hold each: the
# trigger's service account, and the Cloud Storage service agent (data source).
PROJECT_GRANTS = {
    "roles/eventarc.eventReceiver": re.compile(r"^\$\{google_service_account\.trigger(\[0\])?\.member\}$"),
    "roles/pubsub.publisher": re.compile(r"^\$\{data\.google_storage_project_service_account\.\w+(\[0\])?\.member\}$"),
}
# The modules that grant nothing at the project level.
NO_PROJECT_GRANTS = {WEBHOOK}
# Key-level grants (google_kms_crypto_key_iam_member): role -> (the key, the holders).
KMS_GRANTS = {
    "roles/cloudkms.signerVerifier": ("${google_kms_crypto_key.auth[0].id}", "var.issuer_members"),
    "roles/cloudkms.cryptoKeyEncrypterDecrypter": ("${var.kms_key_name}", "data.google_storage_project_service_account"),
}

OBJECT_VIEWER = "roles/storage.objectViewer"
OBJECT_CREATOR = "roles/storage.objectCreator"
OBJECT_USER = "roles/storage.objectUser"
SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"
# The custom roles by job, with exactly their permissions, and the modules allowed each.
# `output_writer` creates and replaces objects (replacing one deletes it), nothing else: an
# output written again (a redelivered event, a batch rebuilt after its queue could not be
# emptied) must not fail.
CUSTOM_ROLES = {
    "output_writer": ({BULK, API, WEBHOOK}, frozenset({"storage.objects.create", "storage.objects.delete"})),
    "token_writer": ({API}, frozenset({
        "secretmanager.secrets.get", "secretmanager.secrets.update", "secretmanager.versions.add",
        "secretmanager.versions.destroy", "secretmanager.versions.list",
    })),
    "lock_holder": ({API}, frozenset({"secretmanager.secrets.get", "secretmanager.secrets.update"})),
}
# By module, (bucket key, role or custom role job) -> who may hold it: a service account of the
# module by its resource name (`service`, `collector`...), or `readers` (for_each over a
# variable of reader members). The bucket key is that of `google_storage_bucket.<name>["key"]`,
# or `side_output` for the bucket named by side_output_sanitized.
BUCKET_GRANTS = {
    BULK: {
        ("input", OBJECT_VIEWER): "service",
        ("sanitized", "output_writer"): "service",
        ("sanitized", OBJECT_VIEWER): "readers",
    },
    # Asynchronous requests: create, read and delete jobs; write answers and side outputs.
    API: {
        ("jobs", OBJECT_USER): "service",
        ("output", "output_writer"): "service",
        ("output", OBJECT_VIEWER): "readers",
        ("side_output", OBJECT_CREATOR): "service",
    },
    # The collector only creates queued objects; the batch service takes them (read, list,
    # delete) and writes batches.
    WEBHOOK: {
        ("queue", OBJECT_CREATOR): "collector",
        ("queue", OBJECT_USER): "batch",
        ("output", "output_writer"): "batch",
        ("output", OBJECT_VIEWER): "readers",
    },
}
# The service account that reads each module's secrets (and no other may).
SECRET_READERS = {BULK: "service", API: "service", WEBHOOK: "collector"}
# The account each service runs as, where it is not `service` (google_service_account.<name>).
SERVICE_ACCOUNTS = {(WEBHOOK, "collector"): "collector", (WEBHOOK, "batch"): "batch"}
# What each service needs in its environment (plain or secret), by module and service.
REQUIRED_ENVIRONMENT = {
    WEBHOOK: {
        "collector": {"RULES", "ACCEPTED_AUTH_KEYS", "WEBHOOK_OUTPUT", "PSOXY_SALT", "PSOXY_INSTANCE_ID"},
        "batch": {"WEBHOOK_OUTPUT", "WEBHOOK_BATCH_OUTPUT"},
    },
}
# Settings naming a storage location: `gs://bucket/prefix` on Google Cloud.
GS_SETTINGS = {
    "WEBHOOK_OUTPUT", "WEBHOOK_BATCH_OUTPUT", "ASYNC_OUTPUT_DESTINATION",
    "ASYNC_API_REQUEST_QUEUE_URL", "SIDE_OUTPUT_SANITIZED", "SIDE_OUTPUT_ORIGINAL",
}
# The settings whose secrets gcp-api's custom roles may be bound on, by role.
SECRET_ROLE_SETTINGS = {"token_writer": {"REFRESH_TOKEN", "ACCESS_TOKEN"}}

# The source-auth locals gcp-api shares with aws-api, which must stay identical (the others
# differ by platform: where secrets live, Cognito or the metadata server, the lock's name).
SHARED_AUTH_LOCALS = (
    "uses_identifier", "strategy_label", "secret_settings_by_strategy",
    "secret_settings_by_identifier", "secret_settings_by_grant", "grant_key", "uses_grant",
    "strategy_secret_settings", "token_strategy", "use_shared_token", "source_secret_settings",
    "required_settings_by_strategy", "missing_source_settings", "workload_identity",
    "refresh_endpoint", "token_scope", "grant_label", "writes_refresh_token",
)

# i. The buckets that keep no soft-deleted copy: module -> (resource name, local of its
# for_each, bucket key).
NO_SOFT_DELETE = {API: ("async", "async_buckets", "jobs"), WEBHOOK: ("this", "buckets", "queue")}
# The collector settings gcp-webhook sets itself, which extra_environment must refuse (with
# every secret setting): REQUIRE_AUTHORIZATION_HEADER=false would open the public collector.
WEBHOOK_MODULE_SETTINGS = {
    "REQUIRE_AUTHORIZATION_HEADER", "ACCEPTED_AUTH_KEYS", "AUTH_ISSUER", "AUTH_AUDIENCE",
    "WEBHOOK_OUTPUT", "WEBHOOK_BATCH_OUTPUT",
}
# The least batch_timeout_seconds: the batch service merges for BATCH_BUDGET (50 s), then
# writes and answers.
BATCH_MIN_TIMEOUT = 60
# Where the batch service's budget and backlog warning are (src/webhook/cloud_run.rs).
BATCH_SOURCE = "src/webhook/cloud_run.rs"
BATCH_BUDGET = re.compile(r"pub const BATCH_BUDGET: std::time::Duration = std::time::Duration::from_secs\((\d+)\);")
# The local of each module holding the command that sets Eventarc's subscription (gcp-bulk's
# input trigger, gcp-api's async trigger): it must attach the dead-letter topic.
DEAD_LETTER_COMMANDS = {BULK: "dead_letter_command", API: "async_subscription_command"}

CUSTOM_ROLE_NAME = re.compile(r"^\$\{google_project_iam_custom_role\.(\w+)(?:\[\d+\])?\.(?:name|id)\}$")
BUCKET_KEY = re.compile(r"google_storage_bucket\.\w+\[[\"'](\w+)[\"']\]")
SERVICE_ACCOUNT_MEMBER = re.compile(r"^\$\{google_service_account\.(\w+)(?:\[0\])?\.member\}$")
QUOTED_SETTING = re.compile(r"[\"']([A-Z][A-Z0-9_]+)[\"']")


def resources(module, kind=None):
    """(path, kind, name, body) of every resource of the module (of one kind)."""
    for path, parsed in module.blocks:
        for block in parsed.get("resource", []):
            for found_kind, named in block.items():
                if kind is None or found_kind == kind:
                    for name, body in named.items():
                        yield path, found_kind, name, body


def first(body, key):
    """A nested block's first (python-hcl2 gives blocks as lists)."""
    value = body.get(key) or [{}]
    return value[0] if isinstance(value, list) else value


def module_name(module):
    """The name of a module under terraform/modules (gcp-bulk...), None for an example."""
    return module.directory.name if module.directory.parent.name == "modules" else None


def own_service(reference):
    """The service a `${google_cloud_run_v2_service.<name>.name}` names, else None."""
    match = re.fullmatch(r"\$\{google_cloud_run_v2_service\.(\w+)\.name\}", str(reference or ""))
    return match.group(1) if match else None


# --- a. public members ------------------------------------------------------------------------

def check_no_public_members(module, problems):
    for path, kind, name, body in resources(module):
        if any(PUBLIC_MEMBER.search(text) for text in base.strings(body)):
            grant = (module_name(module), kind, name, body.get("role"), body.get("member"), body.get("name"))
            if grant not in PUBLIC_GRANTS:
                problems.append(f"{path}: {kind}.{name} grants to allUsers or allAuthenticatedUsers")
    for name, arguments in module.modules.items():
        if any(PUBLIC_MEMBER.search(text) for text in base.strings(arguments)):
            problems.append(f"{module.directory}: module {name} is given allUsers or allAuthenticatedUsers")


# --- b. the services --------------------------------------------------------------------------

def check_services(module, problems):
    expected = SERVICES[module_name(module)]
    found = set()
    for path, _, name, body in resources(module, "google_cloud_run_v2_service"):
        where = f"{path}: service {name}"
        found.add(name)
        if name not in expected:
            problems.append(f"{where} is none of the module's services ({sorted(expected)})")
            continue
        service = (module_name(module), name)
        if service in INTERNAL_SERVICES and body.get("ingress") != "INGRESS_TRAFFIC_INTERNAL_ONLY":
            problems.append(f"{where}: ingress {body.get('ingress')!r}, the service takes internal traffic only (INGRESS_TRAFFIC_INTERNAL_ONLY)")
        if body.get("invoker_iam_disabled") not in (None, False):
            problems.append(f"{where}: invoker_iam_disabled lets anyone invoke it")
        template = first(body, "template")
        account = SERVICE_ACCOUNTS.get(service, "service")
        if template.get("service_account") != f"${{google_service_account.{account}.email}}":
            problems.append(f"{where}: runs as {template.get('service_account')}, not its own account (google_service_account.{account})")
        if service in SINGLE_SERVICES:
            most = first(template, "scaling").get("max_instance_count")
            if most != 1 or template.get("max_instance_request_concurrency") != 1:
                problems.append(f"{where}: at most {most} instances of {template.get('max_instance_request_concurrency')} requests; it runs one request in one instance (1 and 1)")
        for container in template.get("containers", []):
            if container.get("args") != expected[name]:
                problems.append(f"{where}: container args {container.get('args')}, expected {expected[name]}")
    for missing in sorted(set(expected) - found):
        problems.append(f"{module.directory}: no service {missing} (google_cloud_run_v2_service.{missing})")


def check_scheduler_jobs(module, problems):
    """The webhook's one Cloud Scheduler job POSTs to the batch service with an OIDC token of the
    scheduler's account whose audience is the batch service; no other job, no OAuth token."""
    jobs = list(resources(module, "google_cloud_scheduler_job"))
    if module_name(module) == WEBHOOK and len(jobs) != 1:
        problems.append(f"{module.directory}: {len(jobs)} Cloud Scheduler jobs, expected the batch job alone")
    batch_uri = "${google_cloud_run_v2_service.batch.uri}"
    for path, _, name, body in jobs:
        where = f"{path}: scheduler job {name}"
        target = first(body, "http_target")
        oidc = first(target, "oidc_token")
        if module_name(module) != WEBHOOK or not target:
            problems.append(f"{where}: only gcp-webhook's batch job (an http_target) is expected")
            continue
        if target.get("oauth_token"):
            problems.append(f"{where}: an OAuth token; Cloud Run takes an OIDC token (oidc_token)")
        if not str(target.get("uri", "")).startswith(batch_uri):
            problems.append(f"{where}: calls {target.get('uri')}, not the batch service ({batch_uri})")
        if oidc.get("service_account_email") != "${google_service_account.scheduler.email}":
            problems.append(f"{where}: the OIDC token is not the scheduler account's (google_service_account.scheduler)")
        if oidc.get("audience") != batch_uri:
            problems.append(f"{where}: the OIDC token's audience is {oidc.get('audience')!r}, not the batch service's URL")


def check_triggers(module, problems):
    """Every Eventarc trigger sends a bucket's finalized objects, as the trigger's account, to
    the module's own service on the module's path."""
    for path, _, name, body in resources(module, "google_eventarc_trigger"):
        where = f"{path}: trigger {name}"
        destination = first(first(body, "destination"), "cloud_run_service")
        criteria = {c.get("attribute"): c.get("value") for c in body.get("matching_criteria", [])}
        if own_service(destination.get("service")) not in SERVICES.get(module_name(module), {}):
            problems.append(f"{where}: sends to {destination.get('service')}, not the module's own service")
        if destination.get("path") != EVENTARC_PATHS.get(module_name(module)):
            problems.append(f"{where}: path {destination.get('path')!r}, expected {EVENTARC_PATHS.get(module_name(module))!r}")
        if criteria.get("type") != "google.cloud.storage.object.v1.finalized" or not BUCKET_KEY.search(str(criteria.get("bucket", ""))):
            problems.append(f"{where}: not the finalized objects of one of the module's buckets")
        if not re.fullmatch(r"\$\{google_service_account\.trigger(\[0\])?\.email\}", str(body.get("service_account", ""))):
            problems.append(f"{where}: does not run as the trigger's service account")


# --- c. who may invoke ------------------------------------------------------------------------

def invoker_of(body) -> str:
    """Who a grant is to: its member, or for `each.value` the variable its for_each takes."""
    member = str(body.get("member", ""))
    if "each." in member:
        variable = re.search(r"var\.\w+", str(body.get("for_each", "")))
        return variable.group(0) if variable else member
    return member


def check_invoker_grants(module, problems):
    own_services = {name for _, _, name, _ in resources(module, "google_cloud_run_v2_service")}
    invokers = INVOKERS.get(module_name(module))
    for path, kind, name, body in resources(module):
        if body.get("role") != "roles/run.invoker":
            continue
        service = own_service(body.get("name"))
        if kind != "google_cloud_run_v2_service_iam_member" or service not in own_services:
            problems.append(f"{path}: {kind}.{name} grants roles/run.invoker other than on the module's own service")
        elif invokers is not None and invoker_of(body) not in invokers.get(service, set()):
            problems.append(f"{path}: {kind}.{name} lets {invoker_of(body)} invoke {service}; only {sorted(invokers.get(service, set()))}")


# --- d. nothing project-wide but what Eventarc and Cloud Storage require ----------------------

def check_iam_kinds(module, problems):
    for path, kind, name, _ in resources(module):
        if FORBIDDEN_KINDS.match(kind):
            problems.append(f"{path}: {kind}.{name}: authoritative, folder, organization or ACL grants are not used")


def check_project_grants(module, problems):
    for path, _, name, body in resources(module, "google_project_iam_member"):
        role, member = body.get("role"), str(body.get("member", ""))
        holder = PROJECT_GRANTS.get(role)
        if module_name(module) in NO_PROJECT_GRANTS:
            problems.append(f"{path}: google_project_iam_member.{name}: {module_name(module)} grants nothing at the project level")
        elif holder is None:
            problems.append(f"{path}: google_project_iam_member.{name} grants {role} project-wide (only {sorted(PROJECT_GRANTS)} are)")
        elif not holder.match(member):
            problems.append(f"{path}: google_project_iam_member.{name} grants {role} to {member}, not to its one holder")


def check_key_grants(module, problems):
    """Cloud KMS grants are on one key (google_kms_crypto_key_iam_member), each of KMS_GRANTS."""
    for path, kind, name, body in resources(module):
        if not kind.startswith("google_kms_") or "_iam_" not in kind:
            continue
        allowed = KMS_GRANTS.get(body.get("role"))
        holders = str(body.get("for_each", "")) + str(body.get("member", ""))
        if kind != "google_kms_crypto_key_iam_member" or allowed is None or body.get("crypto_key_id") != allowed[0] or allowed[1] not in holders:
            problems.append(f"{path}: {kind}.{name} grants {body.get('role')} on {body.get('crypto_key_id')}; allowed: {sorted(KMS_GRANTS.items())}")


def check_signing_key(module, problems):
    """gcp-webhook's signing key signs (ASYMMETRIC_SIGN) with an RSA algorithm of the variable,
    whose validation lists RSA signing algorithms only (the collector verifies RSA only)."""
    if module_name(module) != WEBHOOK:
        return
    keys = list(resources(module, "google_kms_crypto_key"))
    for path, _, name, body in keys:
        template = first(body, "version_template")
        if body.get("purpose") != "ASYMMETRIC_SIGN" or template.get("algorithm") != "${var.signing_key_algorithm}":
            problems.append(f"{path}: key {name} is not an ASYMMETRIC_SIGN key of var.signing_key_algorithm")
    condition = " ".join(str(v.get("condition", "")) for v in module.variables.get("signing_key_algorithm", {}).get("validation", []))
    algorithms = set(re.findall(r"\b[A-Z][A-Z0-9_]{3,}\b", condition))
    if not keys or not algorithms or any(not a.startswith("RSA_SIGN_") for a in algorithms):
        problems.append(f"{module.directory}: the signing key's algorithms {sorted(algorithms)} are not RSA signing algorithms only")


def check_account_grants(module, problems):
    """A service account of the module holds only what the grants checked above give it
    (bucket, secret, invoker and project grants), nothing else."""
    checked = {
        "google_storage_bucket_iam_member", "google_secret_manager_secret_iam_member",
        "google_cloud_run_v2_service_iam_member", "google_project_iam_member",
    }
    for path, kind, name, body in resources(module):
        if SERVICE_ACCOUNT_MEMBER.match(str(body.get("member", ""))) and kind not in checked:
            problems.append(f"{path}: {kind}.{name} grants the module's service account something no check allows")


# --- custom roles -----------------------------------------------------------------------------

def custom_roles(module, problems) -> dict:
    """Resource name -> job of every custom role of the module (a custom role is named after its
    job), each checked against CUSTOM_ROLES."""
    jobs = {}
    for path, _, name, body in resources(module, "google_project_iam_custom_role"):
        allowed = CUSTOM_ROLES.get(name)
        permissions = frozenset(body.get("permissions", []))
        if allowed is None or module.directory.name not in allowed[0]:
            problems.append(f"{path}: custom role {name} is none of this module's ({[job for job, (where, _) in CUSTOM_ROLES.items() if module.directory.name in where]})")
        elif permissions != allowed[1]:
            problems.append(f"{path}: custom role {name} has {sorted(permissions)}, expected {sorted(allowed[1])}")
        else:
            jobs[name] = name
    return jobs


def role_of(body, jobs: dict):
    """A grant's role: the predefined role's name, or the job of the module's custom role."""
    role = str(body.get("role", ""))
    custom = CUSTOM_ROLE_NAME.match(role)
    if custom:
        return jobs.get(custom.group(1), f"custom role {custom.group(1)}")
    return role


# --- e. buckets -------------------------------------------------------------------------------

def holder_of(body) -> str:
    """A grant's holder: the module's service account by resource name, `readers` for a
    for_each over a variable of readers, else the member."""
    member = str(body.get("member", ""))
    account = SERVICE_ACCOUNT_MEMBER.match(member)
    if account:
        return account.group(1)
    if re.search(r"\bvar\.\w*reader\w*", str(body.get("for_each", ""))):
        return "readers"
    return member


def bucket_key(body) -> str:
    """The key of the module's bucket a grant is on (`google_storage_bucket.<name>["<key>"]`),
    `side_output` for the side output's bucket, else the expression."""
    text = str(body.get("bucket", ""))
    bucket = BUCKET_KEY.search(text)
    if bucket:
        return bucket.group(1)
    return "side_output" if text == "${local.side_output_bucket}" else text


def check_bucket_grants(module, jobs, problems):
    allowed = BUCKET_GRANTS.get(module_name(module), {})
    for path, kind, name, body in resources(module):
        if not kind.startswith("google_storage_") or "_iam_" not in kind:
            continue
        grant = (bucket_key(body), role_of(body, jobs))
        if kind != "google_storage_bucket_iam_member" or allowed.get(grant) != holder_of(body):
            problems.append(f"{path}: {kind}.{name} grants {grant[1]} on bucket {grant[0]} to {holder_of(body)}; allowed: {sorted(allowed.items())}")


# --- f. secrets -------------------------------------------------------------------------------

def settings_of_for_each(body, locals_: dict) -> set:
    """The settings a grant's for_each names: quoted names, and those of the locals it uses
    (one level)."""
    text = str(body.get("for_each", ""))
    names = set()
    for local in base.LOCAL_REFERENCE.findall(text):
        value = locals_.get(local, "")
        if isinstance(value, str) and "${" not in value:
            names.add(value)  # a local holding one name, e.g. shared_token_lock
        else:
            text += "\n" + str(value)
    return names | set(QUOTED_SETTING.findall(text))


def check_secret_grants(module, jobs, lock, problems):
    locals_ = base.module_locals(module)
    allowed_settings = dict(SECRET_ROLE_SETTINGS, lock_holder={lock})
    for path, kind, name, body in resources(module):
        if not kind.startswith("google_secret_manager_") or "_iam_" not in kind:
            continue
        role = role_of(body, jobs)
        where = f"{path}: {kind}.{name}"
        if kind != "google_secret_manager_secret_iam_member":
            problems.append(f"{where}: secrets are granted one by one (google_secret_manager_secret_iam_member)")
        elif holder_of(body) != SECRET_READERS[module_name(module)]:
            problems.append(f"{where} grants a secret to {holder_of(body)}; only to the {SECRET_READERS[module_name(module)]} account")
        elif role == SECRET_ACCESSOR:
            continue
        elif role not in allowed_settings:
            problems.append(f"{where} grants {role}; only {SECRET_ACCESSOR} and gcp-api's custom roles on secrets")
        else:
            extra = settings_of_for_each(body, locals_) - allowed_settings[role]
            if extra:
                problems.append(f"{where} grants {role} on {sorted(extra)}; only on {sorted(allowed_settings[role])}")


def lock_secret(source_dir: Path, problems: list):
    """The shared token's lock on GCP: the secret named by Psoxy's lock id (the binary's lock
    setting without its `_lock`)."""
    setting = base.lock_setting(source_dir, problems)
    return setting[: -len("_lock")] if setting and setting.endswith("_lock") else setting


def check_lock_local(module, lock, problems):
    locals_ = base.module_locals(module)
    if module.directory.name == API and locals_.get("shared_token_lock") != lock:
        problems.append(f"{module.directory}: local shared_token_lock is {locals_.get('shared_token_lock')!r}, the binary's lock secret is {lock!r}")


# --- g. the environment -----------------------------------------------------------------------

def container_environment(body, locals_: dict):
    """(name, bound to a secret) of every environment variable of a service's containers: `env`
    blocks and dynamic `env` blocks over a local map (its literal keys)."""
    for container in first(body, "template").get("containers", []):
        for env in container.get("env", []):
            yield env.get("name"), bool(env.get("value_source"))
        for dynamic in container.get("dynamic", []):
            block = dynamic.get("env")
            if not isinstance(block, dict):
                continue
            secret = bool(first(block, "content").get("value_source"))
            local = re.fullmatch(r"\$\{local\.(\w+)\}", str(block.get("for_each", "")))
            text = str(locals_.get(local.group(1), "")) if local else ""
            if not local:
                yield f"(for_each {block.get('for_each')})", secret
            for key in sorted(set(base.ENVIRONMENT_KEY.findall(text))):
                yield key, secret


def environment_text(body, locals_: dict) -> str:
    """The environment of a service's containers as text: `"NAME": "value"` of each `env` block,
    and the locals the dynamic `env` blocks iterate over."""
    texts = []
    for container in first(body, "template").get("containers", []):
        for env in container.get("env", []):
            texts.append(f'"{env.get("name")}": "{env.get("value", "")}"')
        for dynamic in container.get("dynamic", []):
            block = dynamic.get("env")
            local = re.fullmatch(r"\$\{local\.(\w+)\}", str(block.get("for_each", ""))) if isinstance(block, dict) else None
            if local:
                texts.append(str(locals_.get(local.group(1), "")))
    return "\n".join(texts)


def is_gs_location(module, value: str, locals_: dict) -> bool:
    """The value of a location setting is `gs://...`: literally, through a local holding it, or
    through a variable whose validation requires `gs://` (and not `s3://`)."""
    if value.startswith("gs://"):
        return True
    local = re.fullmatch(r"\$\{local\.(\w+)\}", value)
    if local:
        held = locals_.get(local.group(1))
        return isinstance(held, str) and held.startswith("gs://")
    variable = re.fullmatch(r"\$\{var\.(\w+)\}", value)
    if variable:
        condition = " ".join(str(v.get("condition", "")) for v in module.variables.get(variable.group(1), {}).get("validation", []))
        return "^gs://" in condition and "s3://" not in condition
    return False


def check_environment(module, known, secrets, problems):
    locals_ = base.module_locals(module)
    required = REQUIRED_ENVIRONMENT.get(module_name(module), {})
    for path, _, name, body in resources(module, "google_cloud_run_v2_service"):
        keys = set()
        for key, secret in container_environment(body, locals_):
            keys.add(key)
            if key not in known and key not in base.INFORMATIONAL_ENVIRONMENT:
                problems.append(f"{path}: service {name} sets {key}, which the binary does not read")
            elif secret and key not in secrets:
                problems.append(f"{path}: service {name} binds {key} to a secret, but it is not a secret setting")
            elif not secret and key in secrets:
                problems.append(f"{path}: service {name} puts the secret {key} in its plain environment")
            elif secret and SERVICE_ACCOUNTS.get((module_name(module), name), "service") != SECRET_READERS[module_name(module)]:
                problems.append(f"{path}: service {name} binds the secret {key}, but only the {SECRET_READERS[module_name(module)]} account may read secrets")
        missing = required.get(name, set()) - keys
        if missing:
            problems.append(f"{path}: service {name}: environment lacks {', '.join(sorted(missing))} (or the check cannot read it)")
        text = environment_text(body, locals_)
        for setting in sorted(GS_SETTINGS):
            for value in re.findall(rf"[\"']{setting}[\"']\s*:\s*[\"']([^\"']*)", text):
                if not is_gs_location(module, value, locals_):
                    problems.append(f"{path}: service {name}: {setting} is {value!r}, not a gs:// location")


def check_accepted_keys(module, problems):
    """gcp-webhook's accepted_auth_keys are `base64:` keys only: an `aws-kms:` key would need AWS
    credentials the services do not have."""
    if module_name(module) != WEBHOOK:
        return
    condition = " ".join(str(v.get("condition", "")) for v in module.variables.get("accepted_auth_keys", {}).get("validation", []))
    if "^base64:" not in condition or "aws-kms" in condition:
        problems.append(f"{module.directory}: the validation of accepted_auth_keys must accept `base64:` keys only")


def check_created_secrets(module, secrets, lock, problems):
    """Each secret the module creates is `<prefix><SETTING>` for a secret setting, or the lock:
    the literal keys of the local its for_each names."""
    locals_ = base.module_locals(module)
    for path, _, name, body in resources(module, "google_secret_manager_secret"):
        if body.get("secret_id") != "${local.secret_prefix}${each.key}":
            problems.append(f"{path}: secret {name} is not named <secret_prefix><setting>")
            continue
        local = re.fullmatch(r"\$\{local\.(\w+)\}", str(body.get("for_each", "")))
        for setting in set(base.ENVIRONMENT_KEY.findall(str(locals_.get(local.group(1), "")) if local else "")):
            if setting not in secrets:
                problems.append(f"{path}: secret {name} creates {setting}, which is not a secret setting of the binary")
        if module.directory.name == API and "local.shared_token_lock" not in str(locals_.get(local.group(1) if local else "", "")):
            problems.append(f"{path}: secret {name} does not create the shared token's lock {lock}")


def known_settings(module, source_dir: Path, problems: list) -> set:
    sources = {
        BULK: base.BULK_SETTING_SOURCES,
        API: base.API_SETTING_SOURCES,
        WEBHOOK: base.WEBHOOK_SETTING_SOURCES,
    }[module_name(module)]
    return base.listed_settings(source_dir, sources, problems)


# --- h. the examples --------------------------------------------------------------------------

def check_same_auth_locals(aws_api, gcp_api, problems):
    aws_locals, gcp_locals = base.module_locals(aws_api), base.module_locals(gcp_api)
    for name in SHARED_AUTH_LOCALS:
        if name not in gcp_locals or gcp_locals.get(name) != aws_locals.get(name):
            problems.append(f"{gcp_api.directory}: local {name} differs from modules/aws-api's (keep the source-auth locals the same)")


def check_examples(root: Path, modules_by_dir: dict, gcp_modules: dict, problems: list):
    examples = {name: [example for example, called in EXAMPLES.items() if called == name] for name in GCP_MODULES}
    base.check_examples_call(root, modules_by_dir, gcp_modules[BULK], examples[BULK], problems)
    base.check_examples_call(root, modules_by_dir, gcp_modules[WEBHOOK], examples[WEBHOOK], problems)
    base.check_api_examples(root, modules_by_dir, gcp_modules[API], problems, examples[API], "secret_ids")


# --- i. what the modules keep and set themselves -------------------------------------------

def check_soft_delete(module, problems):
    """The bucket of NO_SOFT_DELETE has `soft_delete = false` in its local (the others true),
    and its resource turns that into a soft_delete_policy of 0 seconds."""
    if module_name(module) not in NO_SOFT_DELETE:
        return
    resource, local, key = NO_SOFT_DELETE[module_name(module)]
    where = f"{module.directory}: google_storage_bucket.{resource}"
    body = next((b for _, _, n, b in resources(module, "google_storage_bucket") if n == resource), None)
    if body is None or body.get("for_each") != f"${{local.{local}}}":
        problems.append(f"{where} is not made for each bucket of local.{local}")
        return
    policies = [d["soft_delete_policy"] for d in body.get("dynamic", []) if "soft_delete_policy" in d]
    if body.get("soft_delete_policy") or len(policies) != 1 \
            or policies[0].get("for_each") != "${each.value.soft_delete ? [] : [0]}" \
            or first(policies[0], "content").get("retention_duration_seconds") != "${soft_delete_policy.value}":
        problems.append(f"{where}: soft delete must be one dynamic soft_delete_policy, 0 seconds when each.value.soft_delete is false")
    # The local is a map (python-hcl2: a dict) or a conditional one (a string holding its repr).
    text = str(base.module_locals(module).get(local, ""))
    entries = list(re.finditer(r"['\"](\w+)['\"]: \{", text))
    flags = {}
    for entry, after in zip(entries, entries[1:] + [None]):
        flag = re.search(r"['\"]soft_delete['\"]: (\w+)", text[entry.end():after.start() if after else None])
        if flag:
            flags[entry.group(1)] = flag.group(1)
    if flags.get(key) not in ("False", "false") or any(v not in ("True", "true") for k, v in flags.items() if k != key):
        problems.append(f"{module.directory}: local.{local}: soft_delete is {flags}; false for {key!r} only (it holds what must be gone once deleted)")


def check_webhook_extra_environment(module, known, secrets, problems):
    """gcp-webhook's extra_environment refuses every secret setting the collector reads and
    WEBHOOK_MODULE_SETTINGS, naming only settings the binary reads."""
    if module_name(module) != WEBHOOK:
        return
    condition = " ".join(str(v.get("condition", "")) for v in module.variables.get("extra_environment", {}).get("validation", []))
    listed = set(base.UPPER_NAME.findall(condition))
    where = f"{module.directory}: variable extra_environment"
    for name in sorted(listed - known):
        problems.append(f"{where} refuses {name}, which the binary does not read")
    missing = (WEBHOOK_MODULE_SETTINGS | (secrets & known)) - listed
    if "!contains(" not in condition or missing:
        problems.append(f"{where}: its validation must refuse {sorted(missing) or 'the names it lists'} (secrets, and what the module sets itself)")


def check_batch_timeout(module, source_dir: Path, problems):
    """The batch service's timeout and its scheduler's deadline are batch_timeout_seconds, whose
    validation allows at least BATCH_MIN_TIMEOUT, longer than the binary's budget."""
    if module_name(module) != WEBHOOK:
        return
    expected = "${var.batch_timeout_seconds}s"
    for path, _, name, body in resources(module, "google_cloud_run_v2_service"):
        if name == "batch" and first(body, "template").get("timeout") != expected:
            problems.append(f"{path}: service batch: timeout {first(body, 'template').get('timeout')!r}, expected {expected!r}")
    for path, _, name, body in resources(module, "google_cloud_scheduler_job"):
        if body.get("attempt_deadline") != expected:
            problems.append(f"{path}: scheduler job {name}: attempt_deadline {body.get('attempt_deadline')!r}, expected {expected!r}")
    condition = " ".join(str(v.get("condition", "")) for v in module.variables.get("batch_timeout_seconds", {}).get("validation", []))
    least = re.search(r"var\.batch_timeout_seconds >= (\d+)", condition)
    if least is None or int(least.group(1)) < BATCH_MIN_TIMEOUT:
        problems.append(f"{module.directory}: the validation of batch_timeout_seconds must allow no less than {BATCH_MIN_TIMEOUT}")
    budget = BATCH_BUDGET.search((source_dir / BATCH_SOURCE).read_text())
    if budget is None or int(budget.group(1)) + 10 > BATCH_MIN_TIMEOUT:
        problems.append(f"{BATCH_SOURCE}: BATCH_BUDGET is {budget and budget.group(1)} s; the batch timeout's least ({BATCH_MIN_TIMEOUT} s) must leave 10 s beyond it")


def check_backlog_message(module, source_dir: Path, problems):
    """The backlog alert's log-based metric matches the batch service's warning, word for word."""
    if module_name(module) != WEBHOOK:
        return
    message = base.module_locals(module).get("backlog_message")
    metrics = [b for _, _, _, b in resources(module, "google_logging_metric")]
    if not message or f'"{message}"' not in (source_dir / BATCH_SOURCE).read_text():
        problems.append(f"{module.directory}: local backlog_message {message!r} is not the batch service's warning in {BATCH_SOURCE}")
    elif not any("${local.backlog_message}" in str(b.get("filter", "")) and "${google_cloud_run_v2_service.batch.name}" in str(b.get("filter", "")) for b in metrics):
        problems.append(f"{module.directory}: no log-based metric counts local.backlog_message of the batch service")


def check_dead_letter_commands(module, problems):
    local = DEAD_LETTER_COMMANDS.get(module_name(module))
    if local is None:
        return
    text = str(base.module_locals(module).get(local, ""))
    if "--dead-letter-topic=" not in text or "--max-delivery-attempts=${var.max_delivery_attempts}" not in text:
        problems.append(f"{module.directory}: local {local} does not attach the dead-letter topic (--dead-letter-topic, --max-delivery-attempts=${{var.max_delivery_attempts}})")


# --- all of it --------------------------------------------------------------------------------

def check_any_module(module, problems):
    """What holds for every module under terraform/, examples included: no public member, no
    authoritative or project-wide grant but the allowed ones, invokers on own services only."""
    check_no_public_members(module, problems)
    check_iam_kinds(module, problems)
    check_project_grants(module, problems)
    check_invoker_grants(module, problems)
    check_key_grants(module, problems)


def check_gcp_module(module, source_dir: Path, lock, problems):
    secrets = base.secret_settings(source_dir, problems)
    known = known_settings(module, source_dir, problems)
    check_services(module, problems)
    check_scheduler_jobs(module, problems)
    check_triggers(module, problems)
    check_signing_key(module, problems)
    check_accepted_keys(module, problems)
    check_account_grants(module, problems)
    jobs = custom_roles(module, problems)
    check_bucket_grants(module, jobs, problems)
    check_secret_grants(module, jobs, lock, problems)
    check_lock_local(module, lock, problems)
    check_environment(module, known, secrets, problems)
    check_created_secrets(module, secrets, lock, problems)
    check_soft_delete(module, problems)
    check_webhook_extra_environment(module, known, secrets, problems)
    check_batch_timeout(module, source_dir, problems)
    check_backlog_message(module, source_dir, problems)
    check_dead_letter_commands(module, problems)
    if module.directory.name == API:
        base.check_name_validations(module, known, problems)
        base.check_strategy_locals(module, secrets, problems)


def check(root: Path, modules_by_dir: dict, problems: list):
    """Every check above: a. to d. on every module under terraform/, the others on
    modules/gcp-bulk, modules/gcp-api and modules/gcp-webhook, h. on the modules calling them."""
    source_dir = root.parent
    lock = lock_secret(source_dir, problems)
    for module in modules_by_dir.values():
        check_any_module(module, problems)
    gcp_modules = {}
    for name in GCP_MODULES:
        module = modules_by_dir.get(root / "modules" / name)
        if module is None:
            problems.append(f"{root}: no modules/{name}")
            continue
        gcp_modules[name] = module
        check_gcp_module(module, source_dir, lock, problems)
    if len(gcp_modules) == len(GCP_MODULES):
        check_examples(root, modules_by_dir, gcp_modules, problems)
    aws_api = modules_by_dir.get(root / "modules" / "aws-api")
    if aws_api is not None and API in gcp_modules:
        check_same_auth_locals(aws_api, gcp_modules[API], problems)
