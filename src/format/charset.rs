//! Input character encodings (`--input-encoding`, `INPUT_ENCODING`): a text input in
//! Windows-1252, ISO-8859-1 or UTF-16 is decoded to UTF-8 as it streams, so every reader after
//! this one reads UTF-8, and outputs are UTF-8.
//!
//! A byte-order mark at the start of the input wins over the named encoding: it is dropped and
//! says which of UTF-8, UTF-16LE and UTF-16BE the input is. `UTF-16` needs one. UTF-8, the
//! default, is not decoded here (it is checked where it is read, so an invalid byte is reported
//! with its line and column), only its mark dropped; an input that starts with a UTF-16 mark is
//! refused with the setting to use. Bytes that are not valid in the named encoding (in UTF-16:
//! an unpaired surrogate, or an odd last byte) fail, naming the line, never the bytes. The
//! single-byte encodings map every byte, so they cannot fail: `WINDOWS-1252` as the WHATWG
//! Encoding Standard (and Excel) maps it, `ISO-8859-1` byte for byte to U+0000..U+00FF, as
//! Java does (`encoding_rs` maps the label `iso-8859-1` to Windows-1252, so Latin-1 is decoded
//! with its `mem` functions instead).

use std::io::{self, BufRead, Cursor, Read};

use encoding_rs::{Decoder, DecoderResult, Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

/// Size of the decoded-text buffer.
const BUF: usize = 256 * 1024;

/// The longest byte-order mark (UTF-8's).
const MAX_BOM: usize = 3;

/// The character encoding of a text input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InputEncoding {
    /// UTF-8 (the default; a leading byte-order mark is dropped).
    #[default]
    Utf8,
    /// Windows-1252 ("ANSI" on Western-European Windows; Excel's "CSV" there).
    Windows1252,
    /// ISO-8859-1 (Latin-1): each byte is the code point of the same number.
    Latin1,
    /// UTF-16 in the byte order its byte-order mark says (Excel's "Unicode Text").
    Utf16,
    /// UTF-16, little-endian.
    Utf16Le,
    /// UTF-16, big-endian.
    Utf16Be,
}

/// The encodings [`InputEncoding::parse`] accepts, for messages.
pub const ENCODING_NAMES: &str = "UTF-8, WINDOWS-1252, ISO-8859-1, UTF-16, UTF-16LE or UTF-16BE";

/// Why a text input could not be decoded. Says where, never what the bytes were.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CharsetError {
    /// `UTF-16` was named and the input has no byte-order mark to tell the byte order.
    #[error("the input has no UTF-16 byte-order mark: name its byte order, UTF-16LE or UTF-16BE")]
    NoByteOrderMark,
    /// UTF-8 (the default) was expected and the input starts with a UTF-16 byte-order mark.
    #[error("the input starts with a UTF-16 byte-order mark: set the input encoding to UTF-16 (--input-encoding, INPUT_ENCODING)")]
    Utf16Mark,
    /// Bytes that are not valid in the input's encoding.
    #[error("line {line}: bytes that are not valid {encoding}")]
    Malformed {
        /// The line (from 1) the bytes are on.
        line: u64,
        /// The encoding the input was decoded as.
        encoding: &'static str,
    },
}

/// An encoding name that is not one of [`ENCODING_NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown input encoding: expected {ENCODING_NAMES}")]
pub struct UnknownEncoding;

impl InputEncoding {
    /// The encoding `name` names, in any case, with or without its hyphens (`cp1252`,
    /// `latin1` and `utf16le` too).
    pub fn parse(name: &str) -> Result<Self, UnknownEncoding> {
        let key: String = name
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_'))
            .collect::<String>()
            .to_ascii_uppercase();
        Ok(match key.as_str() {
            "UTF8" => InputEncoding::Utf8,
            "WINDOWS1252" | "CP1252" => InputEncoding::Windows1252,
            "ISO88591" | "LATIN1" => InputEncoding::Latin1,
            "UTF16" => InputEncoding::Utf16,
            "UTF16LE" => InputEncoding::Utf16Le,
            "UTF16BE" => InputEncoding::Utf16Be,
            _ => return Err(UnknownEncoding),
        })
    }

    /// The encoding's canonical name.
    pub fn name(self) -> &'static str {
        match self {
            InputEncoding::Utf8 => "UTF-8",
            InputEncoding::Windows1252 => "WINDOWS-1252",
            InputEncoding::Latin1 => "ISO-8859-1",
            InputEncoding::Utf16 => "UTF-16",
            InputEncoding::Utf16Le => "UTF-16LE",
            InputEncoding::Utf16Be => "UTF-16BE",
        }
    }
}

/// `input` as UTF-8: decoded from `encoding` (or from the encoding its byte-order mark says),
/// with the mark dropped. UTF-8 is passed through.
pub fn utf8_reader<'a>(
    mut input: Box<dyn BufRead + Send + 'a>,
    encoding: InputEncoding,
) -> io::Result<Box<dyn BufRead + Send + 'a>> {
    // The usual case: the first fill shows the whole mark, and the input is used as it is.
    let filled = input.fill_buf()?;
    if filled.len() >= MAX_BOM || filled.is_empty() {
        let bom = Encoding::for_bom(filled);
        input.consume(bom.map_or(0, |(_, n)| n));
        return decoding(input, bom.map(|(found, _)| found), encoding);
    }
    // A short first read: gather the head, then read what follows its mark before the rest.
    let (head, len) = read_head(&mut input)?;
    let bom = Encoding::for_bom(&head[..len]);
    let skip = bom.map_or(0, |(_, n)| n);
    let rest = Box::new(Cursor::new(head[skip..len].to_vec()).chain(input));
    decoding(rest, bom.map(|(found, _)| found), encoding)
}

/// `input` (after its byte-order mark, which said `bom`) decoded to UTF-8.
fn decoding<'a>(
    input: Box<dyn BufRead + Send + 'a>,
    bom: Option<&'static Encoding>,
    encoding: InputEncoding,
) -> io::Result<Box<dyn BufRead + Send + 'a>> {
    let step = match (bom, encoding) {
        (Some(found), _) if found == UTF_8 => return Ok(input),
        (None, InputEncoding::Utf8) => return Ok(input),
        (Some(_), InputEncoding::Utf8) => return Err(invalid(CharsetError::Utf16Mark)),
        (Some(found), _) => Step::Decoder(found.new_decoder_without_bom_handling(), found.name()),
        (None, InputEncoding::Utf16) => return Err(invalid(CharsetError::NoByteOrderMark)),
        (None, InputEncoding::Latin1) => Step::Latin1,
        (None, InputEncoding::Windows1252) => decoder(WINDOWS_1252),
        (None, InputEncoding::Utf16Le) => decoder(UTF_16LE),
        (None, InputEncoding::Utf16Be) => decoder(UTF_16BE),
    };
    Ok(Box::new(Utf8Decoding {
        input,
        step,
        out: vec![0; BUF],
        pos: 0,
        len: 0,
        done: false,
        lines: 0,
    }))
}

fn decoder(encoding: &'static Encoding) -> Step {
    Step::Decoder(encoding.new_decoder_without_bom_handling(), encoding.name())
}

fn invalid(e: CharsetError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// The first [`MAX_BOM`] bytes (fewer only at the end of the input).
fn read_head(input: &mut dyn BufRead) -> io::Result<([u8; MAX_BOM], usize)> {
    let mut head = [0u8; MAX_BOM];
    let mut len = 0;
    while len < MAX_BOM {
        match input.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((head, len))
}

/// How bytes become UTF-8.
enum Step {
    /// An `encoding_rs` decoder, and its encoding's name for messages.
    Decoder(Decoder, &'static str),
    /// ISO-8859-1: byte `b` is U+00`b`.
    Latin1,
}

/// A reader of `input` decoded to UTF-8.
struct Utf8Decoding<R> {
    input: R,
    step: Step,
    /// Decoded text; `out[pos..len]` is not read yet.
    out: Vec<u8>,
    pos: usize,
    len: usize,
    /// The input has ended and the decoder is flushed.
    done: bool,
    /// Line breaks decoded so far (for the line of an error).
    lines: u64,
}

impl<R: BufRead> BufRead for Utf8Decoding<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.len && !self.done {
            let src = self.input.fill_buf()?;
            let last = src.is_empty();
            let (read, written) = match &mut self.step {
                Step::Latin1 => {
                    let (read, written) =
                        encoding_rs::mem::convert_latin1_to_utf8_partial(src, &mut self.out);
                    self.done = last;
                    (read, written)
                }
                Step::Decoder(decoder, name) => {
                    let (result, read, written) =
                        decoder.decode_to_utf8_without_replacement(src, &mut self.out, last);
                    match result {
                        DecoderResult::InputEmpty => self.done = last,
                        DecoderResult::OutputFull => {}
                        DecoderResult::Malformed(..) => {
                            let line = self.lines + line_breaks(&self.out[..written]) + 1;
                            return Err(invalid(CharsetError::Malformed {
                                line,
                                encoding: name,
                            }));
                        }
                    }
                    (read, written)
                }
            };
            self.input.consume(read);
            self.lines += line_breaks(&self.out[..written]);
            self.pos = 0;
            self.len = written;
        }
        Ok(&self.out[self.pos..self.len])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.len);
    }
}

impl<R: BufRead> Read for Utf8Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

fn line_breaks(text: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', text).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], encoding: InputEncoding) -> io::Result<String> {
        let input: Box<dyn BufRead + Send> =
            Box::new(io::BufReader::new(Cursor::new(bytes.to_vec())));
        let mut text = String::new();
        utf8_reader(input, encoding)?.read_to_string(&mut text)?;
        Ok(text)
    }

    fn charset_error(e: io::Error) -> CharsetError {
        e.into_inner()
            .and_then(|inner| inner.downcast::<CharsetError>().ok())
            .map(|b| *b)
            .expect("a charset error")
    }

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut units: Vec<u16> = text.encode_utf16().collect();
        if bom {
            units.insert(0, 0xFEFF);
        }
        units
            .into_iter()
            .flat_map(|u| {
                if big_endian {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    }

    #[test]
    fn names_parse_in_any_spelling() {
        for (name, want) in [
            ("utf-8", InputEncoding::Utf8),
            ("Windows-1252", InputEncoding::Windows1252),
            ("cp1252", InputEncoding::Windows1252),
            ("ISO-8859-1", InputEncoding::Latin1),
            ("latin1", InputEncoding::Latin1),
            ("UTF-16", InputEncoding::Utf16),
            ("utf16le", InputEncoding::Utf16Le),
            ("UTF_16BE", InputEncoding::Utf16Be),
        ] {
            assert_eq!(InputEncoding::parse(name), Ok(want), "{name}");
            assert_eq!(InputEncoding::parse(want.name()), Ok(want));
        }
        assert_eq!(InputEncoding::parse("EBCDIC"), Err(UnknownEncoding));
    }

    #[test]
    fn windows_1252_maps_its_punctuation_and_latin1_maps_bytes_to_code_points() {
        // 0x80 is the euro sign in Windows-1252 and a C1 control in ISO-8859-1.
        let bytes = b"name,city\n\x80 Jos\xe9,K\xf6ln\n";
        assert_eq!(
            decode(bytes, InputEncoding::Windows1252).unwrap(),
            "name,city\n\u{20ac} José,Köln\n"
        );
        assert_eq!(
            decode(bytes, InputEncoding::Latin1).unwrap(),
            "name,city\n\u{80} José,Köln\n"
        );
    }

    #[test]
    fn utf16_follows_its_byte_order_mark_and_needs_one() {
        let text = "email,name\nzoë@example.com,Zoë 𝄞\n";
        for big_endian in [false, true] {
            let with_bom = utf16(text, big_endian, true);
            for named in [
                InputEncoding::Utf16,
                InputEncoding::Utf16Le,
                InputEncoding::Utf16Be,
                InputEncoding::Windows1252,
            ] {
                assert_eq!(decode(&with_bom, named).unwrap(), text, "{named:?}");
            }
        }
        assert_eq!(
            decode(&utf16(text, false, false), InputEncoding::Utf16Le).unwrap(),
            text
        );
        assert_eq!(
            decode(&utf16(text, true, false), InputEncoding::Utf16Be).unwrap(),
            text
        );
        let no_bom = decode(&utf16(text, false, false), InputEncoding::Utf16).unwrap_err();
        assert_eq!(charset_error(no_bom), CharsetError::NoByteOrderMark);
    }

    #[test]
    fn utf8_passes_through_without_its_mark_and_refuses_a_utf16_mark() {
        assert_eq!(
            decode(b"\xEF\xBB\xBFa,b\n", InputEncoding::Utf8).unwrap(),
            "a,b\n"
        );
        // A UTF-8 mark wins over a named single-byte encoding.
        assert_eq!(
            decode("\u{feff}José\n".as_bytes(), InputEncoding::Latin1).unwrap(),
            "José\n"
        );
        let marked = utf16("a,b\n", false, true);
        let err = decode(&marked, InputEncoding::Utf8).unwrap_err();
        assert_eq!(charset_error(err), CharsetError::Utf16Mark);
        assert_eq!(decode(b"", InputEncoding::Utf16Le).unwrap(), "");
        assert_eq!(decode(b"ab", InputEncoding::Utf8).unwrap(), "ab");
    }

    #[test]
    fn malformed_utf16_names_its_line() {
        let mut bytes = utf16("a,b\n1,2\n3,", false, true);
        bytes.extend_from_slice(&0xD800u16.to_le_bytes()); // an unpaired high surrogate
        bytes.extend_from_slice(&utf16("x\n", false, false));
        let err = charset_error(decode(&bytes, InputEncoding::Utf16).unwrap_err());
        assert_eq!(
            err,
            CharsetError::Malformed {
                line: 3,
                encoding: "UTF-16LE"
            }
        );
        assert_eq!(err.to_string(), "line 3: bytes that are not valid UTF-16LE");
        // An odd last byte.
        let mut odd = utf16("a\nb", true, false);
        odd.push(0);
        let err = charset_error(decode(&odd, InputEncoding::Utf16Be).unwrap_err());
        assert_eq!(
            err,
            CharsetError::Malformed {
                line: 2,
                encoding: "UTF-16BE"
            }
        );
    }

    /// A reader that gives one byte per read, as a slow stream may.
    struct Trickle(Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn a_mark_split_over_short_reads_is_still_found() {
        for (bytes, encoding, want) in [
            (b"\xEF\xBB\xBFa,b\n".to_vec(), InputEncoding::Utf8, "a,b\n"),
            (utf16("a,b\n", true, true), InputEncoding::Utf16, "a,b\n"),
            (b"\xe9t\xe9".to_vec(), InputEncoding::Latin1, "été"),
            (b"ab".to_vec(), InputEncoding::Utf8, "ab"),
        ] {
            let input: Box<dyn BufRead + Send> =
                Box::new(io::BufReader::with_capacity(1, Trickle(Cursor::new(bytes))));
            let mut text = String::new();
            utf8_reader(input, encoding)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            assert_eq!(text, want);
        }
    }

    #[test]
    fn long_inputs_decode_across_buffers() {
        let text: String = (0..100_000).map(|i| format!("{i},Zoë\n")).collect();
        let bytes = utf16(&text, false, true);
        assert!(bytes.len() > 4 * BUF);
        assert_eq!(decode(&bytes, InputEncoding::Utf16).unwrap(), text);
        let latin: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
        assert_eq!(decode(&latin, InputEncoding::Latin1).unwrap(), text);
    }
}
