//! Where the async leg may fetch a source's redirect (`FOLLOW_REDIRECTS=false`, Psoxy's
//! presigned report downloads): the source's own origin, or an `https` URL whose host is, or
//! resolves to, public addresses only. Loopback, private, link-local, shared, documentation and
//! other special-purpose addresses are refused, as literals and as DNS answers (the resolver
//! filters at connect time, so a name cannot be re-pointed in between).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// How a redirect's `Location` may be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectFetch {
    /// The source's own scheme, host and port: fetched as the source is reached.
    SameOrigin(reqwest::Url),
    /// Another host over https: fetched through the public-only resolver.
    Public(reqwest::Url),
    /// Not fetched (another scheme, a special-purpose address literal, no valid URL).
    Refused,
}

/// Decides how to fetch `location` (as the source sent it) of a response to `source`.
pub fn redirect_fetch(source: &str, location: &str) -> RedirectFetch {
    let Ok(source) = reqwest::Url::parse(source) else {
        return RedirectFetch::Refused;
    };
    let Ok(target) = source.join(location) else {
        return RedirectFetch::Refused;
    };
    let same_origin = source.scheme() == target.scheme()
        && source.host_str() == target.host_str()
        && source.port_or_known_default() == target.port_or_known_default();
    if same_origin {
        return RedirectFetch::SameOrigin(target);
    }
    if target.scheme() != "https" {
        return RedirectFetch::Refused;
    }
    match target.host() {
        Some(url::Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => RedirectFetch::Refused,
        Some(url::Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => RedirectFetch::Refused,
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => RedirectFetch::Refused,
        Some(_) => RedirectFetch::Public(target),
        None => RedirectFetch::Refused,
    }
}

/// Whether an address is an ordinary public one.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 (an IPv4 inside)
                || s[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible, deprecated
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // shared address space
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking
        || o[0] >= 240) // reserved
}

/// A DNS resolver that answers only public addresses (none: the connection fails).
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err("the redirect's host has no public address".into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_go_to_the_source_or_to_public_https_hosts() {
        let src = "http://127.0.0.1:8080/orgs/moved/members";
        assert!(matches!(
            redirect_fetch(src, "/download/1?sig=x"),
            RedirectFetch::SameOrigin(u) if u.as_str() == "http://127.0.0.1:8080/download/1?sig=x"
        ));
        let api = "https://api.example.com/reports/1";
        assert!(matches!(
            redirect_fetch(api, "https://files.example-cdn.com/r?sig=1"),
            RedirectFetch::Public(_)
        ));
        for refused in [
            "http://files.example-cdn.com/r",
            "https://127.0.0.1/r",
            "https://10.1.2.3/r",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/r",
            "https://[fd00::1]/r",
            "https://[::ffff:192.168.1.1]/r",
            "https://localhost/r",
            "file:///etc/passwd",
            "//127.0.0.1/r",
        ] {
            assert_eq!(
                redirect_fetch(api, refused),
                RedirectFetch::Refused,
                "{refused}"
            );
        }
        assert!(is_public("8.8.8.8".parse().unwrap()));
        assert!(is_public("2606:4700::1111".parse().unwrap()));
        assert!(!is_public("100.64.0.1".parse().unwrap()));
    }
}
