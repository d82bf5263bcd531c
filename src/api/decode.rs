//! Percent-decoding of request parts: query strings and path parameter values.

/// The `name=value` pairs of a raw query string (without `?`), percent-decoded with `+` as a
/// space, in order; repeated names are kept. Invalid UTF-8 becomes U+FFFD.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// One raw query value (or name), percent-decoded with `+` as a space.
pub fn decode_query_part(raw: &str) -> String {
    form_urlencoded::parse(format!("x={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
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

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
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
                ("flag", ""),
                ("e[0]", "✓")
            ])
        );
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
            prop_assert_eq!(parse_query(&ser.finish()), pairs);
        }
    }
}
