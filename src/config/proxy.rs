//! The account's `proxy = TYPE:HOST:PORT`.
//!
//! OfflineIMAP splits the value on `:` into three parts and looks TYPE up
//! as an attribute of PySocks, so the types are `SOCKS4`, `SOCKS5` and
//! `HTTP` (and PySocks' `PROXY_TYPE_*` aliases of them); there is no
//! `SOCKS4A`. An empty value means no proxy. Types are matched here
//! without regard to case, and a bracketed IPv6 host (`[::1]`) is allowed.

use super::{Proxy, ProxyKind, value};

/// The proxy `text` names, `None` for an empty value.
pub(super) fn parse(text: &str) -> Result<Option<Proxy>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let form = || format!("expected TYPE:HOST:PORT (TYPE SOCKS5, SOCKS4 or HTTP), got '{text}'");
    let (kind, rest) = text.split_once(':').ok_or_else(form)?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(form)?;
    let kind = match kind.trim().to_ascii_uppercase().as_str() {
        "SOCKS5" | "PROXY_TYPE_SOCKS5" => ProxyKind::Socks5,
        "SOCKS4" | "PROXY_TYPE_SOCKS4" => ProxyKind::Socks4,
        "HTTP" | "PROXY_TYPE_HTTP" => ProxyKind::Http,
        other => {
            return Err(format!(
                "unknown proxy type '{other}' (known: SOCKS5, SOCKS4, HTTP)"
            ));
        }
    };
    let host = host.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(form());
    }
    let port = value::port(port.trim()).map_err(|m| format!("{m} as the proxy's port"))?;
    Ok(Some(Proxy {
        kind,
        host: host.to_owned(),
        port,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn types_hosts_and_ports() {
        let p = parse("SOCKS5:localhost:9050").unwrap().unwrap();
        assert_eq!(
            p,
            Proxy {
                kind: ProxyKind::Socks5,
                host: "localhost".into(),
                port: 9050
            }
        );
        assert_eq!(
            parse("socks4:10.0.0.1:1080").unwrap().unwrap().kind,
            ProxyKind::Socks4
        );
        let p = parse("HTTP:[::1]:3128").unwrap().unwrap();
        assert_eq!(
            (p.kind, p.host.as_str(), p.port),
            (ProxyKind::Http, "::1", 3128)
        );
        assert_eq!(
            parse("PROXY_TYPE_SOCKS5:h:1").unwrap().unwrap().kind,
            ProxyKind::Socks5
        );
        assert_eq!(parse("  ").unwrap(), None);
    }

    #[test]
    fn bad_values_say_what_is_expected() {
        for bad in ["SOCKS5:localhost", "SOCKS5", "SOCKS5::1080", "SOCKS5:h:x"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let e = parse("SOCKS4A:h:1080").unwrap_err();
        assert!(e.contains("unknown proxy type 'SOCKS4A'"), "{e}");
        assert!(parse("SOCKS5:h:0").unwrap_err().contains("port"));
    }
}
