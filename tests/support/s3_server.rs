//! A real S3-compatible server inside the test process, for the storage tests: `s3s` (S3 over
//! HTTP with SigV4 authentication) serving `s3s-fs` (objects as files in a temporary directory),
//! on 127.0.0.1 at a free port, on its own thread with its own tokio runtime. The aws-sdk-s3
//! client talks to it over real TCP, signing every request.
//!
//! `s3s-fs` 0.11 lacks a few things the storage layer relies on, so [`TestFs`] wraps it:
//! - `ListMultipartUploads` is not implemented: the wrapper tracks the uploads it sees created,
//!   completed and aborted, and lists them;
//! - `Content-Type` and `Content-Encoding` are not stored (HeadObject always answers
//!   `application/octet-stream`): the wrapper keeps them per object, in memory, and puts them in
//!   HeadObject and GetObject answers;
//! - writing or reading in a bucket that does not exist creates the bucket's directory or
//!   answers `NoSuchKey`: the wrapper answers `NoSuchBucket`, as S3 does;
//! - `CompleteMultipartUpload` sent again for an upload it completed (a client retrying after
//!   losing the answer) answers `AccessDenied`: S3 answers such a retry with the same success
//!   again, and so does the wrapper.
//!
//! - `GetObject` hashes the whole object on every request (its ETag), ranged requests
//!   included, and `HeadObject` answers no ETag: the wrapper serves the bytes itself with an
//!   ETag made from the file's size, time and inode, which `HeadObject` answers too, and
//!   honours `If-Match` (`PreconditionFailed` when the object changed), as S3 does.
//!
//! - `UploadPartCopy` copies through a 4 KiB async stream and hashes the whole result: the
//!   wrapper copies inside the server with the kernel's `copy_file_range` (as S3 copies
//!   server-side), so the fan-out's join is not measured by the emulator's copy loop.
//! - `CompleteMultipartUpload` copies every part into the object through an 8 KiB async
//!   stream and hashes it: the wrapper completes as S3 does from the outside, without copying
//!   the bytes. The parts stay where they are and become the object's bytes; the object's own
//!   file is a sparse file of its size (which s3s-fs's HeadObject and listings read), and the
//!   wrapper serves reads and copies of it from the parts. `PSOXY_TEST_S3_COMPLETE=copy` makes
//!   it copy the parts into the object's file instead (with `copy_file_range`), to measure
//!   what such a copy costs on this disk.
//!
//! Everything else (bodies, user metadata, multipart parts, SigV4 checks) is s3s / s3s-fs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::Client;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, S3};

pub const ACCESS_KEY: &str = "psoxy-test-access-key";
pub const SECRET_KEY: &str = "psoxy-test-secret-key";
pub const REGION: &str = "us-east-1";

/// A running server. Dropping it stops the server and deletes its data.
pub struct TestS3 {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// A client for the server: static credentials, us-east-1, path-style addressing.
    pub client: Client,
    _guard: ServerGuard,
}

struct ServerGuard {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Called after each PutObject with the object's bucket, key and size: how a test (or
/// `examples/s3_server.rs`) stands in for S3's event notifications. Runs on the server's
/// runtime: spawn or send, do not block.
pub type Notify = std::sync::Arc<dyn Fn(String, String, u64) + Send + Sync>;

/// Starts a server on a free port with its data in a temporary directory (blocking until it
/// accepts connections).
pub fn start() -> TestS3 {
    let dir = tempfile::tempdir().expect("temp dir for the S3 server");
    let root = dir.path().to_path_buf();
    serve(&root, 0, Some(dir), None)
}

/// [`start`], calling `notify` after each PutObject.
#[allow(dead_code)]
pub fn start_notifying(notify: Notify) -> TestS3 {
    let dir = tempfile::tempdir().expect("temp dir for the S3 server");
    let root = dir.path().to_path_buf();
    serve(&root, 0, Some(dir), Some(notify))
}

/// Starts a server on 127.0.0.1:`port` (0: a free one) keeping its data under `root`: each
/// directory there is a bucket and each file below it an object, so files copied in are
/// objects and objects written whole can be read as files (those completed from parts are
/// read through the server: their files are sparse).
pub fn start_in(root: &std::path::Path, port: u16) -> TestS3 {
    serve(root, port, None, None)
}

/// [`start_in`], calling `notify` (when given) after each PutObject.
#[allow(dead_code)]
pub fn start_in_notifying(root: &std::path::Path, port: u16, notify: Option<Notify>) -> TestS3 {
    serve(root, port, None, notify)
}

fn serve(
    root: &std::path::Path,
    port: u16,
    dir: Option<tempfile::TempDir>,
    notify: Option<Notify>,
) -> TestS3 {
    let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs root");
    let service = {
        let mut builder =
            s3s::service::S3ServiceBuilder::new(TestFs::new(fs, root.to_path_buf(), notify));
        builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        builder.build().into_shared()
    };

    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind 127.0.0.1");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let addr = listener.local_addr().expect("listener address");
    let (shutdown_tx, mut shutdown_rx) = tokio::sync::oneshot::channel::<()>();

    let thread = std::thread::Builder::new()
        .name("test-s3-server".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let http = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                loop {
                    tokio::select! {
                        _ = &mut shutdown_rx => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let conn = http.serve_connection(
                                hyper_util::rt::TokioIo::new(stream),
                                service.clone(),
                            );
                            let conn = conn.into_owned();
                            tokio::spawn(async move {
                                let _ = conn.await;
                            });
                        }
                    }
                }
            });
            // Dropping the runtime cancels the connections still open.
            runtime.shutdown_timeout(Duration::from_secs(1));
        })
        .expect("server thread");

    let endpoint = format!("http://{addr}");
    TestS3 {
        client: client_for(&endpoint),
        endpoint,
        _guard: ServerGuard {
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
            _dir: dir,
        },
    }
}

/// An aws-sdk-s3 client for `endpoint` with the server's credentials.
pub fn client_for(endpoint: &str) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            ACCESS_KEY,
            SECRET_KEY,
            None,
            None,
            "psoxy-tests",
        ))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .http_client(psoxy::aws_sdk::https_client())
        .build();
    Client::from_conf(config)
}

impl TestS3 {
    /// Points `cmd` (a `psoxy` command) at this server with the usual AWS variables only: the
    /// server's endpoint and credentials, path-style addresses, and no profile files
    /// (`nowhere`: an empty folder), instance metadata or other endpoint.
    pub fn aim(&self, cmd: &mut std::process::Command, nowhere: &std::path::Path) {
        cmd.env("AWS_ENDPOINT_URL_S3", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", REGION)
            .env("S3_FORCE_PATH_STYLE", "true")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", nowhere.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", nowhere.join("credentials"))
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
    }

    /// Creates a bucket.
    pub async fn create_bucket(&self, name: &str) {
        self.client
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "create bucket {name}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            });
    }
}

/// What the wrapper remembers about an object or an upload.
#[derive(Clone, Default)]
struct Attrs {
    content_type: Option<ContentType>,
    content_encoding: Option<ContentEncoding>,
}

struct Upload {
    bucket: String,
    key: String,
    attrs: Attrs,
}

/// s3s-fs plus multipart-upload listing and stored content type / encoding.
pub struct TestFs {
    inner: s3s_fs::FileSystem,
    root: std::path::PathBuf,
    uploads: Mutex<HashMap<String, Upload>>,
    objects: Mutex<HashMap<(String, String), Attrs>>,
    /// Answers of the completed uploads, by upload id, to answer a retried completion.
    completed: Mutex<HashMap<String, CompleteMultipartUploadOutput>>,
    /// Size of each part, by upload id and part number: S3 refuses a completion whose parts
    /// but the last are under 5 MiB (`EntityTooSmall`), and so does this server.
    part_sizes: Mutex<HashMap<(String, i32), (u64, String)>>,
    /// The objects completed from parts, by their file: see [`Pieces`].
    pieces: Mutex<HashMap<std::path::PathBuf, Pieces>>,
    /// Whether a completion copies the parts into the object's file instead
    /// (`PSOXY_TEST_S3_COMPLETE=copy`): how much the copy costs on this disk.
    complete_by_copy: bool,
    /// Told of each PutObject.
    notify: Option<Notify>,
}

/// An object completed from parts, stored as S3 completes an upload: without copying its
/// bytes. Its bytes stay in the parts' files, in order; the object's own file is a sparse
/// file of its size (what s3s-fs's HeadObject and listings read), and the pieces are its bytes
/// only while that file is the one completed (its inode).
#[derive(Clone)]
struct Pieces {
    ino: u64,
    /// Each part's file and size, in order.
    parts: Vec<(std::path::PathBuf, u64)>,
}

impl Pieces {
    /// The files and ranges (file, offset, length) holding bytes `start..end`.
    fn ranges(&self, start: u64, end: u64) -> Vec<(std::path::PathBuf, u64, u64)> {
        let mut at = 0;
        let mut ranges = Vec::new();
        for (file, size) in &self.parts {
            let (from, to) = (start.max(at), end.min(at + size));
            if from < to {
                ranges.push((file.clone(), from - at, to - from));
            }
            at += size;
        }
        ranges
    }
}

/// The ETag this server gives an object: its size, modification time and inode, which change
/// with every write (s3s-fs writes a new file and renames it into place). S3 stores an ETag
/// when the object is written; s3s-fs instead hashes the whole object on every GetObject,
/// ranged ones included, so reading 1 MiB of a 2 GB object cost reading all 2 GB, which
/// swamped every measurement of ranged reads (the fan-out's plan and chunks).
fn e_tag_of(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!(
        "\"{:x}-{:x}.{:09}-{:x}\"",
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ino()
    )
}

impl TestFs {
    fn new(inner: s3s_fs::FileSystem, root: std::path::PathBuf, notify: Option<Notify>) -> Self {
        TestFs {
            inner,
            root,
            uploads: Mutex::new(HashMap::new()),
            objects: Mutex::new(HashMap::new()),
            completed: Mutex::new(HashMap::new()),
            part_sizes: Mutex::new(HashMap::new()),
            pieces: Mutex::new(HashMap::new()),
            complete_by_copy: std::env::var("PSOXY_TEST_S3_COMPLETE").as_deref() == Ok("copy"),
            notify,
        }
    }

    /// The pieces of the object in `path` (whose file has `meta`), if it was completed from
    /// parts and not written since.
    fn pieces_of(&self, path: &std::path::Path, meta: &std::fs::Metadata) -> Option<Pieces> {
        use std::os::unix::fs::MetadataExt;
        self.pieces
            .lock()
            .unwrap()
            .get(path)
            .filter(|p| p.ino == meta.ino())
            .cloned()
    }

    /// Forgets the pieces of the object in `path` (written or deleted).
    fn forget_pieces(&self, path: &std::path::Path) {
        self.pieces.lock().unwrap().remove(path);
    }

    /// S3's answer for a bucket that does not exist.
    fn require_bucket(&self, bucket: &str) -> S3Result<()> {
        let valid = !bucket.is_empty() && !bucket.contains(['/', '\\']) && !bucket.starts_with('.');
        if valid && self.root.join(bucket).is_dir() {
            Ok(())
        } else {
            Err(s3s::s3_error!(NoSuchBucket))
        }
    }

    /// The file holding `bucket/key` (s3s-fs lays objects out as `root/bucket/key`).
    fn object_path(&self, bucket: &str, key: &str) -> S3Result<std::path::PathBuf> {
        let key_path = std::path::Path::new(key);
        if key_path.is_absolute()
            || key_path
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(s3s::s3_error!(InvalidArgument));
        }
        Ok(self.root.join(bucket).join(key_path))
    }

    /// Where s3s-fs keeps part `number` of an upload.
    fn part_path(&self, upload_id: &str, number: i32) -> std::path::PathBuf {
        self.root
            .join(format!(".upload_id-{upload_id}.part-{number}"))
    }

    /// Where s3s-fs keeps the user metadata of an object, or of an upload of it.
    fn metadata_path(
        &self,
        bucket: &str,
        key: &str,
        upload_id: Option<&str>,
    ) -> std::path::PathBuf {
        use base64::Engine;
        let encode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let upload = upload_id
            .map(|u| format!(".upload-{u}"))
            .unwrap_or_default();
        self.root.join(format!(
            ".bucket-{}.object-{}{upload}.metadata.json",
            encode(bucket),
            encode(key)
        ))
    }

    fn attrs(&self, bucket: &str, key: &str) -> Attrs {
        self.objects
            .lock()
            .unwrap()
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
            .unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl S3 for TestFs {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.inner.create_bucket(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.inner.head_bucket(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.inner.list_objects_v2(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.require_bucket(&req.input.bucket)?;
        let id = (req.input.bucket.clone(), req.input.key.clone());
        let attrs = Attrs {
            content_type: req.input.content_type.clone(),
            content_encoding: req.input.content_encoding.clone(),
        };
        let path = self.object_path(&id.0, &id.1)?;
        let size = req.input.content_length.unwrap_or(0).max(0) as u64;
        let out = self.inner.put_object(req).await?;
        self.forget_pieces(&path);
        self.objects.lock().unwrap().insert(id.clone(), attrs);
        if let Some(notify) = &self.notify {
            notify(id.0, id.1, size);
        }
        Ok(out)
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.require_bucket(&req.input.bucket)?;
        let attrs = self.attrs(&req.input.bucket, &req.input.key);
        let path = self.object_path(&req.input.bucket, &req.input.key)?;
        let mut out = self.inner.head_object(req).await?;
        out.output.content_type = attrs.content_type;
        out.output.content_encoding = attrs.content_encoding;
        if let Ok(meta) = std::fs::metadata(&path) {
            out.output.e_tag = Some(e_tag_of(&meta));
        }
        Ok(out)
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        self.require_bucket(&req.input.bucket)?;
        let attrs = self.attrs(&req.input.bucket, &req.input.key);
        let path = self.object_path(&req.input.bucket, &req.input.key)?;
        let mut file = tokio::fs::File::open(&path)
            .await
            .map_err(|_| s3s::s3_error!(NoSuchKey))?;
        let meta = file
            .metadata()
            .await
            .map_err(|e| s3s::s3_error!(e, InternalError))?;
        let e_tag = e_tag_of(&meta);
        if let Some(want) = &req.input.if_match {
            if want != "*" && want.trim_matches('"') != e_tag.trim_matches('"') {
                return Err(s3s::s3_error!(PreconditionFailed));
            }
        }
        let size = meta.len();
        let (start, end, content_range) = match &req.input.range {
            None => (0, size, None),
            Some(range) => {
                let range = range.check(size)?;
                let shown = format!("bytes {}-{}/{size}", range.start, range.end - 1);
                (range.start, range.end, Some(shown))
            }
        };
        type Body = std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send + Sync>>;
        let internal = |e: std::io::Error| s3s::s3_error!(e, InternalError);
        let reader: Body = match self.pieces_of(&path, &meta) {
            None => {
                file.seek(std::io::SeekFrom::Start(start))
                    .await
                    .map_err(internal)?;
                Box::pin(file.take(end - start))
            }
            Some(pieces) => {
                let mut reader: Body = Box::pin(tokio::io::empty());
                for (part, offset, len) in pieces.ranges(start, end) {
                    let mut part = tokio::fs::File::open(part).await.map_err(internal)?;
                    part.seek(std::io::SeekFrom::Start(offset))
                        .await
                        .map_err(internal)?;
                    reader = Box::pin(reader.chain(part.take(len)));
                }
                reader
            }
        };
        let body = tokio_util::io::ReaderStream::with_capacity(reader, 256 << 10);
        // User metadata and the modification time, as s3s-fs stores them (its HeadObject
        // reads no bytes).
        let head = HeadObjectInput::builder()
            .bucket(req.input.bucket.clone())
            .key(req.input.key.clone())
            .build()
            .map_err(|e| s3s::s3_error!(e, InternalError))?;
        let head = self
            .inner
            .head_object(req.map_input(|_| head))
            .await?
            .output;
        let output = GetObjectOutput {
            body: Some(StreamingBlob::wrap(body)),
            content_length: Some(i64::try_from(end - start).unwrap_or(i64::MAX)),
            content_range,
            last_modified: head.last_modified,
            metadata: head.metadata,
            e_tag: Some(e_tag),
            content_type: attrs.content_type,
            content_encoding: attrs.content_encoding,
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let id = (req.input.bucket.clone(), req.input.key.clone());
        let path = self.object_path(&id.0, &id.1)?;
        let out = self.inner.delete_object(req).await?;
        self.forget_pieces(&path);
        self.objects.lock().unwrap().remove(&id);
        Ok(out)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.require_bucket(&req.input.bucket)?;
        let upload = Upload {
            bucket: req.input.bucket.clone(),
            key: req.input.key.clone(),
            attrs: Attrs {
                content_type: req.input.content_type.clone(),
                content_encoding: req.input.content_encoding.clone(),
            },
        };
        let out = self.inner.create_multipart_upload(req).await?;
        if let Some(id) = &out.output.upload_id {
            self.uploads.lock().unwrap().insert(id.clone(), upload);
        }
        Ok(out)
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let id = (req.input.upload_id.clone(), req.input.part_number);
        let size = req.input.content_length.unwrap_or(0) as u64;
        let out = self.inner.upload_part(req).await?;
        let e_tag = out.output.e_tag.clone().unwrap_or_default();
        self.part_sizes.lock().unwrap().insert(id, (size, e_tag));
        Ok(out)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let input = &req.input;
        if !self.uploads.lock().unwrap().contains_key(&input.upload_id) {
            return Err(s3s::s3_error!(NoSuchUpload));
        }
        let CopySource::Bucket { bucket, key, .. } = &input.copy_source else {
            return Err(s3s::s3_error!(NotImplemented));
        };
        let source = self.object_path(bucket, key)?;
        let source_meta = std::fs::metadata(&source).map_err(|_| s3s::s3_error!(NoSuchKey))?;
        let size = source_meta.len();
        let pieces = self.pieces_of(&source, &source_meta);
        let (start, end) = match input.copy_source_range.as_deref() {
            None => (0, size),
            Some(range) => range
                .strip_prefix("bytes=")
                .and_then(|r| r.split_once('-'))
                .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()? + 1)))
                .filter(|(a, b)| a < b && *b <= size)
                .ok_or_else(|| s3s::s3_error!(InvalidArgument))?,
        };
        let number = input.part_number;
        let part = self.part_path(&input.upload_id, number);
        let tmp = self
            .root
            .join(format!(".tmp.copy.{}.{number}", input.upload_id));
        // A copy inside the server, as S3 copies a part: the kernel's copy_file_range (what
        // std::io::copy uses between files) rather than s3s-fs's 4 KiB async stream.
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::{Read, Seek};
            let ranges = match pieces {
                Some(pieces) => pieces.ranges(start, end),
                None => vec![(source, start, end - start)],
            };
            let mut to = std::fs::File::create(&tmp)?;
            for (file, offset, len) in ranges {
                let mut from = std::fs::File::open(&file)?;
                from.seek(std::io::SeekFrom::Start(offset))?;
                std::io::copy(&mut from.take(len), &mut to)?;
            }
            std::fs::rename(&tmp, &part)
        })
        .await
        .map_err(|e| s3s::s3_error!(e, InternalError))?
        .map_err(|e| s3s::s3_error!(e, InternalError))?;
        let e_tag = format!("\"part-{number}-{:x}\"", end - start);
        self.part_sizes.lock().unwrap().insert(
            (input.upload_id.clone(), number),
            (end - start, e_tag.clone()),
        );
        let output = UploadPartCopyOutput {
            copy_part_result: Some(CopyPartResult {
                e_tag: Some(e_tag),
                ..Default::default()
            }),
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.inner.list_parts(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let id = req.input.upload_id.clone();
        if let Some(done) = self.completed.lock().unwrap().get(&id) {
            return Ok(S3Response::new(done.clone()));
        }
        let listed: Vec<(i32, String)> = req
            .input
            .multipart_upload
            .as_ref()
            .and_then(|m| m.parts.as_ref())
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|p| Some((p.part_number?, p.e_tag.clone().unwrap_or_default())))
                    .collect()
            })
            .unwrap_or_default();
        let numbers: Vec<i32> = listed.iter().map(|(n, _)| *n).collect();
        {
            // As S3: every part listed was uploaded, with the ETag it was answered, and all
            // but the last are at least 5 MiB.
            let sizes = self.part_sizes.lock().unwrap();
            let stored = |n: &i32| sizes.get(&(id.clone(), *n));
            if listed.iter().any(|(n, tag)| {
                stored(n).is_none_or(|(_, t)| t.trim_matches('"') != tag.trim_matches('"'))
            }) {
                return Err(s3s::s3_error!(InvalidPart));
            }
            if let Some((_, rest)) = numbers.split_last() {
                if rest
                    .iter()
                    .any(|n| stored(n).is_some_and(|(s, _)| *s < 5 << 20))
                {
                    return Err(s3s::s3_error!(EntityTooSmall));
                }
            }
        }
        if !self.uploads.lock().unwrap().contains_key(&id) {
            return Err(s3s::s3_error!(NoSuchUpload));
        }
        // As S3: ascending numbers, gaps allowed.
        if numbers.windows(2).any(|w| w[0] >= w[1]) || numbers.first().is_some_and(|n| *n < 1) {
            return Err(s3s::s3_error!(InvalidPartOrder));
        }
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let object = self.object_path(&bucket, &key)?;
        let parts: Vec<_> = numbers.iter().map(|n| self.part_path(&id, *n)).collect();
        let tmp = self.root.join(format!(".tmp.complete.{id}"));
        let meta = self.metadata_path(&bucket, &key, None);
        let upload_meta = self.metadata_path(&bucket, &key, Some(&id));
        let upload_info = self.root.join(format!(".upload-{id}.json"));
        // As S3 completes an upload: the parts become the object without being copied (the
        // object's file is sparse, its bytes are served from the parts). With
        // `PSOXY_TEST_S3_COMPLETE=copy`, the parts are copied into the object's file instead
        // (copy_file_range inside the server, not s3s-fs's 8 KiB async copy and hash).
        let by_copy = self.complete_by_copy;
        let object_file = object.clone();
        let completed =
            tokio::task::spawn_blocking(move || -> std::io::Result<(String, Option<Pieces>)> {
                use std::os::unix::fs::MetadataExt;
                let to = std::fs::File::create(&tmp)?;
                let mut pieces = Vec::new();
                for part in &parts {
                    if by_copy {
                        std::io::copy(&mut std::fs::File::open(part)?, &mut &to)?;
                    } else {
                        pieces.push((part.clone(), std::fs::metadata(part)?.len()));
                    }
                }
                to.set_len(
                    pieces
                        .iter()
                        .map(|(_, size)| size)
                        .sum::<u64>()
                        .max(to.metadata()?.len()),
                )?;
                drop(to);
                if let Some(dir) = object.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::rename(&tmp, &object)?;
                if by_copy {
                    for part in &parts {
                        std::fs::remove_file(part)?;
                    }
                }
                match std::fs::rename(&upload_meta, &meta) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        let _ = std::fs::remove_file(&meta); // the new object has none
                    }
                    other => other?,
                }
                let _ = std::fs::remove_file(&upload_info);
                let meta = std::fs::metadata(&object)?;
                let pieces = (!by_copy).then(|| Pieces {
                    ino: meta.ino(),
                    parts: pieces,
                });
                Ok((e_tag_of(&meta), pieces))
            })
            .await
            .map_err(|e| s3s::s3_error!(e, InternalError))?
            .map_err(|e| s3s::s3_error!(e, InternalError))?;
        let (e_tag, pieces) = completed;
        match pieces {
            Some(pieces) => {
                self.pieces.lock().unwrap().insert(object_file, pieces);
            }
            None => self.forget_pieces(&object_file),
        }
        let output = CompleteMultipartUploadOutput {
            bucket: Some(bucket),
            key: Some(key),
            e_tag: Some(e_tag),
            ..Default::default()
        };
        self.completed
            .lock()
            .unwrap()
            .insert(id.clone(), output.clone());
        if let Some(upload) = self.uploads.lock().unwrap().remove(&id) {
            self.objects
                .lock()
                .unwrap()
                .insert((upload.bucket, upload.key), upload.attrs);
        }
        Ok(S3Response::new(output))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let id = req.input.upload_id.clone();
        if !self.uploads.lock().unwrap().contains_key(&id) {
            return Err(s3s::s3_error!(NoSuchUpload));
        }
        let out = self.inner.abort_multipart_upload(req).await?;
        self.uploads.lock().unwrap().remove(&id);
        Ok(out)
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let bucket = req.input.bucket;
        let mut uploads: Vec<MultipartUpload> = self
            .uploads
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, u)| u.bucket == bucket)
            .map(|(id, u)| MultipartUpload {
                key: Some(u.key.clone()),
                upload_id: Some(id.clone()),
                ..Default::default()
            })
            .collect();
        uploads.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(bucket),
            is_truncated: Some(false),
            uploads: Some(uploads),
            ..Default::default()
        }))
    }
}
