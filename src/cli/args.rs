//! Command-line arguments (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::format::charset::{InputEncoding, UnknownEncoding};

/// Pseudonymize HR and collaboration data before it leaves your hands.
///
/// psoxy reads CSV, TSV, NDJSON, JSON arrays or Parquet (optionally gzipped), replaces
/// identifiers with salted SHA-256 pseudonyms that are byte-identical to Worklytics Psoxy's,
/// drops or redacts what the rules say, and writes the sanitized copy. Rule files are Psoxy's own YAML.
#[derive(Debug, Parser)]
#[command(
    name = "psoxy",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sanitize a file, a directory (recursively) or stdin.
    ///
    /// Examples:
    ///   psoxy sanitize --rules transforms/hris.yaml -o out/hris.csv sample-data/hris.csv
    ///   psoxy sanitize --rules transforms/hris.yaml -o out/ exports/      (mirrors the tree)
    ///   PSOXY_SALT=... psoxy sanitize -p EMPLOYEE_ID -p EMPLOYEE_EMAIL -r SALARY hris.csv
    ///   gzip -dc hris.csv.gz | psoxy sanitize --rules hris.yaml - > sanitized.csv
    ///
    /// The salt must be the one your cloud deployment uses (its PSOXY_SALT parameter) for the
    /// pseudonyms to join. Output files are written to a temporary name and renamed only when
    /// complete: on error no output file is left behind.
    #[command(verbatim_doc_comment)]
    Sanitize(SanitizeArgs),
    /// Validate a rules file and, given a sample, show what happens to each column.
    ///
    /// Prints which columns are pseudonymized, redacted, renamed or passed in clear, and warns
    /// about clear columns whose names or values look like emails or other identifiers.
    /// Exit status: 0 valid, 1 invalid rules or sample, 3 warnings with --strict.
    ///
    /// API rule files (with `endpoints:`) are checked too: every endpoint is listed; with
    /// --request "GET /path?query" the command says which endpoint allows it (or why it is
    /// blocked), and with a sample response (JSON) it prints that response sanitized:
    ///   psoxy check --rules transforms/api/github.yaml \
    ///     --request "GET /orgs/acme/members?per_page=5" members.json
    #[command(verbatim_doc_comment)]
    Check(CheckArgs),
    /// Run the storage-triggered flow on local folders, without AWS.
    ///
    /// Every file that appears under --input (once its size stops changing) is processed
    /// exactly as the bulk function processes an uploaded object: the same settings from the
    /// environment (RULES, PSOXY_SALT, INPUT_BASE_PATH, OUTPUT_BASE_PATH,
    /// COMPRESS_OUTPUT_ALWAYS, ADDITIONAL_TRANSFORMS, ...), the same key mapping, compression
    /// (gzip by default, under the same name) and rules. --rules and --salt override RULES and
    /// PSOXY_SALT. Additional transforms write to sibling folders of --output named after
    /// their destination bucket.
    ///
    /// Example:
    ///   PSOXY_SALT=... psoxy watch --rules transforms/hris.yaml --input drop/ --output sanitized/
    #[command(verbatim_doc_comment)]
    Watch(WatchArgs),
    /// Run API mode: an HTTP proxy that forwards only the requests its rules allow.
    ///
    /// Each request's path and query are matched against the rule file's endpoints (default
    /// deny: 403 and X-Psoxy-Error: BLOCKED_BY_RULES); allowed ones go to --target with the
    /// source's credentials, and the JSON answer comes back sanitized with the same
    /// pseudonyms as bulk mode. `p~` tokens in the path or query are decrypted first.
    ///
    /// Callers send `Authorization: Bearer <key>` with a key from --keys (make one with
    /// `psoxy api-key`). Settings come from the flags, the environment, then (with
    /// PATH_TO_INSTANCE_CONFIG set) SSM Parameter Store, as in the function. The source's
    /// credentials:
    ///   SOURCE_AUTH_STRATEGY  none | bearer | header | basic | oauth2_client_credentials |
    ///                         oauth2_refresh_token | google_service_account | ms_workload_identity
    ///                         (required: `none` must be chosen; Psoxy's
    ///                         SOURCE_AUTH_STRATEGY_IDENTIFIER and GRANT_TYPE work too)
    ///   ACCESS_TOKEN, API_KEY_HEADER, BASIC_AUTH_USER, BASIC_AUTH_PASSWORD, TOKEN_ENDPOINT,
    ///   CLIENT_ID, CLIENT_SECRET, OAUTH_SCOPES, TOKEN_REQUEST_FORMAT (form | json),
    ///   REFRESH_TOKEN, SERVICE_ACCOUNT_KEY, ACCOUNT_TO_IMPERSONATE, MS_TENANT_ID,
    ///   MS_FEDERATED_TOKEN_FILE, UPSTREAM_TIMEOUT_SECONDS (default 55)
    ///
    /// Example:
    ///   psoxy api-key --id me --connector github     (prints a key and its keys-file entry)
    ///   SOURCE_AUTH_STRATEGY=bearer ACCESS_TOKEN=ghp_... PSOXY_SALT=... \
    ///     psoxy serve --rules transforms/api/github.yaml --target https://api.github.com \
    ///       --connector github --keys keys.yaml
    ///   curl -H "Authorization: Bearer psk_..." http://127.0.0.1:8080/orgs/acme/members
    ///   curl -H "Authorization: Bearer psk_..." -H "X-Psoxy-Health-Check: 1" http://127.0.0.1:8080/
    ///
    /// With --webhook-rules it serves the webhook collector instead: POST JSON or NDJSON with
    /// a bearer JWT signed by one of ACCEPTED_AUTH_KEYS; the sanitized payload is queued in
    /// --webhook-output/.queue and merged every --batch-seconds into a gzipped NDJSON file:
    ///   PSOXY_SALT=... ACCEPTED_AUTH_KEYS=base64:MIIBIjAN... \
    ///     psoxy serve --webhook-rules hooks.yaml --webhook-output ./webhooks
    ///   curl -X POST -H "Authorization: Bearer eyJ..." -d @event.json http://127.0.0.1:8080/
    #[command(verbatim_doc_comment)]
    Serve(ServeArgs),
    /// Send objects already in an input bucket to the deployed bulk function again.
    ///
    /// Lists the objects under s3://BUCKET/PREFIX (optionally only those modified since a
    /// time), then invokes the function once per object with a synthetic S3 ObjectCreated
    /// event, as the upload did, and waits for its answer: the objects themselves are not
    /// copied or touched. For gs://BUCKET/PREFIX, each object is POSTed to the Cloud Run bulk
    /// service (--service-url, with --id-token) as Eventarc's finalized-object event. Use it after changing the rules or the salt, or to re-run uploads
    /// that failed. Prints each object's outcome and a summary; exits 1 if any failed.
    /// Credentials, region and endpoints come from the usual AWS settings (AWS_PROFILE,
    /// AWS_REGION, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_LAMBDA, ...); the caller needs
    /// s3:ListBucket on the bucket and lambda:InvokeFunction on the function.
    ///
    /// Examples:
    ///   psoxy replay s3://acme-hris-input/ --function psoxy-hris --dry-run
    ///   psoxy replay s3://acme-hris-input/exports/ --function psoxy-hris --modified-since 7d
    ///   psoxy replay s3://acme-hris-input/ --function psoxy-hris --modified-since 2026-12-01
    ///   PSOXY_ID_TOKEN=$(gcloud auth print-identity-token) psoxy replay gs://acme-hris-input/ \
    ///     --service-url https://psoxy-hris-abc123-ew.a.run.app/
    #[command(verbatim_doc_comment)]
    Replay(ReplayArgs),
    /// Check a deployed bucket pair end to end with a generated sample.
    ///
    /// Generates a small CSV from the connector's columnar rules (every column they name, and
    /// one they do not, with unique values), uploads it to --input as
    /// psoxy-smoke/<id>.csv, waits for the sanitized copy under --output, and checks it:
    /// the metadata (the upload's key, the rules' SHA-256, the salt's fingerprint), the
    /// header and row count, that no value of a pseudonymized, redacted or dropped column is
    /// there in clear and that clear columns are kept; with the salt (--salt or PSOXY_SALT)
    /// also that the output is byte-identical to the sample sanitized here, so pseudonyms
    /// join. Prints a verdict (exit 0 passed, 1 failed) and deletes both objects (--keep
    /// keeps them). AWS settings as for `psoxy replay`; the caller needs s3:PutObject and
    /// s3:DeleteObject on the input prefix, s3:GetObject and s3:DeleteObject on the output.
    ///
    /// Example:
    ///   PSOXY_SALT=... psoxy smoke --rules transforms/hris.yaml \
    ///     --input s3://acme-hris-input/ --output s3://acme-hris-sanitized/
    #[command(verbatim_doc_comment)]
    Smoke(SmokeArgs),
    /// Make a new caller key for `psoxy serve --keys`.
    ///
    /// Prints the key (give it to the caller; it is not stored anywhere) and the entry to add
    /// to the keys file, which holds only the key's SHA-256.
    ApiKey(ApiKeyArgs),
}

/// `psoxy replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The objects to replay: s3://bucket[/prefix] or gs://bucket[/prefix] (every key that
    /// starts with the prefix, at any depth).
    #[arg(value_name = "S3_LOCATION")]
    pub location: String,
    /// The deployed bulk function (s3:// objects): its name, ARN, or name:alias.
    #[arg(long, value_name = "NAME")]
    pub function: Option<String>,
    /// The Cloud Run bulk service (gs:// objects): its URL, e.g.
    /// https://psoxy-hris-abc123-ew.a.run.app/ (each object is POSTed to it as the
    /// CloudEvent Eventarc sends for a finalized object).
    #[arg(long, value_name = "URL")]
    pub service_url: Option<String>,
    /// An identity token for the Cloud Run service (`gcloud auth print-identity-token`), sent
    /// as a bearer token. [env: PSOXY_ID_TOKEN]
    #[arg(
        long,
        value_name = "TOKEN",
        env = "PSOXY_ID_TOKEN",
        hide_env_values = true
    )]
    pub id_token: Option<String>,
    /// Only objects last modified at or after WHEN: a time (2026-12-01T09:00:00Z), a date
    /// (2026-12-01, midnight UTC) or an age (90m, 36h, 7d).
    #[arg(long, value_name = "WHEN")]
    pub modified_since: Option<String>,
    /// List the objects that would be replayed (key, size, last modified), invoke nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Invocations running at once (keep it within the function's reserved concurrency).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Print only failures and the summary.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `psoxy smoke`.
#[derive(Debug, Args)]
pub struct SmokeArgs {
    /// The connector's rules file: the one deployed as RULES.
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    /// Where to upload: s3://input-bucket[/prefix] (the function's INPUT_BASE_PATH, if set).
    #[arg(long, value_name = "S3_LOCATION")]
    pub input: String,
    /// Where the sanitized copy appears: s3://output-bucket[/prefix] (OUTPUT_BASE_PATH).
    #[arg(long, value_name = "S3_LOCATION")]
    pub output: String,
    /// Data rows of the sample.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub rows: usize,
    /// Seconds to wait for the sanitized copy.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub timeout: u64,
    /// Leave the sample and its sanitized copy in the buckets.
    #[arg(long)]
    pub keep: bool,
    /// Pseudonym settings: the deployment's, to check the pseudonyms byte for byte.
    #[command(flatten)]
    pub pseudonym: PseudonymArgs,
}

/// `psoxy serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// API rule file (Rules2 YAML; base64 also accepted). [env: RULES holds the text instead]
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Base URL of the source API, e.g. https://api.github.com. [env: TARGET_HOST]
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Caller keys file (YAML: id, sha256, expires, connectors per key).
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// Accept requests without a caller key (only for trying the proxy on your own machine).
    #[arg(long, conflicts_with = "keys")]
    pub no_caller_auth: bool,
    /// This connector's name, which caller keys must list. Default: PSOXY_INSTANCE_ID, else
    /// the rule file's name without extension.
    #[arg(long, value_name = "NAME")]
    pub connector: Option<String>,
    /// Turn on `Prefer: respond-async`: such requests are answered 202 with `Location:` a file
    /// under DIR (`yyyyMMdd/<id>`, gzip) where the sanitized answer, or `<id>.error.json`, is
    /// written once fetched. [env: ASYNC_OUTPUT_DESTINATION=s3://... on AWS]
    #[arg(long, value_name = "DIR")]
    pub async_output: Option<PathBuf>,
    /// Serve the webhook collector with these rules (Psoxy's WebhookCollectionRules YAML)
    /// instead of the API proxy. Tokens are checked against ACCEPTED_AUTH_KEYS (env or
    /// --accepted-auth-keys); see docs/webhook.md.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["rules", "target", "keys"])]
    pub webhook_rules: Option<PathBuf>,
    /// Folder the collector writes its batches to (gzipped NDJSON, named by content); its
    /// queue is the `.queue` folder inside.
    #[arg(long, value_name = "DIR", requires = "webhook_rules")]
    pub webhook_output: Option<PathBuf>,
    /// Seconds between two merges of the queued webhooks into a batch.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 10,
        requires = "webhook_rules"
    )]
    pub batch_seconds: u64,
    /// Keys webhook tokens may be signed with (`base64:<SPKI DER>` or `aws-kms:<key>`,
    /// comma-separated). [env: ACCEPTED_AUTH_KEYS]
    #[arg(long, value_name = "KEYS", requires = "webhook_rules")]
    pub accepted_auth_keys: Option<String>,
    /// Pseudonym settings.
    #[command(flatten)]
    pub pseudonym: PseudonymArgs,
}

/// `psoxy api-key`.
#[derive(Debug, Args)]
pub struct ApiKeyArgs {
    /// Name of the key (appears in the audit log).
    #[arg(long)]
    pub id: String,
    /// Connector the key may call (repeatable; `*` for all).
    #[arg(long = "connector", value_name = "NAME", required = true)]
    pub connectors: Vec<String>,
    /// Days until the key expires.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub days: u32,
}

/// `psoxy watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Folder standing for the input bucket (watched recursively).
    #[arg(long, value_name = "DIR")]
    pub input: PathBuf,
    /// Folder standing for the output bucket.
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// Rules file (instead of the RULES setting).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Salt (instead of PSOXY_SALT).
    #[arg(short = 's', long, hide_env_values = true)]
    pub salt: Option<String>,
    /// Process the files present now, then exit (status 1 if any failed).
    #[arg(long)]
    pub once: bool,
    /// Seconds between scans.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub interval: f64,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
}

/// Settings that decide the pseudonyms.
#[derive(Debug, Args, Clone)]
pub struct PseudonymArgs {
    /// Salt for the hashes; must match your deployment's PSOXY_SALT. [env: PSOXY_SALT]
    #[arg(short = 's', long)]
    pub salt: Option<String>,
    /// Key for reversible `p~` tokens (rules with `tokenize`). [env: PSOXY_ENCRYPTION_KEY]
    #[arg(long)]
    pub encryption_key: Option<String>,
    /// How email local parts are canonicalized before hashing: STRICT (default) or
    /// IGNORE_DOTS. [env: EMAIL_CANONICALIZATION]
    #[arg(long, value_name = "MODE", value_parser = ["STRICT", "IGNORE_DOTS", "strict", "ignore_dots"])]
    pub email_canonicalization: Option<String>,
    /// What is reported beside an email's hash: the domain as written (PRESERVE, default),
    /// nothing (REDACT), a hash (TOKENIZE, `h~`) or a reversible token (ENCRYPT, `e~`).
    /// [env: EMAIL_DOMAIN_HANDLING]
    #[arg(long, value_name = "MODE", value_parser = ["PRESERVE", "REDACT", "TOKENIZE", "ENCRYPT", "preserve", "redact", "tokenize", "encrypt"])]
    pub email_domain_handling: Option<String>,
}

/// `psoxy sanitize`.
#[derive(Debug, Args)]
pub struct SanitizeArgs {
    /// Input file, directory (processed recursively) or `-` for stdin. Gzip is detected.
    pub input: PathBuf,
    /// Rules file (Psoxy YAML; base64 and base64-gzip also accepted).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Output file, or directory when INPUT is a directory. Default: stdout.
    /// A name ending in `.gz` is gzipped.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Psoxy-style: pseudonymize this column (repeatable; adds to --rules).
    #[arg(short = 'p', long = "pseudonymize", value_name = "COLUMN")]
    pub pseudonymize: Vec<String>,
    /// Psoxy-style: drop this column (repeatable; adds to --rules).
    #[arg(short = 'r', long = "redact", value_name = "COLUMN")]
    pub redact: Vec<String>,
    /// Pseudonym encoding for -p columns when no --rules set one.
    #[arg(long, value_name = "FORMAT", value_parser = ["JSON", "URL_SAFE_TOKEN", "URL_SAFE_HASH_ONLY"])]
    pub pseudonym_format: Option<String>,
    /// Input format; default: from the rules and the file extension.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_format: Option<InputFormatArg>,
    /// Character encoding of text inputs: UTF-8 (default), WINDOWS-1252, ISO-8859-1, UTF-16
    /// (byte order from the byte-order mark), UTF-16LE or UTF-16BE. Output is always UTF-8; a
    /// byte-order mark at the start of the input wins over this setting.
    #[arg(long, value_name = "ENCODING", env = "INPUT_ENCODING", value_parser = parse_encoding)]
    pub input_encoding: Option<InputEncoding>,
    /// Output format; default: the input's. Record rules (`transforms`) can write `ndjson` or
    /// `json-array` from any input, e.g. CSV in, NDJSON out; `csv` from CSV or Parquet (either
    /// kind of rules); `parquet` from Parquet only.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output_format: Option<OutputFormatArg>,
    /// Keep the input's row order (by default rows are shuffled within 500-row chunks,
    /// deterministically, so the order of an export sorted by name cannot leak).
    #[arg(long)]
    pub no_shuffle: bool,
    /// Gzip every output file. In a directory run `.gz` is added to output names that lack
    /// it; a file named with -o keeps that name (name it `.gz` to say what it holds). Parquet
    /// output is never gzipped: it compresses itself with the input's codec.
    #[arg(long)]
    pub gzip: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    /// Pseudonym settings.
    #[command(flatten)]
    pub pseudonym: PseudonymArgs,
}

/// An `--input-encoding` value.
fn parse_encoding(name: &str) -> Result<InputEncoding, UnknownEncoding> {
    InputEncoding::parse(name)
}

/// `--input-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormatArg {
    /// Decide by extension (`.csv`, `.tsv`, `.ndjson`, `.jsonl`, `.json`, `.parquet`, each
    /// optionally `.gz`).
    Auto,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// One JSON object per line.
    Ndjson,
    /// One JSON array of objects (record rules only).
    JsonArray,
    /// Apache Parquet (read from its footer; a stream is spooled to a temporary file).
    Parquet,
}

/// `--output-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormatArg {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Ndjson,
    /// One JSON array of objects.
    JsonArray,
    /// Apache Parquet, with the input's codec and row groups (Parquet input only).
    Parquet,
}

/// `psoxy check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Rules file to validate.
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    /// Optional sample input (CSV/TSV/NDJSON/JSON array/Parquet, optionally gzipped) to check the
    /// rules against.
    pub sample: Option<PathBuf>,
    /// Rows of the sample to scan for identifiers.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub rows: usize,
    /// Exit with status 3 when there are warnings.
    #[arg(long)]
    pub strict: bool,
    /// Input format of the sample; default: from the rules and the extension.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_format: Option<InputFormatArg>,
    /// Character encoding of the sample, as `psoxy sanitize --input-encoding`.
    #[arg(long, value_name = "ENCODING", env = "INPUT_ENCODING", value_parser = parse_encoding)]
    pub input_encoding: Option<InputEncoding>,
    /// API rules: a request to decide, e.g. "GET /orgs/acme/members?per_page=10"; with a
    /// sample (a response body, JSON), the sanitized response is printed.
    #[arg(long, value_name = "REQUEST")]
    pub request: Option<String>,
    /// API rules: the body of `--request` (a file), checked against the endpoint's
    /// `requestBody` rule.
    #[arg(long, value_name = "FILE", requires = "request")]
    pub body: Option<PathBuf>,
    /// API rules: the `Content-Type` of `--body` (default `application/json`).
    #[arg(long, value_name = "TYPE", requires = "body")]
    pub content_type: Option<String>,
}
