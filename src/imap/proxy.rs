//! The account's `proxy`: a TCP connection to the IMAP server made
//! through a SOCKS5, SOCKS4 or HTTP (CONNECT) proxy. What comes back is
//! an ordinary `TcpStream` carrying the bytes to the server, so TLS (with
//! the certificate checked against the configured host name) and
//! everything after it run through the proxy unchanged.
//!
//! As OfflineIMAP does (imaplib2 resolves the host, PySocks is given the
//! address), the server's name is resolved here, not by the proxy, and
//! each of its addresses is tried in turn. SOCKS goes through
//! `tokio-socks`; the HTTP CONNECT exchange is small enough to write out.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::{Proxy, ProxyKind};

/// The longest CONNECT answer head read before giving up.
const MAX_HTTP_HEAD: usize = 8 * 1024;

fn kind_name(kind: ProxyKind) -> &'static str {
    match kind {
        ProxyKind::Socks5 => "SOCKS5",
        ProxyKind::Socks4 => "SOCKS4",
        ProxyKind::Http => "HTTP",
    }
}

/// A stream to `host:port` through `proxy`. Errors say which proxy.
pub(crate) async fn connect(
    proxy: &Proxy,
    host: &str,
    port: u16,
    ipv6: Option<bool>,
) -> io::Result<TcpStream> {
    let via = |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!(
                "through {} proxy {}:{}: {e}",
                kind_name(proxy.kind),
                proxy.host,
                proxy.port
            ),
        )
    };
    let mut targets: Vec<SocketAddr> = super::connect::resolve(host, port, ipv6).await?;
    if proxy.kind == ProxyKind::Socks4 {
        // SOCKS4 has room for an IPv4 address only.
        targets.retain(SocketAddr::is_ipv4);
        if targets.is_empty() {
            return Err(via(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("{host} has no IPv4 address, and SOCKS4 carries no other"),
            )));
        }
    }
    let mut last = None;
    for target in targets {
        match through(proxy, target).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(via(last.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
    })))
}

/// One attempt: connect to the proxy and ask it for `target`.
async fn through(proxy: &Proxy, target: SocketAddr) -> io::Result<TcpStream> {
    let tcp = TcpStream::connect((proxy.host.as_str(), proxy.port)).await?;
    let _ = tcp.set_nodelay(true);
    let socks_err = |e: tokio_socks::Error| match e {
        tokio_socks::Error::Io(io) => io,
        other => io::Error::new(io::ErrorKind::ConnectionRefused, other.to_string()),
    };
    match proxy.kind {
        ProxyKind::Socks5 => tokio_socks::tcp::Socks5Stream::connect_with_socket(tcp, target)
            .await
            .map(|s| s.into_inner())
            .map_err(socks_err),
        ProxyKind::Socks4 => tokio_socks::tcp::Socks4Stream::connect_with_socket(tcp, target)
            .await
            .map(|s| s.into_inner())
            .map_err(socks_err),
        ProxyKind::Http => http_connect(tcp, target).await,
    }
}

/// `CONNECT target HTTP/1.1`, then the answer's head, read a byte at a
/// time so that nothing the server sends after it is swallowed.
async fn http_connect(mut tcp: TcpStream, target: SocketAddr) -> io::Result<TcpStream> {
    let request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
    tcp.write_all(request.as_bytes()).await?;
    tcp.flush().await?;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
        if head.len() >= MAX_HTTP_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the proxy's answer to CONNECT has no end",
            ));
        }
        let mut byte = [0u8; 1];
        if tcp.read(&mut byte).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the proxy closed the connection before answering CONNECT",
            ));
        }
        head.push(byte[0]);
    }
    check_http_status(&head)?;
    Ok(tcp)
}

/// A 2xx status line, else the line itself as the error.
fn check_http_status(head: &[u8]) -> io::Result<()> {
    let text = String::from_utf8_lossy(head);
    let status_line = text.lines().next().unwrap_or("").trim();
    let code = status_line.split_whitespace().nth(1).unwrap_or("");
    if status_line.starts_with("HTTP/") && code.len() == 3 && code.starts_with('2') {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!("CONNECT refused: {status_line}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_2xx_answers_open_the_tunnel() {
        assert!(check_http_status(b"HTTP/1.1 200 Connection established\r\n\r\n").is_ok());
        assert!(check_http_status(b"HTTP/1.0 200 OK\r\n\r\n").is_ok());
        let e = check_http_status(b"HTTP/1.1 403 Forbidden\r\nX: y\r\n\r\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(e, "CONNECT refused: HTTP/1.1 403 Forbidden");
        assert!(check_http_status(b"SSH-2.0-x\r\n\r\n").is_err());
    }
}
