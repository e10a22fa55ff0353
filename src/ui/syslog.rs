//! The syslog output: the `syslog` UI, and `-s` beside any other UI.
//!
//! Like OfflineIMAP (Python's `SysLogHandler('/dev/log')` with the format
//! `offlineimap[%(process)d]: %(message)s`), each INFO, warning or error
//! message becomes one datagram `<PRI>offlineimap[PID]: message` on the
//! local syslog socket, facility `user`, severity from the level; the
//! syslog daemon adds the time stamp and host name. Formatting is pure;
//! the socket path is a parameter so tests can bind their own.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;
use tokio::net::UnixDatagram;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::event::{Event, Level};
use crate::ui::line::{LineUi, log_record, threshold};

/// Where the system log listens on Linux and the BSDs.
pub const DEV_LOG: &str = "/dev/log";

/// Syslog facility `user` (RFC 3164 code 1), shifted into the PRI value.
const FACILITY_USER: u8 = 1 << 3;

/// The system log cannot be reached.
#[derive(Debug, Error)]
#[error("cannot log to syslog via {}: {source}", path.display())]
pub struct SyslogError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// The syslog UI's console side: it prints nothing, as OfflineIMAP's
/// Syslog UI has no console handler.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl LineUi for Silent {
    fn line(&mut self, _ev: &Event) -> Option<String> {
        None
    }
}

/// RFC 3164 severity for a level.
fn severity(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warning => 4,
        Level::Info => 6,
        Level::Debug => 7,
    }
}

/// The datagram for one message: `<PRI>offlineimap[PID]: text`.
pub fn datagram(pid: u32, level: Level, text: &str) -> String {
    format!(
        "<{}>offlineimap[{pid}]: {text}",
        FACILITY_USER | severity(level)
    )
}

/// A connection to the syslog socket.
pub struct Syslog {
    path: PathBuf,
    socket: UnixDatagram,
    pid: u32,
    dry_run: bool,
    debug: bool,
}

impl Syslog {
    /// Connects to the datagram socket at `path` (normally [`DEV_LOG`]).
    /// Must be called inside the tokio runtime.
    pub fn connect(path: &Path, dry_run: bool) -> Result<Self, SyslogError> {
        let socket = connect(path).map_err(|source| SyslogError {
            path: path.to_owned(),
            source,
        })?;
        Ok(Syslog {
            path: path.to_owned(),
            socket,
            pid: std::process::id(),
            dry_run,
            debug: false,
        })
    }

    /// With `-d`: debug messages too (severity 7).
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// The datagram OfflineIMAP would send for `ev`, if any: INFO and up.
    pub fn message(&self, ev: &Event) -> Option<String> {
        log_record(ev, self.dry_run)
            .filter(|(level, _)| *level >= threshold(Level::Info, self.debug))
            .map(|(level, text)| datagram(self.pid, level, &text))
    }

    /// Sends every message until the channel closes. A send that fails
    /// (the syslog daemon restarted, say) is retried once on a fresh
    /// connection, then the message is dropped: losing a log line must
    /// never stop a sync.
    pub async fn run(mut self, mut events: UnboundedReceiver<Event>) {
        while let Some(ev) = events.recv().await {
            let Some(msg) = self.message(&ev) else {
                continue;
            };
            if self.socket.send(msg.as_bytes()).await.is_err()
                && let Ok(fresh) = connect(&self.path)
            {
                self.socket = fresh;
                let _ = self.socket.send(msg.as_bytes()).await;
            }
        }
    }
}

fn connect(path: &Path) -> io::Result<UnixDatagram> {
    let socket = UnixDatagram::unbound()?;
    socket.connect(path)?;
    Ok(socket)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::event::{AccountId, WorkerId};

    #[test]
    fn datagrams_carry_facility_user_and_the_level() {
        assert_eq!(
            datagram(42, Level::Info, "*** Processing account X"),
            "<14>offlineimap[42]: *** Processing account X"
        );
        assert_eq!(datagram(1, Level::Warning, "w"), "<12>offlineimap[1]: w");
        assert_eq!(datagram(1, Level::Error, "e"), "<11>offlineimap[1]: e");
        assert_eq!(datagram(1, Level::Debug, "d"), "<15>offlineimap[1]: d");
    }

    #[test]
    fn a_missing_socket_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-log");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt.block_on(async { Syslog::connect(&path, false).err().unwrap() });
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("cannot log to syslog via {}: ", path.display())),
            "{text}"
        );
    }

    #[tokio::test]
    async fn messages_arrive_on_the_socket_one_per_datagram() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        let syslog = Syslog::connect(&path, false).unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let worker = WorkerId {
            account: AccountId(0),
            slot: 1,
        };
        tx.send(Event::AccountStarted {
            account: AccountId(0),
            name: "Work".into(),
        })
        .unwrap();
        // Below INFO: not sent.
        tx.send(Event::MessageListLoaded {
            worker,
            repo: "IMAP".into(),
            folder: "INBOX".into(),
            count: 3,
        })
        .unwrap();
        tx.send(Event::Logged {
            worker: Some(worker),
            level: Level::Warning,
            text: "two\nlines".into(),
        })
        .unwrap();
        tx.send(Event::Logged {
            worker: None,
            level: Level::Error,
            text: "broken".into(),
        })
        .unwrap();
        drop(tx);
        syslog.run(rx).await;

        let pid = std::process::id();
        let mut got = Vec::new();
        let mut buf = vec![0u8; 4096];
        for _ in 0..3 {
            let n = server.recv(&mut buf).await.unwrap();
            got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
        }
        assert_eq!(
            got,
            [
                format!("<14>offlineimap[{pid}]: *** Processing account Work"),
                format!("<12>offlineimap[{pid}]: two\nlines"),
                format!("<11>offlineimap[{pid}]: ERROR: broken"),
            ]
        );
        // Nothing more was sent.
        assert!(server.try_recv(&mut buf).is_err());
    }
}
