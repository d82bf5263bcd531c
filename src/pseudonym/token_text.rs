//! Where reversible (`p~`) tokens are in text: the one grammar the request body reversal,
//! the `requestBody` schema and the `reversible-pseudonym` parameter format share
//! (SPEC-API-PARITY §3.1.3 and §2): `p~` + 43 or more of `[A-Za-z0-9_-]`, optionally followed
//! by `@` + `[A-Za-z0-9.-]+`.
//!
//! The URL and header reversal (`api::reversal`) deliberately reads more loosely: anything
//! that starts with `p~` and looks like a token there is decrypted or refused with 409, so a
//! mistyped token never reaches the source as a literal.

use std::ops::Range;

use super::reversible::REVERSIBLE_PREFIX;

/// Minimum number of `[A-Za-z0-9_-]` characters after the prefix.
pub const TOKEN_MIN_BODY_LEN: usize = 43;

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
}

/// Finds the leftmost token at or after byte offset `from` and returns its byte range
/// (including an `@domain` suffix), with the same result as the regex
/// `p~[A-Za-z0-9_-]{43,}(?:@[A-Za-z0-9.-]+)?` searched from `from`.
pub fn find_token(s: &str, from: usize) -> Option<Range<usize>> {
    let bytes = s.as_bytes();
    let mut start = from;
    while let Some(offset) = s.get(start..)?.find(REVERSIBLE_PREFIX) {
        let at = start + offset;
        let body_start = at + REVERSIBLE_PREFIX.len();
        let mut end = body_start;
        while end < bytes.len() && is_token_char(bytes[end]) {
            end += 1;
        }
        if end - body_start >= TOKEN_MIN_BODY_LEN {
            if end < bytes.len() && bytes[end] == b'@' {
                let mut domain_end = end + 1;
                while domain_end < bytes.len() && is_domain_char(bytes[domain_end]) {
                    domain_end += 1;
                }
                if domain_end > end + 1 {
                    end = domain_end;
                }
            }
            return Some(at..end);
        }
        // `p` and `~` are ASCII, so `at + 1` is a char boundary
        start = at + 1;
    }
    None
}

/// Whether `s` contains at least one token.
pub fn contains_token(s: &str) -> bool {
    find_token(s, 0).is_some()
}

/// Whether `s` is exactly one token (optionally with its `@domain`), nothing before or after.
pub fn is_whole_token(s: &str) -> bool {
    find_token(s, 0).is_some_and(|r| r.start == 0 && r.end == s.len())
}

/// Whether `s` is exactly one token without an `@domain` (the `reversible-pseudonym`
/// parameter format).
pub fn is_bare_token(s: &str) -> bool {
    is_whole_token(s) && !s.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_grammar() {
        let t43 = format!("p~{}", "a".repeat(43));
        let t42 = format!("p~{}", "a".repeat(42));
        assert_eq!(find_token(&t43, 0), Some(0..45));
        assert_eq!(find_token(&t42, 0), None);
        // contained, with domain, leftmost, after an invalid candidate
        let s = format!("x{t42}~ p~p~{}-_Z9@ex-1.com/rest", "b".repeat(43));
        let r = find_token(&s, 0).unwrap();
        assert_eq!(&s[r.clone()], format!("p~{}-_Z9@ex-1.com", "b".repeat(43)));
        // `@` without a domain char is not part of the token
        let s = format!("{t43}@/x");
        assert_eq!(find_token(&s, 0), Some(0..45));
        assert!(is_whole_token(&format!("{t43}@example.com")));
        assert!(!is_whole_token(&format!(" {t43}")));
        assert!(!is_whole_token(&format!("{t43}@")));
        // multi-byte text around tokens
        let s = format!("é{t43}é");
        let r = find_token(&s, 0).unwrap();
        assert_eq!(&s[r], t43);
        assert!(contains_token(&s));
    }

    #[test]
    fn bare_tokens_have_no_domain() {
        let t43 = format!("p~{}", "-_A9".repeat(11));
        assert!(is_bare_token(&t43));
        assert!(!is_bare_token(&format!("{t43}@acme.com")));
        assert!(!is_bare_token(&t43[..t43.len() - 2]));
        assert!(!is_bare_token(&format!("{t43}=")));
        assert!(!is_bare_token("p~"));
    }
}
