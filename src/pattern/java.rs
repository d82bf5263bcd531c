//! Translation of Java `java.util.regex` patterns into the syntax of the
//! `fancy-regex` 0.20.2 crate, so that the translated pattern matches exactly
//! what `java.util.regex.Pattern` (JDK 19 and later) would match.
//!
//! The translator is a small recursive-descent parser that mirrors the JDK
//! parser (`Pattern.expr`/`sequence`/`atom`/`clazz`/`range`/`escape`/`family`)
//! and emits an equivalent `fancy-regex` pattern that never relies on a
//! `fancy-regex` flag:
//!
//! * inline flags (`(?imsdxuU-...)`, `(?flags:...)`) are tracked per group scope
//!   and removed from the output; every construct whose meaning depends on a
//!   flag is written out explicitly (`.` `^` `$` `\Z` case-insensitive letters);
//! * comments mode (`x`) is applied by the translator itself (whitespace and `#`
//!   comments are dropped, also inside character classes, as Java does), so the
//!   output never contains a verbose-mode comment;
//! * `\d \D \s \S \w \W \b \B` and the POSIX `\p{...}` classes are written as
//!   their ASCII sets, unless `UNICODE_CHARACTER_CLASS` (`(?U)`) is active;
//! * `CASE_INSENSITIVE` without `UNICODE_CASE` folds ASCII only: letters are
//!   expanded to `[aA]` (inside classes the other-case letter or range is
//!   added), so e.g. the Kelvin sign U+212A does not match `k`;
//! * capture groups (numbered and named) keep their numbers and names: the
//!   translator only ever adds non-capturing groups.
//!
//! Error offsets ([`JavaRegexError`]) are counted in characters (Unicode scalar
//! values) from the start of the Java pattern.
//!
//! Known, documented differences that remain (all outside ASCII-only input or
//! pathological):
//! * with `CASE_INSENSITIVE` **and** `UNICODE_CASE` (`(?iu)`, `(?iU)`) the
//!   output uses `fancy-regex`'s Unicode simple case folding, which folds a few
//!   characters Java does not (e.g. `ß`~`ẞ`) and, inside such a character class,
//!   also folds the members of predefined classes (`[\w]` then matches U+212A);
//! * case-insensitive back-references use `fancy-regex`'s Unicode folding where
//!   Java folds ASCII only;
//! * Unicode property tables are those of the Rust `regex` crate, not the JDK's
//!   (Unicode version differences);
//! * a look-behind without an obvious maximum length (`(?<=a+)`), which Java
//!   rejects, is accepted;
//! * a capture group repeated by `*`/`{0,n}` whose only iteration is empty
//!   (`()*`) reports an empty capture where Java reports none;
//! * a lone surrogate (`\uD800`, `\x{DC00}`) cannot occur in Rust text and is
//!   rejected, as are `\X`, `\b{g}`, `\N{NAME}`, Unicode blocks and `(?c)`.
//!
//! Because the output never turns on `fancy-regex`'s verbose mode, the
//! [`Anchoring::Whole`] wrapper needs no newline before its closing `)`.
//!
//! The translation was checked differentially against the JDK 25
//! `java.util.regex` on a few hundred thousand (pattern, input) pairs, fixed
//! and randomly generated.

use std::fmt::Write as _;

/// How the translated expression will be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchoring {
    /// The expression is searched for anywhere in the input (Java `find()`):
    /// no wrapper is added.
    Search,
    /// The expression must match the whole input (Java `matches()`): the
    /// translation is wrapped as `\A(?:P)\z`.
    Whole,
}

/// A Java regular expression that cannot be translated.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum JavaRegexError {
    /// Java accepts the construct but the Rust engine has no equivalent.
    #[error(
        "{construct} has no equivalent in the Rust engine (at character {offset} of the Java regex)"
    )]
    Unsupported {
        /// The construct, e.g. "`\X` (grapheme cluster)".
        construct: String,
        /// Offset of the construct, in characters from the start of the Java regex.
        offset: usize,
    },
    /// Java itself rejects the pattern (a `PatternSyntaxException` in Java).
    #[error("invalid Java regex: {message} (at character {offset})")]
    Invalid {
        /// What is wrong, worded after the JDK's message.
        message: String,
        /// Offset of the error, in characters from the start of the Java regex.
        offset: usize,
    },
}

/// Translate a Java regex into an equivalent `fancy-regex` pattern.
///
/// `case_insensitive` = the caller's flag (Java `CASE_INSENSITIVE` without
/// `UNICODE_CASE`, i.e. ASCII-only folding); inline `(?-i)` can turn it off.
/// The result compiles with `fancy_regex::Regex::new` (no flags needed) unless
/// it contains a Unicode script name or repetition count the Rust engine
/// rejects.
pub fn translate(
    java: &str,
    anchoring: Anchoring,
    case_insensitive: bool,
) -> Result<String, JavaRegexError> {
    let (chars, orig) = remove_qe_quoting(java);
    // First pass: count the capture groups (a back-reference to a group that
    // does not exist compiles in Java and never matches).
    let total = {
        let mut p = Parser::new(&chars, &orig, case_insensitive, None);
        p.parse_pattern()?;
        p.groups_opened
    };
    let mut p = Parser::new(&chars, &orig, case_insensitive, Some(total));
    let body = p.parse_pattern()?;
    Ok(match anchoring {
        Anchoring::Search => body,
        Anchoring::Whole => format!("\\A(?:{body})\\z"),
    })
}

// ---------------------------------------------------------------------------
// Constant translations

/// Java `.` without DOTALL / UNIX_LINES.
const DOT: &str = r"[^\n\r\x{85}\x{2028}\x{2029}]";
/// Java `.` with UNIX_LINES.
const UNIX_DOT: &str = r"[^\n]";
/// Java `.` with DOTALL.
const ALL_DOT: &str = r"(?s:.)";
/// `$` / `\Z` without MULTILINE: end, or before a final line terminator
/// (never between `\r` and `\n`).
const DOLLAR: &str = r"(?=(?:\r\n|(?<!\r)\n|[\r\x{85}\x{2028}\x{2029}])?\z)";
/// `$` with MULTILINE.
const DOLLAR_M: &str = r"(?=(?<!\r)\n|[\r\x{85}\x{2028}\x{2029}]|\z)";
/// `$` / `\Z` with UNIX_LINES.
const UNIX_DOLLAR: &str = r"(?=\n?\z)";
/// `$` with UNIX_LINES and MULTILINE.
const UNIX_DOLLAR_M: &str = r"(?=\n|\z)";
/// `^` with MULTILINE (never at the end of input, never between `\r\n`).
const CARET_M: &str = r"(?:\A|(?<=[\n\x{85}\x{2028}\x{2029}])|(?<=\r)(?!\n))(?!\z)";
/// `^` with MULTILINE and UNIX_LINES.
const UNIX_CARET_M: &str = r"(?:\A|(?<=\n))(?!\z)";
/// `\R` (JDK 9+: backtracks from `\r\n` to `\r`).
const LINE_ENDING: &str = r"(?:\r\n|[\n\x{B}\x{C}\r\x{85}\x{2028}\x{2029}])";
/// Java's word test for `\b` (JDK 19+): ASCII word char, or a non-spacing mark
/// whose base character (before a run of marks) is a letter or digit.
const WORD_BEFORE: &str = r"(?:(?<=[A-Za-z0-9_])|(?<=[\p{L}\p{Nd}]\p{Mn}+))";
const WORD_AFTER: &str = r"(?:(?=[A-Za-z0-9_])|(?=\p{Mn})(?<=[\p{L}\p{Nd}]\p{Mn}*))";

const ASCII_DIGIT: &str = "0-9";
const ASCII_SPACE: &str = r"\t\n\x{B}\x{C}\r\x{20}";
const ASCII_WORD: &str = "a-zA-Z0-9_";
const HORIZ_WS: &str = r"\t\x{20}\x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}";
const VERT_WS: &str = r"\n\x{B}\x{C}\r\x{85}\x{2028}\x{2029}";
/// A class member that matches nothing.
const EMPTY_SET: &str = r"[^\x{0}-\x{10FFFF}]";
/// Placeholder for Java's shared `BitClass` inside a class expression (see
/// `class_body`); never produced by escaping because NUL is always escaped.
const BITS: &str = "\u{0}BITS\u{0}";

// Unicode predicate bodies (items usable inside a class).
const U_LOWER_CI: &str = r"\p{Lowercase}\p{Uppercase}\p{Lt}";
const U_WHITE_SPACE: &str = r"\t-\r\x{85}\p{Zs}\p{Zl}\p{Zp}";
const U_WORD: &str = r"\p{Alphabetic}\p{Mn}\p{Me}\p{Mc}\p{Nd}\p{Pc}\p{Join_Control}";
const U_HEX_DIGIT: &str = r"\p{Nd}\p{Hex_Digit}";
const U_GRAPH: &str = r"[^\p{Z}\p{Cc}\p{Cs}\p{Cn}]";
const U_PRINT: &str = r"\p{Zs}[^\p{Z}\p{Cc}\p{Cs}\p{Cn}]";
const IDENT_IGNORABLE: &str = r"\x{0}-\x{8}\x{E}-\x{1B}\x{7F}-\x{9F}\p{Cf}";

// ---------------------------------------------------------------------------
// Output pieces

/// What kind of `fancy-regex` expression an emitted piece is; decides how a
/// quantifier can be attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Emits nothing that matches (`""`, `(?:)`, a flag group's body...).
    Empty,
    /// A zero-width assertion; `fancy-regex` refuses to repeat look-arounds.
    ZeroWidth,
    /// One repeatable atom.
    Single,
    /// Several atoms; needs `(?:...)` before a quantifier.
    Multi,
}

/// One emitted piece of pattern.
#[derive(Debug, Clone)]
struct Atom {
    text: String,
    kind: Kind,
    /// Java's `TreeInfo.deterministic` for this piece: false once it contains
    /// an alternation or a variable quantifier.
    det: bool,
    /// Contains a `\R` outside look-arounds.
    has_r: bool,
    /// A capturing or non-capturing group (Java quantifies groups with
    /// `GroupCurly`/`Loop`, and `?` on a group with a branch).
    group: bool,
}

impl Atom {
    fn new(text: impl Into<String>, kind: Kind) -> Self {
        Atom {
            text: text.into(),
            kind,
            det: true,
            has_r: false,
            group: false,
        }
    }
    fn empty() -> Self {
        Atom::new("", Kind::Empty)
    }
}

/// A character set: union `items` (class members), possibly complemented.
#[derive(Debug, Clone)]
struct Set {
    items: String,
    neg: bool,
}

impl Set {
    fn pos(items: impl Into<String>) -> Self {
        Set {
            items: items.into(),
            neg: false,
        }
    }
    fn neg(items: impl Into<String>) -> Self {
        Set {
            items: items.into(),
            neg: true,
        }
    }
    /// As a stand-alone atom.
    fn outside(&self) -> String {
        if self.neg {
            format!("[^{}]", self.items)
        } else {
            format!("[{}]", self.items)
        }
    }
    /// As a member of an enclosing class.
    fn inside(&self) -> String {
        if self.neg {
            format!("[^{}]", self.items)
        } else {
            self.items.clone()
        }
    }
}

/// Result of parsing one escape sequence.
enum Esc {
    Char(char),
    Set(Set),
    /// An assertion, back-reference or sequence (outside classes only).
    Node(Atom),
}

/// Writes `c` so that `fancy-regex` reads it as that literal character, both
/// inside and outside a character class.
fn push_escaped(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || c == ' ' || c == '<' || c == '>' {
        // `\<` and `\>` are word-boundary assertions in fancy-regex.
        out.push(c);
    } else if c.is_ascii_punctuation() {
        out.push('\\');
        out.push(c);
    } else if !c.is_ascii() && c.is_alphanumeric() {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:X}}}", u32::from(c));
    }
}

fn escaped(c: char) -> String {
    let mut s = String::new();
    push_escaped(&mut s, c);
    s
}

/// Concatenates class members, keeping a member that starts with `:` away
/// from the front: `fancy-regex` hands classes to `regex-syntax`, which would
/// read `[:alpha:]` at the start of a nested class as a POSIX class even when
/// the colon was escaped.
fn join_items(items: &[String]) -> String {
    let (colon, rest): (Vec<&String>, Vec<&String>) = items
        .iter()
        .partition(|s| s.starts_with("\\:") || s.starts_with(':'));
    let mut out = String::new();
    for s in rest.into_iter().chain(colon) {
        out.push_str(s);
    }
    out
}

fn is_java_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{B}' | '\u{C}' | '\r')
}

/// Java's `RemoveQEQuoting`: rewrites every `\Q...\E` into escaped characters
/// before parsing. Returns the rewritten text and, for each of its characters
/// (plus one past the end), the offset of the original character.
fn remove_qe_quoting(java: &str) -> (Vec<char>, Vec<usize>) {
    let src: Vec<char> = java.chars().collect();
    let n = src.len();
    let mut i = 0;
    while i + 1 < n {
        if src[i] != '\\' {
            i += 1;
        } else if src[i + 1] != 'Q' {
            i += 2;
        } else {
            break;
        }
    }
    if i + 1 >= n {
        return (src, (0..=n).collect());
    }
    let mut out: Vec<char> = src[..i].to_vec();
    let mut orig: Vec<usize> = (0..i).collect();
    let mut push = |c: char, at: usize, out: &mut Vec<char>| {
        out.push(c);
        orig.push(at);
    };
    i += 2;
    let mut in_quote = true;
    let mut begin_quote = true;
    while i < n {
        let at = i;
        let c = src[i];
        i += 1;
        if !c.is_ascii() || c.is_ascii_alphabetic() {
            push(c, at, &mut out);
        } else if c.is_ascii_digit() {
            if begin_quote {
                // `\x3N`: keeps the digit from extending a preceding escape.
                push('\\', at, &mut out);
                push('x', at, &mut out);
                push('3', at, &mut out);
            }
            push(c, at, &mut out);
        } else if c != '\\' {
            if in_quote {
                push('\\', at, &mut out);
            }
            push(c, at, &mut out);
        } else if in_quote {
            if src.get(i) == Some(&'E') {
                i += 1;
                in_quote = false;
            } else {
                push('\\', at, &mut out);
                push('\\', at, &mut out);
            }
        } else if src.get(i) == Some(&'Q') {
            i += 1;
            in_quote = true;
            begin_quote = true;
            continue;
        } else {
            push(c, at, &mut out);
            if i != n {
                push(src[i], i, &mut out);
                i += 1;
            }
        }
        begin_quote = false;
    }
    orig.push(n);
    (out, orig)
}

// ---------------------------------------------------------------------------
// Parser

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    /// CASE_INSENSITIVE
    i: bool,
    /// MULTILINE
    m: bool,
    /// DOTALL
    s: bool,
    /// UNIX_LINES
    d: bool,
    /// COMMENTS
    x: bool,
    /// UNICODE_CASE
    u: bool,
    /// UNICODE_CHARACTER_CLASS (`U`)
    uc: bool,
}

struct Parser<'a> {
    s: &'a [char],
    orig: &'a [usize],
    pos: usize,
    flags: Flags,
    groups_opened: usize,
    /// Number of capture groups in the whole pattern (second pass only).
    total_groups: Option<usize>,
    names: Vec<String>,
    /// Current nesting of groups and classes (bounded to protect the stack).
    depth: usize,
}

/// Deepest group/class nesting accepted (`fancy-regex` itself refuses more
/// than 64 nested groups).
const MAX_DEPTH: usize = 200;

type Res<T> = Result<T, JavaRegexError>;

impl<'a> Parser<'a> {
    fn new(s: &'a [char], orig: &'a [usize], ci: bool, total_groups: Option<usize>) -> Self {
        Parser {
            s,
            orig,
            pos: 0,
            flags: Flags {
                i: ci,
                ..Flags::default()
            },
            groups_opened: 0,
            total_groups,
            names: Vec::new(),
            depth: 0,
        }
    }

    // -- helpers ----------------------------------------------------------

    fn offset(&self, at: usize) -> usize {
        self.orig
            .get(at)
            .or_else(|| self.orig.last())
            .copied()
            .unwrap_or(0)
    }

    fn invalid(&self, at: usize, message: impl Into<String>) -> JavaRegexError {
        JavaRegexError::Invalid {
            message: message.into(),
            offset: self.offset(at),
        }
    }

    fn unsupported(&self, at: usize, construct: impl Into<String>) -> JavaRegexError {
        JavaRegexError::Unsupported {
            construct: construct.into(),
            offset: self.offset(at),
        }
    }

    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.s.get(self.pos + k).copied()
    }

    fn is_line_separator(&self, c: char) -> bool {
        if self.flags.d {
            c == '\n'
        } else {
            matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
        }
    }

    /// Java `peekPastWhitespace`: in comments mode skip ASCII whitespace and
    /// `#` comments (a comment stops before the line separator, which is then
    /// skipped only if it is ASCII whitespace, exactly like the JDK).
    fn skip_ws(&mut self) {
        if !self.flags.x {
            return;
        }
        loop {
            match self.peek() {
                Some(c) if is_java_space(c) => self.pos += 1,
                Some('#') => {
                    self.pos += 1;
                    while let Some(c) = self.peek() {
                        if c == '\0' || self.is_line_separator(c) {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    // -- structure --------------------------------------------------------

    fn parse_pattern(&mut self) -> Res<String> {
        let text = self.parse_alternation()?.text;
        self.skip_ws();
        match self.peek() {
            None => Ok(text),
            Some(')') => Err(self.invalid(self.pos, "unmatched closing ')'")),
            Some(_) => Err(self.invalid(self.pos, "unexpected internal error")),
        }
    }

    /// Java `expr`: branches separated by `|`. Returns the text and the kind
    /// of the whole (for a group around it).
    fn parse_alternation(&mut self) -> Res<Atom> {
        let mut text = String::new();
        let (mut any_zero_width, mut any_matching) = (false, false);
        let (mut det, mut has_r) = (true, false);
        loop {
            for atom in self.parse_sequence()? {
                match atom.kind {
                    Kind::Empty => {}
                    Kind::ZeroWidth => any_zero_width = true,
                    Kind::Single | Kind::Multi => any_matching = true,
                }
                det &= atom.det;
                has_r |= atom.has_r;
                text.push_str(&atom.text);
            }
            self.skip_ws();
            if self.peek() == Some('|') {
                self.pos += 1;
                text.push('|');
                det = false;
            } else {
                break;
            }
        }
        let kind = if any_matching {
            Kind::Single
        } else if any_zero_width {
            Kind::ZeroWidth
        } else {
            Kind::Empty
        };
        Ok(Atom {
            text,
            kind,
            det,
            has_r,
            group: false,
        })
    }

    /// Java `sequence`: atoms with their quantifiers up to `|`, `)` or the end.
    fn parse_sequence(&mut self) -> Res<Vec<Atom>> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            let start = self.pos;
            let Some(c) = self.peek() else { break };
            let atom = match c {
                '|' | ')' => break,
                '(' => match self.parse_group()? {
                    Some(atom) => atom,
                    None => continue,
                },
                '[' => {
                    self.pos += 1;
                    let class = self.class_body(true, start)?;
                    if self.flags.i && self.flags.u {
                        Atom::new(format!("(?i:{class})"), Kind::Single)
                    } else {
                        Atom::new(class, Kind::Single)
                    }
                }
                '\\' => {
                    if matches!(self.peek_at(1), Some('p' | 'P')) {
                        Atom::new(self.parse_property()?.outside(), Kind::Single)
                    } else {
                        match self.parse_escape(false, false)? {
                            Esc::Char(c) => self.literal(c),
                            Esc::Set(set) => Atom::new(set.outside(), Kind::Single),
                            Esc::Node(atom) => atom,
                        }
                    }
                }
                '^' => {
                    self.pos += 1;
                    match (self.flags.m, self.flags.d) {
                        (false, _) => Atom::new(r"\A", Kind::ZeroWidth),
                        (true, false) => Atom::new(CARET_M, Kind::ZeroWidth),
                        (true, true) => Atom::new(UNIX_CARET_M, Kind::ZeroWidth),
                    }
                }
                '$' => {
                    self.pos += 1;
                    self.dollar(self.flags.m)
                }
                '.' => {
                    self.pos += 1;
                    if self.flags.s {
                        Atom::new(ALL_DOT, Kind::Single)
                    } else if self.flags.d {
                        Atom::new(UNIX_DOT, Kind::Single)
                    } else {
                        Atom::new(DOT, Kind::Single)
                    }
                }
                '?' | '*' | '+' => {
                    return Err(self.invalid(start, format!("dangling meta character '{c}'")));
                }
                // Java: an empty atom; the quantifier parser below either reads
                // a counted closure or reports "illegal repetition".
                '{' => Atom::empty(),
                _ => {
                    self.pos += 1;
                    self.literal(c)
                }
            };
            let atom = self.parse_quantifier(atom)?;
            items.push(atom);
        }
        Ok(items)
    }

    fn dollar(&self, multiline: bool) -> Atom {
        let text = match (self.flags.d, multiline) {
            (false, false) => DOLLAR,
            (false, true) => DOLLAR_M,
            (true, false) => UNIX_DOLLAR,
            (true, true) => UNIX_DOLLAR_M,
        };
        Atom::new(text, Kind::ZeroWidth)
    }

    /// A literal character outside a class, honouring the case flags.
    fn literal(&self, c: char) -> Atom {
        if self.flags.i {
            if self.flags.u {
                if !c.is_ascii() || c.is_ascii_alphabetic() {
                    return Atom::new(format!("(?i:{})", escaped(c)), Kind::Single);
                }
            } else if c.is_ascii_alphabetic() {
                return Atom::new(
                    format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase()),
                    Kind::Single,
                );
            }
        }
        Atom::new(escaped(c), Kind::Single)
    }

    /// Reads decimal digits of a counted closure (Java skips comments-mode
    /// whitespace between them).
    fn read_count(&mut self, at: usize) -> Res<Option<u32>> {
        let mut value: Option<u32> = None;
        loop {
            self.skip_ws();
            match self.peek().and_then(|c| c.to_digit(10)) {
                Some(d) => {
                    let v = value
                        .unwrap_or(0)
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(d))
                        .filter(|v| *v <= i32::MAX as u32)
                        .ok_or_else(|| self.invalid(at, "illegal repetition range"))?;
                    value = Some(v);
                    self.pos += 1;
                }
                None => return Ok(value),
            }
        }
    }

    /// Java `closure`: an optional quantifier after `atom`.
    fn parse_quantifier(&mut self, atom: Atom) -> Res<Atom> {
        self.skip_ws();
        let qstart = self.pos;
        let (min, max): (u32, Option<u32>) = match self.peek() {
            Some('?') => {
                self.pos += 1;
                (0, Some(1))
            }
            Some('*') => {
                self.pos += 1;
                (0, None)
            }
            Some('+') => {
                self.pos += 1;
                (1, None)
            }
            Some('{') => {
                if !matches!(self.peek_at(1), Some(d) if d.is_ascii_digit()) {
                    return Err(self.invalid(qstart, "illegal repetition"));
                }
                self.pos += 1;
                let min = self.read_count(qstart)?.unwrap_or(0);
                self.skip_ws();
                let max = if self.peek() == Some(',') {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some('}') {
                        None
                    } else {
                        match self.read_count(qstart)? {
                            Some(v) => Some(v),
                            None => return Err(self.invalid(qstart, "unclosed counted closure")),
                        }
                    }
                } else {
                    Some(min)
                };
                self.skip_ws();
                if self.peek() != Some('}') {
                    return Err(self.invalid(qstart, "unclosed counted closure"));
                }
                self.pos += 1;
                if max.is_some_and(|m| m < min) {
                    return Err(self.invalid(qstart, "illegal repetition range"));
                }
                (min, max)
            }
            _ => return Ok(atom),
        };
        self.skip_ws();
        let modifier = match self.peek() {
            Some('?') => {
                self.pos += 1;
                "?"
            }
            Some('+') => {
                self.pos += 1;
                "+"
            }
            _ => "",
        };
        let quant = match (min, max) {
            (0, Some(1)) => "?".to_string(),
            (0, None) => "*".to_string(),
            (1, None) => "+".to_string(),
            (n, None) => format!("{{{n},}}"),
            (n, Some(m)) if n == m => format!("{{{n}}}"),
            (n, Some(m)) => format!("{{{n},{m}}}"),
        };
        // Java matches each iteration of a quantified `\R` (and of a
        // deterministic group, which it repeats with `GroupCurly`) without
        // backtracking into it afterwards; a group under `?` becomes a branch.
        let java_ques = min == 0 && max == Some(1);
        let atomic_iterations = atom.has_r && (!atom.group || (atom.det && !java_ques));
        let det = atom.det && max == Some(min);
        let has_r = atom.has_r;
        let atom = if atomic_iterations {
            Atom::new(format!("(?>{})", atom.text), Kind::Single)
        } else {
            atom
        };
        let mut out = match atom.kind {
            Kind::Empty => Atom::empty(),
            // fancy-regex refuses to repeat a look-around; for a zero-width
            // atom `X{n,}` (n >= 1) is `X`, `X{0}` is nothing, and the
            // optional forms try `X` once in Java's order.
            Kind::ZeroWidth => {
                if max == Some(0) {
                    Atom::empty()
                } else if min >= 1 {
                    atom
                } else {
                    let text = match modifier {
                        "?" => format!("(?:|{})", atom.text),
                        "+" => format!("(?>{}|)", atom.text),
                        _ => format!("(?:{}|)", atom.text),
                    };
                    Atom::new(text, Kind::ZeroWidth)
                }
            }
            Kind::Single => Atom::new(format!("{}{quant}{modifier}", atom.text), Kind::Multi),
            Kind::Multi => Atom::new(format!("(?:{}){quant}{modifier}", atom.text), Kind::Multi),
        };
        out.det = det;
        out.has_r = has_r;
        Ok(out)
    }

    /// Java `group0`. Returns `None` for a flags-only group `(?i)`.
    fn parse_group(&mut self) -> Res<Option<Atom>> {
        let open = self.pos;
        self.enter(open)?;
        let result = self.parse_group_inner(open);
        self.depth -= 1;
        result
    }

    fn enter(&mut self, at: usize) -> Res<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.unsupported(
                at,
                format!("nesting of groups or classes deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn parse_group_inner(&mut self, open: usize) -> Res<Option<Atom>> {
        self.pos += 1;
        let saved = self.flags;
        self.skip_ws();
        let mut zero_width = false;
        let mut transparent = false; // non-capturing: kind comes from the body
        let prefix: String = if self.peek() == Some('?') {
            self.pos += 1;
            let c = self.peek();
            match c {
                Some(':') => {
                    self.pos += 1;
                    transparent = true;
                    "(?:".into()
                }
                Some('=') | Some('!') => {
                    self.pos += 1;
                    zero_width = true;
                    if c == Some('=') { "(?=" } else { "(?!" }.into()
                }
                Some('>') => {
                    self.pos += 1;
                    "(?>".into()
                }
                Some('<') => {
                    self.pos += 1;
                    self.skip_ws();
                    match self.peek() {
                        Some('=') => {
                            self.pos += 1;
                            zero_width = true;
                            "(?<=".into()
                        }
                        Some('!') => {
                            self.pos += 1;
                            zero_width = true;
                            "(?<!".into()
                        }
                        _ => {
                            let name = self.group_name()?;
                            if self.names.contains(&name) {
                                return Err(self.invalid(
                                    self.pos,
                                    format!("named capturing group <{name}> is already defined"),
                                ));
                            }
                            self.names.push(name.clone());
                            self.groups_opened += 1;
                            format!("(?<{name}>")
                        }
                    }
                }
                Some('$') | Some('@') => {
                    return Err(self.invalid(self.pos, "unknown group type"));
                }
                _ => {
                    self.parse_flags()?;
                    self.skip_ws();
                    match self.peek() {
                        Some(')') => {
                            self.pos += 1;
                            // Inline modifier only: the flags stay in force
                            // until the end of the enclosing group.
                            return Ok(None);
                        }
                        Some(':') => {
                            self.pos += 1;
                            transparent = true;
                            "(?:".into()
                        }
                        _ => return Err(self.invalid(self.pos, "unknown inline modifier")),
                    }
                }
            }
        } else {
            self.groups_opened += 1;
            "(".into()
        };
        let body = self.parse_alternation()?;
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(self.invalid(open, "unclosed group"));
        }
        self.pos += 1;
        self.flags = saved;
        let kind = if zero_width {
            Kind::ZeroWidth
        } else if transparent {
            body.kind
        } else {
            Kind::Single
        };
        Ok(Some(Atom {
            text: format!("{prefix}{})", body.text),
            kind,
            det: body.det,
            // look-arounds are atomic in both engines
            has_r: body.has_r && !zero_width,
            group: !zero_width && prefix != "(?>",
        }))
    }

    /// Java `groupname`: an ASCII letter followed by letters and digits, then `>`.
    fn group_name(&mut self) -> Res<String> {
        let start = self.pos;
        let mut name = String::new();
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() => {}
            _ => {
                return Err(self.invalid(
                    start,
                    "capturing group name does not start with a Latin letter",
                ));
            }
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() {
                name.push(c);
                self.pos += 1;
                self.skip_ws();
            } else {
                break;
            }
        }
        if self.peek() != Some('>') {
            return Err(self.invalid(self.pos, "named capturing group is missing trailing '>'"));
        }
        self.pos += 1;
        Ok(name)
    }

    /// Java `addFlag` / `subFlag`.
    fn parse_flags(&mut self) -> Res<()> {
        self.skip_ws();
        let mut on = true;
        loop {
            let Some(c) = self.peek() else { return Ok(()) };
            match c {
                'i' => self.flags.i = on,
                'm' => self.flags.m = on,
                's' => self.flags.s = on,
                'd' => self.flags.d = on,
                'x' => self.flags.x = on,
                'u' => self.flags.u = on,
                'U' => {
                    self.flags.uc = on;
                    self.flags.u = on;
                }
                'c' => {
                    if on {
                        return Err(
                            self.unsupported(self.pos, "`(?c)` (CANON_EQ, canonical equivalence)")
                        );
                    }
                }
                '-' if on => on = false,
                _ => return Ok(()),
            }
            self.pos += 1;
            self.skip_ws();
        }
    }

    // -- escapes ----------------------------------------------------------

    /// Java `escape`. `self.pos` is at the backslash.
    fn parse_escape(&mut self, in_class: bool, is_range: bool) -> Res<Esc> {
        let start = self.pos;
        let Some(c) = self.peek_at(1) else {
            return Err(self.invalid(start, "unexpected internal error (trailing backslash)"));
        };
        self.pos += 2;
        let uc = self.flags.uc;
        let illegal =
            |p: &Self| p.invalid(start, format!("illegal/unsupported escape sequence \\{c}"));
        let esc = match c {
            '0' => Esc::Char(self.octal(start)?),
            '1'..='9' if !in_class => Esc::Node(self.backref(c)),
            'A' if !in_class => Esc::Node(Atom::new(r"\A", Kind::ZeroWidth)),
            'z' if !in_class => Esc::Node(Atom::new(r"\z", Kind::ZeroWidth)),
            'G' if !in_class => Esc::Node(Atom::new(r"\G", Kind::ZeroWidth)),
            'Z' if !in_class => Esc::Node(self.dollar(false)),
            'R' if !in_class => Esc::Node(Atom {
                has_r: true,
                ..Atom::new(LINE_ENDING, Kind::Single)
            }),
            'X' if !in_class => {
                return Err(self.unsupported(start, "`\\X` (grapheme cluster)"));
            }
            'b' if !in_class => {
                let save = self.pos;
                self.skip_ws();
                if self.peek() == Some('{') && self.peek_at(1) == Some('g') {
                    self.pos += 2;
                    self.skip_ws();
                    if self.peek() == Some('}') {
                        return Err(self.unsupported(start, "`\\b{g}` (grapheme cluster boundary)"));
                    }
                    return Err(illegal(self));
                }
                self.pos = save;
                if uc {
                    Esc::Node(Atom::new(r"\b", Kind::ZeroWidth))
                } else {
                    Esc::Node(Atom::new(
                        format!("(?:{WORD_BEFORE}(?!{WORD_AFTER})|(?!{WORD_BEFORE}){WORD_AFTER})"),
                        Kind::ZeroWidth,
                    ))
                }
            }
            'B' if !in_class => {
                if uc {
                    Esc::Node(Atom::new(r"\B", Kind::ZeroWidth))
                } else {
                    Esc::Node(Atom::new(
                        format!("(?:{WORD_BEFORE}{WORD_AFTER}|(?!{WORD_BEFORE})(?!{WORD_AFTER}))"),
                        Kind::ZeroWidth,
                    ))
                }
            }
            'k' if !in_class => Esc::Node(self.named_backref(start)?),
            'd' => Esc::Set(if uc {
                Set::pos(r"\d")
            } else {
                Set::pos(ASCII_DIGIT)
            }),
            'D' => Esc::Set(if uc {
                Set::neg(r"\d")
            } else {
                Set::neg(ASCII_DIGIT)
            }),
            's' => Esc::Set(if uc {
                Set::pos(r"\s")
            } else {
                Set::pos(ASCII_SPACE)
            }),
            'S' => Esc::Set(if uc {
                Set::neg(r"\s")
            } else {
                Set::neg(ASCII_SPACE)
            }),
            'w' => Esc::Set(if uc {
                Set::pos(r"\w")
            } else {
                Set::pos(ASCII_WORD)
            }),
            'W' => Esc::Set(if uc {
                Set::neg(r"\w")
            } else {
                Set::neg(ASCII_WORD)
            }),
            'h' => Esc::Set(Set::pos(HORIZ_WS)),
            'H' => Esc::Set(Set::neg(HORIZ_WS)),
            'v' if is_range => Esc::Char('\u{B}'),
            'v' => Esc::Set(Set::pos(VERT_WS)),
            'V' => Esc::Set(Set::neg(VERT_WS)),
            'a' => Esc::Char('\u{7}'),
            'e' => Esc::Char('\u{1B}'),
            'f' => Esc::Char('\u{C}'),
            'n' => Esc::Char('\n'),
            'r' => Esc::Char('\r'),
            't' => Esc::Char('\t'),
            'c' => {
                let Some(x) = self.peek() else {
                    return Err(self.invalid(start, "illegal control escape sequence"));
                };
                self.pos += 1;
                match char::from_u32(u32::from(x) ^ 64) {
                    Some(ch) => Esc::Char(ch),
                    None => return Err(self.unsupported(start, "a lone surrogate")),
                }
            }
            'x' => Esc::Char(self.hex_escape(start)?),
            'u' => Esc::Char(self.unicode_escape(start)?),
            'N' => {
                if self.peek() != Some('{') {
                    return Err(self.invalid(start, "illegal character name escape sequence"));
                }
                while self.peek().is_some_and(|c| c != '}') {
                    self.pos += 1;
                }
                if self.peek().is_none() {
                    return Err(self.invalid(start, "unclosed character name escape sequence"));
                }
                self.pos += 1;
                return Err(self.unsupported(
                    start,
                    "`\\N{NAME}` (character by Unicode name; no name table available)",
                ));
            }
            c if c.is_ascii_alphanumeric() => return Err(illegal(self)),
            c => Esc::Char(c),
        };
        Ok(esc)
    }

    /// Java `o()`: `\0n`, `\0nn`, `\0mnn` (m <= 3). `self.pos` is after `\0`.
    fn octal(&mut self, start: usize) -> Res<char> {
        let digit = |c: Option<char>| {
            c.filter(|c| ('0'..='7').contains(c))
                .and_then(|c| c.to_digit(8))
        };
        let Some(n) = digit(self.peek()) else {
            return Err(self.invalid(start, "illegal octal escape sequence"));
        };
        self.pos += 1;
        let Some(m) = digit(self.peek()) else {
            return Ok(char::from(n as u8));
        };
        self.pos += 1;
        if let Some(o) = digit(self.peek()).filter(|_| n <= 3) {
            self.pos += 1;
            return Ok(char::from((n * 64 + m * 8 + o) as u8));
        }
        Ok(char::from((n * 8 + m) as u8))
    }

    /// Java `x()`: `\xhh` or `\x{h...}`. `self.pos` is after `\x`.
    fn hex_escape(&mut self, start: usize) -> Res<char> {
        let hex = |c: Option<char>| c.and_then(|c| c.to_digit(16));
        let value = if let (Some(a), Some(b)) = (hex(self.peek()), hex(self.peek_at(1))) {
            self.pos += 2;
            a * 16 + b
        } else if self.peek() == Some('{') && hex(self.peek_at(1)).is_some() {
            self.pos += 1;
            let mut v: u32 = 0;
            while let Some(d) = hex(self.peek()) {
                v = v * 16 + d;
                if v > 0x10FFFF {
                    return Err(self.invalid(start, "hexadecimal codepoint is too big"));
                }
                self.pos += 1;
            }
            if self.peek() != Some('}') {
                return Err(self.invalid(start, "unclosed hexadecimal escape sequence"));
            }
            self.pos += 1;
            v
        } else {
            return Err(self.invalid(start, "illegal hexadecimal escape sequence"));
        };
        char::from_u32(value)
            .ok_or_else(|| self.unsupported(start, "a lone surrogate (cannot occur in Rust text)"))
    }

    fn four_hex(&mut self, start: usize) -> Res<u32> {
        let mut v = 0;
        for _ in 0..4 {
            match self.peek().and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    self.pos += 1;
                }
                None => return Err(self.invalid(start, "illegal Unicode escape sequence")),
            }
        }
        Ok(v)
    }

    /// Java `u()`: `\uhhhh`, combining a surrogate pair `\uD83D\uDE00`.
    fn unicode_escape(&mut self, start: usize) -> Res<char> {
        let n = self.four_hex(start)?;
        if (0xD800..0xDC00).contains(&n) {
            let save = self.pos;
            if self.peek() == Some('\\') && self.peek_at(1) == Some('u') {
                self.pos += 2;
                let pair = self
                    .four_hex(start)
                    .ok()
                    .filter(|n2| (0xDC00..0xE000).contains(n2))
                    .and_then(|n2| char::from_u32(0x10000 + ((n - 0xD800) << 10) + (n2 - 0xDC00)));
                if let Some(c) = pair {
                    return Ok(c);
                }
            }
            self.pos = save;
        }
        char::from_u32(n)
            .ok_or_else(|| self.unsupported(start, "a lone surrogate (cannot occur in Rust text)"))
    }

    /// Java `ref()`: `\n` back-reference, taking more digits while the
    /// resulting group number exists at this point.
    fn backref(&mut self, first: char) -> Atom {
        let mut n = first.to_digit(10).unwrap_or(0) as usize;
        loop {
            self.skip_ws();
            match self.peek().and_then(|c| c.to_digit(10)) {
                Some(d) if n * 10 + (d as usize) <= self.groups_opened => {
                    n = n * 10 + d as usize;
                    self.pos += 1;
                }
                _ => break,
            }
        }
        if self.total_groups.is_some_and(|total| n > total) {
            // Java: a reference to a group that does not exist never matches.
            return Atom::new("(?!)", Kind::ZeroWidth);
        }
        let text = if self.flags.i {
            format!("(?i:\\{n})")
        } else {
            format!("(?:\\{n})")
        };
        Atom::new(text, Kind::Single)
    }

    /// `\k<name>`; `self.pos` is after `\k`.
    fn named_backref(&mut self, start: usize) -> Res<Atom> {
        self.skip_ws();
        if self.peek() != Some('<') {
            return Err(self.invalid(
                start,
                "\\k is not followed by '<' for named capturing group",
            ));
        }
        self.pos += 1;
        self.skip_ws();
        let name = self.group_name()?;
        if !self.names.contains(&name) {
            return Err(self.invalid(
                start,
                format!("named capturing group <{name}> does not exist"),
            ));
        }
        let text = if self.flags.i {
            format!("(?i:\\k<{name}>)")
        } else {
            format!("(?:\\k<{name}>)")
        };
        Ok(Atom::new(text, Kind::Single))
    }

    // -- properties -------------------------------------------------------

    /// Java `family`: `\p{...}`, `\pL`, `\P...`. `self.pos` is at the backslash.
    fn parse_property(&mut self) -> Res<Set> {
        let start = self.pos;
        let complement = self.peek_at(1) == Some('P');
        self.pos += 2;
        let name: String = if self.peek() == Some('{') {
            self.pos += 1;
            let name_start = self.pos;
            while self.peek().is_some_and(|c| c != '}') {
                self.pos += 1;
            }
            if self.peek().is_none() {
                return Err(self.invalid(start, "unclosed character family"));
            }
            let name: String = self.s[name_start..self.pos].iter().collect();
            self.pos += 1;
            if name.is_empty() {
                return Err(self.invalid(start, "empty character family"));
            }
            name
        } else {
            match self.peek() {
                Some(c) => {
                    self.pos += 1;
                    c.to_string()
                }
                None => return Err(self.invalid(start, "illegal character family")),
            }
        };
        let items = self.property_items(&name, start)?;
        Ok(Set {
            items,
            neg: complement,
        })
    }

    fn property_items(&self, name: &str, start: usize) -> Res<String> {
        let ci = self.flags.i;
        let unknown = || self.invalid(start, format!("unknown character property name {{{name}}}"));
        if let Some(eq) = name.find('=') {
            let key = name[..eq].to_ascii_lowercase();
            let value = &name[eq + 1..];
            return match key.as_str() {
                "sc" | "script" => script(value).ok_or_else(unknown),
                "blk" | "block" => {
                    Err(self.unsupported(start, format!("`\\p{{{name}}}` (Unicode block)")))
                }
                "gc" | "general_category" => java_property(value, ci).ok_or_else(unknown),
                _ => Err(unknown()),
            };
        }
        if name.starts_with("In") {
            return Err(self.unsupported(start, format!("`\\p{{{name}}}` (Unicode block)")));
        }
        if let Some(short) = name.strip_prefix("Is") {
            let upper = short.to_ascii_uppercase();
            return unicode_property(&upper, ci)
                .or_else(|| posix_unicode(&upper, ci))
                .or_else(|| java_property(short, ci))
                .or_else(|| script(short))
                .ok_or_else(unknown);
        }
        let posix = if self.flags.uc {
            posix_unicode(&name.to_ascii_uppercase(), ci)
        } else {
            None
        };
        posix
            .or_else(|| java_property(name, ci))
            .ok_or_else(unknown)
    }

    // -- character classes ------------------------------------------------

    /// Java `clazz`. With `bracketed`, the opening `[` was just consumed: a
    /// leading `^` negates and the closing `]` is consumed. Without it (the
    /// right operand of `&&`), parsing stops before the `]`. Returns a
    /// complete bracket expression.
    ///
    /// Like the JDK, single characters below U+0100 are collected in one
    /// shared set ("bits") whose final content is visible everywhere it was
    /// referenced (`BITS` placeholder), and unions bind tighter than `&&`.
    fn class_body(&mut self, bracketed: bool, open: usize) -> Res<String> {
        self.enter(open)?;
        let result = self.class_body_inner(bracketed, open);
        self.depth -= 1;
        result
    }

    fn class_body_inner(&mut self, bracketed: bool, open: usize) -> Res<String> {
        let mut negated = false;
        if bracketed && self.peek() == Some('^') {
            self.pos += 1;
            negated = true;
        }
        let mut prev: Option<Vec<String>> = None;
        let mut curr: Option<Vec<String>> = None;
        let mut bits: Vec<String> = Vec::new();
        let mut has_bits = false;
        loop {
            self.skip_ws();
            let Some(c) = self.peek() else {
                return Err(self.invalid(open, "unclosed character class"));
            };
            match c {
                '[' => {
                    let at = self.pos;
                    self.pos += 1;
                    let sub = vec![self.class_body(true, at)?];
                    union_into(&mut prev, &sub);
                    curr = Some(sub);
                    continue;
                }
                '&' => {
                    let save = self.pos;
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some('&') {
                        self.pos += 1;
                        let mut right: Option<Vec<String>> = None;
                        loop {
                            self.skip_ws();
                            match self.peek() {
                                None => return Err(self.invalid(open, "unclosed character class")),
                                Some(']') | Some('&') => break,
                                Some('[') => {
                                    let at = self.pos;
                                    self.pos += 1;
                                    let sub = self.class_body(true, at)?;
                                    right.get_or_insert_with(Vec::new).push(sub);
                                }
                                Some(_) => {
                                    let sub = self.class_body(false, open)?;
                                    right.get_or_insert_with(Vec::new).push(sub);
                                }
                            }
                        }
                        if has_bits {
                            match prev.as_mut() {
                                None => {
                                    prev = Some(vec![BITS.to_string()]);
                                    curr = prev.clone();
                                }
                                Some(p) => p.push(BITS.to_string()),
                            }
                            has_bits = false;
                        }
                        if right.is_some() {
                            curr = right.clone();
                        }
                        prev = match prev {
                            None => match right {
                                None => return Err(self.invalid(self.pos, "bad class syntax")),
                                Some(r) => Some(r),
                            },
                            Some(p) => {
                                let Some(c) = curr.as_ref() else {
                                    return Err(self.invalid(self.pos, "bad class syntax"));
                                };
                                Some(vec![format!("[{}&&{}]", join_items(&p), join_items(c))])
                            }
                        };
                        continue;
                    }
                    // A literal '&': handled as an ordinary character below.
                    self.pos = save;
                }
                ']' if prev.is_some() || has_bits => {
                    if bracketed {
                        self.pos += 1;
                    }
                    let mut items = match prev {
                        None => bits.clone(),
                        Some(mut p) => {
                            if has_bits {
                                p.extend(bits.iter().cloned());
                            }
                            p
                        }
                    };
                    let bits_class = if bits.is_empty() {
                        EMPTY_SET.to_string()
                    } else {
                        format!("[{}]", join_items(&bits))
                    };
                    for item in &mut items {
                        if item.contains(BITS) {
                            *item = item.replace(BITS, &bits_class);
                        }
                    }
                    let body = join_items(&items);
                    return Ok(if negated {
                        format!("[^{body}]")
                    } else {
                        format!("[{body}]")
                    });
                }
                _ => {}
            }
            match self.class_range(&mut bits, open)? {
                None => {
                    has_bits = true;
                    curr = None;
                }
                Some(items) => {
                    union_into(&mut prev, &items);
                    curr = Some(items);
                }
            }
        }
    }

    /// Java `range`: one character, range, escape or property inside a class.
    /// Returns `None` when the character went into `bits`.
    fn class_range(&mut self, bits: &mut Vec<String>, open: usize) -> Res<Option<Vec<String>>> {
        let start = self.pos;
        let ch = match self.peek() {
            Some('\\') => {
                if matches!(self.peek_at(1), Some('p' | 'P')) {
                    return Ok(Some(vec![self.parse_property()?.inside()]));
                }
                let is_range = self.peek_at(2) == Some('-');
                match self.parse_escape(true, is_range)? {
                    Esc::Char(c) => c,
                    Esc::Set(set) => return Ok(Some(vec![set.inside()])),
                    Esc::Node(_) => {
                        return Err(self.invalid(start, "illegal/unsupported escape sequence"));
                    }
                }
            }
            Some(c) => {
                self.pos += 1;
                c
            }
            None => return Err(self.invalid(open, "unclosed character class")),
        };
        self.skip_ws();
        if self.peek() == Some('-') {
            let end = self.peek_at(1);
            if end != Some('[') && end != Some(']') {
                self.pos += 1;
                self.skip_ws();
                let m = match self.peek() {
                    Some('\\') => match self.parse_escape(true, true)? {
                        Esc::Char(m) => m,
                        _ => return Err(self.invalid(start, "illegal character range")),
                    },
                    Some(m) => {
                        self.pos += 1;
                        m
                    }
                    None => return Err(self.invalid(open, "unclosed character class")),
                };
                if m < ch {
                    return Err(self.invalid(start, "illegal character range"));
                }
                return Ok(Some(vec![self.range_items(ch, m)]));
            }
        }
        Ok(self.bits_or_single(bits, ch))
    }

    /// Java `bitsOrSingle`.
    fn bits_or_single(&self, bits: &mut Vec<String>, ch: char) -> Option<Vec<String>> {
        let mut item = escaped(ch);
        if self.flags.i && !self.flags.u && ch.is_ascii_alphabetic() {
            let other = if ch.is_ascii_lowercase() {
                ch.to_ascii_uppercase()
            } else {
                ch.to_ascii_lowercase()
            };
            item.push(other);
        }
        if u32::from(ch) < 256 {
            bits.push(item);
            None
        } else {
            Some(vec![item])
        }
    }

    /// A range `lo-hi`; with ASCII case folding (Java `CIRange`), an ASCII
    /// letter also matches when its other case is in the range.
    fn range_items(&self, lo: char, hi: char) -> String {
        let mut out = format!("{}-{}", escaped(lo), escaped(hi));
        if self.flags.i && !self.flags.u {
            for (from, to, shift_up) in [('A', 'Z', true), ('a', 'z', false)] {
                let a = lo.max(from);
                let b = hi.min(to);
                if a <= b {
                    let shift = |c: char| {
                        if shift_up {
                            c.to_ascii_lowercase()
                        } else {
                            c.to_ascii_uppercase()
                        }
                    };
                    let _ = write!(out, "{}-{}", shift(a), shift(b));
                }
            }
        }
        out
    }
}

/// `prev = prev ∪ items` for class members.
fn union_into(prev: &mut Option<Vec<String>>, items: &[String]) {
    prev.get_or_insert_with(Vec::new)
        .extend(items.iter().cloned());
}

// ---------------------------------------------------------------------------
// Property tables (JDK `CharPredicates`)

fn cat(name: &str) -> String {
    format!("\\p{{{name}}}")
}

/// `UnicodeScript.forName`: enum constant names and ISO 15924 codes.
fn script(value: &str) -> Option<String> {
    if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some(format!("\\p{{sc={value}}}"))
}

/// `CharPredicates.getUnicodePredicate` (name upper-cased), for `\p{IsX}`.
fn unicode_property(upper: &str, ci: bool) -> Option<String> {
    let s = match upper {
        "ALPHABETIC" => r"\p{Alphabetic}",
        "ASSIGNED" => r"[^\p{Cn}]",
        "CONTROL" => r"\p{Cc}",
        "HEXDIGIT" | "HEX_DIGIT" => U_HEX_DIGIT,
        "IDEOGRAPHIC" => r"\p{Ideographic}",
        "JOINCONTROL" | "JOIN_CONTROL" => r"\p{Join_Control}",
        "LETTER" => r"\p{L}",
        "LOWERCASE" if ci => U_LOWER_CI,
        "LOWERCASE" => r"\p{Lowercase}",
        "UPPERCASE" if ci => U_LOWER_CI,
        "UPPERCASE" => r"\p{Uppercase}",
        "TITLECASE" if ci => U_LOWER_CI,
        "TITLECASE" => r"\p{Lt}",
        "NONCHARACTERCODEPOINT" | "NONCHARACTER_CODE_POINT" => r"\p{Noncharacter_Code_Point}",
        "PUNCTUATION" => r"\p{P}",
        "WHITESPACE" | "WHITE_SPACE" => U_WHITE_SPACE,
        "WORD" => U_WORD,
        // JDK 21+
        "EMOJI" => r"\p{Emoji}",
        "EMOJI_PRESENTATION" => r"\p{Emoji_Presentation}",
        "EMOJI_MODIFIER" => r"\p{Emoji_Modifier}",
        "EMOJI_MODIFIER_BASE" => r"\p{Emoji_Modifier_Base}",
        "EMOJI_COMPONENT" => r"\p{Emoji_Component}",
        "EXTENDED_PICTOGRAPHIC" => r"\p{Extended_Pictographic}",
        _ => return None,
    };
    Some(s.to_string())
}

/// `CharPredicates.getPosixPredicate` (name upper-cased): the Unicode POSIX
/// classes of `UNICODE_CHARACTER_CLASS` and of `\p{IsX}`.
fn posix_unicode(upper: &str, ci: bool) -> Option<String> {
    let s = match upper {
        "ALPHA" => r"\p{Alphabetic}",
        "LOWER" if ci => U_LOWER_CI,
        "LOWER" => r"\p{Lowercase}",
        "UPPER" if ci => U_LOWER_CI,
        "UPPER" => r"\p{Uppercase}",
        "SPACE" => U_WHITE_SPACE,
        "PUNCT" => r"\p{P}",
        "XDIGIT" => U_HEX_DIGIT,
        "ALNUM" => r"\p{Alphabetic}\p{Nd}",
        "CNTRL" => r"\p{Cc}",
        "DIGIT" => r"\p{Nd}",
        "BLANK" => r"\p{Zs}\t",
        "GRAPH" => U_GRAPH,
        "PRINT" => U_PRINT,
        _ => return None,
    };
    Some(s.to_string())
}

/// `CharPredicates.forProperty` (case-sensitive names): general categories,
/// ASCII POSIX classes and `java*` methods of `Character`.
fn java_property(name: &str, ci: bool) -> Option<String> {
    let s: String = match name {
        "Lu" | "Ll" | "Lt" if ci => r"\p{Lu}\p{Ll}\p{Lt}".into(),
        "Cn" | "Lu" | "Ll" | "Lt" | "Lm" | "Lo" | "Mn" | "Me" | "Mc" | "Nd" | "Nl" | "No"
        | "Zs" | "Zl" | "Zp" | "Cc" | "Cf" | "Co" | "Cs" | "Pd" | "Ps" | "Pe" | "Pc" | "Po"
        | "Sm" | "Sc" | "Sk" | "So" | "Pi" | "Pf" | "L" | "M" | "N" | "Z" | "C" | "P" | "S" => {
            cat(name)
        }
        "LC" => r"\p{Lu}\p{Ll}\p{Lt}".into(),
        "LD" => r"\p{L}\p{Nd}".into(),
        "L1" => r"\x{0}-\x{FF}".into(),
        "all" => r"\x{0}-\x{10FFFF}".into(),
        "ASCII" => r"\x{0}-\x{7F}".into(),
        "Alnum" => "a-zA-Z0-9".into(),
        "Alpha" => "a-zA-Z".into(),
        "Blank" => r"\x{20}\t".into(),
        "Cntrl" => r"\x{0}-\x{1F}\x{7F}".into(),
        "Digit" => "0-9".into(),
        "Graph" => r"\!-\~".into(),
        "Lower" if ci => "a-zA-Z".into(),
        "Lower" => "a-z".into(),
        "Print" => r"\x{20}-\~".into(),
        "Punct" => r"\!-\/\:-\@\[-\`\{-\~".into(),
        "Space" => ASCII_SPACE.into(),
        "Upper" if ci => "a-zA-Z".into(),
        "Upper" => "A-Z".into(),
        "XDigit" => "0-9a-fA-F".into(),
        "javaLowerCase" | "javaUpperCase" | "javaTitleCase" if ci => U_LOWER_CI.into(),
        "javaLowerCase" => r"\p{Lowercase}".into(),
        "javaUpperCase" => r"\p{Uppercase}".into(),
        "javaTitleCase" => r"\p{Lt}".into(),
        "javaAlphabetic" => r"\p{Alphabetic}".into(),
        "javaIdeographic" => r"\p{Ideographic}".into(),
        "javaDigit" => r"\p{Nd}".into(),
        "javaDefined" => r"[^\p{Cn}]".into(),
        "javaLetter" => r"\p{L}".into(),
        "javaLetterOrDigit" => r"\p{L}\p{Nd}".into(),
        "javaJavaIdentifierStart" => r"\p{L}\p{Nl}\p{Sc}\p{Pc}".into(),
        "javaJavaIdentifierPart" => {
            format!(r"\p{{L}}\p{{Sc}}\p{{Pc}}\p{{Nd}}\p{{Nl}}\p{{Mc}}\p{{Mn}}{IDENT_IGNORABLE}")
        }
        "javaUnicodeIdentifierStart" => r"\p{ID_Start}".into(),
        "javaUnicodeIdentifierPart" => format!(r"\p{{ID_Continue}}{IDENT_IGNORABLE}"),
        "javaIdentifierIgnorable" => IDENT_IGNORABLE.into(),
        "javaSpaceChar" => r"\p{Z}".into(),
        "javaWhitespace" => {
            r"\t\n\x{B}\x{C}\r\x{1C}-\x{1F}[\p{Z}&&[^\x{A0}\x{2007}\x{202F}]]".into()
        }
        "javaISOControl" => r"\x{0}-\x{1F}\x{7F}-\x{9F}".into(),
        "javaMirrored" => r"\p{Bidi_Mirrored}".into(),
        _ => return None,
    };
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fancy_regex::Regex;

    fn re(java: &str, anchoring: Anchoring, ci: bool) -> Regex {
        let t = translate(java, anchoring, ci).unwrap_or_else(|e| panic!("{java}: {e}"));
        Regex::new(&t).unwrap_or_else(|e| panic!("{java} -> {t}: {e}"))
    }

    fn search(java: &str) -> Regex {
        re(java, Anchoring::Search, false)
    }

    fn whole(java: &str) -> Regex {
        re(java, Anchoring::Whole, false)
    }

    fn is(r: &Regex, s: &str) -> bool {
        r.is_match(s).unwrap()
    }

    fn find<'t>(r: &Regex, s: &'t str) -> Option<&'t str> {
        r.find(s).unwrap().map(|m| m.as_str())
    }

    fn group<'t>(r: &Regex, s: &'t str, g: usize) -> Option<&'t str> {
        r.captures(s)
            .unwrap()
            .and_then(|c| c.get(g))
            .map(|m| m.as_str())
    }

    fn split<'t>(r: &Regex, s: &'t str) -> Vec<&'t str> {
        r.split(s).map(|p| p.unwrap()).collect()
    }

    // -- §5.1 concrete effects -------------------------------------------

    #[test]
    fn whitespace_split_is_ascii() {
        let r = search(r"\s+");
        assert_eq!(
            split(&r, "Join\u{A0}https://acme.zoom.us/j/1"),
            vec!["Join\u{A0}https://acme.zoom.us/j/1"]
        );
        assert_eq!(split(&r, "a \t\nb"), vec!["a", "b"]);
        assert!(!is(&r, "\u{2028}"));
        assert!(is(&search(r"\S"), "\u{A0}"));
    }

    #[test]
    fn gitlab_word_class_is_ascii() {
        let r = search(r"@([\w.-]+)");
        assert_eq!(group(&r, "cc @josé.garcía", 1), Some("jos"));
    }

    #[test]
    fn dollar_before_final_line_terminator() {
        let r = re(r"(?i)^smtp:(.*)$", Anchoring::Search, false);
        assert_eq!(group(&r, "SMTP:a@x.com\n", 1), Some("a@x.com"));
        assert_eq!(group(&r, "smtp:a@x.com\r\n", 1), Some("a@x.com"));
        assert_eq!(group(&r, "smtp:a@x.com\u{2028}", 1), Some("a@x.com"));
        assert!(!is(&r, "smtp:a\n\n"));
        // never between \r and \n
        assert!(!is(&search(r"\r$"), "a\r\n"));
        assert!(is(&search(r"\n$"), "a\r\n"));
        assert!(is(&search(r"^[0-9]+$"), "123\n"));
        assert!(!is(&whole(r"^[0-9]+$"), "123\n"));
        assert!(is(&search(r"a\Z"), "a\n"));
        assert!(!is(&search(r"a\Z"), "a\n\n"));
    }

    #[test]
    fn empty_inline_flags_are_deleted() {
        let t = translate(r"calendarView(?)[^/]*", Anchoring::Search, false).unwrap();
        assert_eq!(
            t,
            translate(r"calendarView[^/]*", Anchoring::Search, false).unwrap()
        );
        let r = whole(r"^/v1.0/users/[^/]*/calendar/calendarView(?)[^/]*$");
        assert!(is(&r, "/v1.0/users/me/calendar/calendarView"));
        assert!(is(&r, "/v1.0/users/me/calendar/calendarViewX"));
        assert!(!is(&r, "/v1.0/users/me/calendar/calendarView/x"));
        assert!(is(&search("a(?-)b"), "ab"));
    }

    #[test]
    fn dot_excludes_line_terminators() {
        let r = search(".");
        for c in ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"] {
            assert!(!is(&r, c), "{c:?}");
        }
        assert!(is(&r, "\u{B}"));
        assert!(is(&search("(?s)."), "\r"));
        assert!(is(&search("(?s)."), "\n"));
        assert!(is(&search("(?d)."), "\r"));
        assert!(!is(&search("(?d)."), "\n"));
        assert!(is(&search("(?s:.)"), "\n"));
        assert!(!is(&search("(?s:a)."), "a\n"));
    }

    #[test]
    fn comments_mode() {
        let r = whole("(?x) a b # c");
        assert!(is(&r, "ab"));
        assert!(!is(&r, "a b"));
        let r = whole("(?x) a\\ b [ c d ] # comment\n e");
        assert!(is(&r, "a bce"));
        assert!(!is(&r, "a b e"));
        assert!(is(&whole("(?x: a b )c"), "abc"));
        assert!(is(&whole("(?x)a{1, 2}"), "aa"));
        // a comment ended by U+2028 leaves that character as a literal
        assert!(is(&whole("(?x)a#c\u{2028}b"), "a\u{2028}b"));
        // outside x mode, whitespace and # are literal
        assert!(is(&whole("a #b"), "a #b"));
    }

    #[test]
    fn quoting() {
        let r = whole(r"\Q(a)\E");
        assert!(is(&r, "(a)"));
        assert!(!is(&r, "a"));
        assert!(is(&whole(r"\Q.*\E+"), ".**"));
        assert!(is(&whole(r"\Qa.b"), "a.b"));
        assert!(!is(&whole(r"\Qa.b"), "axb"));
        assert!(is(&whole(r"[\Q]-\E]+"), "]-]"));
        assert!(is(&whole(r"\Q1\E{2}"), "11"));
        assert!(is(&whole(r"(?x)\Q a \E"), " a "));
        assert!(is(&whole(r"\Q\\E"), "\\"));
        assert!(is(&whole(r"\Qa\\b\E"), "a\\\\b"));
        assert!(is(&whole(r"\b(\Qreview\E)[\s:]*\b"), "review"));
    }

    #[test]
    fn horizontal_and_vertical_whitespace() {
        let r = search(r"\h");
        assert!(is(&r, "\u{A0}"));
        assert!(is(&r, "\u{3000}"));
        assert!(!is(&r, "a"));
        assert!(!is(&r, "\n"));
        assert!(is(&search(r"\H"), "a"));
        assert!(is(&search(r"\v"), "\u{2028}"));
        assert!(!is(&search(r"\v"), " "));
        assert!(is(&search(r"\V"), " "));
        assert!(is(&search(r"[\h\v]"), "\u{85}"));
        assert!(is(&whole(r"[\v-\r]+"), "\u{B}\u{C}\r"));
        let r = whole(r"a\Rb");
        assert!(is(&r, "a\r\nb"));
        assert!(is(&r, "a\u{2028}b"));
        assert!(!is(&r, "a\n\nb"));
        assert!(is(&whole(r"\R\n"), "\r\n"));
        // Java does not backtrack into a finished iteration of a quantified
        // `\R` or of a deterministic quantified group containing it
        assert!(!is(&whole(r"\R+\R"), "\r\n"));
        assert!(!is(&whole(r"\R?\n"), "\r\n"));
        assert!(!is(&whole(r"(?:a\R)+\n"), "a\r\n"));
        assert!(is(&whole(r"(?:\R\n)+"), "\r\n"));
        assert!(is(&whole(r"(?:\R)?\n"), "\r\n"));
        assert!(is(&whole(r"(?:\R|x)+\n"), "\r\n"));
        assert!(is(&whole(r"(?:\Ra?)+\n"), "\r\n"));
    }

    #[test]
    fn posix_classes_are_ascii() {
        let r = search(r"\p{Lower}");
        assert!(!is(&r, "é"));
        assert!(is(&r, "e"));
        assert!(!is(&r, "E"));
        assert!(is(&re(r"\p{Lower}", Anchoring::Search, true), "E"));
        assert!(is(&search(r"\p{Alpha}"), "Z"));
        assert!(!is(&search(r"\p{Alpha}"), "É"));
        assert!(!is(&search(r"\p{Digit}"), "٣"));
        assert!(is(&search(r"\p{Punct}"), "`"));
        assert!(!is(&search(r"\p{Punct}"), "¿"));
        assert!(is(&search(r"\p{Graph}"), "~"));
        assert!(!is(&search(r"\p{Graph}"), " "));
        assert!(is(&search(r"\p{Print}"), " "));
        assert!(is(&search(r"\p{Blank}"), "\t"));
        assert!(is(&search(r"\p{Cntrl}"), "\u{7F}"));
        assert!(is(&search(r"\p{Space}"), "\u{B}"));
        assert!(!is(&search(r"\p{Space}"), "\u{A0}"));
        assert!(is(&search(r"\p{ASCII}"), "\u{0}"));
        assert!(!is(&search(r"\p{ASCII}"), "é"));
        assert!(is(&search(r"\p{XDigit}"), "f"));
        assert!(!is(&search(r"\p{XDigit}"), "g"));
        assert!(is(&search(r"\p{Alnum}"), "7"));
        assert!(is(&whole(r"\P{Lower}+"), "É1"));
        assert!(is(&whole(r"[\p{Upper}\d]+"), "A1"));
        assert!(is(&whole(r"[^\p{Upper}]+"), "a1"));
        // UNICODE_CHARACTER_CLASS turns them into the Unicode properties
        assert!(is(&search(r"(?U)\p{Lower}"), "é"));
        assert!(is(&search(r"\p{IsLower}"), "é"));
        assert!(is(&search(r"(?U)\w"), "é"));
        assert!(is(&search(r"(?U)\d"), "٣"));
        assert!(is(&search(r"(?U)\s"), "\u{A0}"));
    }

    #[test]
    fn java_properties() {
        assert!(is(&search(r"\p{javaLowerCase}"), "é"));
        assert!(!is(&search(r"\p{javaLowerCase}"), "É"));
        assert!(is(&search(r"\p{javaUpperCase}"), "É"));
        assert!(is(&search(r"\p{javaWhitespace}"), "\u{1F}"));
        assert!(is(&search(r"\p{javaWhitespace}"), "\u{2003}"));
        assert!(!is(&search(r"\p{javaWhitespace}"), "\u{A0}"));
        assert!(!is(&search(r"\p{javaWhitespace}"), "\u{202F}"));
        assert!(is(&search(r"\p{javaMirrored}"), "("));
        assert!(!is(&search(r"\p{javaMirrored}"), "a"));
        assert!(is(&search(r"\p{javaDigit}"), "٣"));
        assert!(is(&search(r"\p{javaLetterOrDigit}"), "ж"));
        assert!(is(&search(r"\p{javaJavaIdentifierStart}"), "$"));
        assert!(is(&search(r"\p{javaJavaIdentifierPart}"), "\u{0}"));
        assert!(is(&search(r"\p{javaISOControl}"), "\u{85}"));
        assert!(is(&search(r"\p{javaSpaceChar}"), "\u{A0}"));
        assert!(is(&search(r"\p{javaDefined}"), "a"));
        assert!(!is(&search(r"\p{javaDefined}"), "\u{378}"));
        assert!(is(&search(r"\p{javaAlphabetic}"), "ж"));
        assert!(is(&search(r"\p{javaIdeographic}"), "中"));
        assert!(is(&search(r"\p{javaLetter}"), "ж"));
        assert!(is(&search(r"\p{javaTitleCase}"), "ǅ"));
        assert!(is(&search(r"\p{javaUnicodeIdentifierStart}"), "ж"));
        assert!(is(&search(r"\p{javaUnicodeIdentifierPart}"), "1"));
        assert!(is(&search(r"\p{javaIdentifierIgnorable}"), "\u{200B}"));
        assert!(is(&re(r"\p{javaLowerCase}", Anchoring::Search, true), "É"));
    }

    #[test]
    fn unicode_properties() {
        assert!(is(&search(r"\p{L}"), "ж"));
        assert!(is(&search(r"\pL"), "ж"));
        assert!(!is(&search(r"\PL"), "ж"));
        assert!(is(&search(r"\p{Lu}"), "Ж"));
        assert!(!is(&search(r"\p{Lu}"), "ж"));
        assert!(is(&re(r"\p{Lu}", Anchoring::Search, true), "ж"));
        assert!(is(&search(r"\p{IsLatin}"), "é"));
        assert!(!is(&search(r"\p{IsLatin}"), "ж"));
        assert!(is(&search(r"\p{sc=Cyrillic}"), "ж"));
        assert!(is(&search(r"\p{script=Cyrl}"), "ж"));
        assert!(is(&search(r"\p{gc=Nd}"), "٣"));
        assert!(is(&search(r"\p{general_category=Lu}"), "A"));
        assert!(is(&search(r"\p{IsAlphabetic}"), "ж"));
        assert!(is(&search(r"\p{IsL}"), "ж"));
        assert!(is(&search(r"\p{IsWhite_Space}"), "\u{85}"));
        assert!(is(&search(r"\p{IsPunctuation}"), "¿"));
        assert!(is(&search(r"\p{IsHex_Digit}"), "ｆ"));
        assert!(is(&search(r"\p{IsAssigned}"), "a"));
        assert!(is(&search(r"\p{IsWord}"), "\u{200D}"));
        assert!(is(&search(r"(?U)\p{Graph}"), "ж"));
        assert!(!is(&search(r"(?U)\p{Graph}"), " "));
        assert!(is(&search(r"(?U)\p{Print}"), " "));
        assert!(is(&search(r"(?U)\p{Blank}"), "\u{3000}"));
        assert!(is(&search(r"\p{LC}"), "ǅ"));
        assert!(is(&search(r"\p{L1}"), "ÿ"));
        assert!(!is(&search(r"\p{L1}"), "Ā"));
        assert!(is(&search(r"\p{all}"), "\n"));
        assert!(is(&search(r"\p{Sc}"), "€"));
        assert!(is(&search(r"\p{No}"), "½"));
        assert!(is(&search(r"\p{Cs}|a"), "a"));
        assert!(is(&whole(r"[\p{L}&&[^\p{Lu}]]+"), "abc"));
        assert!(!is(&whole(r"[\p{L}&&[^\p{Lu}]]+"), "aBc"));
    }

    #[test]
    fn hyphen_after_shorthand_is_literal() {
        let r = whole(r"[\w-.]+");
        assert!(is(&r, "-"));
        assert!(is(&r, "a.b-c"));
        assert!(!is(&r, "a,b"));
        assert!(is(&whole(r"[\d-z]+"), "1-z"));
        assert!(!is(&whole(r"[\d-z]"), "y"));
        assert!(is(&whole(r"[\p{L}-1]+"), "a-1"));
    }

    #[test]
    fn misc_escapes() {
        assert!(is(&whole(r"\<"), "<"));
        assert!(is(&whole(r"\<a\>"), "<a>"));
        assert!(is(&whole(r"\0101"), "A"));
        assert!(is(&whole(r"\011"), "\t"));
        assert!(is(&whole(r"\0777"), "?7"));
        assert!(is(&whole(r"(a)\0101"), "aA"));
        assert!(is(&whole(r"\cA"), "\u{1}"));
        assert!(is(&whole(r"\ca"), "!"));
        assert!(is(&whole(r"\c?"), "\u{7F}"));
        assert!(is(&whole(r"\x41\x{1F600}\u0041"), "A😀A"));
        assert!(is(&whole(r"\uD83D\uDE00"), "😀"));
        assert!(is(&whole(r"\e\t\n\r\f\a"), "\u{1B}\t\n\r\u{C}\u{7}"));
        assert!(is(
            &whole(r#"\'\"\/\-\#\@\%\~\&\!\:\,\ \{\}\[\]"#),
            "'\"/-#@%~&!:, {}[]"
        ));
        assert!(is(&whole(r"\é"), "é"));
        assert!(is(&whole("a}]"), "a}]"));
        assert!(is(&whole(r"\x{0}"), "\u{0}"));
    }

    #[test]
    fn top_level_alternation_is_exactly_one() {
        let r = whole(r"^A|B$");
        assert!(is(&r, "A"));
        assert!(is(&r, "B"));
        assert!(!is(&r, "AB"));
        assert!(!is(&r, "AX"));
        assert!(!is(&r, "XB"));
        assert!(!is(&r, "B\n"));
    }

    #[test]
    fn case_insensitive_is_ascii_only() {
        let r = re("(?i)k", Anchoring::Whole, false);
        assert!(is(&r, "k"));
        assert!(is(&r, "K"));
        assert!(!is(&r, "\u{212A}"));
        let r = re("k", Anchoring::Whole, true);
        assert!(is(&r, "K"));
        assert!(!is(&r, "\u{212A}"));
        let r = re("s", Anchoring::Whole, true);
        assert!(!is(&r, "ſ"));
        let r = re("é", Anchoring::Whole, true);
        assert!(!is(&r, "É"));
        let r = re("[a-c]+", Anchoring::Whole, true);
        assert!(is(&r, "aBC"));
        assert!(!is(&r, "\u{212A}"));
        let r = re("[k]", Anchoring::Whole, true);
        assert!(is(&r, "K"));
        assert!(!is(&r, "\u{212A}"));
        let r = re("[Z-a]+", Anchoring::Whole, true);
        assert!(is(&r, "zA_`"));
        let r = re("[^a]", Anchoring::Whole, true);
        assert!(!is(&r, "A"));
        let r = re("(?i)pwd=[^&]*", Anchoring::Search, false);
        assert_eq!(find(&r, "x?PWD=secret&y"), Some("PWD=secret"));
        let r = re("a(?-i)b", Anchoring::Whole, true);
        assert!(is(&r, "Ab"));
        assert!(!is(&r, "AB"));
        let r = re("(?i:a)b", Anchoring::Whole, false);
        assert!(is(&r, "Ab"));
        assert!(!is(&r, "AB"));
        // flags persist across alternatives to the end of the group
        let r = re("(a(?i)b|c)d", Anchoring::Whole, false);
        assert!(is(&r, "aBd"));
        assert!(is(&r, "Cd"));
        assert!(!is(&r, "aBD"));
        let r = re(r"(a)\1", Anchoring::Whole, true);
        assert!(is(&r, "aA"));
        // UNICODE_CASE folds beyond ASCII
        let r = re("(?iu)é", Anchoring::Whole, false);
        assert!(is(&r, "É"));
        let r = re("(?iu)[é]", Anchoring::Whole, false);
        assert!(is(&r, "É"));
        let r = re("(?iU)k", Anchoring::Whole, false);
        assert!(is(&r, "\u{212A}"));
    }

    #[test]
    fn rejected_constructs() {
        let e = translate(r"a\X", Anchoring::Search, false).unwrap_err();
        assert_eq!(
            e,
            JavaRegexError::Unsupported {
                construct: "`\\X` (grapheme cluster)".into(),
                offset: 1
            }
        );
        assert!(e
            .to_string()
            .contains("`\\X` (grapheme cluster) has no equivalent"));
        let e = translate(r"\p{InGreek}", Anchoring::Search, false).unwrap_err();
        assert!(
            matches!(e, JavaRegexError::Unsupported { ref construct, offset: 0 } if construct.contains("InGreek"))
        );
        let e = translate(r"\p{block=Greek}", Anchoring::Search, false).unwrap_err();
        assert!(matches!(e, JavaRegexError::Unsupported { .. }));
        let e = translate(r"x\b{g}", Anchoring::Search, false).unwrap_err();
        assert!(matches!(e, JavaRegexError::Unsupported { offset: 1, .. }));
        let e = translate(r"(?c)a", Anchoring::Search, false).unwrap_err();
        assert!(matches!(e, JavaRegexError::Unsupported { .. }));
        let e = translate(r"\N{LATIN SMALL LETTER A}", Anchoring::Search, false).unwrap_err();
        assert!(matches!(e, JavaRegexError::Unsupported { .. }));
        let e = translate(r"\uD800", Anchoring::Search, false).unwrap_err();
        assert!(matches!(e, JavaRegexError::Unsupported { .. }));
        // Java syntax errors
        for bad in [
            "*a",
            "a(",
            "a)",
            "[a",
            r"\",
            r"\i",
            r"\k<x>",
            "a{",
            "a{2,1}",
            "(?<1a>x)",
            "(?P<a>x)",
            "[b-a]",
            r"\p{Foo}",
            r"\08",
            "(?<a>x)(?<a>y)",
            r"\E",
            "a{,3}",
            "[&&]",
            r"[\b]",
        ] {
            assert!(
                matches!(
                    translate(bad, Anchoring::Search, false),
                    Err(JavaRegexError::Invalid { .. })
                ),
                "{bad}"
            );
        }
        // offsets are in characters of the original pattern
        let e = translate("éé\\Qab\\E\\X", Anchoring::Search, false).unwrap_err();
        assert!(
            matches!(e, JavaRegexError::Unsupported { offset: 8, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn word_boundary_is_ascii() {
        let r = search(r"\breview\b");
        // Java: é is not a word char, so there is a boundary between w and é
        assert!(is(&r, "reviewé"));
        assert!(!is(&r, "reviews"));
        assert!(is(&r, "a review."));
        // a non-spacing mark after a letter counts as a word char in Java
        assert!(!is(&r, "review\u{301}"));
        assert!(is(&search(r"e\B\u0301"), "e\u{301}"));
        let r = re(r"\b(\Qreview\E)[\s:]*\b", Anchoring::Search, true);
        assert_eq!(find(&r, "Review: ok"), Some("Review: "));
        assert!(is(&search(r"\Bb"), "ab"));
        assert!(!is(&search(r"\Bb"), "é b"));
        assert!(is(&search(r"(?U)\bé"), " é"));
        let r = search(r"^/services/data/v\d+\.\d+/query[/]?\?q=SELECT(%20|\+|\b)");
        assert!(is(&r, "/services/data/v52.0/query?q=SELECT%20Id"));
        assert!(is(&r, "/services/data/v52.0/query/?q=SELECT+Id"));
        assert!(is(&r, "/services/data/v52.0/query?q=SELECT"));
        assert!(!is(&r, "/services/data/v52.0/query?q=SELECTED"));
        assert!(!is(&r, "/services/data/v٥.0/query?q=SELECT"));
    }

    #[test]
    fn multiline_anchors() {
        let r = search(r"(?m)^b$");
        assert!(is(&r, "a\nb\nc"));
        assert!(is(&r, "a\r\nb\r\nc"));
        assert!(is(&r, "a\u{2028}b\u{85}c"));
        assert!(!is(&search(r"(?m)^"), ""));
        assert!(!is(&search(r"(?m)\n^"), "a\n"));
        assert!(!is(&search(r"(?m)\r^"), "a\r\n"));
        assert!(!is(&search(r"(?m)\r$"), "a\r\nb"));
        let r = search(r"(?md)^b$");
        assert!(is(&r, "a\nb\nc"));
        assert!(!is(&r, "a\rb\rc"));
        assert!(is(&search(r"(?d)a$"), "a\n"));
        assert!(!is(&search(r"(?d)a$"), "a\r\n"));
        // \Z and \A ignore MULTILINE
        assert!(!is(&search(r"(?m)a\Z"), "a\nb"));
        assert!(is(&search(r"(?m)\Ab"), "b\na"));
        assert!(!is(&search(r"(?m)\Ab"), "a\nb"));
    }

    #[test]
    fn classes() {
        assert!(is(&whole("[[:alpha:]]+"), ":alph"));
        assert!(!is(&whole("[[:alpha:]]"), "b"));
        assert!(is(&whole("[[\\:alpha:]]+"), ":alph"));
        assert!(!is(&whole("[[\\:alpha:]]"), "b"));
        assert!(is(&whole("[a-z&&[^aeiou]]+"), "bcd"));
        assert!(!is(&whole("[a-z&&[^aeiou]]"), "a"));
        assert!(is(&whole("[a-z&&[^aeiou]x]+"), "x"));
        assert!(is(&whole("[a-z&&[^aeiou]x]"), "b"));
        assert!(!is(&whole("[a-z&&[^aeiou]x]"), "e"));
        assert!(is(&whole("[[a-c][x-z]]+"), "abxz"));
        assert!(!is(&whole("[[a-c][x-z]]"), "m"));
        assert!(is(&whole("[^a[b]]"), "c"));
        assert!(!is(&whole("[^a[b]]"), "b"));
        assert!(is(&whole("[abc&&b]"), "b"));
        assert!(!is(&whole("[abc&&b]"), "a"));
        assert!(is(&whole("[a&b]+"), "a&b"));
        assert!(is(&whole("[]a]+"), "]a"));
        assert!(is(&whole("[^]a]"), "b"));
        assert!(!is(&whole("[^]a]"), "]"));
        assert!(is(&whole("[a-]+"), "a-"));
        assert!(is(&whole("[-a]+"), "a-"));
        assert!(is(&whole("[a-[b]]+"), "a-b"));
        assert!(is(&whole("[2,3]+"), "2,3"));
        assert!(is(&whole(r"[a-zA-z0-9\$\=\?\(\)\s]+"), "a_[]^`$=?() "));
        assert!(is(&whole("[+--]+"), "+,-"));
        assert!(is(&whole("[~~]"), "~"));
        assert!(is(&whole("[x^]+"), "^x"));
        assert!(is(&whole("[a&&]"), "a"));
        // JDK: the shared bit set is visible everywhere it was referenced
        assert!(is(&whole("[x&&[b]&c]"), "x"));
        assert!(is(&whole("[x&&[b]&c]"), "c"));
        assert!(!is(&whole("[x&&[b]&c]"), "b"));
        assert!(is(&whole("[\\x{100}a&&\\x{100}]"), "\u{100}"));
        assert!(!is(&whole("[\\x{100}a&&\\x{100}]"), "a"));
        assert!(is(&whole("[\\d\\D]"), "x"));
        assert!(is(&whole("[\\S]"), "x"));
        assert!(!is(&whole("[\\S]"), " "));
        assert!(is(&whole("[.]"), "."));
        assert!(!is(&whole("[.]"), "a"));
        assert!(is(&whole("[$^]+"), "$^"));
        assert!(is(&whole("(?x)[ a b ]+"), "ab"));
        assert!(!is(&whole("(?x)[ a b ]"), " "));
        assert!(is(&whole("(?x)[a#b\n]"), "a"));
        assert!(!is(&whole("(?x)[a#b\n]"), "b"));
        assert!(is(&whole(r"[\Q^\E]"), "^"));
        assert!(is(&whole("[:]"), ":"));
        assert!(is(&whole("[[:]]"), ":"));
        assert!(is(&whole("[[:][:alpha:]]+"), ":alph"));
    }

    #[test]
    fn groups_and_quantifiers() {
        let t = translate("(a)(?:b)(?<id>c)(?=d)", Anchoring::Whole, false).unwrap();
        let r = Regex::new(&t).unwrap();
        let names: Vec<_> = r.capture_names().flatten().collect();
        assert_eq!(names, vec!["id"]);
        let c = r.captures("abcd").unwrap();
        assert!(c.is_none());
        let r = search("(a)(?:b)(?<id>c)(?=d)");
        let c = r.captures("abcd").unwrap().unwrap();
        assert_eq!(c.get(1).map(|m| m.as_str()), Some("a"));
        assert_eq!(c.get(2).map(|m| m.as_str()), Some("c"));
        assert_eq!(c.name("id").map(|m| m.as_str()), Some("c"));
        assert!(is(&whole(r"(?<a>x)\k<a>"), "xx"));
        assert!(is(&whole(r"(a)\1"), "aa"));
        assert!(!is(&whole(r"(a)\2"), "aa"));
        assert!(!is(&whole(r"(a)\2"), "a"));
        assert!(is(&whole(r"(a)\11"), "aa1"));
        assert!(is(
            &whole(r"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\10"),
            "abcdefghijj"
        ));
        assert!(is(&whole("a*+b"), "aab"));
        assert!(!is(&whole("a*+a"), "aa"));
        assert!(is(&whole("(?>a|ab)b"), "ab"));
        assert!(!is(&whole("(?>a|ab)c"), "abc"));
        assert!(is(&whole("a{2}{3}"), "aa"));
        assert!(is(&whole("{2}a"), "a"));
        assert!(is(&whole("a{2,}?"), "aaa"));
        assert!(is(&whole("(?=a)*a"), "a"));
        assert!(is(&whole("(?=a)+a"), "a"));
        assert!(is(&whole("(?:(?=a))?a"), "a"));
        assert!(is(&whole("\\b*a"), "a"));
        assert!(is(&whole("$*a"), "a"));
        assert!(is(&whole("(?:)*a"), "a"));
        assert!(is(&whole("x(?!a){0}a"), "xa"));
        assert!(is(&search("(?!/secret).*"), "/public"));
        assert_eq!(find(&search(".*?"), "abc"), Some(""));
        assert!(is(&whole("(?<=a)b|ab"), "ab"));
        assert!(is(&search("(?<=a)b"), "ab"));
        assert!(is(&search("(?<!a)b"), "cb"));
        assert!(is(&search(r"\Ga"), "a"));
        assert!(is(&whole(r"\Aa\z"), "a"));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(matches!(
            translate(&deep, Anchoring::Search, false),
            Err(JavaRegexError::Unsupported { .. })
        ));
        let deep = format!("{}a{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(translate(&deep, Anchoring::Search, false).is_err());
        let ok = format!("{}a{}", "(".repeat(20), ")".repeat(20));
        assert!(Regex::new(&translate(&ok, Anchoring::Search, false).unwrap()).is_ok());
    }

    #[test]
    fn dangling_flag_group_quantifier_is_invalid() {
        assert!(matches!(
            translate("(?i)*a", Anchoring::Search, false),
            Err(JavaRegexError::Invalid { .. })
        ));
    }

    #[test]
    fn realistic_patterns_compile() {
        let patterns = [
            r"^/v1.0/users/[^/]*/calendar/calendarView(?)[^/]*$",
            r"^/v1.0/(users/[^/]*|me)/((calendars/[^/]*/)?events/[^/]*|(calendar/calendarView(?)[^/]*))$",
            r"^/services/data/v\d+\.\d+/query[/]?\?q=SELECT(%20|\+|\b)",
            r"(?i)pwd=[^&]*",
            r"^/drive/v[2,3]/files",
            r"[a-zA-z0-9\$\=\?\(\)\s]",
            r"^/beta/communications/callRecords/(?<callChainId>[^/]+)$",
            r"(?<id>[^/]+)",
            r"(?!/secret).*",
            r".*?",
            r"\s+",
            r"https://[^.]+\.zoom\.us/.*",
            r"@([\w.-]+)",
            r"(?i)^smtp:(.*)$",
            r"^[0-9]+$",
            r"^/v2/users(/[^/]*)?$",
            r"^/v2/report/(meetings|webinars)/[^/]*/participants$",
            r"^/api/v4/projects/[0-9]+/merge_requests(\?.*)?$",
            r"^/gmail/v1/users/[^/]*/messages/[^/]*$",
            r"^/admin/directory/v1/users\?((?!(&|^)fields=).)*$",
            r"^/repos/[^/]*/[^/]*/pulls/[0-9]+/commits(\?.*)?$",
            r"\b(\Qconfidential\E)[\s:]*\b",
            r".*?(\d{3}-\d{4}).*?",
            r".*?((?i)zoom).*?",
            r"^(?<prefix>[^@]+)@(?<domain>.+)$",
            r"^https://(?:[a-z0-9-]+\.)*slack\.com/.*$",
            r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$",
            r"(?x) ^ /api  # prefix\n /v[0-9]+ $",
            r"[\p{L}\p{Nd}_-]+",
            r"(?s)<pre>.*?</pre>",
            r"(?m)^\s*#.*$",
            r"^[A-Fa-f0-9]{8}(-[A-Fa-f0-9]{4}){3}-[A-Fa-f0-9]{12}$",
            r"\$\{[^}]+\}",
            r"^(?!.*\.\.)[\w.+-]+@[\w-]+\.[\w.]+$",
            r"(\d+)\s*(?:ms|s)\b",
            r"^/chat/v1/spaces/[^/]*/messages(\?.*)?$",
            r"[^\x00-\x7F]",
            r"\u00e9|\x{E9}|\0351",
            r"(?i)^(?:bearer|basic)\s+\S+$",
            r"^/v1/(?:accounts|users)/[^/]+/(?:recordings|meetings)$",
            r"^(?:[^/]+/){2}[^/]+$",
            r"a++b?+c*?d{1,3}+",
        ];
        for p in patterns {
            for anchoring in [Anchoring::Search, Anchoring::Whole] {
                for ci in [false, true] {
                    let t = translate(p, anchoring, ci).unwrap_or_else(|e| panic!("{p}: {e}"));
                    Regex::new(&t).unwrap_or_else(|e| panic!("{p} -> {t}: {e}"));
                }
            }
        }
    }

    #[test]
    fn realistic_pattern_semantics() {
        let r = whole(r"^/drive/v[2,3]/files");
        assert!(is(&r, "/drive/v3/files"));
        assert!(is(&r, "/drive/v,/files"));
        let r = re(r"^/drive/v[2,3]/files", Anchoring::Whole, true);
        assert!(is(&r, "/DRIVE/v3/FILES"));
        let r = whole(r"^/admin/directory/v1/users\?((?!(&|^)fields=).)*$");
        assert!(is(&r, "/admin/directory/v1/users?customer=x"));
        assert!(!is(&r, "/admin/directory/v1/users?customer=x&fields=y"));
        let r = whole(r".*?(\d{3}-\d{4}).*?");
        assert_eq!(group(&r, "Call Zoom at 555-1234", 1), Some("555-1234"));
        let r = whole(r".*?((?i)zoom).*?");
        assert!(!is(&r, "line one\nZoom"));
        assert!(is(&r, "line one Zoom"));
        let r = whole(
            r"(?x) ^ /api  # prefix
            /v[0-9]+ $",
        );
        assert!(is(&r, "/api/v2"));
    }

    #[test]
    fn unicode_escape_forms_are_translated() {
        let t = translate(r"\u0041", Anchoring::Search, false).unwrap();
        assert_eq!(t, "A");
        let t = translate(r"\x{2028}", Anchoring::Search, false).unwrap();
        assert_eq!(t, r"\x{2028}");
        let t = translate("(?x) a b # c", Anchoring::Whole, false).unwrap();
        assert_eq!(t, r"\A(?:ab)\z");
    }
}
