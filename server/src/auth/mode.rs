//! `--auth`: whether this server needs a sign-in, decided safely at start.
//!
//! `auto` (the default) needs none on a loopback address, where only this
//! machine's user can connect, and needs one on any other. `off` on a
//! non-loopback address is refused, the way Redis's protected mode refuses to
//! serve the network without a password: nobody gets an open server by accident.

use std::net::SocketAddr;

/// The `--auth` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// No sign-in on a loopback address, a sign-in everywhere else.
    Auto,
    /// A sign-in whatever the address.
    Required,
    /// No sign-in; refused on a non-loopback address.
    Off,
}

/// What the guard enforces, resolved from the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    /// Every request but a few public paths needs a user or a token.
    pub sign_in: bool,
    /// The server's public origin (`https://tally.example.com`), from `--public-url`.
    pub public_origin: Option<PublicOrigin>,
    /// Refuse a `Host` that is not a loopback name (DNS rebinding): on when the
    /// server needs no sign-in, since then a page that rebinds a name to
    /// 127.0.0.1 would get everything.
    pub loopback_hosts_only: bool,
}

/// `--public-url`, parsed: scheme and authority, no path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicOrigin {
    pub https: bool,
    /// `host[:port]`, lowercased.
    pub authority: String,
}

impl PublicOrigin {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim().trim_end_matches('/');
        let (scheme, rest) = trimmed.split_once("://").ok_or_else(|| {
            format!("--public-url: '{raw}' is not a URL such as https://tally.example.com")
        })?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => {
                return Err(format!(
                    "--public-url: '{raw}' must start with https:// or http://"
                ));
            }
        };
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(format!(
                "--public-url: '{raw}' must be a scheme and a host only, such as https://tally.example.com"
            ));
        }
        Ok(Self {
            https,
            authority: rest.to_ascii_lowercase(),
        })
    }

    /// `https://host[:port]`, as a browser writes it in `Origin`.
    pub fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.authority
        )
    }

    /// The host without its port.
    pub fn host(&self) -> &str {
        host_of(&self.authority)
    }
}

/// Why the flags cannot be served.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UnsafeMode(String);

impl Protection {
    /// Resolves `--auth` for the address the server listens on.
    pub fn resolve(
        mode: AuthMode,
        addr: SocketAddr,
        public_origin: Option<PublicOrigin>,
    ) -> Result<Self, UnsafeMode> {
        let loopback = addr.ip().is_loopback();
        let sign_in = match mode {
            AuthMode::Required => true,
            AuthMode::Auto => !loopback,
            AuthMode::Off if loopback => false,
            AuthMode::Off => {
                return Err(UnsafeMode(format!(
                    "refusing to serve {addr} with --auth off: every machine that can reach \
                     it could read, change and delete all of Tally's data. Use --auth required \
                     (or the default, auto) to make users sign in, or listen on a loopback \
                     address such as 127.0.0.1:{}",
                    addr.port()
                )));
            }
        };
        Ok(Self {
            sign_in,
            loopback_hosts_only: !sign_in,
            public_origin,
        })
    }

    /// Whether cookies must be `Secure` (the public URL is https).
    pub fn https(&self) -> bool {
        self.public_origin.as_ref().is_some_and(|o| o.https)
    }
}

/// `host` of `host[:port]`, `[v6]` of `[v6]:port`.
pub fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
}

/// A name or address only this machine reaches: `localhost`, `*.localhost`,
/// `127.0.0.0/8`, `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    #[test]
    fn auto_needs_a_sign_in_off_loopback_only() {
        let local = Protection::resolve(AuthMode::Auto, addr("127.0.0.1:3000"), None).expect("ok");
        assert!(!local.sign_in && local.loopback_hosts_only);
        let v6 = Protection::resolve(AuthMode::Auto, addr("[::1]:3000"), None).expect("ok");
        assert!(!v6.sign_in);
        let lan = Protection::resolve(AuthMode::Auto, addr("0.0.0.0:3000"), None).expect("ok");
        assert!(lan.sign_in && !lan.loopback_hosts_only);
        let required =
            Protection::resolve(AuthMode::Required, addr("127.0.0.1:3000"), None).expect("ok");
        assert!(required.sign_in);
    }

    #[test]
    fn off_is_refused_on_a_network_address() {
        let err =
            Protection::resolve(AuthMode::Off, addr("0.0.0.0:3000"), None).expect_err("refused");
        assert!(err.to_string().contains("--auth required"), "{err}");
        assert!(Protection::resolve(AuthMode::Off, addr("127.0.0.1:0"), None).is_ok());
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in [
            "localhost",
            "LOCALHOST",
            "tally.localhost",
            "127.0.0.1",
            "127.8.9.1",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "localhost.evil.example",
            "10.0.0.1",
            "0.0.0.0",
            "[::]",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
        assert_eq!(host_of("127.0.0.1:3000"), "127.0.0.1");
        assert_eq!(host_of("[::1]:3000"), "[::1]");
        assert_eq!(host_of("localhost"), "localhost");
    }

    #[test]
    fn public_urls_are_an_origin_only() {
        let o = PublicOrigin::parse("https://Tally.Example.com/").expect("ok");
        assert_eq!(o.origin(), "https://tally.example.com");
        assert!(o.https);
        assert_eq!(o.host(), "tally.example.com");
        for bad in ["tally.example.com", "ftp://x", "https://x/path", "https://"] {
            assert!(PublicOrigin::parse(bad).is_err(), "{bad}");
        }
    }
}
