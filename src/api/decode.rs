//! Percent-decoding of request parts: query strings and path parameter values.

/// One parameter of a query string: its decoded name and value (`None` for a bare name
/// without `=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPair {
    /// The name, trimmed, then form-decoded.
    pub name: String,
    /// The value, trimmed, then form-decoded; `None` when the pair has no `=`.
    pub value: Option<String>,
}

/// The parameters of a raw query string (without `?`), as Psoxy's HTTP library reads them
/// (SPEC-API-PARITY 1.2): split on `&` **and** `;`, each name and value form-decoded (`+` is
/// a space) (raw surrounding blanks trimmed first), pairs with an empty name dropped, in
/// order; repeated names are kept. Invalid UTF-8 becomes U+FFFD.
pub fn parse_query(raw: &str) -> Vec<QueryPair> {
    raw.split(['&', ';'])
        .filter_map(|pair| {
            let (name, value) = match pair.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (pair, None),
            };
            let name = decode_query_part(trim_blanks(name));
            if name.is_empty() {
                return None;
            }
            let value = value.map(|v| decode_query_part(trim_blanks(v)));
            Some(QueryPair { name, value })
        })
        .collect()
}

/// Drops the whitespace the HTTP library's tokenizer skips (space, tab, CR, LF), before
/// decoding: an encoded `%20` stays.
fn trim_blanks(raw: &str) -> &str {
    raw.trim_matches([' ', '\t', '\r', '\n'])
}

/// One raw query value (or name), percent-decoded with `+` as a space (as
/// `application/x-www-form-urlencoded` reads it). Invalid UTF-8 becomes U+FFFD.
pub fn decode_query_part(raw: &str) -> String {
    let spaced: std::borrow::Cow<'_, str> = if raw.contains('+') {
        raw.replace('+', " ").into()
    } else {
        raw.into()
    };
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// A raw path segment (or part of one), percent-decoded; `+` stays `+`. Invalid UTF-8
/// becomes U+FFFD.
pub fn decode_path_part(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<QueryPair> {
        v.iter()
            .map(|(a, b)| QueryPair {
                name: a.to_string(),
                value: if *b == "-" { None } else { Some(b.to_string()) },
            })
            .collect()
    }

    #[test]
    fn query_pairs() {
        assert_eq!(
            parse_query("a=1&b=x%20y+z&a=2&flag&e%5B0%5D=%E2%9C%93"),
            pairs(&[
                ("a", "1"),
                ("b", "x y z"),
                ("a", "2"),
                ("flag", "-"),
                ("e[0]", "✓")
            ])
        );
        assert_eq!(
            parse_query("a=1;b=2&empty=& c = d "),
            pairs(&[("a", "1"), ("b", "2"), ("empty", ""), ("c", "d")])
        );
        assert_eq!(parse_query("a=%20x%20"), pairs(&[("a", " x ")]));
        assert_eq!(parse_query(""), pairs(&[]));
        assert_eq!(parse_query("&&a=1&"), pairs(&[("a", "1")]));
        assert_eq!(parse_query("a=%ZZ"), pairs(&[("a", "%ZZ")]));
        assert_eq!(parse_query("a=%FF"), pairs(&[("a", "\u{fffd}")]));
    }

    #[test]
    fn path_parts() {
        assert_eq!(decode_path_part("a%2Fb+c%40d"), "a/b+c@d");
        assert_eq!(decode_path_part("p~abc"), "p~abc");
        assert_eq!(decode_path_part("%"), "%");
    }

    proptest! {
        #[test]
        fn encoded_query_round_trips(pairs in prop::collection::vec(("\\PC{1,8}", "\\PC{0,8}"), 0..5)) {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (n, v) in &pairs {
                ser.append_pair(n, v);
            }
            let expected: Vec<QueryPair> = pairs
                .iter()
                .filter(|(n, _)| !n.is_empty())
                .map(|(n, v)| QueryPair { name: n.clone(), value: Some(v.clone()) })
                .collect();
            prop_assert_eq!(parse_query(&ser.finish()), expected);
        }
    }
}
