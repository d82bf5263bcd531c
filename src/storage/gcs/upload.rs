//! All-or-nothing writes: the output streams into a GCS resumable upload while it is produced,
//! and the upload is finalized only when the writer is committed.
//!
//! The blocking [`ResumableWriter`] hands chunks of at most [`CHUNK`] bytes through a bounded
//! channel to the client library's upload task, which sends them to GCS in pieces of
//! `buffer` bytes (8 MiB by default). The library finalizes the object only when its source
//! ends; this source ends only after [`ResumableWriter::finish`] sent the end marker. If the
//! writer is dropped instead (a failed row, a failed read), the channel closes without it, the
//! source fails, and the upload is abandoned unfinalized: no object appears (GCS forgets an
//! unfinished session after a week; the client library has no call to cancel it sooner).
//! Memory held: at most `DEPTH` chunks in the channel plus the library's buffer.

use std::io::{self, Write};

use bytes::{Bytes, BytesMut};
use google_cloud_storage::client::Storage;
use google_cloud_storage::streaming_source::StreamingSource;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::bucket_path;
use super::error::{classify, GcsError};
use crate::storage::PutOptions;

/// Bytes gathered before a chunk goes to the upload task.
pub const CHUNK: usize = 1024 * 1024;
/// Chunks queued for the upload task at most.
const DEPTH: usize = 4;

enum Piece {
    Data(Bytes),
    End,
}

/// The upload's source: chunks from the writer; ends only at the end marker, fails if the
/// writer went away without it.
struct ChannelSource {
    rx: mpsc::Receiver<Piece>,
    ended: bool,
}

/// The writer went away without finishing: the upload must not be finalized.
#[derive(Debug, thiserror::Error)]
#[error("the output was abandoned before its last byte")]
struct Abandoned;

impl StreamingSource for ChannelSource {
    type Error = Abandoned;

    async fn next(&mut self) -> Option<Result<Bytes, Self::Error>> {
        if self.ended {
            return None;
        }
        match self.rx.recv().await {
            Some(Piece::Data(bytes)) => Some(Ok(bytes)),
            Some(Piece::End) => {
                self.ended = true;
                None
            }
            None => Some(Err(Abandoned)),
        }
    }
}

/// A blocking writer into a new GCS object, visible only after [`ResumableWriter::finish`].
/// Use it from a blocking thread: it blocks on the runtime of the handle it was made with.
pub struct ResumableWriter {
    tx: Option<mpsc::Sender<Piece>>,
    task: Option<JoinHandle<Result<(), GcsError>>>,
    buffer: BytesMut,
    handle: Handle,
    bucket: String,
    key: String,
}

impl ResumableWriter {
    /// Starts the upload of `bucket/key` with `options`, sent to GCS in pieces of
    /// `upload_buffer` bytes (a multiple of 256 KiB).
    pub fn new(
        handle: Handle,
        client: Storage,
        bucket: &str,
        key: &str,
        options: PutOptions,
        upload_buffer: usize,
    ) -> Self {
        let (tx, rx) = mpsc::channel(DEPTH);
        let source = ChannelSource { rx, ended: false };
        let (b, k) = (bucket.to_owned(), key.to_owned());
        let task = handle.spawn(async move {
            let mut request = client
                .write_object(bucket_path(&b), &k, source)
                .set_metadata(options.metadata)
                // Always resumable: a single-shot upload would need the whole output in memory.
                .with_resumable_upload_threshold(0_usize)
                .with_resumable_upload_buffer_size(upload_buffer);
            if let Some(t) = options.content_type {
                request = request.set_content_type(t);
            }
            if let Some(e) = options.content_encoding {
                request = request.set_content_encoding(e);
            }
            match request.send_buffered().await {
                Ok(_) => Ok(()),
                Err(e) if e.is_serialization() => Err(GcsError::Abandoned { bucket: b, key: k }),
                Err(e) => Err(classify("upload", &b, &k, &e)),
            }
        });
        ResumableWriter {
            tx: Some(tx),
            task: Some(task),
            buffer: BytesMut::with_capacity(CHUNK),
            handle,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        }
    }

    fn send(&mut self, piece: Piece) -> Result<(), GcsError> {
        let sent = match &self.tx {
            Some(tx) => tx.blocking_send(piece).is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            // The upload task stopped early: its error says why.
            Err(self.outcome().err().unwrap_or(GcsError::Abandoned {
                bucket: self.bucket.clone(),
                key: self.key.clone(),
            }))
        }
    }

    fn send_buffer(&mut self) -> Result<(), GcsError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = self.buffer.split().freeze();
        self.send(Piece::Data(chunk))
    }

    /// Waits for the upload task and returns what it ended with.
    fn outcome(&mut self) -> Result<(), GcsError> {
        self.tx = None;
        let Some(task) = self.task.take() else {
            return Err(GcsError::Abandoned {
                bucket: self.bucket.clone(),
                key: self.key.clone(),
            });
        };
        match self.handle.block_on(task) {
            Ok(result) => result,
            Err(e) => Err(GcsError::Other {
                operation: "upload",
                bucket: self.bucket.clone(),
                key: self.key.clone(),
                detail: format!("the upload task failed: {e}"),
            }),
        }
    }

    /// Sends the rest and finalizes the object: only now does it exist.
    pub fn finish(mut self) -> Result<(), GcsError> {
        self.send_buffer()?;
        self.send(Piece::End)?;
        self.outcome()
    }
}

impl Write for ResumableWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buffer.len();
        let n = buf.len().min(room);
        self.buffer.extend_from_slice(&buf[..n]);
        if self.buffer.len() >= CHUNK {
            self.send_buffer().map_err(GcsError::into_io_error)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Chunks go out when full; finishing sends the rest.
        Ok(())
    }
}

impl Drop for ResumableWriter {
    fn drop(&mut self) {
        // Closing the channel without the end marker makes the source fail: the upload is
        // never finalized. Stop the task too, rather than let it finish sending.
        self.tx = None;
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
