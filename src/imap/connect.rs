//! Getting from a host name to an authenticated session: TCP, TLS
//! (implicit or STARTTLS, always verified: against the CAs, or against
//! the pinned `cert_fingerprint`s), the greeting, CAPABILITY and
//! login (the mechanisms of `auth_mechanisms`, in `auth`).
//!
//! The password is read from the `Secret` only to build the login command;
//! no error or trace line ever contains it.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::imap_proto::{Response, Status};
use async_imap::{Client, Connection, Session};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use super::compress;
use super::error::{Error, ErrorKind};
use super::trace::{TraceSink, Tracer};
use super::tunnel::TunnelStream;
use crate::config::{ImapRepository, Tls, TlsVersion, Tunnel};

/// Connect timeout when `socktimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The transport under async-imap: plain TCP or TLS over TCP, with a
/// write buffer. async-imap writes a command as four pieces (tag, space,
/// text, CRLF) and then flushes; unbuffered, that is four system calls and
/// over TLS four records per command. Buffered until the flush it is one,
/// and pipelined commands can share it too.
pub struct ImapStream {
    transport: Transport,
    /// Written and not yet sent (plain protocol bytes).
    wbuf: Vec<u8>,
    /// `-d imap`: sees every byte read and written; `None` otherwise.
    trace: Option<Box<Tracer>>,
    /// COMPRESS=DEFLATE once the server said OK to it (`usecompression`).
    deflate: Option<Deflate>,
    /// Read from the transport and not yet handed on (see `poll_inner_read`).
    ahead: ReadAhead,
    /// While logging in: the capabilities the server announces unasked.
    sniff: Option<Box<super::capsniff::CapSniffer>>,
}

/// Bytes read from the transport ahead of the reader. async-imap reads in
/// 4 KiB steps; reading the socket in larger ones takes one system call
/// where it took up to sixteen (an initial sync of the medium bench corpus
/// made some 90,000 reads of at most 4 KiB).
#[derive(Default)]
struct ReadAhead {
    /// Allocated on first use.
    data: Vec<u8>,
    start: usize,
    end: usize,
}

/// How much the transport is asked for at once.
const READ_AHEAD: usize = 64 * 1024;

/// The deflate state and its wire-side buffers.
struct Deflate {
    state: Box<compress::Deflate>,
    /// Compressed and not yet sent.
    zbuf: Vec<u8>,
    /// Data went into the compressor since its last sync flush.
    unflushed: bool,
}

enum Transport {
    Plain(TcpStream),
    Tls(Box<tokio_native_tls::TlsStream<TcpStream>>),
    /// `preauthtunnel` / `transporttunnel`: the command's stdout and stdin.
    Tunnel(Box<TunnelStream>),
    /// Taken away (for STARTTLS); never read or written.
    Closed,
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection handed over")
}

/// Writes at least this large bypass the buffer (message literals).
const WRITE_BUFFER: usize = 16 * 1024;

impl ImapStream {
    fn plain(tcp: TcpStream, trace: Option<Box<Tracer>>) -> Self {
        ImapStream {
            transport: Transport::Plain(tcp),
            wbuf: Vec::new(),
            trace,
            deflate: None,
            ahead: ReadAhead::default(),
            sniff: None,
        }
    }

    fn tls(tls: tokio_native_tls::TlsStream<TcpStream>, trace: Option<Box<Tracer>>) -> Self {
        if let Some(t) = &trace {
            t.note("TLS established");
        }
        ImapStream {
            transport: Transport::Tls(Box::new(tls)),
            wbuf: Vec::new(),
            trace,
            deflate: None,
            ahead: ReadAhead::default(),
            sniff: None,
        }
    }

    fn tunnel(tunnel: TunnelStream, trace: Option<Box<Tracer>>) -> Self {
        ImapStream {
            transport: Transport::Tunnel(Box::new(tunnel)),
            wbuf: Vec::new(),
            trace,
            deflate: None,
            ahead: ReadAhead::default(),
            sniff: None,
        }
    }

    /// Note the capabilities the server announces from now on, until
    /// [`Self::take_sniffed`] (see `capsniff`).
    fn sniff_capabilities(&mut self) {
        self.sniff = Some(Box::default());
    }

    /// What the server announced since [`Self::sniff_capabilities`]; stops
    /// noting.
    pub(crate) fn take_sniffed(&mut self) -> Option<Vec<String>> {
        self.sniff.take().and_then(|mut s| s.take())
    }

    /// From now on both directions are deflated (RFC 4978). Call right
    /// after reading the tagged OK to COMPRESS, with nothing unsent.
    pub(crate) fn start_compression(&mut self) {
        if let Some(t) = &self.trace {
            t.note("COMPRESS=DEFLATE on; the lines below are shown uncompressed");
        }
        self.deflate = Some(Deflate {
            state: Box::new(compress::Deflate::new()),
            zbuf: Vec::new(),
            unflushed: false,
        });
    }

    /// Deflates the plain buffer into the wire buffer; `sync` on a flush.
    fn deflate_pending(&mut self, sync: bool) -> io::Result<()> {
        let Some(d) = &mut self.deflate else {
            return Ok(());
        };
        if self.wbuf.is_empty() && !(sync && d.unflushed) {
            return Ok(());
        }
        d.state.compress(&self.wbuf, &mut d.zbuf, sync)?;
        d.unflushed = !sync;
        self.wbuf.clear();
        Ok(())
    }

    /// The tunnel under this stream, if it is one.
    fn tunnel_mut(&mut self) -> Option<&mut TunnelStream> {
        match &mut self.transport {
            Transport::Tunnel(t) => Some(t),
            _ => None,
        }
    }

    /// The plain TCP stream, for STARTTLS (`None` if TLS is already on),
    /// and the tracer, which goes on with the TLS stream. Everything
    /// written was flushed: async-imap flushes every command.
    /// Bytes the server sent after its answer to STARTTLS and before the
    /// handshake would be read as if protected by TLS (the STARTTLS
    /// injection flaw): then there is no plain stream either.
    fn into_plain(mut self) -> (Option<TcpStream>, Option<Box<Tracer>>) {
        let trace = self.trace.take();
        if !self.wbuf.is_empty() || self.ahead.start < self.ahead.end {
            return (None, trace);
        }
        match std::mem::replace(&mut self.transport, Transport::Closed) {
            Transport::Plain(tcp) => (Some(tcp), trace),
            _ => (None, trace),
        }
    }

    fn poll_inner_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        poll_transport_write(&mut self.transport, cx, buf)
    }

    /// Reads through the read-ahead buffer: what it holds first; a read
    /// as large as the buffer goes straight to the transport.
    fn poll_inner_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let ahead = &mut self.ahead;
        if ahead.start == ahead.end {
            if buf.remaining() >= READ_AHEAD {
                return poll_transport_read(&mut self.transport, cx, buf);
            }
            if ahead.data.is_empty() {
                ahead.data = vec![0; READ_AHEAD];
            }
            let mut into = ReadBuf::new(&mut ahead.data);
            match poll_transport_read(&mut self.transport, cx, &mut into) {
                Poll::Ready(Ok(())) => {}
                other => return other,
            }
            ahead.start = 0;
            ahead.end = into.filled().len();
        }
        let n = (ahead.end - ahead.start).min(buf.remaining());
        if let Some(bytes) = ahead.data.get(ahead.start..ahead.start + n) {
            buf.put_slice(bytes);
        }
        ahead.start += n;
        Poll::Ready(Ok(()))
    }

    /// Write out the buffer (the compressed one once COMPRESS is on).
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let out = match &mut self.deflate {
            Some(d) => &mut d.zbuf,
            None => &mut self.wbuf,
        };
        while !out.is_empty() {
            let res = poll_transport_write(&mut self.transport, cx, out);
            match res {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "connection accepts no more data",
                    )));
                }
                Poll::Ready(Ok(n)) => {
                    out.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl fmt::Debug for ImapStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.transport {
            Transport::Plain(_) => f.write_str("ImapStream::Plain"),
            Transport::Tls(_) => f.write_str("ImapStream::Tls"),
            Transport::Tunnel(_) => f.write_str("ImapStream::Tunnel"),
            Transport::Closed => f.write_str("ImapStream::Closed"),
        }
    }
}

impl AsyncRead for ImapStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let res = if this.deflate.is_some() {
            this.poll_read_inflated(cx, buf)
        } else {
            this.poll_inner_read(cx, buf)
        };
        if let (Some(t), Poll::Ready(Ok(()))) = (&mut this.trace, &res) {
            t.received(&buf.filled()[before..]);
        }
        if let (Some(s), Poll::Ready(Ok(()))) = (&mut this.sniff, &res) {
            s.feed(&buf.filled()[before..]);
        }
        res
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.deflate.is_some() {
            return this.poll_write_deflated(cx, buf);
        }
        if this.wbuf.len() + buf.len() > WRITE_BUFFER {
            match this.poll_drain(cx) {
                Poll::Ready(Ok(())) => {}
                other => return other.map(|r| r.map(|()| 0)),
            }
        }
        let res = if buf.len() >= WRITE_BUFFER {
            this.poll_inner_write(cx, buf)
        } else {
            this.wbuf.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        };
        if let (Some(t), Poll::Ready(Ok(n))) = (&mut this.trace, &res) {
            t.sent(&buf[..*n]);
        }
        res
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(e) = this.deflate_pending(true) {
            return Poll::Ready(Err(e));
        }
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        match &mut this.transport {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Transport::Tunnel(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Transport::Closed => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(e) = this.deflate_pending(true) {
            return Poll::Ready(Err(e));
        }
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        match &mut this.transport {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Transport::Tunnel(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Transport::Closed => Poll::Ready(Ok(())),
        }
    }
}

fn poll_transport_read(
    transport: &mut Transport,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    match transport {
        Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
        Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        Transport::Tunnel(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        Transport::Closed => Poll::Ready(Err(closed())),
    }
}

fn poll_transport_write(
    transport: &mut Transport,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    match transport {
        Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
        Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        Transport::Tunnel(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        Transport::Closed => Poll::Ready(Err(closed())),
    }
}

impl ImapStream {
    /// Plain bytes from the inflater, reading compressed ones as needed.
    fn poll_read_inflated(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut chunk = [0u8; compress::READ_CHUNK];
        loop {
            let Some(d) = &mut self.deflate else {
                return Poll::Ready(Ok(()));
            };
            // Inflate first: output may be pending even without new input.
            let n = d.state.decompress(buf.initialize_unfilled())?;
            if n > 0 {
                buf.advance(n);
                return Poll::Ready(Ok(()));
            }
            if d.state.has_input() {
                // Input that yields nothing and is not taken: corrupt.
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "inflate: no progress on the compressed input",
                )));
            }
            let mut wire = ReadBuf::new(&mut chunk);
            match self.poll_inner_read(cx, &mut wire) {
                Poll::Ready(Ok(())) => {}
                other => return other,
            }
            if wire.filled().is_empty() {
                // End of the connection.
                return Poll::Ready(Ok(()));
            }
            if let Some(d) = &mut self.deflate {
                d.state.feed(wire.filled());
            }
        }
    }

    /// Buffers plain bytes; past the buffer size they go through the
    /// compressor (no flush) and out, so memory stays bounded.
    fn poll_write_deflated(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.wbuf.len() + buf.len() > WRITE_BUFFER {
            if let Err(e) = self.deflate_pending(false) {
                return Poll::Ready(Err(e));
            }
            match self.poll_drain(cx) {
                Poll::Ready(Ok(())) => {}
                other => return other.map(|r| r.map(|()| 0)),
            }
        }
        self.wbuf.extend_from_slice(buf);
        if let Some(t) = &mut self.trace {
            t.sent(buf);
        }
        Poll::Ready(Ok(buf.len()))
    }
}

impl Drop for ImapStream {
    fn drop(&mut self) {
        if let (Some(t), Some(d)) = (&self.trace, &self.deflate) {
            let s = &d.state;
            t.note(&format!(
                "COMPRESS=DEFLATE: sent {} bytes as {}, received {} bytes as {}",
                s.plain_out, s.wire_out, s.plain_in, s.wire_in
            ));
        }
    }
}

/// What a fresh connection knows once logged in.
pub(crate) struct LoggedIn {
    pub session: Session<ImapStream>,
    /// What the login warns about (a mechanism that failed before one
    /// worked, GSSAPI skipped).
    pub warnings: Vec<String>,
}

/// Open, secure and authenticate a connection to `repo`; with `trace`,
/// the whole conversation (secrets hidden) goes to it.
pub(crate) async fn connect(
    repo: &ImapRepository,
    socktimeout: Option<Duration>,
    trace: Option<TraceSink>,
) -> Result<LoggedIn, Error> {
    let host = repo.host.as_str();
    let limit = socktimeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let err = |command: &str, kind| Error::new(host, command, kind);
    let timed_out = |command: &str| err(command, ErrorKind::Timeout(limit.as_secs()));

    if let Some(tunnel) = &repo.tunnel {
        return connect_tunnel(repo, tunnel, limit, trace).await;
    }
    // Before connecting: a TLS setup problem needs no server.
    let tls = match repo.tls {
        Tls::None => None,
        Tls::Implicit | Tls::StartTls => Some(tls_connector(repo)?),
    };
    let open = async {
        match &repo.proxy {
            Some(proxy) => super::proxy::connect(proxy, host, repo.port, repo.ipv6).await,
            None => {
                let addrs = resolve(host, repo.port, repo.ipv6).await?;
                TcpStream::connect(&addrs[..]).await
            }
        }
    };
    let tcp = tokio::time::timeout(limit, open)
        .await
        .map_err(|_| timed_out("connect"))?
        .map_err(|source| {
            err(
                "connect",
                ErrorKind::Connect {
                    port: repo.port,
                    source,
                },
            )
        })?;
    // Commands are small and latency-bound.
    let _ = tcp.set_nodelay(true);

    let trace = trace.map(|sink| Box::new(Tracer::new(sink)));
    if let Some(t) = &trace {
        match &repo.proxy {
            Some(p) => t.note(&format!(
                "connected to {host}:{} through the {:?} proxy {}:{}",
                repo.port, p.kind, p.host, p.port
            )),
            None => t.note(&format!("connected to {host}:{}", repo.port)),
        }
    }
    let stream = match (&tls, repo.tls) {
        (Some(connector), Tls::Implicit) => {
            ImapStream::tls(handshake(connector, host, tcp, limit).await?, trace)
        }
        _ => ImapStream::plain(tcp, trace),
    };

    let mut client = Client::new(stream);
    let mut tags = PreAuthTags(0);
    let (greeted, announced) = greeting(&mut client, host, limit).await?;
    if greeted == Greeting::PreAuth {
        return Err(err(
            "greeting",
            ErrorKind::Unsupported(
                "server greeted with PREAUTH; a pre-authenticated connection is supported only through preauthtunnel"
                    .into(),
            ),
        ));
    }
    // A greeting that lists the capabilities saves asking for them.
    let mut caps = match announced {
        Some(caps) => caps,
        None => capability(&mut client, host, limit, &mut tags).await?,
    };

    if let (Some(connector), Tls::StartTls) = (&tls, repo.tls) {
        if !has_cap(&caps, "STARTTLS") {
            return Err(err("STARTTLS", ErrorKind::NoStartTls));
        }
        let tag = tags.next();
        raw_command(
            &mut client,
            host,
            "STARTTLS",
            &tag,
            "STARTTLS",
            limit,
            &mut |_| {},
        )
        .await?;
        let (Some(tcp), trace) = client.into_inner().into_plain() else {
            return Err(err(
                "STARTTLS",
                ErrorKind::Protocol(
                    "connection already uses TLS, or the server sent data after its STARTTLS answer"
                        .into(),
                ),
            ));
        };
        let stream = ImapStream::tls(handshake(connector, host, tcp, limit).await?, trace);
        client = Client::new(stream);
        // RFC 3501 §6.2.1: capabilities learnt before STARTTLS are void.
        caps = capability(&mut client, host, limit, &mut tags).await?;
    }
    login(client, repo, host, limit, &caps).await
}

/// Log in on a greeted (and, as configured, secured) connection, with
/// the mechanisms of `auth_mechanisms` (see `auth`).
async fn login(
    mut client: Client<ImapStream>,
    repo: &ImapRepository,
    host: &str,
    limit: Duration,
    caps: &[String],
) -> Result<LoggedIn, Error> {
    client.get_mut().sniff_capabilities();
    let done = super::auth::login(client, repo, host, limit, caps).await?;
    Ok(LoggedIn {
        session: done.session,
        warnings: done.warnings,
    })
}

/// `preauthtunnel` / `transporttunnel`: start the command and talk IMAP
/// over its pipes, without TLS (as OfflineIMAP does). A PREAUTH greeting
/// skips the login; `transporttunnel` otherwise logs in as usual.
async fn connect_tunnel(
    repo: &ImapRepository,
    tunnel: &Tunnel,
    limit: Duration,
    trace: Option<TraceSink>,
) -> Result<LoggedIn, Error> {
    let host = tunnel.command();
    let err = |command: &str, kind| Error::new(host, command, kind);
    let stream = TunnelStream::spawn(host).map_err(|e| {
        err(
            "connect",
            ErrorKind::Tunnel(format!(
                "repository {}: cannot start the tunnel command with sh -c: {e}",
                repo.common.name
            )),
        )
    })?;
    let trace = trace.map(|sink| Box::new(Tracer::new(sink)));
    if let Some(t) = &trace {
        t.note(&format!("started tunnel command: {host}"));
    }
    let mut client = Client::new(ImapStream::tunnel(stream, trace));
    let (greeted, announced) = match greeting(&mut client, host, limit).await {
        Ok(g) => g,
        Err(e) => {
            // A command that quit (not found, ssh refused...) says more
            // through its exit status than "connection lost".
            let status = match client.get_mut().tunnel_mut() {
                Some(t) => t.exit_status(Duration::from_secs(1)).await,
                None => None,
            };
            return Err(match status {
                Some(status) => err(
                    "greeting",
                    ErrorKind::Tunnel(format!(
                        "repository {}: tunnel command exited before greeting ({status})",
                        repo.common.name
                    )),
                ),
                None => e,
            });
        }
    };
    match (greeted, tunnel) {
        (Greeting::PreAuth, _) => {
            // async-imap makes a Session only out of a login: let the
            // tunnel answer this one itself (see tunnel.rs).
            let stream = client.get_mut();
            if let Some(t) = &stream.trace {
                t.note("PREAUTH: the LOGIN below is answered here, never sent");
            }
            if let Some(t) = stream.tunnel_mut() {
                t.answer_next_command();
            }
            let session = tokio::time::timeout(limit, client.login("preauth", "preauth"))
                .await
                .map_err(|_| err("greeting", ErrorKind::Timeout(limit.as_secs())))?
                .map_err(|(e, _)| err("greeting", ErrorKind::Protocol(e.to_string())))?;
            Ok(LoggedIn {
                session,
                warnings: Vec::new(),
            })
        }
        (Greeting::Ok, Tunnel::PreAuth(_)) => Err(err(
            "greeting",
            ErrorKind::Tunnel(format!(
                "repository {}: preauthtunnel command greeted with OK, not PREAUTH: it must speak IMAP already logged in (transporttunnel logs in over a command)",
                repo.common.name
            )),
        )),
        (Greeting::Ok, Tunnel::Transport(_)) => {
            let caps = match announced {
                Some(caps) => caps,
                None => capability(&mut client, host, limit, &mut PreAuthTags(0)).await?,
            };
            login(client, repo, host, limit, &caps).await
        }
    }
}

pub(crate) fn has_cap(caps: &[String], name: &str) -> bool {
    caps.iter().any(|c| c.eq_ignore_ascii_case(name))
}

/// Whether the CA and host name checks are left out. Only a pinned
/// certificate may go without them: the fingerprint check in `handshake`
/// is then the trust decision. Asking for pins too keeps a hand-built
/// repository from turning verification off by accident.
fn pins_only(repo: &ImapRepository) -> bool {
    !repo.verify_ca && !repo.cert_fingerprints.is_empty()
}

/// A TLS connector and the certificate fingerprints (`cert_fingerprint`)
/// every handshake made with it must check; no fingerprints: none.
struct TlsSetup {
    connector: tokio_native_tls::TlsConnector,
    pins: Vec<String>,
}

fn tls_connector(repo: &ImapRepository) -> Result<TlsSetup, Error> {
    let host = repo.host.as_str();
    let err = |kind| Error::new(host, "TLS setup", kind);
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(path) = repo.ca_file.as_deref() {
        let pem = std::fs::read(path).map_err(|e| {
            err(ErrorKind::CaFile(format!(
                "cannot read CA file {}: {e}",
                path.display()
            )))
        })?;
        let certs = pem_certificates(&pem);
        if certs.is_empty() {
            return Err(err(ErrorKind::CaFile(format!(
                "no PEM certificate in CA file {}",
                path.display()
            ))));
        }
        for block in certs {
            let cert = native_tls::Certificate::from_pem(block).map_err(|e| {
                err(ErrorKind::CaFile(format!(
                    "bad certificate in CA file {}: {e}",
                    path.display()
                )))
            })?;
            builder.add_root_certificate(cert);
        }
        // sslcacertfile replaces the system roots rather than adding to them.
        builder.disable_built_in_roots(true);
    }
    if let Some(cc) = &repo.client_cert {
        // The files were read and checked with the config; this only
        // fails on a repository built by hand.
        let identity =
            native_tls::Identity::from_pkcs8(&cc.cert_pem, cc.key_pem.expose().as_bytes())
                .map_err(|e| {
                    err(ErrorKind::Tls(format!(
                        "client certificate {}: {}",
                        cc.cert_file.display(),
                        one_line(&e.to_string())
                    )))
                })?;
        builder.identity(identity);
    }
    if pins_only(repo) {
        builder.danger_accept_invalid_certs(true);
        builder.danger_accept_invalid_hostnames(true);
    }
    // Only ever raises native-tls' floor (TLS 1.2).
    if let Some(v) = repo.tls_min_version {
        builder.min_protocol_version(Some(match v {
            TlsVersion::Tls12 => native_tls::Protocol::Tlsv12,
            TlsVersion::Tls13 => native_tls::Protocol::Tlsv13,
        }));
    }
    let connector = builder
        .build()
        .map(tokio_native_tls::TlsConnector::from)
        .map_err(|e| err(ErrorKind::Tls(e.to_string())))?;
    Ok(TlsSetup {
        connector,
        pins: repo.cert_fingerprints.clone(),
    })
}

/// The `BEGIN CERTIFICATE` blocks of a PEM bundle (native-tls reads only
/// the first certificate of a PEM buffer).
fn pem_certificates(pem: &[u8]) -> Vec<&[u8]> {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = find(rest, BEGIN) {
        let Some(end_rel) = find(&rest[start..], END) else {
            break;
        };
        let end = start + end_rel + END.len();
        out.push(&rest[start..end]);
        rest = &rest[end..];
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn handshake(
    setup: &TlsSetup,
    host: &str,
    tcp: TcpStream,
    limit: Duration,
) -> Result<tokio_native_tls::TlsStream<TcpStream>, Error> {
    let err = |kind| Error::new(host, "TLS handshake", kind);
    let tls = tokio::time::timeout(limit, setup.connector.connect(host, tcp))
        .await
        .map_err(|_| err(ErrorKind::Timeout(limit.as_secs())))?
        .map_err(|e| err(ErrorKind::Tls(one_line(&e.to_string()))))?;
    // Before a single byte goes over TLS: a wrong certificate gets no
    // login.
    check_pins(host, &tls, &setup.pins)?;
    Ok(tls)
}

/// `cert_fingerprint`: the server's certificate must have one of `pins`
/// as its SHA-512, SHA-384, SHA-256, SHA-224 or SHA-1 fingerprint (the
/// digests OfflineIMAP compares). No pins: nothing to check.
fn check_pins(
    host: &str,
    tls: &tokio_native_tls::TlsStream<TcpStream>,
    pins: &[String],
) -> Result<(), Error> {
    if pins.is_empty() {
        return Ok(());
    }
    let err = |text: String| Error::new(host, "TLS certificate check", ErrorKind::Tls(text));
    let der = tls
        .get_ref()
        .peer_certificate()
        .map_err(|e| err(one_line(&e.to_string())))?
        .ok_or_else(|| err("the server sent no certificate".into()))?
        .to_der()
        .map_err(|e| err(one_line(&e.to_string())))?;
    let prints = fingerprints(&der);
    if prints.iter().any(|(_, fp)| pins.contains(fp)) {
        return Ok(());
    }
    let shown = |name: &str| {
        prints
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, fp)| fp.clone())
            .unwrap_or_default()
    };
    Err(err(format!(
        "server certificate fingerprint (sha256 {}, sha1 {}) matches no cert_fingerprint; if the certificate changed legitimately, set cert_fingerprint to its fingerprint",
        shown("sha256"),
        shown("sha1")
    )))
}

/// The certificate's fingerprints as lowercase hex, by digest name.
fn fingerprints(der: &[u8]) -> [(&'static str, String); 5] {
    use sha2::Digest;
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    [
        ("sha512", hex(&sha2::Sha512::digest(der))),
        ("sha384", hex(&sha2::Sha384::digest(der))),
        ("sha256", hex(&sha2::Sha256::digest(der))),
        ("sha224", hex(&sha2::Sha224::digest(der))),
        ("sha1", hex(&sha1::Sha1::digest(der))),
    ]
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Tags for the few commands sent before login, distinct from
/// async-imap's own (`A0001`...).
struct PreAuthTags(u32);

impl PreAuthTags {
    fn next(&mut self) -> String {
        self.0 += 1;
        format!("P{}", self.0)
    }
}

/// How the server greeted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Greeting {
    /// `* OK`: log in next.
    Ok,
    /// `* PREAUTH`: already logged in.
    PreAuth,
}

/// How the server greeted, and the capabilities its greeting listed
/// (`* OK [CAPABILITY ...]`), if it did.
async fn greeting(
    client: &mut Client<ImapStream>,
    host: &str,
    limit: Duration,
) -> Result<(Greeting, Option<Vec<String>>), Error> {
    let err = |kind| Error::new(host, "greeting", kind);
    let resp = tokio::time::timeout(limit, client.read_response())
        .await
        .map_err(|_| err(ErrorKind::Timeout(limit.as_secs())))?
        .map_err(|e| err(ErrorKind::Io(e)))?
        .ok_or_else(|| err(ErrorKind::ConnectionLost(None)))?;
    match resp.parsed() {
        Response::Data {
            status: Status::Ok,
            outcome,
        } => {
            let caps = match &outcome.code {
                Some(async_imap::imap_proto::ResponseCode::Capabilities(list)) => {
                    Some(capability_names(list)).filter(|c| !c.is_empty())
                }
                _ => None,
            };
            Ok((Greeting::Ok, caps))
        }
        Response::Data {
            status: Status::Bye,
            outcome,
        } => Err(err(ErrorKind::ConnectionLost(
            outcome.information.as_ref().map(|s| s.to_string()),
        ))),
        Response::Data {
            status: Status::PreAuth,
            ..
        } => Ok((Greeting::PreAuth, None)),
        other => Err(err(ErrorKind::Protocol(format!("{other:?}")))),
    }
}

async fn capability(
    client: &mut Client<ImapStream>,
    host: &str,
    limit: Duration,
    tags: &mut PreAuthTags,
) -> Result<Vec<String>, Error> {
    let tag = tags.next();
    let mut caps = Vec::new();
    raw_command(
        client,
        host,
        "CAPABILITY",
        &tag,
        "CAPABILITY",
        limit,
        &mut |r| {
            if let Response::Capabilities(list) = r {
                caps = capability_names(list);
            }
        },
    )
    .await?;
    Ok(caps)
}

pub(crate) fn capability_names(list: &[async_imap::imap_proto::Capability<'_>]) -> Vec<String> {
    use async_imap::imap_proto::Capability as C;
    list.iter()
        .map(|c| match c {
            C::Imap4rev1 => "IMAP4rev1".to_string(),
            C::Auth(m) => format!("AUTH={m}"),
            C::Atom(a) => a.to_string(),
        })
        .collect()
}

/// The addresses of `host`, each tried in turn: only IPv6 ones with
/// `ipv6 = yes`, only IPv4 ones with `ipv6 = no` (as OfflineIMAP), all
/// of them when it is unset.
pub(crate) async fn resolve(
    host: &str,
    port: u16,
    ipv6: Option<bool>,
) -> io::Result<Vec<std::net::SocketAddr>> {
    let mut addrs: Vec<std::net::SocketAddr> =
        tokio::net::lookup_host((host, port)).await?.collect();
    if let Some(v6) = ipv6 {
        addrs.retain(|a| a.is_ipv6() == v6);
    }
    if addrs.is_empty() {
        let (family, setting) = match ipv6 {
            Some(true) => ("IPv6 ", " (ipv6 = yes)"),
            Some(false) => ("IPv4 ", " (ipv6 = no)"),
            None => ("", ""),
        };
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("{host} has no {family}address{setting}"),
        ));
    }
    Ok(addrs)
}

/// Send one tagged command on a not-yet-authenticated connection and read
/// up to its tagged answer; untagged responses go to `untagged`.
async fn raw_command(
    conn: &mut Connection<ImapStream>,
    host: &str,
    name: &str,
    tag: &str,
    line: &str,
    limit: Duration,
    untagged: &mut (dyn FnMut(&Response<'_>) + Send),
) -> Result<(), Error> {
    let err = |kind| Error::new(host, name, kind);
    let text = format!("{tag} {line}\r\n");
    let io = async {
        conn.get_mut().write_all(text.as_bytes()).await?;
        conn.get_mut().flush().await
    };
    tokio::time::timeout(limit, io)
        .await
        .map_err(|_| err(ErrorKind::Timeout(limit.as_secs())))?
        .map_err(|e| err(ErrorKind::Io(e)))?;
    loop {
        let resp = tokio::time::timeout(limit, conn.read_response())
            .await
            .map_err(|_| err(ErrorKind::Timeout(limit.as_secs())))?
            .map_err(|e| err(ErrorKind::Io(e)))?
            .ok_or_else(|| err(ErrorKind::ConnectionLost(None)))?;
        match resp.parsed() {
            Response::Done {
                tag: t,
                status,
                outcome,
            } if t.0 == tag => {
                let info = outcome.information.as_deref().unwrap_or("").to_string();
                return match status {
                    Status::Ok => Ok(()),
                    Status::No => Err(err(ErrorKind::No(info))),
                    Status::Bad => Err(err(ErrorKind::Bad(info))),
                    _ => Err(err(ErrorKind::Protocol(info))),
                };
            }
            other => untagged(other),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn pem_bundle_is_split_into_certificates() {
        let pem = b"junk\n-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n\
                    -----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n";
        let certs = pem_certificates(pem);
        assert_eq!(certs.len(), 2);
        assert!(certs[1].starts_with(b"-----BEGIN") && certs[1].ends_with(b"-----"));
        assert!(pem_certificates(b"nothing here").is_empty());
    }

    #[test]
    fn fingerprints_are_lowercase_hex_of_each_digest() {
        let prints = fingerprints(b"abc");
        let names: Vec<_> = prints.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["sha512", "sha384", "sha256", "sha224", "sha1"]);
        let lens: Vec<_> = prints.iter().map(|(_, h)| h.len()).collect();
        assert_eq!(lens, [128, 96, 64, 56, 40]);
        // FIPS 180 test vectors for "abc".
        assert_eq!(
            prints[2].1,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(prints[4].1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn ca_checks_are_skipped_only_with_pins() {
        let mut repo = ImapRepository {
            common: crate::config::RepositoryCommon {
                name: "R".into(),
                readonly: false,
                createfolders: true,
                sync_deletes: true,
            },
            host: "imap.example.org".into(),
            port: 993,
            user: None,
            password: None,
            tls: Tls::Implicit,
            ca_file: None,
            expunge: true,
            maxconnections: 1,
            cert_fingerprints: Vec::new(),
            verify_ca: false,
            tls_min_version: Some(TlsVersion::Tls12),
            tunnel: None,
            client_cert: None,
            compression: false,
            proxy: None,
            auth_mechanisms: crate::config::AuthMechanism::DEFAULT.to_vec(),
            remote_identity: None,
            oauth2: None,
            ipv6: None,
            retrycount: 2,
        };
        assert!(!pins_only(&repo), "verify_ca = false alone must not trust");
        let setup = tls_connector(&repo).unwrap();
        assert!(setup.pins.is_empty());

        repo.cert_fingerprints = vec!["a".repeat(64)];
        assert!(pins_only(&repo));
        assert_eq!(tls_connector(&repo).unwrap().pins, repo.cert_fingerprints);

        repo.verify_ca = true;
        assert!(!pins_only(&repo), "sslcacertfile keeps the CA check");
    }
}
