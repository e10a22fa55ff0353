//! The IMAP backend's error: which server, which command, what went wrong.
//!
//! Every message is one line that names the server and the command
//! (`imap.example.org: UID FETCH failed: <server text>`). Passwords never
//! reach it: login errors carry the user name and the server's text only.

use std::fmt;
use std::io;

use crate::sync::store::{ErrorKind as StoreKind, StoreError};

/// An IMAP operation that failed, with its context.
#[derive(Debug)]
pub struct Error {
    /// The host name as configured (`remotehost`).
    pub server: String,
    /// The command or step that failed (`LOGIN`, `UID FETCH`, `connect`).
    pub command: String,
    pub kind: ErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// TCP connect failed (refused, unreachable, name not found).
    #[error("cannot connect to port {port}: {source}")]
    Connect { port: u16, source: io::Error },
    /// No answer within the socket timeout.
    #[error("timed out after {0} s")]
    Timeout(u64),
    /// TLS handshake or certificate verification failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// The CA file could not be read or holds no certificate.
    #[error("{0}")]
    CaFile(String),
    #[error("server does not offer STARTTLS")]
    NoStartTls,
    /// The server refused the credentials (rendered specially, see
    /// `Display for Error`).
    #[error("{text}")]
    Login { user: String, text: String },
    /// The server answered NO.
    #[error("{0}")]
    No(String),
    /// The server answered BAD (our command was malformed or unsupported).
    #[error("server said BAD: {0}")]
    Bad(String),
    /// The server closed the connection (BYE or EOF).
    #[error("connection lost{}", bye_suffix(.0))]
    ConnectionLost(Option<String>),
    #[error("{0}")]
    Io(io::Error),
    /// The server's answer did not make sense to us.
    #[error("unexpected response: {0}")]
    Protocol(String),
    /// The caller asked for something this backend cannot do.
    #[error("{0}")]
    Unsupported(String),
    /// A folder name that cannot be put on the wire or decoded.
    #[error("{0}")]
    Name(String),
    /// The tunnel command could not be started or quit before talking.
    #[error("{0}")]
    Tunnel(String),
}

fn bye_suffix(text: &Option<String>) -> String {
    match text {
        Some(t) if !t.is_empty() => format!(" ({t})"),
        _ => String::new(),
    }
}

impl Error {
    pub fn new(server: impl Into<String>, command: impl Into<String>, kind: ErrorKind) -> Self {
        Error {
            server: server.into(),
            command: command.into(),
            kind,
        }
    }

    /// A dropped or stalled connection: worth retrying later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Connect { .. }
                | ErrorKind::Timeout(_)
                | ErrorKind::ConnectionLost(_)
                | ErrorKind::Io(_)
        )
    }

    /// The store error kind this error maps to when nothing more specific
    /// is known: transport problems are transient, set-up problems spoil
    /// the repository, a refused command spoils the folder.
    pub fn store_kind(&self) -> StoreKind {
        if self.is_transient() {
            return StoreKind::Transient;
        }
        match self.kind {
            ErrorKind::Tls(_)
            | ErrorKind::CaFile(_)
            | ErrorKind::NoStartTls
            | ErrorKind::Tunnel(_)
            | ErrorKind::Login { .. } => StoreKind::Repository,
            _ => StoreKind::Folder,
        }
    }

    /// Convert with an explicit kind (e.g. a refused APPEND is a
    /// per-message problem, not a folder one).
    pub fn into_store_error(self, kind: StoreKind) -> StoreError {
        let message = self.to_string();
        StoreError::with_source(kind, message, self)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Login { user, text } => write!(
                f,
                "{}: {} failed for user {}: {}",
                self.server, self.command, user, text
            ),
            kind => write!(f, "{}: {} failed: {}", self.server, self.command, kind),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Connect { source, .. } => Some(source),
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        let kind = e.store_kind();
        e.into_store_error(kind)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn login_error_names_server_command_and_user() {
        let e = Error::new(
            "imap.example.org",
            "LOGIN",
            ErrorKind::Login {
                user: "bob".into(),
                text: "Authentication failed.".into(),
            },
        );
        assert_eq!(
            e.to_string(),
            "imap.example.org: LOGIN failed for user bob: Authentication failed."
        );
        assert_eq!(e.store_kind(), StoreKind::Repository);
    }

    #[test]
    fn command_error_format_and_kinds() {
        let e = Error::new("h", "UID FETCH", ErrorKind::No("no such message".into()));
        assert_eq!(e.to_string(), "h: UID FETCH failed: no such message");
        assert_eq!(e.store_kind(), StoreKind::Folder);
        let lost = Error::new("h", "NOOP", ErrorKind::ConnectionLost(Some("bye".into())));
        assert_eq!(lost.to_string(), "h: NOOP failed: connection lost (bye)");
        let s: StoreError = lost.into();
        assert!(s.is_transient());
    }
}
