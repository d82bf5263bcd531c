//! Canonicalization of IP addresses before hashing.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};

/// Canonical text of an IP address, or `None` when `value` is not one.
///
/// * IPv4: dotted quad (`10.0.0.1`); octets with leading zeros are rejected.
/// * IPv6: all eight groups, lower-case hex, no zero compression and no
///   leading zeros (`2001:0db8::1` becomes `2001:db8:0:0:0:0:0:1`).
/// * IPv4-mapped IPv6 (`::ffff:192.0.2.128`) becomes the plain IPv4 address.
///
/// The value is not trimmed; zone ids (`fe80::1%eth0`) and brackets are not
/// accepted.
pub fn canonical_ip(value: &str) -> Option<String> {
    match value.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some(v4.to_string()),
        IpAddr::V6(v6) => Some(match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => expanded_v6(&v6),
        }),
    }
}

/// `a:b:c:d:e:f:g:h` with every group in minimal lower-case hex.
fn expanded_v6(v6: &Ipv6Addr) -> String {
    let mut out = String::with_capacity(39);
    for (i, seg) in v6.segments().iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        write!(out, "{seg:x}").expect("writing to a String cannot fail");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4() {
        assert_eq!(canonical_ip("123.234.252.12").unwrap(), "123.234.252.12");
        assert_eq!(canonical_ip("10.0.0.1").unwrap(), "10.0.0.1");
        assert_eq!(canonical_ip("999.1.1.1"), None);
        assert_eq!(canonical_ip("1.2.3"), None);
        assert_eq!(canonical_ip("01.2.3.4"), None);
        assert_eq!(canonical_ip(" 1.2.3.4"), None);
    }

    #[test]
    fn ipv6() {
        assert_eq!(
            canonical_ip("2001:0db8::1").unwrap(),
            "2001:db8:0:0:0:0:0:1"
        );
        assert_eq!(canonical_ip("2001:DB8::A").unwrap(), "2001:db8:0:0:0:0:0:a");
        assert_eq!(canonical_ip("::1").unwrap(), "0:0:0:0:0:0:0:1");
        assert_eq!(canonical_ip("::").unwrap(), "0:0:0:0:0:0:0:0");
        assert_eq!(
            canonical_ip("fe80::1ff:fe23:4567:890a").unwrap(),
            "fe80:0:0:0:1ff:fe23:4567:890a"
        );
        assert_eq!(canonical_ip("fe80::1%eth0"), None);
        assert_eq!(canonical_ip("[::1]"), None);
    }

    #[test]
    fn ipv4_mapped_becomes_ipv4() {
        assert_eq!(canonical_ip("::ffff:192.0.2.128").unwrap(), "192.0.2.128");
        assert_eq!(
            canonical_ip("0:0:0:0:0:ffff:c000:0280").unwrap(),
            "192.0.2.128"
        );
        // IPv4-compatible (deprecated) addresses stay IPv6.
        assert_eq!(
            canonical_ip("::192.0.2.128").unwrap(),
            "0:0:0:0:0:0:c000:280"
        );
    }

    #[test]
    fn not_ips() {
        for s in ["not an ip", "", "1.2.3.4.5", "1:2:3", "localhost"] {
            assert_eq!(canonical_ip(s), None, "{s}");
        }
    }
}
