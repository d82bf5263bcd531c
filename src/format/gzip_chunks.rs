//! Gzip output compressed in parallel, as pigz does: each batch is compressed on its own into
//! raw deflate ending on a byte boundary (a sync flush), with the CRC-32 and length of its
//! input; one writer puts the gzip header, the chunks in order, an empty final block and the
//! combined CRC-32 and length together. The result is one ordinary gzip member that any
//! gunzip reads.

use std::cell::RefCell;
use std::io::{self, Write};

use flate2::{Compress, Compression, FlushCompress};

/// The compression level of gzip outputs (zlib's default, as Psoxy's output).
pub const LEVEL: Compression = Compression::new(6);

/// The gzip header: magic, deflate, no flags, no time, no extra flags, unknown OS.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
/// An empty final deflate block (fixed Huffman, end-of-block code only).
const FINAL_BLOCK: [u8; 2] = [0x03, 0x00];

/// One compressed piece of the output.
pub struct DeflateChunk {
    deflate: Vec<u8>,
    crc: crc32fast::Hasher,
    len: u64,
}

impl DeflateChunk {
    /// Compresses `bytes` into raw deflate blocks ending on a byte boundary, so chunks can be
    /// concatenated. Runs anywhere (typically on a worker thread).
    pub fn compress(bytes: &[u8]) -> io::Result<Self> {
        let mut crc = crc32fast::Hasher::new();
        crc.update(bytes);
        let mut deflate = Vec::with_capacity(bytes.len() / 2 + 64);
        if !bytes.is_empty() {
            // One compressor per thread, reset for each chunk: a new one would allocate
            // and clear about 300 KB of window and hash tables every time.
            thread_local! {
                static COMPRESS: RefCell<Compress> = RefCell::new(Compress::new(LEVEL, false));
            }
            COMPRESS.with_borrow_mut(|compress| {
                compress.reset();
                deflate_into(compress, bytes, &mut deflate)
            })?;
        }
        Ok(DeflateChunk {
            deflate,
            crc,
            len: bytes.len() as u64,
        })
    }

    /// Size of the compressed bytes.
    pub fn compressed_len(&self) -> usize {
        self.deflate.len()
    }

    /// The deflate blocks, and what they hold (for a gzip trailer: [`gzip_trailer`]).
    pub fn into_parts(self) -> (Vec<u8>, DeflateSummary) {
        let summary = DeflateSummary {
            crc32: self.crc.finalize(),
            len: self.len,
        };
        (self.deflate, summary)
    }
}

/// Deflates all of `bytes` into `deflate` with a sync flush at the end.
fn deflate_into(compress: &mut Compress, bytes: &[u8], deflate: &mut Vec<u8>) -> io::Result<()> {
    loop {
        let consumed = compress.total_in() as usize;
        if deflate.capacity() - deflate.len() < 64 {
            deflate.reserve(deflate.capacity().max(4096));
        }
        compress
            .compress_vec(&bytes[consumed..], deflate, FlushCompress::Sync)
            .map_err(io::Error::other)?;
        let done = compress.total_in() as usize == bytes.len();
        // The flush is complete once a call leaves output space unused.
        if done && deflate.len() < deflate.capacity() {
            return Ok(());
        }
    }
}

/// What a run of deflate blocks holds: the CRC-32 and length of the uncompressed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DeflateSummary {
    /// CRC-32 of the uncompressed bytes.
    pub crc32: u32,
    /// Number of uncompressed bytes.
    pub len: u64,
}

/// The header of a gzip member (as every member this crate writes starts).
pub fn gzip_header() -> [u8; 10] {
    HEADER
}

/// The end of a gzip member whose deflate blocks are the bodies summarised by `bodies`, in
/// order: an empty final block, the combined CRC-32 and the length mod 2^32. With
/// [`gzip_header`] before and the bodies between, this makes one gzip member any reader reads.
pub fn gzip_trailer(bodies: &[DeflateSummary]) -> Vec<u8> {
    let mut crc = crc32fast::Hasher::new();
    let mut len = 0u64;
    for body in bodies {
        crc.combine(&crc32fast::Hasher::new_with_initial_len(
            body.crc32, body.len,
        ));
        len += body.len;
    }
    let mut out = FINAL_BLOCK.to_vec();
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out
}

/// Writes one gzip member made of [`DeflateChunk`]s, in the order they are given.
pub struct GzipChunkWriter<W: Write> {
    inner: W,
    crc: crc32fast::Hasher,
    len: u64,
    started: bool,
    /// Only the deflate blocks: no header, no end.
    body_only: bool,
}

impl<W: Write> GzipChunkWriter<W> {
    /// A member written to `inner`; nothing is written before the first chunk or `finish`.
    pub fn new(inner: W) -> Self {
        GzipChunkWriter {
            inner,
            crc: crc32fast::Hasher::new(),
            len: 0,
            started: false,
            body_only: false,
        }
    }

    /// Writes only the member's deflate blocks (no header, no end): a body for
    /// [`gzip_header`] and [`gzip_trailer`] to frame, summarised by
    /// [`GzipChunkWriter::finish_with_summary`].
    pub fn body_only(inner: W) -> Self {
        GzipChunkWriter {
            body_only: true,
            ..GzipChunkWriter::new(inner)
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if !self.started && !self.body_only {
            self.inner.write_all(&HEADER)?;
            self.started = true;
        }
        Ok(())
    }

    /// Appends a chunk.
    pub fn write_chunk(&mut self, chunk: &DeflateChunk) -> io::Result<()> {
        self.start()?;
        self.inner.write_all(&chunk.deflate)?;
        self.crc.combine(&chunk.crc);
        self.len += chunk.len;
        Ok(())
    }

    /// Compresses `bytes` here and appends them.
    pub fn write_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_chunk(&DeflateChunk::compress(bytes)?)
    }

    /// Ends the member (final block, CRC-32, length mod 2^32) and returns the writer.
    pub fn finish(self) -> io::Result<W> {
        self.finish_with_summary().map(|(w, _)| w)
    }

    /// As [`GzipChunkWriter::finish`]; for a body-only writer, writes nothing more and returns
    /// what the body holds.
    pub fn finish_with_summary(mut self) -> io::Result<(W, Option<DeflateSummary>)> {
        if self.body_only {
            let summary = DeflateSummary {
                crc32: self.crc.clone().finalize(),
                len: self.len,
            };
            return Ok((self.inner, Some(summary)));
        }
        self.start()?;
        self.inner.write_all(&FINAL_BLOCK)?;
        self.inner
            .write_all(&self.crc.clone().finalize().to_le_bytes())?;
        self.inner.write_all(&(self.len as u32).to_le_bytes())?;
        Ok((self.inner, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn bodies_framed_together_are_one_member() {
        let texts: [&[u8]; 3] = [b"first body\n", b"", b"third, longer body\n"];
        let mut member = gzip_header().to_vec();
        let mut summaries = Vec::new();
        for text in texts {
            let mut w = GzipChunkWriter::body_only(Vec::new());
            w.write_bytes(text).unwrap();
            let (body, summary) = w.finish_with_summary().unwrap();
            member.extend_from_slice(&body);
            summaries.push(summary.unwrap());
        }
        member.extend_from_slice(&gzip_trailer(&summaries));
        assert_eq!(gunzip(&member), texts.concat());
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut decoder = flate2::read::GzDecoder::new(bytes);
        decoder.read_to_end(&mut out).unwrap();
        // One member only: nothing may follow it.
        let mut rest = Vec::new();
        decoder.into_inner().read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "trailing bytes after the gzip member");
        out
    }

    #[test]
    fn chunks_make_one_member_that_gunzips_to_the_input() {
        let pieces: Vec<Vec<u8>> = vec![
            b"EMPLOYEE_ID,EMAIL\n".to_vec(),
            Vec::new(),
            (0..200_000u32)
                .flat_map(|i| format!("E{i},user{i}@acme.com\n").into_bytes())
                .collect(),
            vec![0u8; 70_000],
            (0..=255u8).cycle().take(300_000).collect(),
        ];
        let mut w = GzipChunkWriter::new(Vec::new());
        let mut expected = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            if i % 2 == 0 {
                w.write_chunk(&DeflateChunk::compress(piece).unwrap())
                    .unwrap();
            } else {
                w.write_bytes(piece).unwrap();
            }
            expected.extend_from_slice(piece);
        }
        let gz = w.finish().unwrap();
        assert_eq!(gunzip(&gz), expected);
        assert!(
            gz.len() < expected.len() / 2,
            "{} bytes for {}",
            gz.len(),
            expected.len()
        );
    }

    #[test]
    fn no_chunks_is_an_empty_member() {
        let gz = GzipChunkWriter::new(Vec::new()).finish().unwrap();
        assert!(gunzip(&gz).is_empty());
    }
}
