//! Output destinations: stdout, or a file written under a temporary name and renamed into
//! place only on success, so a failed run never leaves a partial output file.

use std::io::Write;
use std::path::Path;

use crate::storage::AtomicFile;

/// Where sanitized bytes go.
pub enum Destination {
    /// Standard output (streamed; on error the exit status is non-zero).
    Stdout(std::io::StdoutLock<'static>),
    /// A temporary file renamed to its final path on commit.
    File(AtomicFile),
}

impl Destination {
    /// Standard output.
    pub fn stdout() -> Self {
        Destination::Stdout(std::io::stdout().lock())
    }

    /// A new temporary file in `path`'s folder (created if missing).
    pub fn file(path: &Path) -> std::io::Result<Self> {
        AtomicFile::create(path).map(Destination::File)
    }

    /// Makes the output visible: renames the temporary file into place.
    pub fn commit(self) -> std::io::Result<()> {
        match self {
            Destination::Stdout(mut s) => s.flush(),
            Destination::File(f) => f.commit(),
        }
    }
}

impl Write for Destination {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Destination::Stdout(s) => s.write(buf),
            Destination::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Destination::Stdout(s) => s.flush(),
            Destination::File(f) => f.flush(),
        }
    }
}

/// A buffered writer over a destination that can hand the destination back for commit.
pub struct Buffered {
    inner: std::io::BufWriter<Destination>,
}

impl Buffered {
    /// Buffers `dest` with a 64 KiB buffer: small writes are gathered, while an output batch
    /// (usually larger) goes straight to the destination instead of being copied.
    pub fn new(dest: Destination) -> Self {
        Buffered {
            inner: std::io::BufWriter::with_capacity(64 << 10, dest),
        }
    }

    /// Flushes and commits.
    pub fn commit(self) -> std::io::Result<()> {
        self.inner
            .into_inner()
            .map_err(|e| e.into_error())?
            .commit()
    }
}

impl Write for &mut Buffered {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
