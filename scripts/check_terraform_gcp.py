"""The Google Cloud checks of scripts/check_terraform.py: modules/gcp-bulk, modules/gcp-api and
the examples calling them, for what checkov does not check.

a. No `allUsers` or `allAuthenticatedUsers` member anywhere (resources and module calls of
   every module under terraform/; c. and d. hold there too).
b. Every Cloud Run service runs the binary's mode (`args = ["bulk"]` / `["api"]`) and keeps its
   invoker check (no `invoker_iam_disabled`); gcp-bulk's take internal traffic only.
c. `roles/run.invoker` is granted only by google_cloud_run_v2_service_iam_member on the
   module's own service, never at the project level.
d. google_project_iam_member only for the roles Eventarc and Cloud Storage require there
   (PROJECT_GRANTS, each to its one member); no authoritative IAM resource (`_iam_binding`,
   `_iam_policy`), no folder or organization grant, no ACL.
e. Storage grants are bucket-level (google_storage_bucket_iam_member): objectViewer on the input
   bucket for the service, the create/delete custom role on the sanitized bucket for the
   service, objectViewer on the sanitized bucket for the readers; nothing broader.
f. Secret grants are per secret (google_secret_manager_secret_iam_member): secretAccessor; in
   gcp-api also its custom roles, on the secrets the binary rewrites (token writer) and on the
   shared token's lock (lock holder) only. Every custom role has exactly the permissions of its
   job (CUSTOM_ROLES).
g. Every environment variable of the services' containers is a setting the binary's shell
   reads; the secret-bound ones are secret settings, the plain ones are not; every secret the
   module creates is named after a secret setting (or the lock).
h. The examples gcp-hris and gcp-api-zoom call the modules; gcp-api's strategy maps and
   validations are the binary's, as aws-api's, and each caller names one valid strategy and
   outputs only secrets the module creates for it. gcp-api's source-auth locals are aws-api's,
   word for word (SHARED_AUTH_LOCALS), so the two cannot drift apart.

Imported by check_terraform.py's main (after it is loaded, so the import below is not circular).
"""

import re
from pathlib import Path

import check_terraform as base

BULK = "gcp-bulk"
API = "gcp-api"
EXAMPLES = {"gcp-hris": BULK, "gcp-api-zoom": API}
# The mode each module's container runs (`/psoxy-gcp <mode>`).
SERVICE_ARGS = {BULK: ["bulk"], API: ["api"]}
PUBLIC_MEMBER = re.compile(r"\ball(Authenticated)?Users\b")
# Authoritative or too wide: none of these in a GCP module.
FORBIDDEN_KINDS = re.compile(r"^google_(\w+_iam_(binding|policy|audit_config)|(folder|organization)_iam_\w+|\w*_acl|\w+_access_control)$")

# The project-level roles Eventarc and Cloud Storage require, and who may hold each: the
# trigger's service account, and the Cloud Storage service agent (data source).
PROJECT_GRANTS = {
    "roles/eventarc.eventReceiver": re.compile(r"^\$\{google_service_account\.trigger\.member\}$"),
    "roles/pubsub.publisher": re.compile(r"^\$\{data\.google_storage_project_service_account\.\w+\.member\}$"),
}

OBJECT_VIEWER = "roles/storage.objectViewer"
SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"
# The custom roles by job, with exactly their permissions, and the module allowed each.
CUSTOM_ROLES = {
    "output_writer": (BULK, frozenset({"storage.objects.create", "storage.objects.delete"})),
    "token_writer": (API, frozenset({
        "secretmanager.secrets.get", "secretmanager.secrets.update", "secretmanager.versions.add",
        "secretmanager.versions.destroy", "secretmanager.versions.list",
    })),
    "lock_holder": (API, frozenset({"secretmanager.secrets.get", "secretmanager.secrets.update"})),
}
# (bucket key, role or custom role job) -> who may hold it: `service` (the module's service
# account) or `readers` (for_each over var.sanitized_bucket_readers).
BUCKET_GRANTS = {
    ("input", OBJECT_VIEWER): "service",
    ("sanitized", "output_writer"): "service",
    ("sanitized", OBJECT_VIEWER): "readers",
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

CUSTOM_ROLE_NAME = re.compile(r"^\$\{google_project_iam_custom_role\.(\w+)(?:\[\d+\])?\.(?:name|id)\}$")
BUCKET_KEY = re.compile(r"google_storage_bucket\.this\[[\"'](\w+)[\"']\]")
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


# --- a. public members ------------------------------------------------------------------------

def check_no_public_members(module, problems):
    for path, kind, name, body in resources(module):
        if any(PUBLIC_MEMBER.search(text) for text in base.strings(body)):
            problems.append(f"{path}: {kind}.{name} grants to allUsers or allAuthenticatedUsers")
    for name, arguments in module.modules.items():
        if any(PUBLIC_MEMBER.search(text) for text in base.strings(arguments)):
            problems.append(f"{module.directory}: module {name} is given allUsers or allAuthenticatedUsers")


# --- b. the services --------------------------------------------------------------------------

def check_services(module, problems):
    for path, _, name, body in resources(module, "google_cloud_run_v2_service"):
        where = f"{path}: service {name}"
        if module.directory.name == BULK and body.get("ingress") != "INGRESS_TRAFFIC_INTERNAL_ONLY":
            problems.append(f"{where}: ingress {body.get('ingress')!r}, the bulk service takes internal traffic only (INGRESS_TRAFFIC_INTERNAL_ONLY)")
        if body.get("invoker_iam_disabled") not in (None, False):
            problems.append(f"{where}: invoker_iam_disabled lets anyone invoke it")
        for container in first(body, "template").get("containers", []):
            if container.get("args") != SERVICE_ARGS[module.directory.name]:
                problems.append(f"{where}: container args {container.get('args')}, expected {SERVICE_ARGS[module.directory.name]}")


# --- c. who may invoke ------------------------------------------------------------------------

def check_invoker_grants(module, problems):
    own_services = {name for _, _, name, _ in resources(module, "google_cloud_run_v2_service")}
    for path, kind, name, body in resources(module):
        if body.get("role") != "roles/run.invoker":
            continue
        service = re.fullmatch(r"\$\{google_cloud_run_v2_service\.(\w+)\.name\}", str(body.get("name", "")))
        if kind != "google_cloud_run_v2_service_iam_member" or service is None or service.group(1) not in own_services:
            problems.append(f"{path}: {kind}.{name} grants roles/run.invoker other than on the module's own service")


# --- d. nothing project-wide but what Eventarc and Cloud Storage require ----------------------

def check_iam_kinds(module, problems):
    for path, kind, name, _ in resources(module):
        if FORBIDDEN_KINDS.match(kind):
            problems.append(f"{path}: {kind}.{name}: authoritative, folder, organization or ACL grants are not used")


def check_project_grants(module, problems):
    for path, _, name, body in resources(module, "google_project_iam_member"):
        role, member = body.get("role"), str(body.get("member", ""))
        holder = PROJECT_GRANTS.get(role)
        if holder is None:
            problems.append(f"{path}: google_project_iam_member.{name} grants {role} project-wide (only {sorted(PROJECT_GRANTS)} are)")
        elif not holder.match(member):
            problems.append(f"{path}: google_project_iam_member.{name} grants {role} to {member}, not to its one holder")


# --- custom roles -----------------------------------------------------------------------------

def custom_roles(module, problems) -> dict:
    """Resource name -> job of every custom role of the module (a custom role is named after its
    job), each checked against CUSTOM_ROLES."""
    jobs = {}
    for path, _, name, body in resources(module, "google_project_iam_custom_role"):
        allowed = CUSTOM_ROLES.get(name)
        permissions = frozenset(body.get("permissions", []))
        if allowed is None or allowed[0] != module.directory.name:
            problems.append(f"{path}: custom role {name} is none of this module's ({[job for job, (where, _) in CUSTOM_ROLES.items() if where == module.directory.name]})")
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
    member = str(body.get("member", ""))
    if re.fullmatch(r"\$\{google_service_account\.service\.member\}", member):
        return "service"
    if "var.sanitized_bucket_readers" in str(body.get("for_each", "")):
        return "readers"
    return member


def check_bucket_grants(module, jobs, problems):
    for path, kind, name, body in resources(module):
        if not kind.startswith("google_storage_") or "_iam_" not in kind:
            continue
        bucket = BUCKET_KEY.search(str(body.get("bucket", "")))
        grant = (bucket.group(1) if bucket else body.get("bucket"), role_of(body, jobs))
        if kind != "google_storage_bucket_iam_member" or BUCKET_GRANTS.get(grant) != holder_of(body):
            problems.append(f"{path}: {kind}.{name} grants {grant[1]} on bucket {grant[0]} to {holder_of(body)}; allowed: {sorted(BUCKET_GRANTS.items())}")


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


def check_environment(module, known, secrets, problems):
    locals_ = base.module_locals(module)
    for path, _, name, body in resources(module, "google_cloud_run_v2_service"):
        for key, secret in container_environment(body, locals_):
            if key not in known and key not in base.INFORMATIONAL_ENVIRONMENT:
                problems.append(f"{path}: service {name} sets {key}, which the binary does not read")
            elif secret and key not in secrets:
                problems.append(f"{path}: service {name} binds {key} to a secret, but it is not a secret setting")
            elif not secret and key in secrets:
                problems.append(f"{path}: service {name} puts the secret {key} in its plain environment")


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
    sources = base.BULK_SETTING_SOURCES if module.directory.name == BULK else base.API_SETTING_SOURCES
    return base.listed_settings(source_dir, sources, problems)


# --- h. the examples --------------------------------------------------------------------------

def check_same_auth_locals(aws_api, gcp_api, problems):
    aws_locals, gcp_locals = base.module_locals(aws_api), base.module_locals(gcp_api)
    for name in SHARED_AUTH_LOCALS:
        if name not in gcp_locals or gcp_locals.get(name) != aws_locals.get(name):
            problems.append(f"{gcp_api.directory}: local {name} differs from modules/aws-api's (keep the source-auth locals the same)")


def check_examples(root: Path, modules_by_dir: dict, gcp_modules: dict, problems: list):
    bulk_examples = [example for example, called in EXAMPLES.items() if called == BULK]
    api_examples = [example for example, called in EXAMPLES.items() if called == API]
    base.check_examples_call(root, modules_by_dir, gcp_modules[BULK], bulk_examples, problems)
    base.check_api_examples(root, modules_by_dir, gcp_modules[API], problems, api_examples, "secret_ids")


# --- all of it --------------------------------------------------------------------------------

def check_any_module(module, problems):
    """What holds for every module under terraform/, examples included: no public member, no
    authoritative or project-wide grant but the allowed ones, invokers on own services only."""
    check_no_public_members(module, problems)
    check_iam_kinds(module, problems)
    check_project_grants(module, problems)
    check_invoker_grants(module, problems)


def check_gcp_module(module, source_dir: Path, lock, problems):
    secrets = base.secret_settings(source_dir, problems)
    known = known_settings(module, source_dir, problems)
    check_services(module, problems)
    jobs = custom_roles(module, problems)
    check_bucket_grants(module, jobs, problems)
    check_secret_grants(module, jobs, lock, problems)
    check_lock_local(module, lock, problems)
    check_environment(module, known, secrets, problems)
    check_created_secrets(module, secrets, lock, problems)
    if module.directory.name == API:
        base.check_name_validations(module, known, problems)
        base.check_strategy_locals(module, secrets, problems)


def check(root: Path, modules_by_dir: dict, problems: list):
    """Every check above: a. to d. on every module under terraform/, the others on
    modules/gcp-bulk and modules/gcp-api, h. on the modules calling them."""
    source_dir = root.parent
    lock = lock_secret(source_dir, problems)
    for module in modules_by_dir.values():
        check_any_module(module, problems)
    gcp_modules = {}
    for name in (BULK, API):
        module = modules_by_dir.get(root / "modules" / name)
        if module is None:
            problems.append(f"{root}: no modules/{name}")
            continue
        gcp_modules[name] = module
        check_gcp_module(module, source_dir, lock, problems)
    if len(gcp_modules) == 2:
        check_examples(root, modules_by_dir, gcp_modules, problems)
    aws_api = modules_by_dir.get(root / "modules" / "aws-api")
    if aws_api is not None and API in gcp_modules:
        check_same_auth_locals(aws_api, gcp_modules[API], problems)
