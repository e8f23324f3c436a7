//! Which addresses the server may call on a customer's behalf.
//!
//! Organizations name URLs the server then calls (an LRS today; push endpoints, webhooks and
//! identity providers later). Anyone can create an organization, so such a URL must never lead
//! the server to itself, to the machines beside it, or to a cloud's metadata service: the server
//! only calls public addresses, over `https`, unless the operator allows more
//! (`REPRISE_EGRESS_ALLOW`, `REPRISE_EGRESS_ALLOW_HTTP`). These are the rules; `outbound` applies
//! them to every address a name resolves to, right before connecting to it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use url::{Host, Url};

/// What the operator allows beyond public `https` addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    /// Address ranges allowed even though they are not public (an on-premises LRS).
    pub ranges: Vec<IpNet>,
    /// Host names allowed whatever they resolve to (lower case).
    pub hosts: Vec<String>,
    /// Plain `http` allowed (never by default: credentials travel in requests).
    pub allow_http: bool,
}

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressRefusal {
    #[error("must be an absolute https:// URL")]
    NotHttps,
    #[error("must be an absolute http:// or https:// URL")]
    NotHttp,
    #[error("must name a host")]
    NoHost,
    #[error("must not carry a user name or password in the URL")]
    Credentials,
    #[error("{0} is not a public address; the server does not call it")]
    Private(IpAddr),
    #[error("{0} resolves to {1}, which is not a public address; the server does not call it")]
    ResolvesPrivate(String, IpAddr),
}

impl EgressPolicy {
    /// Reads `REPRISE_EGRESS_ALLOW`'s form: a comma list of address ranges (`10.20.0.0/16`),
    /// single addresses and host names.
    pub fn parse_allow(list: &str, allow_http: bool) -> Result<EgressPolicy, String> {
        let mut policy = EgressPolicy {
            allow_http,
            ..EgressPolicy::default()
        };
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Ok(net) = item.parse::<IpNet>() {
                policy.ranges.push(net.trunc());
            } else if let Ok(ip) = item.parse::<IpAddr>() {
                policy.ranges.push(IpNet::from(ip));
            } else if is_host_name(item) {
                policy
                    .hosts
                    .push(item.trim_end_matches('.').to_ascii_lowercase());
            } else {
                return Err(format!(
                    "{item:?} is neither an address range, an address nor a host name"
                ));
            }
        }
        Ok(policy)
    }

    /// Checks a URL's form before anything is resolved: the scheme, no credentials, and an
    /// address written in the URL itself (in any of the forms URL parsing accepts, such as
    /// `2130706433` or `0x7f.1`, which it turns into the address they mean).
    pub fn check_url(&self, url: &Url) -> Result<(), EgressRefusal> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            _ if self.allow_http => return Err(EgressRefusal::NotHttp),
            _ => return Err(EgressRefusal::NotHttps),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(EgressRefusal::Credentials);
        }
        match url.host() {
            None => Err(EgressRefusal::NoHost),
            Some(Host::Ipv4(ip)) => self.check_address(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_address(IpAddr::V6(ip)),
            Some(Host::Domain(_)) => Ok(()),
        }
    }

    /// Whether a host name is allowed whatever it resolves to.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// An address the server is about to connect to.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), EgressRefusal> {
        if is_public(ip) || self.ranges.iter().any(|net| net.contains(&ip)) {
            Ok(())
        } else {
            Err(EgressRefusal::Private(ip))
        }
    }

    /// Every address `host` resolved to: all must be allowed (a name with one public and one
    /// private address would otherwise reach inside on some connections).
    pub fn check_resolved(&self, host: &str, addrs: &[IpAddr]) -> Result<(), EgressRefusal> {
        if self.allows_host(host) {
            return Ok(());
        }
        match addrs.iter().find(|ip| self.check_address(**ip).is_err()) {
            Some(ip) => Err(EgressRefusal::ResolvesPrivate(host.to_string(), *ip)),
            None => Ok(()),
        }
    }
}

fn is_host_name(s: &str) -> bool {
    let s = s.trim_end_matches('.');
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Whether an address is on the public internet: not loopback, private, link-local, carrier-
/// grade NAT, multicast, unspecified, broadcast, reserved or documentation space, in either
/// family, nor an IPv6 form that carries such an IPv4 address (mapped, compatible, NAT64, 6to4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const NOT_PUBLIC: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),       // "this network", including the unspecified address
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // carrier-grade NAT
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local, cloud metadata services
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation
        ([192, 88, 99, 0], 24),  // 6to4 relays
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation
        ([203, 0, 113, 0], 24),  // documentation
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, and the broadcast address
    ];
    !NOT_PUBLIC
        .iter()
        .any(|(net, prefix)| in_v4(ip, *net, *prefix))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // IPv4 carried in IPv6: judged as the IPv4 address it carries.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if s[..6] == [0; 6] {
        // `::` and `::1`, and the deprecated IPv4-compatible form `::a.b.c.d`.
        return !ip.is_unspecified() && !ip.is_loopback() && is_public_v4(embedded_v4(s[6], s[7]));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        return is_public_v4(embedded_v4(s[6], s[7])); // NAT64 well-known prefix
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2])); // 6to4
    }
    let first = s[0];
    let not_public = (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        || (first & 0xff00) == 0xff00 // multicast
        || (first == 0x2001 && s[1] == 0x0db8) // documentation
        || (first == 0x0100 && s[1..4] == [0; 3]); // discard-only 100::/64
    !not_public
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    Ipv4Addr::from(((high as u32) << 16) | low as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn inside_addresses_are_not_public_in_any_form() {
        for inside in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "10.0.0.1",
            "172.16.5.4",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fd00::1",
            "fc00::abcd",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(!is_public(ip(inside)), "{inside} must not count as public");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert!(is_public(ip(public)), "{public} is public");
        }
    }

    #[test]
    fn urls_are_checked_for_scheme_credentials_and_written_addresses() {
        let policy = EgressPolicy::default();
        let check = |u: &str| policy.check_url(&Url::parse(u).unwrap());
        assert_eq!(check("https://lrs.example.com/xapi"), Ok(()));
        assert_eq!(
            check("http://lrs.example.com/xapi"),
            Err(EgressRefusal::NotHttps)
        );
        assert_eq!(
            check("ftp://lrs.example.com/"),
            Err(EgressRefusal::NotHttps)
        );
        assert_eq!(
            check("https://user:pw@lrs.example.com/"),
            Err(EgressRefusal::Credentials)
        );
        // Every spelling of an inside address is the address it means.
        for (url, meant) in [
            (
                "https://169.254.169.254/latest/meta-data",
                "169.254.169.254",
            ),
            ("https://2130706433/", "127.0.0.1"),
            ("https://0x7f.0.0.1/", "127.0.0.1"),
            ("https://0177.0.0.1/", "127.0.0.1"),
            ("https://127.1/", "127.0.0.1"),
            ("https://[::1]/", "::1"),
            ("https://[::ffff:7f00:1]/", "::ffff:127.0.0.1"),
            ("https://10.0.0.1:6379/", "10.0.0.1"),
        ] {
            assert_eq!(check(url), Err(EgressRefusal::Private(ip(meant))), "{url}");
        }
    }

    #[test]
    fn operators_allow_ranges_hosts_and_http() {
        let policy =
            EgressPolicy::parse_allow(" 10.20.0.0/16, lrs.internal ,127.0.0.1", true).unwrap();
        assert!(policy.check_address(ip("10.20.3.4")).is_ok());
        assert!(policy.check_address(ip("10.21.0.1")).is_err());
        assert!(policy.check_address(ip("127.0.0.1")).is_ok());
        assert!(policy.check_address(ip("127.0.0.2")).is_err());
        assert!(policy
            .check_resolved("LRS.internal.", &[ip("192.168.0.9")])
            .is_ok());
        assert_eq!(
            policy.check_resolved("other.internal", &[ip("8.8.8.8"), ip("192.168.0.9")]),
            Err(EgressRefusal::ResolvesPrivate(
                "other.internal".into(),
                ip("192.168.0.9")
            ))
        );
        assert!(policy
            .check_url(&Url::parse("http://lrs.internal/xapi").unwrap())
            .is_ok());
        assert!(EgressPolicy::parse_allow("10.0.0.0/33", false).is_err());
        assert!(EgressPolicy::parse_allow("not a host!", false).is_err());
    }
}
