//! S3 fault injection: the storage-triggered function runs against the test S3 server (s3s +
//! s3s-fs on 127.0.0.1) through a proxy ([`fault_proxy`]) that resets connections, answers
//! `500 InternalError` / `503 SlowDown`, stalls, or cuts a `GetObject` body short, at chosen
//! requests. Each test states which faults the AWS SDK retries to success and which end the
//! invocation with a clean, retryable failure: no output object and no unfinished multipart
//! upload.
//!
//! The function's S3 client is configured as in production: [`production_client`] loads the
//! configuration with `aws_config::defaults(BehaviorVersion::latest())` and
//! `psoxy::aws_sdk::timeout_config()`, as `psoxy::aws_sdk::sdk_config` does (standard retry
//! mode, 3 attempts, exponential backoff from 1 s with jitter; a 3.1 s connect timeout and a
//! 60 s read timeout per attempt), only the endpoint, region and credentials are given. Only
//! the tests of requests that are never answered shorten the read timeout, to 2 s. The part size is S3's 5 MiB minimum (production: 8 MiB) so that a few MB of
//! input make a multipart upload of three parts.
//!
//! Run with `-- --nocapture` to see the fault -> outcome table (lines starting `FAULT |`).
#![cfg(feature = "aws")]

#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[path = "support/function.rs"]
mod function;
#[path = "support/s3_server.rs"]
mod s3_server;

use std::time::{Duration, Instant};

use aws_sdk_s3::config::{Credentials, Region};
use fault_proxy::{Fault, FaultProxy, Kind, Rule};
use function::{event, get, keys, put};
use psoxy::bulk::lambda::{Function, InvocationError, RETRYABLE_ERROR};
use psoxy::storage::S3Store;

const SALT: &str = "fault-test-salt";
const RULES: &str = "columnsToPseudonymize: [EMPLOYEE_ID, EMPLOYEE_EMAIL, MANAGER_ID]\n";
/// Rows of the large input: about 3.5 MB of CSV, about 12.5 MiB sanitized (uncompressed), so
/// three parts of 5 MiB.
const LARGE_ROWS: usize = 70_000;
/// Parts of the large output.
const LARGE_PARTS: u64 = 3;
/// Rows of the small input: one `PutObject`.
const SMALL_ROWS: usize = 300;

/// One line of the fault -> outcome table.
fn table(fault: &str, outcome: &str) {
    eprintln!("FAULT | {fault:<62} | {outcome}");
}

/// HRIS-like CSV, `rows` rows; `tag` makes every object's content distinct.
fn csv(rows: usize, tag: &str) -> Vec<u8> {
    let mut out = b"EMPLOYEE_ID,EMPLOYEE_EMAIL,MANAGER_ID,DEPARTMENT\n".to_vec();
    for i in 1..=rows {
        out.extend_from_slice(
            format!(
                "E{i:08},person{i}.{tag}@acme.com,E{:08},Engineering\n",
                i / 10
            )
            .as_bytes(),
        );
    }
    out
}

/// An S3 client for `endpoint` configured as the function's is in production
/// (`aws_config::defaults`, so the SDK's default retry and timeout settings), plus the test
/// server's region, credentials and path-style addressing.
async fn production_client(endpoint: &str, read_timeout: Option<Duration>) -> aws_sdk_s3::Client {
    let mut timeouts = psoxy::aws_sdk::timeout_config();
    if let Some(t) = read_timeout {
        timeouts = timeouts.to_builder().read_timeout(t).build();
    }
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .region(Region::new(s3_server::REGION))
        .credentials_provider(Credentials::new(
            s3_server::ACCESS_KEY,
            s3_server::SECRET_KEY,
            None,
            None,
            "psoxy-fault-tests",
        ))
        .endpoint_url(endpoint)
        .http_client(psoxy::aws_sdk::https_client())
        .load()
        .await;
    let config = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A test server, a proxy in front of it, and the function talking to the proxy.
struct Rig {
    s3: s3_server::TestS3,
    proxy: FaultProxy,
    f: Function,
}

async fn rig() -> Rig {
    rig_with(None).await
}

/// A rig whose client waits at most `read_timeout` for an answer (production: 60 s).
async fn rig_with(read_timeout: Option<Duration>) -> Rig {
    let s3 = s3_server::start();
    for bucket in ["input", "output"] {
        s3.create_bucket(bucket).await;
    }
    let proxy = FaultProxy::start(&s3.endpoint);
    let store = S3Store::new(
        production_client(&proxy.endpoint, read_timeout).await,
        tokio::runtime::Handle::current(),
    )
    .with_parts(
        psoxy::storage::s3::MIN_PART_SIZE,
        psoxy::storage::s3::DEFAULT_MAX_IN_FLIGHT,
    );
    let f = function::function_with(
        store,
        &[
            ("PSOXY_SALT", SALT),
            ("RULES", RULES),
            ("OUTPUT_BUCKET", "output"),
            ("PSOXY_INSTANCE_ID", "psoxy-fault-test"),
            ("COMPRESS_OUTPUT_ALWAYS", "false"),
        ],
    )
    .await;
    Rig { s3, proxy, f }
}

impl Rig {
    /// Stores `input/{key}` (directly on the server, not through the proxy) and returns what
    /// its output must be.
    async fn input(&self, key: &str, body: Vec<u8>) -> Vec<u8> {
        let want = function::expected_object(RULES, SALT, key, &body);
        put(&self.s3, "input", key, body, Some("text/csv"), None, &[]).await;
        want
    }

    /// Runs one event for `input/{key}` with `rules` in force, counting from zero.
    async fn run(
        &self,
        key: &str,
        rules: Vec<Rule>,
    ) -> Result<psoxy::bulk::lambda::Report, InvocationError> {
        self.proxy.reset_counts();
        self.proxy.set_rules(rules);
        let result = self.f.handle(event(&[("input", key)])).await;
        self.proxy.clear_rules();
        result
    }

    /// Asserts `output/{key}` holds exactly `want`.
    async fn assert_output(&self, key: &str, want: &[u8]) {
        let (body, _) = get(&self.s3, "output", key)
            .await
            .unwrap_or_else(|| panic!("no output object for {key}"));
        assert!(
            body == want,
            "output of {key}: {} bytes, expected {}",
            body.len(),
            want.len()
        );
    }

    /// Unfinished multipart uploads in the output bucket.
    async fn uploads(&self) -> Vec<String> {
        psoxy::storage::s3::list_multipart_uploads(&self.s3.client, "output")
            .await
            .expect("list uploads")
    }

    /// Asserts the failed run left no output for `key` and no unfinished upload.
    async fn assert_clean(&self, key: &str) {
        assert!(
            get(&self.s3, "output", key).await.is_none(),
            "an output object for {key} exists after a failure"
        );
        let uploads = self.uploads().await;
        assert!(uploads.is_empty(), "unfinished uploads: {uploads:?}");
    }

    /// `seen` for every kind, for messages.
    fn counts(&self) -> String {
        format!("{:?}", self.proxy.counts())
    }
}

/// The failure of a single-object invocation, which must be retryable, for the operation named.
fn assert_retryable(err: &InvocationError, operation: &str) {
    assert_eq!(err.failures.len(), 1, "{err}");
    assert!(err.retryable(), "not retryable: {err}");
    assert!(
        err.to_string().contains(operation),
        "{operation} not named in: {err}"
    );
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, RETRYABLE_ERROR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_faults_the_proxy_is_transparent_and_counts_requests() {
    let rig = rig().await;
    let want = rig.input("large.csv", csv(LARGE_ROWS, "large")).await;
    let report = rig.run("large.csv", vec![]).await.expect("fault-free run");
    assert_eq!(report.objects[0].outputs[0].rows, LARGE_ROWS as u64);
    rig.assert_output("large.csv", &want).await;
    let p = &rig.proxy;
    assert_eq!(
        [
            p.seen(Kind::HeadObject),
            p.seen(Kind::GetObject),
            p.seen(Kind::CreateMultipartUpload),
            p.seen(Kind::UploadPart),
            p.seen(Kind::CompleteMultipartUpload),
            p.seen(Kind::PutObject),
            p.seen(Kind::AbortMultipartUpload),
        ],
        [1, 1, 1, LARGE_PARTS, 1, 0, 0],
        "{}",
        rig.counts()
    );
    assert!(
        want.len() > 2 * psoxy::storage::s3::MIN_PART_SIZE,
        "{}",
        want.len()
    );

    let want = rig.input("small.csv", csv(SMALL_ROWS, "small")).await;
    rig.run("small.csv", vec![]).await.expect("fault-free run");
    rig.assert_output("small.csv", &want).await;
    assert_eq!(
        (
            rig.proxy.seen(Kind::PutObject),
            rig.proxy.seen(Kind::UploadPart)
        ),
        (1, 0)
    );
    assert!(rig.uploads().await.is_empty());
    table(
        "none (large: 3 parts; small: 1 PutObject)",
        "success, output = library output",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_on_part_uploads_are_retried_to_success() {
    let rig = rig().await;
    let want = rig.input("large.csv", csv(LARGE_ROWS, "parts")).await;
    let started = Instant::now();
    rig.run(
        "large.csv",
        vec![
            Rule::nth(Kind::UploadPart, 1, 1, Fault::SlowDown).on_first_attempts(),
            Rule::nth(Kind::UploadPart, 2, 2, Fault::InternalError).on_first_attempts(),
            Rule::nth(Kind::UploadPart, 3, 3, Fault::SlowDown).on_first_attempts(),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    rig.assert_output("large.csv", &want).await;
    // The first three UploadPart requests fail when they are first attempts (usually the
    // three parts; a retry of part 1 may come before part 3 is sent): one request per part,
    // plus one per fault.
    let injected = rig.proxy.injected(Kind::UploadPart);
    assert!((1..=3).contains(&injected), "{}", rig.counts());
    assert_eq!(
        rig.proxy.seen(Kind::UploadPart),
        LARGE_PARTS + injected,
        "{}",
        rig.counts()
    );
    assert_eq!(rig.proxy.seen(Kind::AbortMultipartUpload), 0);
    assert!(rig.uploads().await.is_empty());
    table(
        "UploadPart #1 503 SlowDown, #2 500 InternalError, #3 503",
        &format!(
            "{injected} faults retried by the SDK, success, identical output ({} ms)",
            started.elapsed().as_millis()
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_on_other_requests_are_retried_to_success() {
    let rig = rig().await;
    let large = rig.input("large.csv", csv(LARGE_ROWS, "others")).await;
    let small = rig.input("small.csv", csv(SMALL_ROWS, "others")).await;

    // (kind, faulted attempts, fault, object): two faults use up the retries of 3 attempts.
    let cases = [
        (Kind::CreateMultipartUpload, 2, Fault::SlowDown, "large.csv"),
        (
            Kind::CompleteMultipartUpload,
            2,
            Fault::InternalError,
            "large.csv",
        ),
        (
            Kind::CompleteMultipartUpload,
            1,
            Fault::SlowDown,
            "large.csv",
        ),
        (Kind::PutObject, 2, Fault::InternalError, "small.csv"),
        (Kind::PutObject, 1, Fault::SlowDown, "small.csv"),
        (Kind::GetObject, 2, Fault::SlowDown, "small.csv"),
        (Kind::GetObject, 1, Fault::InternalError, "large.csv"),
        (Kind::HeadObject, 2, Fault::SlowDown, "small.csv"),
    ];
    for (kind, n, fault, key) in cases {
        let started = Instant::now();
        rig.run(key, vec![Rule::first(kind, n, fault)])
            .await
            .unwrap_or_else(|e| panic!("{kind:?} x{n} {fault:?}: {e}"));
        let want = if key == "large.csv" { &large } else { &small };
        rig.assert_output(key, want).await;
        assert_eq!(rig.proxy.injected(kind), n, "{kind:?}: {}", rig.counts());
        assert_eq!(
            rig.proxy.seen(kind),
            n + 1,
            "{kind:?}: one attempt per fault, then success: {}",
            rig.counts()
        );
        assert!(rig.uploads().await.is_empty());
        table(
            &format!("{kind:?} first {n} attempt(s) {fault:?}"),
            &format!(
                "retried by the SDK, success, identical output ({} ms)",
                started.elapsed().as_millis()
            ),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_resets_before_an_answer_are_retried_to_success() {
    let rig = rig().await;
    let large = rig.input("large.csv", csv(LARGE_ROWS, "resets")).await;
    let small = rig.input("small.csv", csv(SMALL_ROWS, "resets")).await;
    let cases = [
        (Kind::UploadPart, Fault::Reset, "large.csv"),
        (Kind::UploadPart, Fault::ResetAfterForward, "large.csv"),
        (Kind::CreateMultipartUpload, Fault::Reset, "large.csv"),
        (Kind::CompleteMultipartUpload, Fault::Reset, "large.csv"),
        (Kind::GetObject, Fault::Reset, "large.csv"),
        (Kind::PutObject, Fault::Reset, "small.csv"),
        (Kind::PutObject, Fault::ResetAfterForward, "small.csv"),
    ];
    for (kind, fault, key) in cases {
        rig.run(key, vec![Rule::first(kind, 1, fault)])
            .await
            .unwrap_or_else(|e| panic!("{kind:?} {fault:?}: {e}"));
        let want = if key == "large.csv" { &large } else { &small };
        rig.assert_output(key, want).await;
        let normally = if kind == Kind::UploadPart {
            LARGE_PARTS
        } else {
            1
        };
        assert_eq!(
            rig.proxy.seen(kind),
            normally + 1,
            "{kind:?} {fault:?}: {}",
            rig.counts()
        );
        assert!(rig.uploads().await.is_empty());
        table(
            &format!("{kind:?} first attempt {fault:?}"),
            "retried by the SDK, success, identical output",
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_complete_multipart_upload_is_retried_to_success() {
    let rig = rig().await;
    let large = rig.input("large.csv", csv(LARGE_ROWS, "lost")).await;
    // The server completes the upload, the client sees its connection reset and sends the
    // request again, for an upload already completed: S3 answers that with the same success
    // (the test server does too; s3s-fs alone answers AccessDenied, and MinIO NoSuchUpload,
    // which would fail the object although it is stored).
    rig.run(
        "large.csv",
        vec![Rule::first(
            Kind::CompleteMultipartUpload,
            1,
            Fault::ResetAfterForward,
        )],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    rig.assert_output("large.csv", &large).await;
    assert_eq!(
        rig.proxy.seen(Kind::CompleteMultipartUpload),
        2,
        "{}",
        rig.counts()
    );
    assert_eq!(rig.proxy.seen(Kind::AbortMultipartUpload), 0);
    assert!(rig.uploads().await.is_empty());
    table(
        "CompleteMultipartUpload answer lost (reset after the server did it)",
        "retried by the SDK, S3 answers the retry with success: success",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_body_cut_short_fails_cleanly_and_retryably_and_a_retry_succeeds() {
    let rig = rig().await;
    let large = rig.input("large.csv", csv(LARGE_ROWS, "cut")).await;
    let small = rig.input("small.csv", csv(SMALL_ROWS, "cut")).await;

    // 2.5 MB of the 3.5 MB read, then a 3 s pause (less than the stalled-stream grace
    // period) before the reset: by then what was read is sanitized and the first part (5 MiB
    // of output) is uploaded, so the multipart upload is open when the read fails and must be
    // aborted. (A reset without the pause can come before the first part exists, when the
    // workers lag behind the reader.)
    let err = rig
        .run(
            "large.csv",
            vec![Rule::first(
                Kind::GetObject,
                1,
                Fault::StallBody(2_500_000, Duration::from_secs(3)),
            )],
        )
        .await
        .expect_err("a truncated body fails the object");
    assert_retryable(&err, "input/large.csv");
    assert!(
        err.to_string().contains("reading the object failed"),
        "{err}"
    );
    assert_eq!(
        rig.proxy.seen(Kind::GetObject),
        1,
        "the function does not read again"
    );
    assert_eq!(
        rig.proxy.seen(Kind::CreateMultipartUpload),
        1,
        "{}",
        rig.counts()
    );
    assert_eq!(
        rig.proxy.seen(Kind::AbortMultipartUpload),
        1,
        "{}",
        rig.counts()
    );
    assert_eq!(rig.proxy.seen(Kind::CompleteMultipartUpload), 0);
    rig.assert_clean("large.csv").await;
    table(
        "GetObject body reset after 2.5 of 3.5 MB and a 3 s pause (multipart open)",
        "clean failure, retryable (Body), upload aborted, no object",
    );

    let err = rig
        .run(
            "small.csv",
            vec![Rule::first(Kind::GetObject, 1, Fault::TruncateBody(5_000))],
        )
        .await
        .expect_err("a truncated body fails the object");
    assert_retryable(&err, "input/small.csv");
    assert_eq!(rig.proxy.seen(Kind::PutObject), 0);
    rig.assert_clean("small.csv").await;
    table(
        "GetObject body reset after 5 kB (small object)",
        "clean failure, retryable (Body), nothing written",
    );

    // The invocation retried (as Lambda does for a retryable error): success.
    rig.run("large.csv", vec![]).await.expect("retry");
    rig.assert_output("large.csv", &large).await;
    rig.run("small.csv", vec![]).await.expect("retry");
    rig.assert_output("small.csv", &small).await;
    table(
        "  ... the same event again, no fault",
        "success, identical output",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_faults_fail_cleanly_and_retryably() {
    let rig = rig().await;
    rig.input("large.csv", csv(LARGE_ROWS, "persistent")).await;
    rig.input("small.csv", csv(SMALL_ROWS, "persistent")).await;
    let cases = [
        (Kind::UploadPart, Fault::SlowDown, "large.csv", "UploadPart"),
        (Kind::UploadPart, Fault::Reset, "large.csv", "UploadPart"),
        (
            Kind::CompleteMultipartUpload,
            Fault::InternalError,
            "large.csv",
            "CompleteMultipartUpload",
        ),
        (
            Kind::CreateMultipartUpload,
            Fault::SlowDown,
            "large.csv",
            "CreateMultipartUpload",
        ),
        (
            Kind::PutObject,
            Fault::InternalError,
            "small.csv",
            "PutObject",
        ),
        (Kind::GetObject, Fault::Reset, "small.csv", "GetObject"),
        (Kind::HeadObject, Fault::SlowDown, "small.csv", "HeadObject"),
    ];
    for (kind, fault, key, operation) in cases {
        let started = Instant::now();
        let err = rig
            .run(key, vec![Rule::always(kind, fault)])
            .await
            .expect_err("a persistent fault fails the object");
        assert_retryable(&err, operation);
        // Three attempts each (the SDK's standard retry mode); with parts in flight, every
        // part in flight when the first failed may have made its three attempts too.
        let seen = rig.proxy.seen(kind);
        assert!(seen >= 3, "{kind:?}: {}", rig.counts());
        if kind != Kind::UploadPart {
            assert_eq!(seen, 3, "{kind:?}: {}", rig.counts());
        }
        let aborts = rig.proxy.seen(Kind::AbortMultipartUpload);
        let opened =
            rig.proxy.seen(Kind::CreateMultipartUpload) > 0 && kind != Kind::CreateMultipartUpload;
        assert_eq!(aborts, u64::from(opened), "{kind:?}: {}", rig.counts());
        rig.assert_clean(key).await;
        table(
            &format!("every {kind:?} {fault:?}"),
            &format!(
                "clean failure after 3 attempts ({} ms), retryable, {}no object",
                started.elapsed().as_millis(),
                if opened { "upload aborted, " } else { "" }
            ),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_abort_fails_too_the_upload_is_left_for_the_lifecycle_rule() {
    let rig = rig().await;
    rig.input("large.csv", csv(LARGE_ROWS, "no-abort")).await;
    let err = rig
        .run(
            "large.csv",
            vec![
                Rule::always(Kind::UploadPart, Fault::SlowDown),
                Rule::always(Kind::AbortMultipartUpload, Fault::InternalError),
            ],
        )
        .await
        .expect_err("a persistent fault fails the object");
    assert_retryable(&err, "UploadPart");
    assert_eq!(
        rig.proxy.seen(Kind::AbortMultipartUpload),
        3,
        "{}",
        rig.counts()
    );
    assert!(get(&rig.s3, "output", "large.csv").await.is_none());
    // S3 keeps the parts until the bucket's lifecycle rule (AbortIncompleteMultipartUpload,
    // one day, in terraform/modules/aws-bulk/buckets.tf) removes them.
    assert_eq!(rig.uploads().await, ["large.csv"]);
    table(
        "every UploadPart 503 and every AbortMultipartUpload 500",
        "failure, retryable, no object; the unfinished upload remains (lifecycle rule)",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_answers_are_waited_for_and_a_stalled_body_fails_cleanly() {
    assert_eq!(
        psoxy::aws_sdk::timeout_config().read_timeout(),
        Some(Duration::from_secs(60))
    );
    let rig = rig().await;
    let large = rig.input("large.csv", csv(LARGE_ROWS, "stall")).await;
    rig.input("small.csv", csv(SMALL_ROWS, "stall")).await;

    // A slow answer, within the read timeout: the function just waits.
    let started = Instant::now();
    rig.run(
        "large.csv",
        vec![Rule::first(
            Kind::UploadPart,
            1,
            Fault::Stall(Duration::from_secs(2)),
        )],
    )
    .await
    .expect("a stall is only a delay");
    rig.assert_output("large.csv", &large).await;
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(rig.proxy.seen(Kind::UploadPart), LARGE_PARTS);
    table(
        "UploadPart #1 held 2 s",
        "waited, success, identical output",
    );

    // A body that stops flowing: the SDK's stalled-stream protection (below 1 B/s for 5 s)
    // ends the read.
    let started = Instant::now();
    let err = rig
        .run(
            "small.csv",
            vec![Rule::first(
                Kind::GetObject,
                1,
                Fault::StallBody(1_000, Duration::from_secs(30)),
            )],
        )
        .await
        .expect_err("a stalled body fails the object");
    let waited = started.elapsed();
    assert_retryable(&err, "input/small.csv");
    assert!(waited < Duration::from_secs(20), "{waited:?}");
    rig.assert_clean("small.csv").await;
    table(
        "GetObject body stops after 1 kB",
        &format!(
            "stalled-stream protection after {} ms: clean failure, retryable",
            waited.as_millis()
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_requests_time_out_and_are_retried_or_fail_cleanly() {
    // The production read timeout is 60 s; 2 s here to keep the test short.
    let rig = rig_with(Some(Duration::from_secs(2))).await;
    let large = rig.input("large.csv", csv(LARGE_ROWS, "timeout")).await;
    let small = rig.input("small.csv", csv(SMALL_ROWS, "timeout")).await;
    let never = Fault::Stall(Duration::from_secs(3600));

    let started = Instant::now();
    rig.run("small.csv", vec![Rule::first(Kind::PutObject, 1, never)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    rig.assert_output("small.csv", &small).await;
    assert_eq!(rig.proxy.seen(Kind::PutObject), 2, "{}", rig.counts());
    table(
        "PutObject #1 never answered (read timeout 2 s)",
        &format!(
            "timed out, retried by the SDK, success ({} ms)",
            started.elapsed().as_millis()
        ),
    );

    let started = Instant::now();
    rig.run("large.csv", vec![Rule::first(Kind::UploadPart, 2, never)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    rig.assert_output("large.csv", &large).await;
    assert_eq!(
        rig.proxy.seen(Kind::UploadPart),
        LARGE_PARTS + 2,
        "{}",
        rig.counts()
    );
    table(
        "UploadPart #1, #2 never answered (read timeout 2 s)",
        &format!(
            "timed out, retried by the SDK, success ({} ms)",
            started.elapsed().as_millis()
        ),
    );

    let started = Instant::now();
    let err = rig
        .run(
            "large.csv",
            vec![Rule::always(Kind::CompleteMultipartUpload, never)],
        )
        .await
        .expect_err("never answered");
    assert_retryable(&err, "CompleteMultipartUpload");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(
        rig.proxy.seen(Kind::CompleteMultipartUpload),
        3,
        "{}",
        rig.counts()
    );
    assert_eq!(rig.proxy.seen(Kind::AbortMultipartUpload), 1);
    // The output of the previous run is still there (an object that existed is left as it
    // was), and no upload remains.
    rig.assert_output("large.csv", &large).await;
    assert!(rig.uploads().await.is_empty());
    table(
        "every CompleteMultipartUpload never answered (read timeout 2 s)",
        &format!(
            "3 timeouts, clean failure ({} ms), retryable, upload aborted",
            started.elapsed().as_millis()
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_events_with_intermittent_faults() {
    let rig = rig().await;
    // Every fifth object makes a multipart upload of three parts; the others one PutObject.
    let mut objects = Vec::new();
    for i in 0..50 {
        let key = format!("batch/{i:02}.csv");
        let rows = if i % 5 == 0 {
            LARGE_ROWS
        } else {
            SMALL_ROWS + i * 7
        };
        let want = rig.input(&key, csv(rows, &format!("obj{i}"))).await;
        objects.push((key, want));
    }
    rig.proxy.reset_counts();
    rig.proxy.set_rules(vec![
        Rule::every(Kind::UploadPart, 7, Fault::SlowDown).on_first_attempts(),
        Rule::every(Kind::GetObject, 11, Fault::Reset).on_first_attempts(),
        Rule::every(Kind::PutObject, 13, Fault::InternalError).on_first_attempts(),
        Rule::every(Kind::HeadObject, 17, Fault::SlowDown).on_first_attempts(),
        Rule::every(Kind::CompleteMultipartUpload, 4, Fault::Reset).on_first_attempts(),
    ]);
    let started = Instant::now();
    let mut runs = tokio::task::JoinSet::new();
    for (key, _) in &objects {
        let (f, key) = (rig.f.clone(), key.clone());
        runs.spawn(async move {
            let result = f.handle(event(&[("input", key.as_str())])).await;
            (key, result)
        });
    }
    let mut finished = 0;
    while let Some(joined) = runs.join_next().await {
        let (key, result) = joined.expect("event task");
        if let Err(e) = result {
            panic!("{key}: {e}");
        }
        finished += 1;
    }
    assert_eq!(finished, 50);
    let elapsed = started.elapsed();
    rig.proxy.clear_rules();
    for (key, want) in &objects {
        rig.assert_output(key, want).await;
    }
    assert_eq!(keys(&rig.s3, "output").await.len(), 50);
    assert!(rig.uploads().await.is_empty());
    // Without faults: 10 multipart objects (one Create, three parts, one Complete each) and 40
    // PutObjects; one HEAD and one GET per object. Every fault cost exactly one more request
    // (first attempts only), and each kind got at least one (the first request a rule picks
    // comes before any retry, so it is a first attempt).
    let p = &rig.proxy;
    let mut injected = 0;
    for (kind, normally) in [
        (Kind::HeadObject, 50),
        (Kind::GetObject, 50),
        (Kind::PutObject, 40),
        (Kind::CreateMultipartUpload, 10),
        (Kind::UploadPart, 10 * LARGE_PARTS),
        (Kind::CompleteMultipartUpload, 10),
    ] {
        assert_eq!(
            p.seen(kind),
            normally + p.injected(kind),
            "{kind:?}: {}",
            rig.counts()
        );
        if kind != Kind::CreateMultipartUpload {
            assert!(p.injected(kind) >= 1, "{kind:?}: {}", rig.counts());
        }
        injected += p.injected(kind);
    }
    assert_eq!(p.seen(Kind::AbortMultipartUpload), 0);
    eprintln!("{}", rig.counts());
    table(
        "50 concurrent events: every 7th UploadPart 503, 11th GET reset, 13th PutObject 500, 17th HEAD 503, 4th Complete reset",
        &format!(
            "{injected} faults retried, 50 outputs identical, no upload left ({} ms)",
            elapsed.as_millis()
        ),
    );
}
