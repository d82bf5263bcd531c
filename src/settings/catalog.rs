//! Every setting the product reads, declared once: its name, default, whether it is a secret,
//! and one line of documentation. The shells say which of these they read (their lists sit
//! beside their settings types); `docs/settings.md` shows them in tables that a test checks
//! against [`ALL`].

use super::{Group, Setting};

macro_rules! settings {
    ($($(#[$meta:meta])* $ident:ident { group: $group:ident, default: $default:expr, secret: $secret:expr, doc: $doc:expr $(,)? })*) => {
        $(
            $(#[$meta])*
            pub const $ident: Setting = Setting {
                name: stringify!($ident),
                group: Group::$group,
                default: $default,
                secret: $secret,
                doc: $doc,
            };
        )*
        /// Every declared setting, in documentation order.
        pub const ALL: &[&Setting] = &[$(&$ident),*];
    };
}

settings! {
    /// The salt of every pseudonym.
    PSOXY_SALT { group: Pseudonyms, default: None, secret: true,
        doc: "the salt of every hash; use the deployment's so pseudonyms join (required)" }
    /// Key of reversible tokens.
    PSOXY_ENCRYPTION_KEY { group: Pseudonyms, default: None, secret: true,
        doc: "key of reversible `p~` tokens (`tokenize`, `includeReversible`, `encryptIp`)" }
    /// Email local-part canonicalization.
    EMAIL_CANONICALIZATION { group: Pseudonyms, default: Some("STRICT"), secret: false,
        doc: "`STRICT` or `IGNORE_DOTS` (dots removed from local parts before hashing)" }
    /// What is reported beside an email's hash.
    EMAIL_DOMAIN_HANDLING { group: Pseudonyms, default: Some("PRESERVE"), secret: false,
        doc: "`PRESERVE`, `REDACT`, `TOKENIZE` (`h~` hash) or `ENCRYPT` (`e~` token) of email domains" }
    /// Salt of `TOKENIZE`d domains.
    SALT_EMAIL_DOMAINS { group: Pseudonyms, default: None, secret: true,
        doc: "salt of `TOKENIZE` / `ENCRYPT` of email domains (default: the main salt)" }
    /// Key of `ENCRYPT`ed domains.
    ENCRYPTION_KEY_EMAIL_DOMAINS { group: Pseudonyms, default: None, secret: true,
        doc: "key of `ENCRYPT` of email domains (default: the main key)" }
    /// Salt of IP pseudonyms.
    SALT_IP { group: Pseudonyms, default: None, secret: true,
        doc: "salt of `hashIp` / `encryptIp` (default: the main salt)" }
    /// Key of encrypted IPs.
    ENCRYPTION_KEY_IP { group: Pseudonyms, default: None, secret: true,
        doc: "key of `encryptIp` (default: the main key)" }

    /// The rules.
    RULES { group: Rules, default: None, secret: false,
        doc: "the rules: YAML, base64 YAML or base64 gzipped YAML (required by the functions and `psoxy serve`)" }

    /// Where sanitized objects go.
    OUTPUT_BUCKET { group: Bulk, default: None, secret: false,
        doc: "the bucket sanitized objects are written to (required)" }
    /// Prefix removed from input keys.
    INPUT_BASE_PATH { group: Bulk, default: Some(""), secret: false,
        doc: "prefix removed from the start of input keys" }
    /// Prefix added to output keys.
    OUTPUT_BASE_PATH { group: Bulk, default: Some(""), secret: false,
        doc: "prefix put in front of output keys" }
    /// Gzip the main output.
    COMPRESS_OUTPUT_ALWAYS { group: Bulk, default: Some("true"), secret: false,
        doc: "gzip the output (`Content-Encoding: gzip`)" }
    /// Extra outputs of the same input.
    ADDITIONAL_TRANSFORMS { group: Bulk, default: None, secret: false,
        doc: "YAML list of `{destinationBucketName, pathWithinBucket, rules, compressOutput}`: more outputs of each input" }
    /// Shuffle columnar rows.
    PSOXY_SHUFFLE_ROWS { group: Bulk, default: Some("true"), secret: false,
        doc: "shuffle CSV rows within 500-row chunks, deterministically" }
    /// Convert the output.
    BULK_OUTPUT_FORMAT { group: Bulk, default: None, secret: false,
        doc: "`NDJSON`, `JSON_ARRAY`, `CSV` or `PARQUET`: write this format instead of the input's" }
    /// The input's character encoding.
    INPUT_ENCODING { group: Bulk, default: Some("UTF-8"), secret: false,
        doc: "character encoding of text inputs: `UTF-8`, `WINDOWS-1252`, `ISO-8859-1`, `UTF-16` (byte order from the byte-order mark), `UTF-16LE` or `UTF-16BE`; outputs are UTF-8" }
    /// Worker threads.
    PSOXY_THREADS { group: Bulk, default: Some("0"), secret: false,
        doc: "worker threads (0: every core)" }
    /// The fan-out state machine.
    FANOUT_STATE_MACHINE_ARN { group: Bulk, default: None, secret: false,
        doc: "AWS: the Step Functions state machine that sanitizes large objects in chunks; unset, every object is sanitized in one run" }
    /// Objects at least this large fan out.
    FANOUT_THRESHOLD_BYTES { group: Bulk, default: Some("2147483648"), secret: false,
        doc: "objects of at least this many bytes (stored size) are sanitized in chunks when `FANOUT_STATE_MACHINE_ARN` is set; gzip inputs and inputs in an encoding other than UTF-8 never are (Parquet is cut between row groups, CSV and NDJSON at record ends, a JSON array between its elements)" }
    /// Target size of a chunk.
    FANOUT_CHUNK_BYTES { group: Bulk, default: Some("268435456"), secret: false,
        doc: "target size of one chunk of a fanned-out object (at least 16 MiB)" }
    /// Bucket of fan-out plans and parts.
    FANOUT_WORK_BUCKET { group: Bulk, default: None, secret: false,
        doc: "the bucket where a fanned-out object's plan and sanitized parts wait for the join (kept private; emptied by the join or the abort)" }

    /// The instance's name.
    PSOXY_INSTANCE_ID { group: Instance, default: None, secret: false,
        doc: "this instance's name: `psoxy-instance-id` of bulk outputs, the connector caller keys name (default: the function's name, else `psoxy`)" }
    /// Set by Lambda: the function's name.
    AWS_LAMBDA_FUNCTION_NAME { group: Instance, default: None, secret: false,
        doc: "set by AWS Lambda; the default of `PSOXY_INSTANCE_ID`" }
    /// Set by Cloud Run: the service's name.
    K_SERVICE { group: Instance, default: None, secret: false,
        doc: "set by Cloud Run: the service's name, used as `AWS_LAMBDA_FUNCTION_NAME` is on AWS (the default of `PSOXY_INSTANCE_ID` and of the API's instance namespace, the path segment the API strips)" }
    /// The Secret Manager API's address.
    SECRET_MANAGER_ENDPOINT { group: Instance, default: Some("https://secretmanager.googleapis.com"), secret: false,
        doc: "Google Cloud: the Secret Manager API's address (another one only for tests and private endpoints)" }
    /// The Google Cloud project of the secrets.
    GOOGLE_CLOUD_PROJECT { group: Instance, default: None, secret: false,
        doc: "Google Cloud: the project whose Secret Manager holds the settings (default: the metadata server's project)" }
    /// Parameter-name prefix of this instance.
    PATH_TO_INSTANCE_CONFIG { group: Instance, default: None, secret: false,
        doc: "parameter-name prefix of this instance's settings in the secret store (e.g. `/psoxy/hris/`; the API function's default, as Psoxy's: its name upper-cased, `-` as `_`, and `_`: `psoxy-zoom` -> `PSOXY_ZOOM_`); an SSM path gets a leading `/`" }
    /// Parameter-name prefix shared by instances.
    PATH_TO_SHARED_CONFIG { group: Instance, default: None, secret: false,
        doc: "parameter-name prefix of settings shared by instances, tried after the instance's" }
    /// Which secret store.
    SECRETS_STORE { group: Instance, default: Some("AWS_SSM_PARAMETER_STORE"), secret: false,
        doc: "`AWS_SSM_PARAMETER_STORE` or `AWS_SECRETS_MANAGER` on AWS; Secret Manager (`GCP_SECRET_MANAGER`, or unset) on Google Cloud" }
    /// KMS key of written-back parameters.
    SSM_KMS_KEY_ID { group: Instance, default: None, secret: false,
        doc: "KMS key a rotated refresh token is encrypted with when written back to Parameter Store (default: the account's)" }
    /// Path-style S3 addresses.
    S3_FORCE_PATH_STYLE { group: Instance, default: Some("false"), secret: false,
        doc: "`true`: path-style S3 addresses (`http://host/bucket/key`), for S3-compatible servers" }
    /// Log level.
    RUST_LOG { group: Instance, default: None, secret: false,
        doc: "log filter, e.g. `info` or `psoxy=debug` (default: `info` in functions and `psoxy serve`, off in file commands)" }

    /// The source API.
    TARGET_HOST { group: Api, default: None, secret: false,
        doc: "base URL (or host name, then `https://`) requests are forwarded to (required)" }
    /// Upstream timeout.
    UPSTREAM_TIMEOUT_SECONDS { group: Api, default: Some("55"), secret: false,
        doc: "seconds the whole exchange with the source may take (1 to 900)" }
    /// Psoxy's name of the upstream timeout.
    REQUEST_TIMEOUT_SECONDS { group: Api, default: None, secret: false,
        doc: "Psoxy's name of `UPSTREAM_TIMEOUT_SECONDS` (either works; both set and different stop the start)" }
    /// Lowest TLS version towards the source.
    TLS_VERSION { group: Api, default: None, secret: false,
        doc: "Psoxy's TLS setting: `TLSv1.3` (as unset: TLS 1.2 or 1.3, as negotiated) or `TLSv1.2` (at most TLS 1.2) towards the source and the token endpoint" }
    /// Callers allowed by address.
    ALLOWED_DATA_ACCESS_IP_BLOCKS { group: Api, default: None, secret: false,
        doc: "comma-separated IPv4/IPv6 addresses and CIDR blocks whose callers may use the proxy (unset: any); others get 403 `UNAUTHORIZED_IP_ADDRESS`" }
    /// Trust `X-Forwarded-For` for the client address.
    TRUST_FORWARDED_FOR { group: Api, default: Some("false"), secret: false,
        doc: "`true` takes the client address for `ALLOWED_DATA_ACCESS_IP_BLOCKS` from the first `X-Forwarded-For` hop (only behind a proxy that sets it); otherwise the address the platform saw (the function URL's source IP, the connection's peer)" }
    /// A path prefix removed from requests.
    REQUEST_PATH_PREFIX_TO_TRIM { group: Api, default: None, secret: false,
        doc: "a leading path prefix removed from each request before matching and forwarding (e.g. `/v1/`), segment-aware" }
    /// Whether redirects from the source are followed.
    FOLLOW_REDIRECTS { group: Api, default: None, secret: false,
        doc: "unset or `true` (any case): follow the source's redirects to the same scheme, host and port, at most 10 (credentials never go elsewhere); any other value returns the redirect to the caller as `API_ERROR`" }
    /// Where asynchronous answers are written.
    ASYNC_OUTPUT_DESTINATION { group: Api, default: None, secret: false,
        doc: "`s3://bucket/prefix` (AWS) or `gs://bucket/prefix` (Google Cloud): turns on `Prefer: respond-async`; each accepted request is answered 202 with `Location: <that>/yyyyMMdd/<id>`, where its sanitized answer (gzip) or `<id>.error.json` is written (`psoxy serve`: `--async-output DIR`)" }
    /// The queue of asynchronous requests.
    ASYNC_API_REQUEST_QUEUE_URL { group: Api, default: None, secret: false,
        doc: "where accepted asynchronous requests wait, required with `ASYNC_OUTPUT_DESTINATION`: on AWS the SQS queue's URL (the function is its trigger); on Google Cloud `gs://bucket/prefix`, one object per request, whose Eventarc event is posted back to the service at `/_psoxy/async`" }
    /// Where sanitized answers are also written.
    SIDE_OUTPUT_SANITIZED { group: Api, default: None, secret: false,
        doc: "`s3://bucket/prefix` (AWS) or `gs://bucket/prefix` (Google Cloud): every 2xx answer (caller's and async) is also written there, gzipped, as `yyyyMMdd/<id>`, with the method, the endpoint's rule, the status and the rules' SHA as object metadata (no query or path values)" }
    /// Where the source's original answers are written.
    SIDE_OUTPUT_ORIGINAL { group: Api, default: None, secret: false,
        doc: "`s3://` or `gs://bucket/prefix`: the source's 2xx bodies as they came, before sanitizing (they hold PII: opt in deliberately, and keep that bucket as private as the source)" }
    /// The proxy's User-Agent towards the source.
    USER_AGENT { group: Api, default: None, secret: false,
        doc: "the User-Agent sent to the source (default `psoxy/<version> (API Data Sanitization; Rust)`); data calls add ` (gzip)`" }

    /// How the proxy authenticates to the source.
    SOURCE_AUTH_STRATEGY { group: SourceAuth, default: None, secret: false,
        doc: "`none`, `bearer`, `header`, `basic`, `oauth2_client_credentials`, `oauth2_refresh_token`, `google_service_account` or `ms_workload_identity` (this or `SOURCE_AUTH_STRATEGY_IDENTIFIER` is required: `none` must be chosen)" }
    /// Psoxy's name of the strategy.
    SOURCE_AUTH_STRATEGY_IDENTIFIER { group: SourceAuth, default: None, secret: false,
        doc: "Psoxy's spelling: `oauth2_access_token`, `oauth2_refresh_token` (with `GRANT_TYPE`), `basic_auth`, `claude_admin_api_key`, `gcp_service_account_key`, `windsurf_service_key` or `none`" }
    /// Psoxy's token request kind.
    GRANT_TYPE { group: SourceAuth, default: None, secret: false,
        doc: "with `SOURCE_AUTH_STRATEGY_IDENTIFIER=oauth2_refresh_token`: `refresh_token`, `refresh_token_via_query_parameter` (Gong), `account_credentials` (Zoom), `client_credentials` or `certificate_credentials` (GitHub App)" }
    /// Psoxy's token response parser.
    TOKEN_RESPONSE_TYPE { group: SourceAuth, default: None, secret: false,
        doc: "how the token endpoint's answer is read: unset for OAuth 2.0 JSON, `GITHUB_ACCESS_TOKEN` for GitHub's installation tokens (`token`, `expires_at`)" }
    /// Psoxy's name of the token endpoint.
    REFRESH_ENDPOINT { group: SourceAuth, default: None, secret: false,
        doc: "Psoxy's name of `TOKEN_ENDPOINT`" }
    /// Zoom account.
    ACCOUNT_ID { group: SourceAuth, default: None, secret: true,
        doc: "the account of `GRANT_TYPE=account_credentials` (Zoom Server-to-Server OAuth)" }
    /// Psoxy's client credentials flavour.
    CREDENTIALS_FLOW { group: SourceAuth, default: None, secret: false,
        doc: "with `GRANT_TYPE=client_credentials`: `jwt_assertion` (default: a client assertion signed with `PRIVATE_KEY`) or `client_secret`" }
    /// A client's RSA private key.
    PRIVATE_KEY { group: SourceAuth, default: None, secret: true,
        doc: "RSA private key (PEM, PKCS#1 or PKCS#8, or its base64) of `GRANT_TYPE=certificate_credentials` (GitHub App) and of `client_credentials` with `CREDENTIALS_FLOW=jwt_assertion`" }
    /// The certificate's thumbprint.
    PRIVATE_KEY_ID { group: SourceAuth, default: None, secret: true,
        doc: "SHA-1 thumbprint (hex) of the certificate of `CREDENTIALS_FLOW=jwt_assertion`, sent as the JWT's `x5t`" }
    /// Psoxy's scope of client credentials.
    TOKEN_SCOPE { group: SourceAuth, default: None, secret: false,
        doc: "the `scope` of `GRANT_TYPE=client_credentials` (Psoxy's name; `OAUTH_SCOPES` is ours)" }
    /// Psoxy's shared token.
    USE_SHARED_TOKEN { group: SourceAuth, default: None, secret: false,
        doc: "`true` (any case): instances share one access token, `ACCESS_TOKEN` in the instance namespace, refreshed under the lock parameter `OAUTH_REFRESH_TOKEN_lock` (default: only for `GRANT_TYPE=account_credentials`; needs a secret store)" }
    /// Pause between attempts at the shared token's lock.
    TOKEN_LOCK_WAIT_MS { group: SourceAuth, default: Some("4000"), secret: false,
        doc: "base pause (ms) after a failed attempt at the shared token's lock, times the attempt; the lock is kept half as long after a refresh (Psoxy: 4 s and 2 s)" }
    /// Cognito identity pool of workload identity federation on AWS.
    IDENTITY_POOL_ID { group: SourceAuth, default: None, secret: false,
        doc: "with `GRANT_TYPE=workload_identity_federation` on AWS: the Cognito identity pool (`region:guid`) whose developer identity's OpenID token is the Entra client assertion" }
    /// The Cognito identity.
    IDENTITY_ID { group: SourceAuth, default: None, secret: false,
        doc: "the Cognito identity (`region:guid`, the Entra federated credential's subject); unset: the identity linked to the login `DEVELOPER_NAME_ID=CLIENT_ID`" }
    /// The pool's developer provider.
    DEVELOPER_NAME_ID { group: SourceAuth, default: None, secret: false,
        doc: "the Cognito pool's developer provider name; the login is `DEVELOPER_NAME_ID=CLIENT_ID` (required with `IDENTITY_POOL_ID`)" }
    /// Audience of the GCP ID token of workload identity federation.
    AUDIENCE { group: SourceAuth, default: None, secret: false,
        doc: "with `GRANT_TYPE=workload_identity_federation` on GCP: the audience of the metadata server's ID token (`api://AzureADTokenExchange`)" }
    /// Windsurf service key.
    SERVICE_KEY { group: SourceAuth, default: None, secret: true,
        doc: "the key of `windsurf_service_key`, sent as `service_key` in the JSON body (trimmed)" }
    /// Claude admin key.
    ADMIN_API_KEY { group: SourceAuth, default: None, secret: true,
        doc: "the key of `claude_admin_api_key`, sent as `x-api-key` (trimmed)" }
    /// A static token.
    ACCESS_TOKEN { group: SourceAuth, default: None, secret: true,
        doc: "the token of `bearer`, the header value of `header`" }
    /// Header of `header`.
    API_KEY_HEADER { group: SourceAuth, default: None, secret: false,
        doc: "the header name of `header` (e.g. `X-API-Key`)" }
    /// User of `basic`.
    BASIC_AUTH_USER { group: SourceAuth, default: None, secret: false,
        doc: "the user of `basic`" }
    /// Psoxy's name of the user of `basic`.
    BASIC_AUTH_USER_ID { group: SourceAuth, default: None, secret: true,
        doc: "Psoxy's name of `BASIC_AUTH_USER` (a secret there: Cursor puts its API key in it)" }
    /// Password of `basic`.
    BASIC_AUTH_PASSWORD { group: SourceAuth, default: None, secret: true,
        doc: "the password of `basic`" }
    /// OAuth 2.0 token endpoint.
    TOKEN_ENDPOINT { group: SourceAuth, default: None, secret: false,
        doc: "OAuth 2.0 token endpoint (default for Google: the key's `token_uri`; for Microsoft: the tenant's)" }
    /// OAuth 2.0 client id.
    CLIENT_ID { group: SourceAuth, default: None, secret: false,
        doc: "OAuth 2.0 client id" }
    /// OAuth 2.0 client secret.
    CLIENT_SECRET { group: SourceAuth, default: None, secret: true,
        doc: "OAuth 2.0 client secret" }
    /// Scopes asked for.
    OAUTH_SCOPES { group: SourceAuth, default: None, secret: false,
        doc: "scopes asked for, separated by spaces or commas" }
    /// Token request body format.
    TOKEN_REQUEST_FORMAT { group: SourceAuth, default: Some("form"), secret: false,
        doc: "`form` or `json`: how the token request's body is encoded" }
    /// OAuth 2.0 refresh token.
    REFRESH_TOKEN { group: SourceAuth, default: None, secret: true,
        doc: "refresh token of `oauth2_refresh_token`; a rotated one is written back to the secret store" }
    /// Google service account key.
    SERVICE_ACCOUNT_KEY { group: SourceAuth, default: None, secret: true,
        doc: "the key JSON of `google_service_account`" }
    /// Domain-wide delegation subject.
    ACCOUNT_TO_IMPERSONATE { group: SourceAuth, default: None, secret: false,
        doc: "the admin `google_service_account` impersonates (domain-wide delegation)" }
    /// Microsoft tenant.
    MS_TENANT_ID { group: SourceAuth, default: None, secret: false,
        doc: "Entra tenant of `ms_workload_identity`" }
    /// Federated token file.
    MS_FEDERATED_TOKEN_FILE { group: SourceAuth, default: None, secret: false,
        doc: "file holding the federated assertion of `ms_workload_identity`" }

    /// Keys webhook tokens may be signed with.
    ACCEPTED_AUTH_KEYS { group: Webhook, default: None, secret: false,
        doc: "comma-separated keys webhook tokens may be signed with: `base64:<RSA SubjectPublicKeyInfo, DER, base64>` or, on AWS, `aws-kms:<key id, ARN or alias>` (public key fetched, kept 10 minutes); list several to rotate" }
    /// Whether the collector checks tokens itself.
    REQUIRE_AUTHORIZATION_HEADER { group: Webhook, default: Some("true"), secret: false,
        doc: "`true`: every webhook needs a bearer JWT signed by an accepted key; `false` only when something in front (an API Gateway JWT authorizer) checks it; then `jwtClaimsToVerify` is refused at start" }
    /// The tokens' issuer.
    AUTH_ISSUER { group: Webhook, default: None, secret: false,
        doc: "the collector's own URL: the `iss` tokens must carry, and the issuer of its OpenID discovery document (`/.well-known/openid-configuration`)" }
    /// The tokens' audience.
    AUTH_AUDIENCE { group: Webhook, default: None, secret: false,
        doc: "when set, a value the tokens' `aud` must hold" }
    /// Browser origins allowed to send webhooks.
    ALLOW_ORIGINS { group: Webhook, default: Some("*"), secret: false,
        doc: "comma-separated origins allowed by CORS (`*`: any); the answer names the one matching origin" }
    /// Where sanitized webhooks are queued.
    WEBHOOK_OUTPUT { group: Webhook, default: None, secret: false,
        doc: "where the collector queues sanitized webhooks (required by the collector): on AWS the SQS queue's URL; on Google Cloud `gs://bucket/prefix`, one object per webhook, which the batch service also reads" }
    /// Where batches of webhooks are written.
    WEBHOOK_BATCH_OUTPUT { group: Webhook, default: None, secret: false,
        doc: "`s3://bucket/prefix` (AWS) or `gs://bucket/prefix` (Google Cloud): where each batch of queued webhooks is written as one gzipped NDJSON object named by its content (required by the batch handler)" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_documented() {
        let mut names: Vec<&str> = ALL.iter().map(|s| s.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a setting is declared twice");
        for s in ALL {
            assert!(!s.doc.is_empty() && !s.doc.contains('\n'), "{}", s.name);
            assert!(
                !(s.secret && s.default.is_some()),
                "{}: a secret has no default",
                s.name
            );
        }
    }
}
