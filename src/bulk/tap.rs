//! Telling storage failures from bad data: the sanitizer reports both as errors of the
//! stream, so the processor wraps the object's reader and writer in a [`Tap`] that remembers
//! whether the storage itself failed, and whether trying again may help.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

use crate::storage::io_failure_is_retryable as retryable;

/// Wraps a reader or writer and records its first I/O failure.
pub(crate) struct Tap<T> {
    inner: T,
    failure: Arc<Mutex<Option<bool>>>,
}

/// The record kept by a [`Tap`], readable after the tapped stream was moved away.
#[derive(Clone)]
pub(crate) struct TapRecord(Arc<Mutex<Option<bool>>>);

impl TapRecord {
    /// `Some(retryable)` when the tapped stream failed.
    pub(crate) fn failure(&self) -> Option<bool> {
        self.0.lock().map(|g| *g).unwrap_or(Some(false))
    }
}

impl<T> Tap<T> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: T) -> (Self, TapRecord) {
        let failure = Arc::new(Mutex::new(None));
        (
            Tap {
                inner,
                failure: failure.clone(),
            },
            TapRecord(failure),
        )
    }

    fn note<R>(&self, result: io::Result<R>) -> io::Result<R> {
        if let Err(e) = &result {
            if e.kind() != io::ErrorKind::Interrupted {
                if let Ok(mut slot) = self.failure.lock() {
                    slot.get_or_insert(retryable(e));
                }
            }
        }
        result
    }
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.inner.read(buf);
        self.note(r)
    }
}

impl<W: Write> Write for Tap<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.note(r)
    }
    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.note(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Failing(io::ErrorKind);
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(self.0, "boom"))
        }
    }

    #[test]
    fn records_the_first_failure_and_its_kind() {
        let (mut ok, record) = Tap::new(&b"abc"[..]);
        let mut buf = Vec::new();
        ok.read_to_end(&mut buf).unwrap();
        assert_eq!(record.failure(), None);

        let (mut reset, record) = Tap::new(Failing(io::ErrorKind::ConnectionReset));
        assert!(reset.read(&mut [0; 4]).is_err());
        assert_eq!(record.failure(), Some(true));

        let (mut denied, record) = Tap::new(Failing(io::ErrorKind::PermissionDenied));
        assert!(denied.read(&mut [0; 4]).is_err());
        assert_eq!(record.failure(), Some(false));
    }
}
