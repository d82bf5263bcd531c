//! A chunk's output uploaded straight into the output's multipart upload, so the join copies
//! nothing: the plan opens the upload and gives every chunk a block of part numbers
//! ([`ChunkParts`]); the chunk keeps its first [`HEAD_BYTES`] and whatever follows its last
//! full part (its tail), and uploads everything between as parts of its block while it is
//! sanitized. The join writes the first number of each block: what goes before the chunk's
//! parts (the previous chunk's tail, framing) followed by this chunk's head, which makes that
//! part at least S3's 5 MiB minimum.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::storage::{
    ObjectStore, SharedUpload, StoreError, StoredPart, MAX_PART_NUMBER, MIN_SHARED_PART,
};

/// Bytes a chunk keeps at its start: the join puts them at the end of the part before the
/// chunk's own, so that part is never under S3's minimum.
pub(super) const HEAD_BYTES: usize = MIN_SHARED_PART;
/// Size of a chunk's first parts; later ones double when its numbers run short.
const PART_BYTES: usize = 8 << 20;
/// Largest part a chunk uploads (it holds up to [`UPLOADERS`] + 3 parts' worth: those being
/// uploaded, one queued, the one being filled and the room for the next).
const MAX_PART_BYTES: usize = 128 << 20;
/// Parts one chunk uploads at once.
const UPLOADERS: usize = 2;
/// Fewest numbers a block may have: with fewer, the plan joins by copying instead.
const MIN_BLOCK: u32 = 33;

/// Where one chunk's parts go in the output's upload: numbers `numbers[0]..numbers[1]`, of
/// which the first is the join's (what goes before the chunk's parts) and the rest the chunk's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkParts {
    /// The output's upload.
    pub upload: SharedUpload,
    /// The block of part numbers, `[first, end)`.
    pub numbers: [u32; 2],
}

/// The blocks of `chunks` chunks in one upload (the last block's end is the number of the
/// upload's last part, the join's), or `None` when the chunks are too many for blocks of
/// [`MIN_BLOCK`] numbers.
pub(super) fn blocks(chunks: u64) -> Option<Vec<[u32; 2]>> {
    let chunks = u32::try_from(chunks).ok().filter(|c| *c > 0)?;
    let block = (MAX_PART_NUMBER - 1) / chunks;
    if block < MIN_BLOCK {
        return None;
    }
    let numbers = (0..chunks)
        .map(|i| [1 + i * block, 1 + (i + 1) * block])
        .collect();
    Some(numbers)
}

/// The size of a chunk's `k`-th part (0-based) when it has `numbers` for its parts: the first
/// eighth of its numbers at [`PART_BYTES`], doubling every eighth up to [`MAX_PART_BYTES`]: a
/// block of the fewest numbers holds about 2.5 GiB, ten times the default chunk.
fn part_size(k: usize, numbers: usize) -> usize {
    let per_level = (numbers / 8).max(1);
    let level = (k / per_level).min(4) as u32;
    (PART_BYTES << level).min(MAX_PART_BYTES)
}

/// The most output a chunk with `numbers` part numbers of its own can upload.
pub(super) fn capacity(numbers: usize) -> u64 {
    (0..numbers).map(|k| part_size(k, numbers) as u64).sum()
}

/// What a chunk kept and uploaded.
#[derive(Debug, Default)]
pub(super) struct Written {
    /// Its head followed by its tail (stored as the chunk's work object).
    pub kept: Vec<u8>,
    /// How many of `kept` are the head.
    pub head: usize,
    /// The parts uploaded, by number.
    pub parts: Vec<StoredPart>,
}

/// Runs `body` with a writer whose bytes go to `parts` (head and tail kept, the rest uploaded
/// in the background, [`UPLOADERS`] parts at once). Returns what `body` returned, and what
/// was written, or the first upload's failure.
pub(super) fn write_parts<T>(
    store: &dyn ObjectStore,
    parts: &ChunkParts,
    body: impl FnOnce(&mut dyn Write) -> T,
) -> (T, Result<Written, StoreError>) {
    let (tx, rx) = mpsc::sync_channel::<(u32, Vec<u8>)>(1);
    // Only the uploaders hold the receiver: once they are all gone (even by a panic), the
    // writer's next part fails instead of waiting for them.
    let rx = Arc::new(Mutex::new(rx));
    let failed = AtomicBool::new(false);
    let results: Mutex<(Vec<StoredPart>, Option<StoreError>)> = Mutex::new((Vec::new(), None));
    let outcome = std::thread::scope(|scope| {
        let uploaders: Vec<_> = (0..UPLOADERS)
            .map(|_| {
                let rx = rx.clone();
                let (failed, results) = (&failed, &results);
                scope.spawn(move || {
                    let _stopping = StopOnPanic(failed);
                    loop {
                        let next = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => break,
                        };
                        let Ok((number, bytes)) = next else { break };
                        if failed.load(Ordering::Relaxed) {
                            continue;
                        }
                        let uploaded = store.upload_part(&parts.upload, number, bytes);
                        let mut results = results.lock().unwrap_or_else(|e| e.into_inner());
                        match uploaded {
                            Ok(part) => results.0.push(part),
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                results.1.get_or_insert(e);
                            }
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        let [first, end] = parts.numbers;
        let mut writer = PartWriter {
            head: Vec::with_capacity(HEAD_BYTES),
            buf: Vec::new(),
            next: first + 1,
            end,
            uploaded: 0,
            queue: Some(tx),
            failed: &failed,
        };
        let out = body(&mut writer);
        let PartWriter {
            head, buf, queue, ..
        } = writer;
        drop(queue); // the uploaders stop once the queue is empty
        let stopped: Vec<bool> = uploaders.into_iter().map(|u| u.join().is_err()).collect();
        (out, head, buf, stopped.contains(&true))
    });
    let (out, mut kept, tail, panicked) = outcome;
    let stopped = || StoreError::Unsupported {
        operation: "upload_part (an uploader stopped)",
    };
    let written = match results.into_inner() {
        _ if panicked => Err(stopped()),
        Ok((_, Some(e))) => Err(e),
        Ok((mut uploaded, None)) => {
            uploaded.sort_by_key(|p| p.number);
            let head = kept.len();
            kept.extend_from_slice(&tail);
            Ok(Written {
                kept,
                head,
                parts: uploaded,
            })
        }
        Err(_) => Err(stopped()),
    };
    (out, written)
}

/// Marks the uploads failed when an uploader stops by a panic.
struct StopOnPanic<'a>(&'a AtomicBool);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// The writer of [`write_parts`].
struct PartWriter<'a> {
    head: Vec<u8>,
    buf: Vec<u8>,
    /// The next part's number, and the end of the chunk's numbers.
    next: u32,
    end: u32,
    /// Parts handed to the uploaders so far.
    uploaded: usize,
    queue: Option<mpsc::SyncSender<(u32, Vec<u8>)>>,
    failed: &'a AtomicBool,
}

impl PartWriter<'_> {
    fn send(&mut self, size: usize) -> io::Result<()> {
        if self.next >= self.end {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "the chunk's output needs more parts than its block of part numbers holds \
                 (lower FANOUT_CHUNK_BYTES)",
            ));
        }
        let following = part_size(self.uploaded + 1, self.numbers());
        let mut rest = Vec::with_capacity(following.max(self.buf.len() - size));
        rest.extend_from_slice(&self.buf[size..]);
        self.buf.truncate(size);
        let part = std::mem::replace(&mut self.buf, rest);
        let sent = self
            .queue
            .as_ref()
            .is_some_and(|q| q.send((self.next, part)).is_ok());
        if !sent {
            return Err(io::Error::other("the part uploads stopped"));
        }
        self.next += 1;
        self.uploaded += 1;
        Ok(())
    }

    fn numbers(&self) -> usize {
        (self.end - self.next) as usize + self.uploaded
    }
}

impl Write for PartWriter<'_> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        if self.failed.load(Ordering::Relaxed) {
            // The upload's own error is reported by `write_parts`; a retry may help.
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "a part upload failed",
            ));
        }
        let written = data.len();
        if self.head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        self.buf.extend_from_slice(data);
        loop {
            let size = part_size(self.uploaded, self.numbers());
            if self.buf.len() < size {
                break;
            }
            self.send(size)?;
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_share_the_numbers_and_leave_the_last_to_the_join() {
        let numbers = blocks(64).unwrap();
        assert_eq!(numbers[0], [1, 157]);
        assert_eq!(numbers[63], [1 + 63 * 156, 1 + 64 * 156]);
        assert!(numbers[63][1] <= MAX_PART_NUMBER);
        assert_eq!(blocks(1).unwrap(), vec![[1, 10_000]]);
        assert!(blocks(303).is_some() && blocks(304).is_none() && blocks(0).is_none());
    }

    /// A local store of one bucket, `out`, in `dir`, and an upload opened in it.
    fn store(dir: &std::path::Path) -> (crate::storage::LocalStore, SharedUpload) {
        let buckets = [("out".to_string(), dir.to_path_buf())].into();
        let store = crate::storage::LocalStore::new(buckets);
        let upload = store
            .open_upload("out", "o.csv", Default::default())
            .unwrap()
            .unwrap();
        (store, upload)
    }

    #[test]
    fn a_chunk_keeps_its_head_and_tail_and_uploads_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let (store, upload) = store(dir.path());
        let parts = ChunkParts {
            upload: upload.clone(),
            numbers: [10, 100],
        };
        let data: Vec<u8> = (0..30 << 20).map(|i: u32| (i % 251) as u8).collect();
        let (out, written) = write_parts(&store, &parts, |w| {
            for piece in data.chunks(1 << 16) {
                w.write_all(piece)?;
            }
            io::Result::Ok(())
        });
        out.unwrap();
        let written = written.unwrap();
        assert_eq!(written.head, HEAD_BYTES);
        // 30 MiB: a 5 MiB head, three 8 MiB parts numbered from 11, a 1 MiB tail.
        let numbers: Vec<u32> = written.parts.iter().map(|p| p.number).collect();
        assert_eq!(numbers, [11, 12, 13]);
        assert!(written.parts.iter().all(|p| p.size == PART_BYTES as u64));
        assert_eq!(written.kept.len(), HEAD_BYTES + (1 << 20));
        // Put back together, the bytes are the chunk's.
        let mut all = written.kept[..HEAD_BYTES].to_vec();
        for number in numbers {
            let part = dir
                .path()
                .join(format!(".psoxy-uploads/{}/{number}", upload.id));
            all.extend(std::fs::read(part).unwrap());
        }
        all.extend_from_slice(&written.kept[HEAD_BYTES..]);
        assert!(all == data);
        store.abort_upload(&upload).unwrap();
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }

    #[test]
    fn a_failed_upload_fails_the_writer_and_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (store, upload) = store(dir.path());
        store.abort_upload(&upload).unwrap(); // its parts have nowhere to go
        let parts = ChunkParts {
            upload,
            numbers: [1, 40],
        };
        let (out, written) = write_parts(&store, &parts, |w| {
            let piece = vec![b'x'; 1 << 20];
            for _ in 0..64 {
                w.write_all(&piece)?;
            }
            io::Result::Ok(())
        });
        let err = out.expect_err("the writer fails once an upload failed");
        assert!(crate::storage::io_failure_is_retryable(&err));
        let err = written.expect_err("the upload's error is reported");
        assert!(err.to_string().contains(".psoxy-uploads"), "{err}");
    }

    #[test]
    fn a_block_too_small_for_the_output_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (store, upload) = store(dir.path());
        let parts = ChunkParts {
            upload: upload.clone(),
            numbers: [1, 3], // one part of its own
        };
        let (out, _) = write_parts(&store, &parts, |w| w.write_all(&vec![0; 40 << 20]));
        let err = out.unwrap_err();
        assert!(err.to_string().contains("FANOUT_CHUNK_BYTES"), "{err}");
        store.abort_upload(&upload).unwrap();
    }

    #[test]
    fn parts_grow_when_numbers_run_short() {
        assert_eq!(part_size(0, 155), PART_BYTES);
        assert_eq!(part_size(18, 155), PART_BYTES);
        assert_eq!(part_size(19, 155), 2 * PART_BYTES);
        assert_eq!(part_size(154, 155), MAX_PART_BYTES);
        // What a block of the fewest numbers holds: well over a chunk's usual 256 MiB.
        let total: usize = (0..MIN_BLOCK as usize - 1)
            .map(|k| part_size(k, MIN_BLOCK as usize - 1))
            .sum();
        assert!(total > 2 << 30, "{total}");
    }
}
