//! The data-access IP allow-list, `ALLOWED_DATA_ACCESS_IP_BLOCKS` (spec §3.9).
//!
//! The setting is compiled once at start ([`IpAllowList::parse`]); each request's client string
//! is then normalized and checked ([`IpAllowList::allows`]). Addresses are compared parsed
//! (spec Rec.), so `::1` equals `0:0:0:0:0:0:0:1`. IPv4-mapped IPv6 addresses
//! (`::ffff:a.b.c.d`), in the list or from the client, are treated as their IPv4 address (as
//! Java's `InetAddress` does); an IPv6 client never matches an IPv4 CIDR and vice versa.
//! A refused request gets 403, `X-Psoxy-Error: UNAUTHORIZED_IP_ADDRESS`, body
//! [`UNAUTHORIZED_IP_BODY`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Response body when the client IP is refused.
pub const UNAUTHORIZED_IP_BODY: &str = "Client IP is not authorized to access this proxy instance.";

/// A compiled allow-list. The default value is disabled (allows everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpAllowList {
    enabled: bool,
    exact: Vec<IpAddr>,
    v4_blocks: Vec<(Ipv4Addr, u8)>,
    v6_blocks: Vec<(Ipv6Addr, u8)>,
}

impl IpAllowList {
    /// Parses the setting value (comma separated; entries trimmed; empty dropped). Returns the
    /// list and the invalid entries (for warnings; never fails).
    ///
    /// An entry containing `/` is a CIDR: IPv6 if it also contains `:` (prefix 0..=128), else
    /// IPv4 `a.b.c.d/n` (n 0..=32; decimal octets of 1-3 digits as Apache `SubnetUtils` reads
    /// them; host bits allowed; network and broadcast addresses included). Any other entry is
    /// an exact IPv4/IPv6 literal (an IPv6 `%zone` suffix is ignored).
    pub fn parse(setting: &str) -> (IpAllowList, Vec<String>) {
        let mut list = IpAllowList::default();
        let mut invalid = Vec::new();
        for entry in setting.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            list.enabled = true;
            let ok = if entry.contains('/') {
                if entry.contains(':') {
                    parse_v6_cidr(entry).map(|b| list.v6_blocks.push(b))
                } else {
                    parse_v4_cidr(entry).map(|b| list.v4_blocks.push(b))
                }
            } else {
                parse_exact(entry).map(|ip| list.exact.push(ip))
            };
            if ok.is_none() {
                invalid.push(entry.to_owned());
            }
        }
        (list, invalid)
    }

    /// Whether lock-down is on (at least one non-empty entry configured, even if all invalid).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Whether `client` (the raw client string) is allowed. A disabled list allows everything,
    /// also `None`. Otherwise the client is normalized (blank -> unknown; a comma-separated
    /// chain -> unknown; `v4:port` -> the IPv4; `[v6]:port` / `[v6]` -> the IPv6; a `%zone`
    /// suffix removed); unknown or not an IP literal -> refused. Allowed iff equal to an exact
    /// entry or inside a CIDR of the same family.
    pub fn allows(&self, client: Option<&str>) -> bool {
        if !self.enabled {
            return true;
        }
        let Some(ip) = client.and_then(normalize_client) else {
            return false;
        };
        if self.exact.contains(&ip) {
            return true;
        }
        match ip {
            IpAddr::V4(v4) => self
                .v4_blocks
                .iter()
                .any(|&(net, len)| v4_in_block(v4, net, len)),
            IpAddr::V6(v6) => self
                .v6_blocks
                .iter()
                .any(|&(net, len)| v6_in_block(v6, net, len)),
        }
    }
}

/// Normalizes a raw client string to an address; `None` = unknown.
fn normalize_client(raw: &str) -> Option<IpAddr> {
    let value = raw.trim();
    if value.is_empty() || value.contains(',') {
        return None;
    }
    if let Some(bracketed) = value.strip_prefix('[') {
        let (inside, after) = bracketed.split_once(']')?;
        if !(after.is_empty() || after.starts_with(':')) {
            return None;
        }
        return strip_zone(inside)
            .parse::<Ipv6Addr>()
            .ok()
            .map(canonical_v6);
    }
    if value.matches(':').count() == 1 {
        let (host, _port) = value.split_once(':')?;
        return host.parse::<Ipv4Addr>().ok().map(IpAddr::V4);
    }
    parse_exact(value)
}

/// An exact literal, `%zone` ignored, IPv4-mapped IPv6 turned into IPv4.
fn parse_exact(value: &str) -> Option<IpAddr> {
    match strip_zone(value).parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some(IpAddr::V4(v4)),
        IpAddr::V6(v6) => Some(canonical_v6(v6)),
    }
}

fn canonical_v6(v6: Ipv6Addr) -> IpAddr {
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

/// Drops an IPv6 `%zone` suffix (only for values that look like IPv6).
fn strip_zone(value: &str) -> &str {
    match value.split_once('%') {
        Some((addr, _zone)) if addr.contains(':') => addr,
        _ => value,
    }
}

/// `a.b.c.d/n` as Apache commons-net `SubnetUtils` accepts it.
fn parse_v4_cidr(entry: &str) -> Option<(Ipv4Addr, u8)> {
    let (addr, len) = entry.split_once('/')?;
    let len = decimal(len, 2)?;
    if len > 32 {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut parts = addr.split('.');
    for octet in &mut octets {
        *octet = decimal(parts.next()?, 3)?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some((Ipv4Addr::from(octets), len))
}

/// `v6addr/n`, n 0..=128.
fn parse_v6_cidr(entry: &str) -> Option<(Ipv6Addr, u8)> {
    let (addr, len) = entry.split_once('/')?;
    let len = decimal(len, 3)?;
    if len > 128 {
        return None;
    }
    Some((addr.parse().ok()?, len))
}

/// 1..=`max_digits` ASCII digits as a number (at most 255).
fn decimal(s: &str, max_digits: usize) -> Option<u8> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u16>().ok().and_then(|n| u8::try_from(n).ok())
}

fn v4_in_block(ip: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn v6_in_block(ip: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(setting: &str) -> IpAllowList {
        IpAllowList::parse(setting).0
    }

    #[test]
    fn exact_entries() {
        let l = list("10.0.0.5,192.168.0.1");
        assert!(l.is_enabled());
        assert!(l.allows(Some("10.0.0.5")));
        assert!(l.allows(Some("192.168.0.1")));
        assert!(!l.allows(Some("10.0.0.6")));
    }

    #[test]
    fn v4_cidr_includes_network_and_broadcast() {
        let l = list("192.168.1.0/24");
        assert!(l.allows(Some("192.168.1.1")));
        assert!(l.allows(Some("192.168.1.255")));
        assert!(l.allows(Some("192.168.1.0")));
        assert!(!l.allows(Some("192.168.2.1")));
    }

    #[test]
    fn invalid_entries_ignored_and_reported() {
        let (l, invalid) = IpAllowList::parse("invalid_ip,also_not_an_ip,10.0.0.0/8");
        assert_eq!(invalid, vec!["invalid_ip", "also_not_an_ip"]);
        assert!(l.allows(Some("10.0.0.5")));
        assert!(!l.allows(Some("192.168.1.1")));
    }

    #[test]
    fn several_blocks() {
        let l = list("10.0.0.0/8,172.16.0.0/12,192.168.1.100");
        assert!(l.allows(Some("172.20.0.1")));
        assert!(!l.allows(Some("172.32.0.1")));
        assert!(!l.allows(Some("11.0.0.0")));
        assert!(l.allows(Some("192.168.1.100")));
    }

    #[test]
    fn client_chain_refused_and_port_stripped() {
        let l = list("10.0.0.5");
        assert!(!l.allows(Some("10.0.0.5, 192.168.1.1")));
        assert!(!l.allows(Some("10.0.0.5,")));
        assert!(l.allows(Some("10.0.0.5:443")));
        assert!(l.allows(Some(" 10.0.0.5 ")));
        assert!(!l.allows(Some("10.0.0.6:443")));
        assert!(!l.allows(Some("host:443")));
    }

    #[test]
    fn v6_cidr() {
        let l = list("2001:db8::/32");
        assert!(l.allows(Some("2001:db8:1::1")));
        assert!(!l.allows(Some("2001:db9::1")));
    }

    #[test]
    fn unknown_client_refused_by_any_list() {
        for setting in ["10.0.0.5", "0.0.0.0/0", "::/0", "bogus"] {
            let l = list(setting);
            for client in [
                None,
                Some(""),
                Some("   "),
                Some("unknown"),
                Some("not-an-ip"),
            ] {
                assert!(!l.allows(client), "{setting} {client:?}");
            }
        }
    }

    #[test]
    fn empty_list_allows_everything() {
        for setting in ["", " ", ",", " , ,"] {
            let (l, invalid) = IpAllowList::parse(setting);
            assert!(!l.is_enabled());
            assert!(invalid.is_empty());
            assert!(l.allows(None));
            assert!(l.allows(Some("")));
            assert!(l.allows(Some("garbage")));
            assert!(l.allows(Some("10.0.0.5")));
        }
    }

    #[test]
    fn all_invalid_locks_everything_down() {
        let (l, invalid) = IpAllowList::parse("nope, 10.0.0.0/33");
        assert_eq!(invalid, vec!["nope", "10.0.0.0/33"]);
        assert!(l.is_enabled());
        assert!(!l.allows(Some("10.0.0.1")));
    }

    #[test]
    fn entries_trimmed() {
        let l = list("  10.0.0.5  ,\t192.168.0.0/16 ");
        assert!(l.allows(Some("10.0.0.5")));
        assert!(l.allows(Some("192.168.3.4")));
    }

    #[test]
    fn parsed_comparison_of_v6_literals() {
        let l = list("::1");
        assert!(l.allows(Some("0:0:0:0:0:0:0:1")));
        assert!(l.allows(Some("::1")));
        assert!(l.allows(Some("[::1]:8080")));
        assert!(l.allows(Some("[::1]")));
        assert!(l.allows(Some("::1%lo0")));
        assert!(l.allows(Some("[::1%lo0]:8080")));
        assert!(!l.allows(Some("[::1]x")));
        assert!(!l.allows(Some("::2")));
    }

    #[test]
    fn v6_client_never_matches_v4_cidr() {
        let l = list("0.0.0.0/0");
        assert!(!l.allows(Some("2001:db8::1")));
        assert!(l.allows(Some("203.0.113.9")));
        let l = list("::/0");
        assert!(!l.allows(Some("203.0.113.9")));
        assert!(l.allows(Some("2001:db8::1")));
    }

    #[test]
    fn v4_mapped_v6_treated_as_v4() {
        let l = list("10.0.0.0/8");
        assert!(l.allows(Some("::ffff:10.1.2.3")));
        assert!(l.allows(Some("[::ffff:10.1.2.3]:443")));
        let l = list("::ffff:10.0.0.5");
        assert!(l.allows(Some("10.0.0.5")));
    }

    #[test]
    fn v4_cidr_parsing_rules() {
        // Host bits allowed, decimal octets with leading zeros read as SubnetUtils does.
        assert!(list("10.1.2.3/8").allows(Some("10.200.0.1")));
        assert!(list("010.0.0.0/8").allows(Some("10.9.9.9")));
        assert!(list("10.0.0.5/32").allows(Some("10.0.0.5")));
        assert!(!list("10.0.0.5/32").allows(Some("10.0.0.4")));
        assert!(list("0.0.0.0/0").allows(Some("255.255.255.255")));
        for bad in [
            "10.0.0.0/33",
            "256.0.0.0/8",
            "10.0.0/8",
            "10.0.0.0.0/8",
            "10.0.0.0/",
            "/8",
            "10.0.0.0/1a",
            "10.0.0.0/008",
        ] {
            let (_, invalid) = IpAllowList::parse(bad);
            assert_eq!(invalid, vec![bad], "{bad}");
        }
    }

    #[test]
    fn v6_cidr_parsing_rules() {
        assert!(list("::/0").allows(Some("ffff::1")));
        assert!(list("2001:db8::1/128").allows(Some("2001:db8::1")));
        for bad in ["2001:db8::/129", "2001:db8::/", "zz::/64", "2001:db8::/x"] {
            let (_, invalid) = IpAllowList::parse(bad);
            assert_eq!(invalid, vec![bad], "{bad}");
        }
    }

    #[test]
    fn exact_entry_forms() {
        assert!(list("fe80::1%eth0").allows(Some("fe80::1")));
        let (_, invalid) = IpAllowList::parse("[::1],10.0.0.01,10.0.0,host.example");
        assert_eq!(
            invalid,
            vec!["[::1]", "10.0.0.01", "10.0.0", "host.example"]
        );
    }

    #[test]
    fn body_text() {
        assert_eq!(
            UNAUTHORIZED_IP_BODY,
            "Client IP is not authorized to access this proxy instance."
        );
    }
}
