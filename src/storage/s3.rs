//! S3: the client, streaming reads ([`get_object_reader`]) and streaming, all-or-nothing writes
//! ([`S3ObjectWriter`]).
//!
//! The async functions run on a tokio runtime. The blocking adapters ([`get_object_reader`]'s
//! reader and [`S3ObjectWriter`]) are meant for a blocking thread (`spawn_blocking`), where the
//! synchronous sanitizer runs; they drive their requests on the runtime they were created in.

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::SharedHttpClient;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use bytes::Bytes;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::io::SyncIoBridge;

use super::{ObjectHead, PutOptions, StorageError};

/// Smallest part S3 accepts in a multipart upload (all parts but the last): 5 MiB.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// Default part size of [`S3ObjectWriter`]: 8 MiB.
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// Default number of parts [`S3ObjectWriter`] uploads at once.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4;
/// Most parts one multipart upload may have (S3's limit). With the default part size an
/// object can be up to 80 000 MiB; raise the part size for larger outputs.
pub const MAX_PARTS: usize = 10_000;
/// Largest part S3 accepts: 5 GiB.
const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// How long one attempt of a request may take, from sending it to the answer's headers
/// (sending the body included: at most one part). The SDK's defaults have no such limit, so
/// a request whose answer never comes (a silently dropped connection) would wait until the
/// Lambda function times out, leaving its multipart upload unfinished; with it the attempt
/// fails as a timeout and the SDK retries it on a new connection. Generous: an 8 MiB part
/// takes well under a second in Lambda, and S3 sends the headers of a long
/// `CompleteMultipartUpload` at once. (Bodies being read or sent are covered separately, by
/// the SDK's stalled-stream protection.)
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The HTTPS client (rustls with ring, OS root certificates; plain `http://` endpoints work
/// too). Build it once per process: [`client_from_env`] does.
pub fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The timeouts of every AWS client: the SDK's defaults (a 3.1 s connect timeout) and
/// [`READ_TIMEOUT`] per attempt.
pub fn timeout_config() -> aws_sdk_s3::config::timeout::TimeoutConfig {
    aws_sdk_s3::config::timeout::TimeoutConfig::builder()
        .read_timeout(READ_TIMEOUT)
        .build()
}

/// The shared AWS configuration, as every AWS SDK reads it: region and credentials from the
/// environment, profile or instance role (in Lambda: the function's role), endpoints from
/// `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_<SERVICE>` variables, the
/// HTTPS client of [`https_client`] and the timeouts of [`timeout_config`].
///
/// Loading it costs time (and, outside Lambda, may query the instance metadata service): load
/// it once per process and build every client from it.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeout_config())
        .load()
        .await
}

/// An S3 client from `config`; `S3_FORCE_PATH_STYLE=true` makes it use path-style addresses
/// (`http://host/bucket/key`), as local S3-compatible servers need. Clones share connections.
pub fn s3_client(config: &aws_config::SdkConfig) -> Client {
    let mut builder = aws_sdk_s3::config::Builder::from(config);
    if env_flag("S3_FORCE_PATH_STYLE") {
        builder = builder.force_path_style(true);
    }
    Client::from_conf(builder.build())
}

/// An S3 client configured from the environment ([`sdk_config`] then [`s3_client`]). Build
/// it once per process and clone it.
pub async fn client_from_env() -> Client {
    s3_client(&sdk_config().await)
}

fn env_flag(name: &str) -> bool {
    std::env::var(name)
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
        .unwrap_or(false)
}

/// Reads an object's metadata (a `HeadObject` request).
pub async fn head_object(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<ObjectHead, StorageError> {
    let out = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| classify("HeadObject", bucket, key, e))?;
    Ok(object_head(
        out.content_type(),
        out.content_encoding(),
        out.metadata(),
        out.content_length(),
    ))
}

/// The head of an object from the fields a `HeadObject` or `GetObject` answer carries.
fn object_head(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    metadata: Option<&HashMap<String, String>>,
    content_length: Option<i64>,
) -> ObjectHead {
    ObjectHead {
        content_type: content_type.map(str::to_owned),
        content_encoding: content_encoding.map(str::to_owned),
        metadata: received_metadata(metadata),
        size: content_length
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
    }
}

/// Streams an object: returns its head and a blocking `Read` over its body, which pulls the
/// body from the connection as it is read (a `SyncIoBridge` over the body's `AsyncRead`) and
/// never holds the whole object.
///
/// The reader blocks on the runtime this function ran on: read it from a blocking thread
/// (`tokio::task::spawn_blocking`), never from an async task (reading there panics). Errors
/// while reading are `io::Error`s holding a [`StorageError::Body`] (see
/// [`StorageError::from_io_error`]). The body is raw: a gzip-encoded object is read as gzip.
pub async fn get_object_reader(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<(ObjectHead, Box<dyn Read + Send>), StorageError> {
    let handle = Handle::try_current().map_err(|_| StorageError::Other {
        operation: "GetObject",
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        detail: "not running on a tokio runtime".into(),
    })?;
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| classify("GetObject", bucket, key, e))?;
    let head = object_head(
        out.content_type(),
        out.content_encoding(),
        out.metadata(),
        out.content_length(),
    );
    let reader = BodyReader {
        inner: SyncIoBridge::new_with_handle(out.body.into_async_read(), handle),
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    };
    Ok((head, Box::new(reader)))
}

/// A blocking reader over an object's body that names the object in its errors.
struct BodyReader<R> {
    inner: R,
    bucket: String,
    key: String,
}

impl<R: Read> Read for BodyReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let kind = e.kind();
            io::Error::new(
                kind,
                StorageError::Body {
                    bucket: self.bucket.clone(),
                    key: self.key.clone(),
                    detail: error_chain(&e),
                },
            )
        })
    }
}

/// Lists the multipart uploads in progress in `bucket`: the key of each (a key appears once per
/// unfinished upload). Used to check that no upload was left behind.
pub async fn list_multipart_uploads(
    client: &Client,
    bucket: &str,
) -> Result<Vec<String>, StorageError> {
    let mut keys = Vec::new();
    let mut key_marker: Option<String> = None;
    let mut upload_id_marker: Option<String> = None;
    loop {
        let out = client
            .list_multipart_uploads()
            .bucket(bucket)
            .set_key_marker(key_marker.take())
            .set_upload_id_marker(upload_id_marker.take())
            .send()
            .await
            .map_err(|e| classify("ListMultipartUploads", bucket, "", e))?;
        keys.extend(
            out.uploads()
                .iter()
                .filter_map(|u| u.key().map(str::to_owned)),
        );
        if out.is_truncated() != Some(true) {
            break;
        }
        key_marker = out.next_key_marker().map(str::to_owned);
        upload_id_marker = out.next_upload_id_marker().map(str::to_owned);
        if key_marker.is_none() && upload_id_marker.is_none() {
            break;
        }
    }
    Ok(keys)
}

/// Turns an SDK error into a [`StorageError`] naming the operation, bucket and key.
pub(crate) fn classify<E>(
    operation: &'static str,
    bucket: &str,
    key: &str,
    err: SdkError<E, HttpResponse>,
) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let bucket = bucket.to_owned();
    let key = key.to_owned();
    match &err {
        SdkError::ServiceError(service) => from_response(
            operation,
            bucket,
            key,
            service.raw().status().as_u16(),
            service.err().code(),
            service.err().message(),
        ),
        SdkError::ResponseError(response) => from_response(
            operation,
            bucket,
            key,
            response.raw().status().as_u16(),
            None,
            Some("unreadable response"),
        ),
        SdkError::TimeoutError(_) => StorageError::Timeout {
            operation,
            bucket,
            key,
            detail: error_chain(&err),
        },
        SdkError::DispatchFailure(failure) => {
            let detail = error_chain(&err);
            if failure.is_timeout() {
                StorageError::Timeout {
                    operation,
                    bucket,
                    key,
                    detail,
                }
            } else if failure.is_user() {
                StorageError::Other {
                    operation,
                    bucket,
                    key,
                    detail,
                }
            } else {
                StorageError::Connection {
                    operation,
                    bucket,
                    key,
                    detail,
                }
            }
        }
        _ => StorageError::Other {
            operation,
            bucket,
            key,
            detail: error_chain(&err),
        },
    }
}

/// An error and its sources, `: `-separated (their `Display`s only: no request or response
/// dumps, so no headers).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Classifies an error response by its S3 error code, then its HTTP status.
fn from_response(
    operation: &'static str,
    bucket: String,
    key: String,
    status: u16,
    code: Option<&str>,
    message: Option<&str>,
) -> StorageError {
    let detail = match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_owned(),
        (None, Some(m)) => m.to_owned(),
        (None, None) => format!("HTTP {status}"),
    };
    match code.unwrap_or("") {
        "NoSuchKey" => {
            return StorageError::NoSuchKey {
                operation,
                bucket,
                key,
            }
        }
        "NoSuchBucket" => {
            return StorageError::NoSuchBucket {
                operation,
                bucket,
                key,
            }
        }
        "SlowDown"
        | "Throttling"
        | "ThrottlingException"
        | "ThrottledException"
        | "RequestThrottled"
        | "RequestThrottledException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "BandwidthLimitExceeded"
        | "ProvisionedThroughputExceededException" => {
            return StorageError::Throttled {
                operation,
                bucket,
                key,
                detail,
            }
        }
        "RequestTimeout" | "RequestTimeoutException" => {
            return StorageError::Timeout {
                operation,
                bucket,
                key,
                detail,
            }
        }
        _ => {}
    }
    match status {
        // A HEAD response has no body, so no code: a 404 is a missing key (or bucket).
        404 if matches!(operation, "HeadObject" | "GetObject") => StorageError::NoSuchKey {
            operation,
            bucket,
            key,
        },
        403 => StorageError::AccessDenied {
            operation,
            bucket,
            key,
            code: code.unwrap_or("AccessDenied").to_owned(),
        },
        429 | 503 => StorageError::Throttled {
            operation,
            bucket,
            key,
            detail,
        },
        408 => StorageError::Timeout {
            operation,
            bucket,
            key,
            detail,
        },
        500..=599 => StorageError::Server {
            operation,
            bucket,
            key,
            status,
            detail,
        },
        _ => StorageError::Rejected {
            operation,
            bucket,
            key,
            status,
            detail,
        },
    }
}

/// Runs `fut` on the runtime of `handle` and blocks the calling thread until it is done. Unlike
/// `Handle::block_on` this does not panic when called on a runtime thread (it blocks that
/// thread instead: fine on a multi-thread runtime, a deadlock on a current-thread one). `None`
/// if the runtime shut down (or the task panicked) before `fut` completed.
fn block_on<F>(handle: &Handle, fut: F) -> Option<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        // The receiver only goes away if the waiting thread is gone.
        let _ = tx.send(fut.await);
    });
    rx.recv().ok()
}

/// Counts the bytes a writer holds in memory: the part being filled plus the parts queued or
/// being uploaded.
#[derive(Debug, Default)]
struct MemoryGauge {
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

impl MemoryGauge {
    fn observe(&self, buffered: usize) {
        let now = self.in_flight.load(Ordering::Relaxed) + buffered;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }
}

/// What the writer has done so far.
enum State {
    /// Everything written is still in the buffer (no request sent yet).
    Buffering,
    /// A multipart upload is open.
    Multipart(Multipart),
    /// Something failed and the upload was aborted; every later call returns this error.
    Failed(StorageError),
    /// Finished or aborted: nothing left to clean up.
    Closed,
}

/// An open multipart upload.
struct Multipart {
    upload_id: String,
    /// One permit per part in flight: a part waits for a permit before it is sent.
    permits: Arc<Semaphore>,
    /// The part uploads, in part order.
    parts: Vec<JoinHandle<Result<CompletedPart, StorageError>>>,
    /// The first error of a part upload, to surface at the next `write` / `finish`.
    failure: Arc<Mutex<Option<StorageError>>>,
}

/// A blocking `std::io::Write` that uploads what is written as one S3 object, all or nothing.
///
/// Created from inside a tokio runtime (it takes the runtime's [`Handle`]) and written from a
/// blocking thread (`spawn_blocking`), e.g. as the output of
/// [`crate::sanitize::Sanitizer::sanitize_stream`].
///
/// It buffers up to `part_size` bytes. If [`finish`](Self::finish) is called before the first
/// part fills, the object is written with one `PutObject`. Otherwise it opens a multipart upload
/// and uploads each full part in the background, with at most `max_in_flight` parts in flight:
/// when the uploads are behind, `write` blocks until one completes, so the writer holds at most
/// about `(max_in_flight + 1) * part_size` bytes. `finish` uploads the last part, waits for all
/// of them and completes the upload (parts in order).
///
/// If anything fails, or the writer is dropped without `finish` (an error in the sanitizer, a
/// panic), the multipart upload is aborted: no object and no unfinished upload remain. (An
/// object that existed under the key before is left as it was.) The error of a background part
/// upload surfaces at the next `write` or `finish`, as an `io::Error` holding the
/// [`StorageError`] (see [`StorageError::from_io_error`]).
///
/// S3 allows [`MAX_PARTS`] parts: the object can be at most `part_size * MAX_PARTS` bytes.
pub struct S3ObjectWriter {
    handle: Handle,
    client: Client,
    bucket: String,
    key: String,
    options: PutOptions,
    part_size: usize,
    max_in_flight: usize,
    buf: Vec<u8>,
    state: State,
    gauge: Arc<MemoryGauge>,
}

impl std::fmt::Debug for S3ObjectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3ObjectWriter")
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .field("part_size", &self.part_size)
            .field("max_in_flight", &self.max_in_flight)
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl S3ObjectWriter {
    /// A writer for `s3://bucket/key`. Sends nothing until a part is full or
    /// [`finish`](Self::finish) is called. `part_size` is clamped to 5 MiB..=5 GiB (S3's
    /// limits; [`DEFAULT_PART_SIZE`] is a good choice), `max_in_flight` to at least 1
    /// ([`DEFAULT_MAX_IN_FLIGHT`]).
    pub fn new(
        handle: Handle,
        client: Client,
        bucket: String,
        key: String,
        options: PutOptions,
        part_size: usize,
        max_in_flight: usize,
    ) -> Self {
        let max_part = usize::try_from(MAX_PART_SIZE).unwrap_or(usize::MAX);
        let part_size = part_size.clamp(MIN_PART_SIZE, max_part);
        S3ObjectWriter {
            handle,
            client,
            bucket,
            key,
            options,
            part_size,
            max_in_flight: max_in_flight.max(1),
            buf: Vec::new(),
            state: State::Buffering,
            gauge: Arc::new(MemoryGauge::default()),
        }
    }

    /// The part size in use (after clamping).
    pub fn part_size(&self) -> usize {
        self.part_size
    }

    /// Bytes held in memory now: the part being filled plus parts waiting or being uploaded.
    pub fn buffered_bytes(&self) -> usize {
        self.gauge.in_flight.load(Ordering::Relaxed) + self.buf.len()
    }

    /// The most bytes held in memory at once so far (see [`buffered_bytes`](Self::buffered_bytes)):
    /// at most about `(max_in_flight + 1) * part_size`.
    pub fn peak_buffered_bytes(&self) -> usize {
        self.gauge.peak.load(Ordering::Relaxed)
    }

    /// Whether a multipart upload has been opened (the first part filled).
    pub fn is_multipart(&self) -> bool {
        matches!(self.state, State::Multipart(_))
    }

    /// Stores the object: one `PutObject` if everything fit in one part, otherwise uploads the
    /// last part, waits for every part and completes the multipart upload. Blocks until done.
    /// On error the multipart upload is aborted and no object is created.
    pub fn finish(mut self) -> Result<(), StorageError> {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Failed(err) => Err(err),
            State::Closed => Ok(()),
            State::Buffering => self.put_whole(),
            state @ State::Multipart(_) => {
                self.state = state;
                if !self.buf.is_empty() {
                    self.ship_part().map_err(|e| self.fail(e))?;
                }
                self.check_background().map_err(|e| self.fail(e))?;
                let State::Multipart(upload) = std::mem::replace(&mut self.state, State::Closed)
                else {
                    return Ok(());
                };
                let target = self.target();
                let client = self.client.clone();
                block_on(&self.handle, complete(client, target, upload)).unwrap_or_else(|| {
                    Err(self.other("CompleteMultipartUpload", "the tokio runtime shut down"))
                })
            }
        }
    }

    /// Gives up: aborts the multipart upload if one is open (waiting for in-flight parts to be
    /// cancelled first) and stores nothing. Blocks until done.
    pub fn abort(mut self) -> Result<(), StorageError> {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Multipart(upload) => {
                let target = self.target();
                let client = self.client.clone();
                block_on(&self.handle, abort_upload(client, target, upload)).unwrap_or_else(|| {
                    Err(self.other("AbortMultipartUpload", "the tokio runtime shut down"))
                })
            }
            State::Buffering | State::Failed(_) | State::Closed => Ok(()),
        }
    }

    fn target(&self) -> Target {
        Target {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
        }
    }

    fn other(&self, operation: &'static str, detail: &str) -> StorageError {
        StorageError::Other {
            operation,
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            detail: detail.to_owned(),
        }
    }

    /// Writes the whole buffer as one object.
    fn put_whole(&mut self) -> Result<(), StorageError> {
        let body = Bytes::from(std::mem::take(&mut self.buf));
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .set_content_type(self.options.content_type.clone())
            .set_content_encoding(self.options.content_encoding.clone())
            .set_metadata(metadata(&self.options.metadata))
            .body(ByteStream::from(body));
        let target = self.target();
        block_on(&self.handle, async move {
            request
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("PutObject", &target.bucket, &target.key, e))
        })
        .unwrap_or_else(|| Err(self.other("PutObject", "the tokio runtime shut down")))
    }

    /// Returns the error of a failed background part upload, if any.
    fn check_background(&self) -> Result<(), StorageError> {
        if let State::Multipart(upload) = &self.state {
            let failed = upload
                .failure
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            if let Some(err) = failed {
                return Err(err);
            }
        }
        Ok(())
    }

    /// Aborts the multipart upload if one is open (logging, not failing, if that fails) and
    /// closes the writer.
    fn abort_open_upload(&mut self) {
        if let State::Multipart(upload) = std::mem::replace(&mut self.state, State::Closed) {
            let target = self.target();
            let client = self.client.clone();
            match block_on(&self.handle, abort_upload(client, target, upload)) {
                Some(Ok(())) => {}
                Some(Err(err)) => {
                    tracing::warn!(error = %err, "could not abort the multipart upload")
                }
                None => tracing::warn!(
                    bucket = %self.bucket, key = %self.key,
                    "could not abort the multipart upload: the tokio runtime shut down"
                ),
            }
        }
    }

    /// Records `err`, aborts the multipart upload (if open) and returns `err`.
    fn fail(&mut self, err: StorageError) -> StorageError {
        self.abort_open_upload();
        self.buf = Vec::new();
        self.state = State::Failed(err.clone());
        err
    }

    /// Uploads the buffer as the next part, in the background; opens the multipart upload
    /// first if needed. Blocks while `max_in_flight` parts are in flight.
    fn ship_part(&mut self) -> Result<(), StorageError> {
        if matches!(self.state, State::Buffering) {
            let upload_id = self.create_upload()?;
            self.state = State::Multipart(Multipart {
                upload_id,
                permits: Arc::new(Semaphore::new(self.max_in_flight)),
                parts: Vec::new(),
                failure: Arc::new(Mutex::new(None)),
            });
        }
        let target = self.target();
        let State::Multipart(upload) = &mut self.state else {
            return Err(self.other("UploadPart", "the upload is closed"));
        };
        let part_number = upload.parts.len() + 1;
        let part_number = match i32::try_from(part_number) {
            Ok(n) if part_number <= MAX_PARTS => n,
            _ => {
                return Err(StorageError::Other {
                    operation: "UploadPart",
                    bucket: target.bucket,
                    key: target.key,
                    detail: format!(
                        "the object needs more than {MAX_PARTS} parts of {} bytes; use a larger part size",
                        self.part_size
                    ),
                })
            }
        };
        let data = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(self.part_size),
        ));
        let len = data.len();
        self.gauge.in_flight.fetch_add(len, Ordering::Relaxed);
        self.gauge.observe(0);
        let permit = block_on(&self.handle, upload.permits.clone().acquire_owned());
        let Some(Ok(permit)) = permit else {
            self.gauge.in_flight.fetch_sub(len, Ordering::Relaxed);
            return Err(StorageError::Other {
                operation: "UploadPart",
                bucket: target.bucket,
                key: target.key,
                detail: "the tokio runtime shut down".into(),
            });
        };
        // A part that failed while we waited: stop here rather than send more.
        let failed = upload
            .failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(err) = failed {
            self.gauge.in_flight.fetch_sub(len, Ordering::Relaxed);
            return Err(err);
        }
        let request = self
            .client
            .upload_part()
            .bucket(&target.bucket)
            .key(&target.key)
            .upload_id(&upload.upload_id)
            .part_number(part_number)
            .body(ByteStream::from(data));
        let gauge = Arc::clone(&self.gauge);
        let failure = Arc::clone(&upload.failure);
        let task = self.handle.spawn(async move {
            let _permit = permit;
            let result = request.send().await;
            gauge.in_flight.fetch_sub(len, Ordering::Relaxed);
            let result = match result {
                Ok(out) => match out.e_tag() {
                    Some(e_tag) => Ok(CompletedPart::builder()
                        .part_number(part_number)
                        .e_tag(e_tag)
                        .build()),
                    None => Err(StorageError::Other {
                        operation: "UploadPart",
                        bucket: target.bucket,
                        key: target.key,
                        detail: format!("no ETag returned for part {part_number}"),
                    }),
                },
                Err(e) => Err(classify("UploadPart", &target.bucket, &target.key, e)),
            };
            if let Err(err) = &result {
                failure
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .get_or_insert_with(|| err.clone());
            }
            result
        });
        upload.parts.push(task);
        Ok(())
    }

    /// Opens the multipart upload (blocking).
    fn create_upload(&self) -> Result<String, StorageError> {
        let request = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .set_content_type(self.options.content_type.clone())
            .set_content_encoding(self.options.content_encoding.clone())
            .set_metadata(metadata(&self.options.metadata));
        let target = self.target();
        block_on(&self.handle, async move {
            let out = request
                .send()
                .await
                .map_err(|e| classify("CreateMultipartUpload", &target.bucket, &target.key, e))?;
            out.upload_id()
                .map(str::to_owned)
                .ok_or_else(|| StorageError::Other {
                    operation: "CreateMultipartUpload",
                    bucket: target.bucket,
                    key: target.key,
                    detail: "no upload id returned".into(),
                })
        })
        .unwrap_or_else(|| Err(self.other("CreateMultipartUpload", "the tokio runtime shut down")))
    }
}

/// User metadata as sent: values that are not printable ASCII (an object key with accents,
/// say) are RFC 2047-encoded, as S3 requires of `x-amz-meta-*` headers.
fn metadata(map: &HashMap<String, String>) -> Option<HashMap<String, String>> {
    (!map.is_empty()).then(|| {
        map.iter()
            .map(|(k, v)| (k.clone(), encode_header_value(v)))
            .collect()
    })
}

/// User metadata as received: RFC 2047 `=?UTF-8?B?...?=` values decoded.
fn received_metadata(map: Option<&HashMap<String, String>>) -> HashMap<String, String> {
    map.map(|m| {
        m.iter()
            .map(|(k, v)| (k.clone(), decode_header_value(v)))
            .collect()
    })
    .unwrap_or_default()
}

/// `value` unchanged when it is printable ASCII, otherwise `=?UTF-8?B?<base64>?=`.
pub fn encode_header_value(value: &str) -> String {
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        value.to_owned()
    } else {
        use base64::Engine;
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}

/// The inverse of [`encode_header_value`] (also accepts `Q` encoding's absence: anything not
/// of the form `=?UTF-8?B?...?=` is returned unchanged).
pub fn decode_header_value(value: &str) -> String {
    use base64::Engine;
    let inner = value
        .strip_prefix("=?UTF-8?B?")
        .or_else(|| value.strip_prefix("=?utf-8?b?"))
        .and_then(|v| v.strip_suffix("?="));
    inner
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| value.to_owned())
}

/// Bucket and key, owned, for moving into tasks.
struct Target {
    bucket: String,
    key: String,
}

/// Waits for every part (in order) and completes the upload; aborts it on any error.
async fn complete(
    client: Client,
    target: Target,
    mut upload: Multipart,
) -> Result<(), StorageError> {
    let tasks = std::mem::take(&mut upload.parts);
    let mut completed = Vec::with_capacity(tasks.len());
    let mut tasks = tasks.into_iter();
    let mut failed = None;
    for task in tasks.by_ref() {
        match task.await {
            Ok(Ok(part)) => completed.push(part),
            Ok(Err(err)) => {
                failed = Some(err);
                break;
            }
            Err(join_err) => {
                failed = Some(StorageError::Other {
                    operation: "UploadPart",
                    bucket: target.bucket.clone(),
                    key: target.key.clone(),
                    detail: format!("part upload task failed: {join_err}"),
                });
                break;
            }
        }
    }
    if let Some(err) = failed {
        upload.parts = tasks.collect();
        if let Err(abort_err) = abort_upload(client, target, upload).await {
            tracing::warn!(error = %abort_err, "could not abort the multipart upload");
        }
        return Err(err);
    }
    let result = client
        .complete_multipart_upload()
        .bucket(&target.bucket)
        .key(&target.key)
        .upload_id(&upload.upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = classify("CompleteMultipartUpload", &target.bucket, &target.key, e);
            if let Err(abort_err) = abort_upload(client, target, upload).await {
                tracing::warn!(error = %abort_err, "could not abort the multipart upload");
            }
            Err(err)
        }
    }
}

/// Cancels the part uploads still running, waits for them to end, then aborts the upload.
async fn abort_upload(
    client: Client,
    target: Target,
    upload: Multipart,
) -> Result<(), StorageError> {
    for task in &upload.parts {
        task.abort();
    }
    for task in upload.parts {
        // Cancelled, failed or done: all that matters is that it no longer runs.
        let _ = task.await;
    }
    let result = client
        .abort_multipart_upload()
        .bucket(&target.bucket)
        .key(&target.key)
        .upload_id(&upload.upload_id)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        // Already gone (completed or aborted): nothing is left behind.
        Err(SdkError::ServiceError(e)) if e.err().code() == Some("NoSuchUpload") => Ok(()),
        Err(e) => Err(classify(
            "AbortMultipartUpload",
            &target.bucket,
            &target.key,
            e,
        )),
    }
}

impl Write for S3ObjectWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match &self.state {
            State::Failed(err) => return Err(err.clone().into_io_error()),
            State::Closed => {
                return Err(self.other("write", "the writer is closed").into_io_error())
            }
            State::Buffering | State::Multipart(_) => {}
        }
        if let Err(err) = self.check_background() {
            return Err(self.fail(err).into_io_error());
        }
        if data.is_empty() {
            return Ok(0);
        }
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(self.part_size);
        }
        let n = data.len().min(self.part_size - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        self.gauge.observe(self.buf.len());
        if self.buf.len() >= self.part_size {
            if let Err(err) = self.ship_part() {
                return Err(self.fail(err).into_io_error());
            }
        }
        Ok(n)
    }

    /// Data is sent in parts as they fill, and the object is committed only by
    /// [`S3ObjectWriter::finish`]; `flush` only reports a failed background upload.
    fn flush(&mut self) -> io::Result<()> {
        if let State::Failed(err) = &self.state {
            return Err(err.clone().into_io_error());
        }
        if let Err(err) = self.check_background() {
            return Err(self.fail(err).into_io_error());
        }
        Ok(())
    }
}

impl Drop for S3ObjectWriter {
    /// Dropped without `finish`: aborts the multipart upload, if one is open (blocking).
    fn drop(&mut self) {
        if matches!(self.state, State::Multipart(_)) {
            tracing::warn!(
                bucket = %self.bucket, key = %self.key,
                "S3 object writer dropped without finish(): aborting the upload"
            );
        }
        self.abort_open_upload();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_a_read_timeout_and_keep_the_default_connect_timeout() {
        let config = timeout_config();
        assert_eq!(config.read_timeout(), Some(READ_TIMEOUT));
        // Unset here: taken from the SDK's defaults when the configuration loads.
        assert_eq!(config.connect_timeout(), None);
        assert_eq!(config.operation_timeout(), None);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let sdk = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_sdk_s3::config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    "id", "secret", None, None, "test",
                ))
                .http_client(https_client())
                .timeout_config(timeout_config())
                .load(),
        );
        let loaded = sdk.timeout_config().expect("timeouts");
        assert_eq!(loaded.read_timeout(), Some(READ_TIMEOUT));
        assert_eq!(
            loaded.connect_timeout(),
            Some(std::time::Duration::from_millis(3100))
        );
    }

    #[test]
    fn metadata_values_are_made_header_safe_and_back() {
        assert_eq!(encode_header_value("input/hris.csv"), "input/hris.csv");
        let key = "in/hris é 日本.csv";
        let encoded = encode_header_value(key);
        assert!(encoded.starts_with("=?UTF-8?B?") && encoded.is_ascii());
        assert_eq!(decode_header_value(&encoded), key);
        assert_eq!(
            decode_header_value("=?UTF-8?B?not base64!?="),
            "=?UTF-8?B?not base64!?="
        );
        assert_eq!(encode_header_value("tab\there"), "=?UTF-8?B?dGFiCWhlcmU=?=");
    }

    fn classify_response(operation: &'static str, status: u16, code: Option<&str>) -> StorageError {
        from_response(
            operation,
            "bucket".into(),
            "dir/key.csv".into(),
            status,
            code,
            Some("message from S3"),
        )
    }

    #[test]
    fn throttling_server_errors_and_timeouts_are_retryable() {
        for (status, code) in [
            (503, Some("SlowDown")),
            (503, None),
            (429, None),
            (500, Some("InternalError")),
            (502, None),
            (504, None),
            (400, Some("RequestTimeout")),
            (400, Some("ThrottlingException")),
        ] {
            let err = classify_response("PutObject", status, code);
            assert!(err.is_retryable(), "{status} {code:?}: {err:?}");
            assert!(err
                .to_string()
                .starts_with("s3://bucket/dir/key.csv: PutObject"));
        }
    }

    #[test]
    fn missing_things_denials_and_other_client_errors_are_not_retryable() {
        for (operation, status, code) in [
            ("GetObject", 404, Some("NoSuchKey")),
            ("HeadObject", 404, None),
            ("HeadObject", 404, Some("NotFound")),
            ("GetObject", 404, Some("NoSuchBucket")),
            ("PutObject", 403, Some("AccessDenied")),
            ("PutObject", 403, Some("ExpiredToken")),
            ("UploadPart", 404, Some("NoSuchUpload")),
            ("PutObject", 400, Some("EntityTooLarge")),
            ("PutObject", 400, None),
        ] {
            let err = classify_response(operation, status, code);
            assert!(!err.is_retryable(), "{status} {code:?}: {err:?}");
            assert_eq!((err.bucket(), err.key()), ("bucket", "dir/key.csv"));
        }
        assert!(matches!(
            classify_response("HeadObject", 404, None),
            StorageError::NoSuchKey { .. }
        ));
        assert!(matches!(
            classify_response("GetObject", 404, Some("NoSuchBucket")),
            StorageError::NoSuchBucket { .. }
        ));
        assert!(matches!(
            classify_response("PutObject", 403, Some("ExpiredToken")),
            StorageError::AccessDenied { ref code, .. } if code == "ExpiredToken"
        ));
    }

    #[test]
    fn io_errors_carry_the_storage_error() {
        let err = classify_response("UploadPart", 503, Some("SlowDown"));
        let io = err.clone().into_io_error();
        let back = StorageError::from_io_error(&io).expect("inside");
        assert!(back.is_retryable());
        assert_eq!(back.to_string(), err.to_string());
        assert!(StorageError::from_io_error(&io::Error::other("plain")).is_none());
    }
}
