//! Writing objects all or nothing: [`S3ObjectWriter`] uploads what is written in parts while
//! it is produced and completes the multipart upload only at the end; on any error, or when
//! dropped unfinished, it aborts the upload.

use std::future::Future;
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::CompletedPart;
use aws_sdk_s3::Client;
use bytes::Bytes;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::error::classify;
use super::metadata::metadata;
use super::{shared, S3Error};
use crate::storage::{PutOptions, SharedUpload};

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
    Failed(S3Error),
    /// Finished or aborted: nothing left to clean up.
    Closed,
}

/// An open multipart upload.
struct Multipart {
    upload_id: String,
    /// One permit per part in flight: a part waits for a permit before it is sent.
    permits: Arc<Semaphore>,
    /// The part uploads, in part order.
    parts: Vec<JoinHandle<Result<CompletedPart, S3Error>>>,
    /// The first error of a part upload, to surface at the next `write` / `finish`.
    failure: Arc<Mutex<Option<S3Error>>>,
}

/// A blocking `std::io::Write` that uploads what is written as one S3 object, all or nothing.
///
/// Created from inside a tokio runtime (it takes the runtime's [`Handle`]) and written from a
/// blocking thread (`spawn_blocking`), e.g. as the output of
/// the sanitizer.
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
/// [`S3Error`] (see [`S3Error::from_io_error`]).
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
    pub fn finish(mut self) -> Result<(), S3Error> {
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
    pub fn abort(mut self) -> Result<(), S3Error> {
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

    fn other(&self, operation: &'static str, detail: &str) -> S3Error {
        S3Error::Other {
            operation,
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            detail: detail.to_owned(),
        }
    }

    /// Writes the whole buffer as one object.
    fn put_whole(&mut self) -> Result<(), S3Error> {
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
    fn check_background(&self) -> Result<(), S3Error> {
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
    fn fail(&mut self, err: S3Error) -> S3Error {
        self.abort_open_upload();
        self.buf = Vec::new();
        self.state = State::Failed(err.clone());
        err
    }

    /// Uploads the buffer as the next part, in the background; opens the multipart upload
    /// first if needed. Blocks while `max_in_flight` parts are in flight.
    fn ship_part(&mut self) -> Result<(), S3Error> {
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
                return Err(S3Error::Other {
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
            return Err(S3Error::Other {
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
                    None => Err(S3Error::Other {
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
    fn create_upload(&self) -> Result<String, S3Error> {
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
                .ok_or_else(|| S3Error::Other {
                    operation: "CreateMultipartUpload",
                    bucket: target.bucket,
                    key: target.key,
                    detail: "no upload id returned".into(),
                })
        })
        .unwrap_or_else(|| Err(self.other("CreateMultipartUpload", "the tokio runtime shut down")))
    }
}

/// Bucket and key, owned, for moving into tasks.
struct Target {
    bucket: String,
    key: String,
}

/// Waits for every part (in order) and completes the upload; aborts it on any error.
async fn complete(client: Client, target: Target, mut upload: Multipart) -> Result<(), S3Error> {
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
                failed = Some(S3Error::Other {
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
    let shared = SharedUpload {
        bucket: target.bucket.clone(),
        key: target.key.clone(),
        id: upload.upload_id.clone(),
    };
    match shared::complete_parts(&client, &shared, completed).await {
        Ok(()) => Ok(()),
        Err(err) => {
            if let Err(abort_err) = abort_upload(client, target, upload).await {
                tracing::warn!(error = %abort_err, "could not abort the multipart upload");
            }
            Err(err)
        }
    }
}

/// Cancels the part uploads still running, waits for them to end, then aborts the upload.
async fn abort_upload(client: Client, target: Target, upload: Multipart) -> Result<(), S3Error> {
    for task in &upload.parts {
        task.abort();
    }
    for task in upload.parts {
        // Cancelled, failed or done: all that matters is that it no longer runs.
        let _ = task.await;
    }
    let shared = SharedUpload {
        bucket: target.bucket,
        key: target.key,
        id: upload.upload_id,
    };
    shared::abort(&client, &shared).await
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

/// Lists the multipart uploads in progress in `bucket`: the key of each (a key appears once per
/// unfinished upload). Used to check that no upload was left behind.
pub async fn list_multipart_uploads(client: &Client, bucket: &str) -> Result<Vec<String>, S3Error> {
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
