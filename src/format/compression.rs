//! Transparent gzip input (by magic bytes), then the input's character encoding
//! ([`super::charset`]).

use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::charset::{utf8_reader, InputEncoding};

/// Read buffer size for inputs.
const BUF: usize = 256 * 1024;

/// `bytes` gzipped whole: one member, default level, no name, time 0, so the same bytes
/// always give the same output.
pub fn gzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4 + 64),
        flate2::Compression::default(),
    );
    io::Write::write_all(&mut gz, bytes)?;
    gz.finish()
}

/// True when `bytes` start with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Wraps `input` so that gzip (detected by its magic bytes, whatever the name says, and
/// including multi-member files) is decompressed, then text in `encoding` is decoded to UTF-8
/// and a leading byte-order mark dropped ([`super::charset`]).
pub fn decoded_reader<'a>(
    input: impl Read + Send + 'a,
    encoding: InputEncoding,
) -> io::Result<Box<dyn BufRead + Send + 'a>> {
    let mut raw = BufReader::with_capacity(BUF, input);
    // The buffer is far larger than the 2- and 3-byte signatures, so one fill shows them
    // unless the input itself is shorter.
    let head = raw.fill_buf()?;
    let decoded: Box<dyn BufRead + Send + 'a> = if is_gzip(head) {
        Box::new(BufReader::with_capacity(
            BUF,
            flate2::bufread::MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    };
    utf8_reader(decoded, encoding)
}

/// A reader that counts the bytes read through it (shared with a progress reporter).
pub struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R> CountingReader<R> {
    /// Wraps `inner`; the returned counter tracks bytes read.
    pub fn new(inner: R) -> (Self, Arc<AtomicU64>) {
        let count = Arc::new(AtomicU64::new(0));
        (
            CountingReader {
                inner,
                count: count.clone(),
            },
            count,
        )
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_is_one_deterministic_member() {
        let once = gzip(b"{\"a\":1}\n").unwrap();
        assert_eq!(once, gzip(b"{\"a\":1}\n").unwrap());
        assert_eq!(read_all(once), b"{\"a\":1}\n");
    }

    fn read_all(bytes: Vec<u8>) -> Vec<u8> {
        let mut out = Vec::new();
        decoded_reader(std::io::Cursor::new(bytes), InputEncoding::Utf8)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn plain_gzip_bom_and_multimember() {
        assert_eq!(read_all(b"a,b\n".to_vec()), b"a,b\n");
        assert_eq!(read_all(gz(b"a,b\n")), b"a,b\n");
        assert_eq!(read_all(b"\xEF\xBB\xBFa,b\n".to_vec()), b"a,b\n");
        assert_eq!(read_all(gz(b"\xEF\xBB\xBFa,b\n")), b"a,b\n");
        let mut two = gz(b"a,");
        two.extend(gz(b"b\n"));
        assert_eq!(read_all(two), b"a,b\n");
        assert_eq!(read_all(Vec::new()), b"");
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let mut g = gz(&vec![b'x'; 10_000]);
        g.truncate(g.len() / 2);
        let mut out = Vec::new();
        let r = decoded_reader(std::io::Cursor::new(g), InputEncoding::Utf8)
            .unwrap()
            .read_to_end(&mut out);
        assert!(r.is_err());
    }
}
