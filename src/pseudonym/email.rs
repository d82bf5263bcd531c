//! Recognition and canonicalization of RFC 2822 mailboxes.
//!
//! A value is treated as an email only when the *whole* string is a mailbox:
//! an `addr-spec` (`alice@acme.com`) or a `name-addr`
//! (`Alice Example <alice@acme.com>`), optionally surrounded by folding
//! whitespace and `(comments)`. The grammar is deliberately narrower than the
//! RFC in two places: domain literals (`[1.2.3.4]`) are rejected, and the domain
//! must be at least two DNS labels whose last label is 2 to 26 ASCII letters.
//! Addresses are ASCII-only, so Unicode local parts or domains are not emails. A *quoted*
//! display name may hold any character but the ASCII controls, `"` and `\` (RFC 6532, as
//! Psoxy since 0.5.11): `"José Núñez" <jose@acme.com>` is an email; an unquoted display name
//! is ASCII, so `José <jose@acme.com>` is not.

use std::borrow::Cow;

use super::EmailCanonicalization;

/// A parsed mailbox: the parts of the address that pseudonymization needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox<'a> {
    /// Local part as written. Bounding double quotes are removed when the text
    /// inside them is a valid dot-atom (`"alice"` becomes `alice`); any other
    /// quoted string is kept verbatim, quotes included.
    pub local: Cow<'a, str>,
    /// Domain exactly as written (original case), without comments or spaces.
    pub domain: &'a str,
}

/// Parses `s` as a complete RFC 2822 mailbox; `None` if it is not one.
///
/// Display names and comments are accepted and dropped.
pub fn parse_mailbox(s: &str) -> Option<Mailbox<'_>> {
    match bare_addr_spec(s) {
        Bare::NotAnEmail => None,
        Bare::Address(m) => Some(m),
        Bare::NeedsGrammar => parse_with_grammar(s),
    }
}

/// What a single pass over the bytes of a candidate can tell.
enum Bare<'a> {
    /// No `@`, or a bare address that is not valid.
    NotAnEmail,
    /// A bare `local@domain` address.
    Address(Mailbox<'a>),
    /// Holds a byte that is neither `atext`, `.` nor `@` (a space, quote, comment,
    /// angle bracket, ...): only the full grammar can decide.
    NeedsGrammar,
}

/// The common case in one pass: a string of only `atext`, `.` and `@` bytes is a mailbox
/// exactly when it has one `@` between a dot-atom local part and a valid domain. (The
/// grammar agrees: with no `<` it cannot be a `name-addr`, and with no space, quote or
/// parenthesis there is no comment or quoted string; a proptest checks this.)
fn bare_addr_spec(s: &str) -> Bare<'_> {
    let bytes = s.as_bytes();
    let mut at = None;
    let mut second_at = false;
    let mut other = false;
    for (i, &b) in bytes.iter().enumerate() {
        match BYTE_CLASS[usize::from(b)] {
            ATEXT | DOT => {}
            AT if at.is_none() => at = Some(i),
            AT => second_at = true,
            _ => other = true,
        }
    }
    let Some(at) = at else {
        // Every mailbox has an '@'.
        return Bare::NotAnEmail;
    };
    if other {
        // Even with a second '@': it may sit in a quoted local part (`"a@b"@acme.com`).
        return Bare::NeedsGrammar;
    }
    if second_at {
        return Bare::NotAnEmail;
    }
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if is_dot_atom_text(local.as_bytes()) && is_valid_domain(domain.as_bytes()) {
        Bare::Address(Mailbox {
            local: Cow::Borrowed(local),
            domain,
        })
    } else {
        Bare::NotAnEmail
    }
}

/// [`parse_mailbox`] by the full recursive-descent grammar.
fn parse_with_grammar(s: &str) -> Option<Mailbox<'_>> {
    let mut p = Parser::new(s);
    if let Some(m) = p.addr_spec().filter(|_| p.cfws() && p.at_end()) {
        return Some(m);
    }
    let mut p = Parser::new(s);
    p.name_addr().filter(|_| p.at_end())
}

/// True when the whole string is an email per the grammar of [`parse_mailbox`].
///
/// Used to warn about clear-text emails left in output.
pub fn looks_like_email(s: &str) -> bool {
    parse_mailbox(s).is_some()
}

/// Canonical form of a mailbox: `lower(local) + "@" + lower(domain)`, where the
/// local part is cut at the first `+` and, in
/// [`EmailCanonicalization::IgnoreDots`] mode, loses every `.`.
pub fn canonical_email(m: &Mailbox<'_>, mode: EmailCanonicalization) -> String {
    let mut out = Vec::with_capacity(m.local.len() + m.domain.len() + 1);
    canonical_pieces(m, mode, |piece| {
        out.extend(piece.iter().map(u8::to_ascii_lowercase));
    });
    // The grammar only admits ASCII, and lower-casing keeps it ASCII.
    String::from_utf8(out).expect("canonical email is ASCII")
}

/// The canonical form of `m` (see [`canonical_email`]) as pieces of the original
/// text, in order, *before* lower-casing: the caller lower-cases each piece (ASCII).
/// This lets a hash be fed without building the string.
pub(crate) fn canonical_pieces(
    m: &Mailbox<'_>,
    mode: EmailCanonicalization,
    mut sink: impl FnMut(&[u8]),
) {
    let local = m.local.as_bytes();
    let local = match memchr::memchr(b'+', local) {
        Some(i) => &local[..i],
        None => local,
    };
    if mode == EmailCanonicalization::IgnoreDots {
        local.split(|&b| b == b'.').for_each(&mut sink);
    } else {
        sink(local);
    }
    sink(b"@");
    sink(m.domain.as_bytes());
}

/// [`BYTE_CLASS`] of an RFC 2822 `atext` byte.
const ATEXT: u8 = 1;
/// [`BYTE_CLASS`] of `.`.
const DOT: u8 = 2;
/// [`BYTE_CLASS`] of `@`.
const AT: u8 = 3;
/// [`BYTE_CLASS`] of every other byte.
const OTHER: u8 = 0;

/// The class of each byte value, for one-lookup tests on the hot path.
static BYTE_CLASS: [u8; 256] = {
    let mut table = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            table[b] = ATEXT;
        }
        b += 1;
    }
    let specials = b"!#$%&'*+-/=?^_`{|}~";
    let mut i = 0;
    while i < specials.len() {
        table[specials[i] as usize] = ATEXT;
        i += 1;
    }
    table[b'.' as usize] = DOT;
    table[b'@' as usize] = AT;
    table
};

/// RFC 2822 `atext`.
#[inline]
fn is_atext(b: u8) -> bool {
    BYTE_CLASS[usize::from(b)] == ATEXT
}

/// RFC 2822 `NO-WS-CTL`.
#[inline]
fn is_no_ws_ctl(b: u8) -> bool {
    matches!(b, 1..=8 | 11 | 12 | 14..=31 | 127)
}

/// RFC 2822 `qtext`.
#[inline]
fn is_qtext(b: u8) -> bool {
    is_no_ws_ctl(b) || b == 33 || (35..=91).contains(&b) || (93..=126).contains(&b)
}

/// RFC 2822 `ctext`.
#[inline]
fn is_ctext(b: u8) -> bool {
    is_no_ws_ctl(b) || (33..=39).contains(&b) || (42..=91).contains(&b) || (93..=126).contains(&b)
}

/// RFC 2822 `text` (the character after a backslash in a quoted-pair).
#[inline]
fn is_text(b: u8) -> bool {
    matches!(b, 1..=9 | 11 | 12 | 14..=127)
}

/// True when `s` is a non-empty dot-atom-text: atext runs joined by single dots.
fn is_dot_atom_text(s: &[u8]) -> bool {
    !s.is_empty()
        && s.split(|&b| b == b'.')
            .all(|run| !run.is_empty() && run.iter().all(|&b| is_atext(b)))
}

/// The domain restriction on top of dot-atom-text: at least two DNS labels and
/// a final label of 2 to 26 ASCII letters.
fn is_valid_domain(d: &[u8]) -> bool {
    let mut labels = 0usize;
    let mut last: &[u8] = &[];
    for label in d.split(|&b| b == b'.') {
        let ok = (1..=63).contains(&label.len())
            && label[0].is_ascii_alphanumeric()
            && label[label.len() - 1].is_ascii_alphanumeric()
            && label
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && (2..=26).contains(&last.len()) && last.iter().all(u8::is_ascii_alphabetic)
}

/// Recursive-descent parser over the bytes of a candidate mailbox.
struct Parser<'a> {
    src: &'a str,
    s: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            s: src.as_bytes(),
            pos: 0,
        }
    }

    fn at_end(&self) -> bool {
        self.pos == self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Folding whitespace: WSP, or CRLF immediately followed by WSP.
    fn fws(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'\r')
                    if self.s.get(self.pos + 1) == Some(&b'\n')
                        && matches!(self.s.get(self.pos + 2), Some(b' ' | b'\t')) =>
                {
                    self.pos += 3
                }
                _ => return,
            }
        }
    }

    /// Optional comments and folding whitespace. Returns false on a malformed
    /// (e.g. unterminated) comment.
    fn cfws(&mut self) -> bool {
        loop {
            self.fws();
            if self.peek() == Some(b'(') {
                if !self.comment() {
                    return false;
                }
            } else {
                return true;
            }
        }
    }

    /// A (possibly nested) comment starting at `(`.
    fn comment(&mut self) -> bool {
        debug_assert_eq!(self.peek(), Some(b'('));
        self.pos += 1;
        let mut depth = 1usize;
        loop {
            self.fws();
            match self.peek() {
                None => return false,
                Some(b'(') => {
                    depth += 1;
                    self.pos += 1;
                }
                Some(b')') => {
                    self.pos += 1;
                    depth -= 1;
                    if depth == 0 {
                        return true;
                    }
                }
                Some(b'\\') => {
                    if !self.quoted_pair() {
                        return false;
                    }
                }
                Some(b) if is_ctext(b) => self.pos += 1,
                Some(_) => return false,
            }
        }
    }

    /// `\` followed by `text`.
    fn quoted_pair(&mut self) -> bool {
        match self.s.get(self.pos + 1) {
            Some(&b) if self.peek() == Some(b'\\') && is_text(b) => {
                self.pos += 2;
                true
            }
            _ => false,
        }
    }

    /// A quoted string starting at `"`; returns its span including the quotes.
    fn quoted_string(&mut self) -> Option<(usize, usize)> {
        let start = self.pos;
        if !self.eat(b'"') {
            return None;
        }
        loop {
            self.fws();
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some((start, self.pos));
                }
                b'\\' => {
                    if !self.quoted_pair() {
                        return None;
                    }
                }
                b if is_qtext(b) => self.pos += 1,
                _ => return None,
            }
        }
    }

    /// One or more atext bytes.
    fn atom_text(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_atext) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// dot-atom-text; returns its span.
    fn dot_atom_text(&mut self) -> Option<(usize, usize)> {
        let start = self.pos;
        if !self.atom_text() {
            return None;
        }
        loop {
            let save = self.pos;
            if self.eat(b'.') && self.atom_text() {
                continue;
            }
            self.pos = save;
            return Some((start, self.pos));
        }
    }

    /// `[CFWS] local-part [CFWS] "@" [CFWS] domain [CFWS]` (trailing CFWS is
    /// left for the caller).
    fn addr_spec(&mut self) -> Option<Mailbox<'a>> {
        if !self.cfws() {
            return None;
        }
        let local: Cow<'a, str> = if self.peek() == Some(b'"') {
            let (a, b) = self.quoted_string()?;
            let inner = &self.src[a + 1..b - 1];
            if is_dot_atom_text(inner.as_bytes()) {
                Cow::Borrowed(inner)
            } else {
                Cow::Borrowed(&self.src[a..b])
            }
        } else {
            let (a, b) = self.dot_atom_text()?;
            Cow::Borrowed(&self.src[a..b])
        };
        if !self.cfws() || !self.eat(b'@') || !self.cfws() {
            return None;
        }
        let (a, b) = self.dot_atom_text()?;
        let domain = &self.src[a..b];
        if !is_valid_domain(domain.as_bytes()) {
            return None;
        }
        Some(Mailbox { local, domain })
    }

    /// `[display-name] [CFWS] "<" addr-spec ">" [CFWS]`.
    fn name_addr(&mut self) -> Option<Mailbox<'a>> {
        self.phrase()?;
        if !self.cfws() || !self.eat(b'<') {
            return None;
        }
        let m = self.addr_spec()?;
        if !self.cfws() || !self.eat(b'>') || !self.cfws() {
            return None;
        }
        Some(m)
    }

    /// A quoted display name starting at `"`: any characters but the ASCII controls
    /// (U+0000-U+001F, U+007F), `"` and `\` up to the closing `"` (UTF-8 allowed, RFC 6532).
    fn quoted_display_name(&mut self) -> Option<()> {
        if !self.eat(b'"') {
            return None;
        }
        loop {
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(());
                }
                // Bytes of a multi-byte character are all >= 0x80: never a control, `"` or `\`.
                b if b < 0x20 || b == 0x7f || b == b'\\' => return None,
                _ => self.pos += 1,
            }
        }
    }

    /// Optional display name: words (atoms or quoted display names) separated by
    /// CFWS; after the first word, `.` is also allowed (RFC 2822 obs-phrase,
    /// for names such as `Alice B. Example`).
    fn phrase(&mut self) -> Option<()> {
        let mut words = 0usize;
        loop {
            if !self.cfws() {
                return None;
            }
            match self.peek() {
                Some(b'"') => {
                    self.quoted_display_name()?;
                }
                Some(b'.') if words > 0 => self.pos += 1,
                Some(b) if is_atext(b) => {
                    self.atom_text();
                }
                _ => return Some(()),
            }
            words += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EmailCanonicalization::{IgnoreDots, Strict};

    fn parts(s: &str) -> Option<(String, String)> {
        parse_mailbox(s).map(|m| (m.local.into_owned(), m.domain.to_owned()))
    }

    fn canon(s: &str, mode: EmailCanonicalization) -> Option<String> {
        parse_mailbox(s).map(|m| canonical_email(&m, mode))
    }

    #[test]
    fn accepts_plain_addresses() {
        for s in [
            "alice@acme.com",
            "x@y.io",
            "o'brien@acme.ie",
            "first_last@acme-corp.com",
            "bob.smith@sub.example.co.uk",
            "a!#$%&'*+/=?^_`{|}~-z@acme.com",
            "alice@a1.b-c.d.museum",
            "alice@acme.abcdefghijklmnopqrstuvwxyz",
        ] {
            assert!(looks_like_email(s), "{s}");
        }
    }

    #[test]
    fn accepts_display_names_comments_and_whitespace() {
        let expect = Some(("alice".to_owned(), "acme.com".to_owned()));
        for s in [
            "Alice Example <alice@acme.com>",
            "\"Alice Example\" <alice@acme.com>",
            "\"Example, Alice\" <alice@acme.com>",
            "Alice B. Example <alice@acme.com>",
            "<alice@acme.com>",
            "Alice<alice@acme.com>",
            "alice@acme.com (Alice)",
            "(work) alice@acme.com",
            "alice@acme.com (nested (comment) \\) here)",
            " alice@acme.com ",
            "\talice@acme.com\r\n ",
            "\"alice\"@acme.com",
            "\"ali@ce\" <alice@acme.com>",
            "Alice <alice@acme.com> (primary)",
            "Alice < alice@acme.com >",
        ] {
            assert_eq!(parts(s), expect, "{s}");
        }
    }

    #[test]
    fn rejects_non_emails() {
        for s in [
            "alice",
            "",
            "@",
            "alice@",
            "@acme.com",
            "alice@localhost",
            "alice@my_host.com",
            "alice@acme.c",
            "alice@acme.c0m",
            "alice@[1.2.3.4]",
            "a..b@x.com",
            ".a@acme.com",
            "a.@acme.com",
            "alice@acme..com",
            "alice@acme.com.",
            "alice@.acme.com",
            "alice@-acme.com",
            "alice@acme-.com",
            "alice@acme.xn--p1ai",
            "alice@acme.рф",
            "alice@müller.de",
            "müller@acme.de",
            "a@x.com,b@x.com",
            "alice@acme.toolongtldabcdefghijklmnopqrs",
            "alice@acme.com (unterminated",
            "Alice <alice@acme.com",
            "Alice alice@acme.com>",
            "alice@acme.com\n",
            "\"unterminated@acme.com",
            "a@b@acme.com",
            "alice@acme.com <alice@acme.com>",
            ". Alice <alice@acme.com>",
        ] {
            assert!(!looks_like_email(s), "{s:?}");
        }
        let long_label = format!("alice@{}.com", "a".repeat(64));
        assert!(!looks_like_email(&long_label));
        let max_label = format!("alice@{}.com", "a".repeat(63));
        assert!(looks_like_email(&max_label));
    }

    proptest::proptest! {
        /// The one-pass path decides exactly as the grammar on strings it claims.
        #[test]
        fn bare_addresses_match_the_grammar(s in "[a-zA-Z0-9.@+_'~-]{0,6}(@[a-zA-Z0-9.@-]{0,8}(\\.[a-zA-Z0-9]{0,4})?)?") {
            let grammar = parse_with_grammar(&s);
            match bare_addr_spec(&s) {
                Bare::NotAnEmail => proptest::prop_assert_eq!(grammar, None),
                Bare::Address(m) => proptest::prop_assert_eq!(grammar, Some(m)),
                Bare::NeedsGrammar => {}
            }
        }

        /// Strings made of mailbox-shaped tokens, which reach the rarer grammar paths.
        #[test]
        fn tokens_parse_as_by_the_grammar(s in "(\"|@|<|>| |\\(|\\)|a|B|\\.|acme\\.com|x@y\\.io){0,10}") {
            proptest::prop_assert_eq!(parse_mailbox(&s), parse_with_grammar(&s));
        }

        /// Any string: parse_mailbox (one-pass path, then grammar) is the grammar.
        #[test]
        fn parse_mailbox_is_the_grammar(s in "[a-z.@ <>\"()\\\\A-Z0-9!#-]{0,16}") {
            proptest::prop_assert_eq!(parse_mailbox(&s), parse_with_grammar(&s));
        }
    }

    #[test]
    fn quoted_display_names_take_any_character_but_controls_quote_and_backslash() {
        let table = [
            ("\"José Núñez\" <jose@acme.com>", Some(("jose", "acme.com"))),
            (
                "\"山田 太郎\" <Yamada@Acme.jp>",
                Some(("Yamada", "Acme.jp")),
            ),
            (
                "\"Zoë\" <zoe+hr@acme.com> (HR)",
                Some(("zoe+hr", "acme.com")),
            ),
            (
                "\"Alice Example\" <alice@acme.com>",
                Some(("alice", "acme.com")),
            ),
            ("\"\" <alice@acme.com>", Some(("alice", "acme.com"))),
            ("\"😀 🎉\" <a@acme.com>", Some(("a", "acme.com"))),
            ("\"\u{80}\u{9f}\" <a@acme.com>", Some(("a", "acme.com"))),
            // Unquoted display names are ASCII.
            ("José <jose@acme.com>", None),
            // ASCII controls, quotes and backslashes are not allowed inside the quotes.
            ("\"a\u{1}b\" <ab@acme.com>", None),
            ("\"a\tb\" <ab@acme.com>", None),
            ("\"a\u{7f}b\" <ab@acme.com>", None),
            ("\"a\\\"b\" <ab@acme.com>", None),
            ("\"a\\b\" <ab@acme.com>", None),
            ("\"unclosed <a@acme.com>", None),
            // The address itself stays ASCII.
            ("\"José\" <josé@acme.com>", None),
        ];
        for (input, want) in table {
            let got = parse_mailbox(input);
            assert_eq!(
                got.as_ref().map(|m| (m.local.as_ref(), m.domain)),
                want,
                "{input:?}"
            );
        }
    }

    proptest::proptest! {
        /// A quoted display name of any characters but the ASCII controls, `"` and `\` makes
        /// an email whose canonical form is the address's.
        #[test]
        fn any_quoted_display_name_is_dropped(name in "[^\\x00-\\x1f\\x7f\"\\\\]{0,24}") {
            let input = format!("\"{name}\" <Alice.B+x@Acme.COM>");
            let m = parse_mailbox(&input);
            proptest::prop_assert!(m.is_some(), "{:?}", input);
            let m = m.unwrap();
            proptest::prop_assert_eq!(canonical_email(&m, Strict), "alice.b@acme.com");
            proptest::prop_assert_eq!(m.domain, "Acme.COM");
        }

        /// The same name with one ASCII control, `"` or `\` inside is not an email.
        #[test]
        fn a_control_quote_or_backslash_in_the_name_is_not_an_email(
            before in "[^\\x00-\\x1f\\x7f\"\\\\]{0,8}",
            bad in "[\\x00-\\x1f\\x7f\\\\]",
            after in "[^\\x00-\\x1f\\x7f\"\\\\]{0,8}",
        ) {
            let input = format!("\"{before}{bad}{after}\" <alice@acme.com>");
            proptest::prop_assert!(parse_mailbox(&input).is_none(), "{:?}", input);
        }
    }

    #[test]
    fn quoted_local_parts() {
        assert_eq!(
            parts("\"al.ice\"@acme.com").unwrap().0,
            "al.ice",
            "dot-atom inside quotes loses its quotes"
        );
        assert_eq!(parts("\"a b\"@acme.com").unwrap().0, "\"a b\"");
        assert_eq!(parts("\"a\\\"b\"@acme.com").unwrap().0, "\"a\\\"b\"");
        assert_eq!(parts("\"a..b\"@acme.com").unwrap().0, "\"a..b\"");
        assert!(!looks_like_email("\"a\"b\"@acme.com"));
        assert_eq!(
            parts("\"a@b\"@acme.com").unwrap().0,
            "\"a@b\"",
            "an '@' inside a quoted local part"
        );
    }

    #[test]
    fn domain_keeps_original_case() {
        let m = parse_mailbox("employee@acme.COM").unwrap();
        assert_eq!(m.domain, "acme.COM");
        assert_eq!(canonical_email(&m, Strict), "employee@acme.com");
    }

    #[test]
    fn canonicalization() {
        assert_eq!(canon("Alice@Acme.COM", Strict).unwrap(), "alice@acme.com");
        assert_eq!(canon("alice+x@acme.com", Strict).unwrap(), "alice@acme.com");
        assert_eq!(canon("a+b+c@acme.com", Strict).unwrap(), "a@acme.com");
        assert_eq!(canon("al.ice@acme.com", Strict).unwrap(), "al.ice@acme.com");
        assert_eq!(
            canon("al.ice@acme.com", IgnoreDots).unwrap(),
            "alice@acme.com"
        );
        assert_eq!(
            canon("A.l.i.c.e+news@sub.Acme.com", IgnoreDots).unwrap(),
            "alice@sub.acme.com"
        );
        assert_eq!(
            canon("\"Alice\"@acme.com", Strict).unwrap(),
            "alice@acme.com"
        );
        assert_eq!(
            canon("Alice Example <Alice@acme.com> (x)", Strict).unwrap(),
            "alice@acme.com"
        );
        assert_eq!(
            canon("\"A B\"@acme.com", Strict).unwrap(),
            "\"a b\"@acme.com"
        );
    }

    #[test]
    fn canonicalization_of_long_local_part_spans_chunks() {
        let local = "Ab.".repeat(50) + "z";
        let s = format!("{local}@acme.com");
        assert_eq!(
            canon(&s, IgnoreDots).unwrap(),
            format!("{}z@acme.com", "ab".repeat(50))
        );
        assert_eq!(
            canon(&s, Strict).unwrap(),
            format!("{}@acme.com", local.to_ascii_lowercase())
        );
    }
}
