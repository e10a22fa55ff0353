//! `~/.offlineimaprc` to a typed [`Config`].
//!
//! Parsing is pure (`parse(text, origin, overrides)`); reading the file
//! happens at the edge in `load`. Every error is one line naming the file,
//! the section and the option.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A secret that never prints: `Debug` and `Display` show `<redacted>`, so
/// neither logs nor `-d imap` can leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The only way to read the secret; grep for it when auditing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The whole configuration, restricted to the accounts this run syncs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it came from (for messages).
    pub path: PathBuf,
    pub general: General,
    /// The accounts to sync, in the order of `accounts =` (or `-a`).
    pub accounts: Vec<Account>,
}

#[derive(Clone, Debug)]
pub struct General {
    /// `metadata`, default `~/.offlineimap`, `~` expanded.
    pub metadata: PathBuf,
    /// `fsync`, default true.
    pub fsync: bool,
    /// `ui`, if set (the CLI's `-u` wins over it).
    pub ui: Option<String>,
    /// `maxsyncaccounts`, default 1.
    pub maxsyncaccounts: usize,
    /// `socktimeout` in seconds, if set.
    pub socktimeout: Option<Duration>,
}

#[derive(Clone, Debug)]
pub struct Account {
    pub name: String,
    pub local: MaildirRepository,
    pub remote: ImapRepository,
    /// `autorefresh` in minutes (fractional allowed); `None` when unset,
    /// zero or removed by `-o`.
    pub autorefresh: Option<Duration>,
}

/// Options every repository type has.
#[derive(Clone, Debug)]
pub struct RepositoryCommon {
    /// The `NAME` of `[Repository NAME]`.
    pub name: String,
    /// `readonly`, default false.
    pub readonly: bool,
    /// `createfolders`, default true.
    pub createfolders: bool,
    /// `sync_deletes`, default true: propagate deletions *from* this side.
    pub sync_deletes: bool,
}

#[derive(Clone, Debug)]
pub struct MaildirRepository {
    pub common: RepositoryCommon,
    /// `localfolders`, required, `~` expanded.
    pub localfolders: PathBuf,
    /// `sep`, default `.`.
    pub sep: char,
    /// `maildir-windows-compatible` (repository or account), default false:
    /// `!` instead of `:` before the flags.
    pub windows_compatible: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls {
    /// `ssl = yes`: TLS from the first byte (port 993 by default).
    Implicit,
    /// `ssl = no`, `starttls = yes`: STARTTLS, required.
    StartTls,
    /// `ssl = no`, `starttls = no`: plain text.
    None,
}

#[derive(Clone, Debug)]
pub struct ImapRepository {
    pub common: RepositoryCommon,
    /// `remotehost`, required.
    pub host: String,
    /// `remoteport`, default 993 with ssl, else 143.
    pub port: u16,
    /// `remoteuser`.
    pub user: Option<String>,
    /// `remotepass`, or the first line of `remotepassfile`.
    pub password: Option<Secret>,
    pub tls: Tls,
    /// `sslcacertfile`: PEM CA bundle to verify against instead of the
    /// system's (`OS-DEFAULT` means the system's).
    pub ca_file: Option<PathBuf>,
    /// `expunge`, default true.
    pub expunge: bool,
    /// `maxconnections`, default 1 (`-1` forces 1).
    pub maxconnections: usize,
}
