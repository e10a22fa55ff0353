//! `~/.offlineimaprc` to a typed [`Config`].
//!
//! Parsing is pure (`parse(text, origin, overrides, env)`); reading the
//! file happens at the edge in `load`. Every error is one line naming the
//! file, the section and the option.
//!
//! Submodules: `ini` reads ConfigParser's dialect, `options` is the table of
//! known options and defaults, `value` converts strings to typed values and
//! `reader` turns the parsed file into [`Config`]; `netrc` and `keyring`
//! are password sources, and Python expressions go to `expr` or, beyond
//! it, to one `pyeval` process per run.

mod client_cert;
mod ini;
pub mod keyring;
pub mod netrc;
pub mod oauth2;
pub mod options;
mod proxy;
mod reader;
mod value;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_credentials;

#[cfg(test)]
mod folder_tests;

#[cfg(test)]
mod tests_tls;

#[cfg(test)]
mod tests_gmail;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
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
    /// Names of every `[Account NAME]` section in the file, in file order,
    /// whether or not this run syncs it.
    pub defined_accounts: Vec<String>,
    /// Options this build does not read, as (section, option), in file
    /// order; `[DEFAULT]` options that no section type knows are listed
    /// under `DEFAULT`. The caller decides whether to warn.
    pub unknown: Vec<(String, String)>,
    /// Things that are accepted but probably not what the user meant, one
    /// line each (e.g. a negative `autorefresh`, an unknown option with a
    /// "did you mean", an OfflineIMAP option that does nothing here).
    pub warnings: Vec<String>,
    /// The run's Python process (for `pythonfile` and expressions beyond
    /// the built-in evaluator); started only if something needs it.
    pub python: Arc<crate::pyeval::Python>,
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
    /// `[ui.blinkenlights] theme`: a theme name or a file path, if set.
    pub ui_theme: Option<String>,
    /// `[ui.blinkenlights] statuschar`, if set.
    pub ui_statuschar: Option<String>,
    /// `pythonfile`, `~` expanded.
    pub pythonfile: Option<PathBuf>,
    /// `ignore-keyring` (or `--ignore-keyring`): the keyring is not read.
    pub ignore_keyring: bool,
    /// `update-keyring` (or `--update-keyring`): store the password that
    /// logged in into the keyring.
    pub update_keyring: bool,
    /// `dry-run` (or `--dry-run`): plan and report every change, make none.
    pub dry_run: bool,
    /// `ignore-readonly`: no warning when changes cannot go to a folder
    /// the server opened read-only.
    pub ignore_readonly: bool,
    /// `[mbnames]`, when `enabled`: the mailbox list file to write.
    pub mbnames: Option<Mbnames>,
}

/// `[mbnames]`: a file listing every synced local folder (mutt's
/// `mailboxes` line), written after the syncs. Everything is checked when
/// the configuration is read; `header`, `sep` and `footer` are already
/// evaluated.
#[derive(Clone, Debug)]
pub struct Mbnames {
    /// `filename`, `~` and `$VAR` expanded.
    pub filename: PathBuf,
    /// `header`, evaluated: written first.
    pub header: String,
    /// `peritem`, raw: a Python `%`-format applied to a dict with
    /// `accountname`, `foldername` and `localfolders`.
    pub peritem: String,
    /// `sep`, evaluated: written between items.
    pub sep: String,
    /// `footer`, evaluated: written last.
    pub footer: String,
    /// `incremental`: rewrite the file after each account's sync rather
    /// than once at the end of the run.
    pub incremental: bool,
    /// Callable(accountname, foldername) -> bool; `None` lists every
    /// folder.
    pub folderfilter: Option<Expr>,
    /// Callable(dict) -> sort key; `None` sorts by account, then folder.
    pub sort_keyfunc: Option<Expr>,
    /// The run's `python3`, for the expressions above left to it.
    pub python: Option<Arc<crate::pyeval::Python>>,
}

#[derive(Clone, Debug)]
pub struct Account {
    pub name: String,
    pub local: MaildirRepository,
    pub remote: ImapRepository,
    /// `autorefresh` in minutes (fractional allowed); `None` when unset,
    /// zero or removed by `-o`.
    pub autorefresh: Option<Duration>,
    /// Which folders of the two repositories are synced and under which
    /// names. Kept beside the repositories rather than in them so that code
    /// building repository values by hand is unaffected.
    pub folders: Folders,
    /// Commands run around each sync of the account.
    pub hooks: Hooks,
    /// `maxage`, `maxsize` and the repositories' `startdate`: which
    /// messages a sync considers at all.
    pub window: SyncWindow,
    /// What a copy leaves out or sets off (`newmail_hook`, ...).
    pub copy: CopyRules,
    /// The remote repository's `holdconnectionopen`, `keepalive` and
    /// `idlefolders`: what happens between autorefresh syncs.
    pub between: Between,
}

/// What the account does with the server while it sleeps between
/// autorefresh syncs. Kept beside the repository (like [`Folders`]) so
/// that code building repository values by hand is unaffected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Between {
    /// `holdconnectionopen` (forced on by `idlefolders`): connections stay
    /// logged in between syncs and the next sync reuses them.
    pub hold: bool,
    /// `keepalive` in seconds (29 minutes by default with `idlefolders`):
    /// how often held connections get a NOOP while the account sleeps.
    /// `None`: never.
    pub keepalive: Option<Duration>,
    /// `idlefolders`: remote folder names (as the server spells them)
    /// watched with IDLE while the account sleeps.
    pub idlefolders: Vec<String>,
}

/// Options about the messages a sync copies: the account's
/// `filterheaders`, the remote repository's `newmail_hook` and
/// `copy_ignore_eval`.
#[derive(Clone, Debug, Default)]
pub struct CopyRules {
    /// `filterheaders` of the account: header fields (names compared
    /// case-insensitively) left out of messages uploaded to the server.
    pub filterheaders: Vec<String>,
    /// `newmail_hook` of the remote repository: callable() run once per
    /// sync after unseen messages were downloaded from the server's
    /// folder named exactly `INBOX`.
    pub newmail_hook: Option<Expr>,
    /// `copy_ignore_eval` of the remote repository: callable(visible
    /// folder name) -> list of UIDs never downloaded from that folder.
    pub copy_ignore_eval: Option<Expr>,
    /// `synclabels` of the account, when on with a `type = Gmail` remote
    /// and a `type = GmailMaildir` local repository: Gmail labels are
    /// synced into a header of the Maildir files.
    pub labels: Option<LabelSync>,
}

/// Gmail label sync (`synclabels`, `labelsheader`, `ignorelabels`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSync {
    /// `labelsheader`, default `X-Keywords`.
    pub header: String,
    /// `ignorelabels`: labels never changed on either side.
    pub ignore: std::collections::BTreeSet<String>,
}

/// Which messages of each folder a sync looks at (docs/sync.md, "Sync
/// window"). At most one of `maxage` and the two `startdate`s is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncWindow {
    /// `maxage` of the account.
    pub maxage: Option<MaxAge>,
    /// `maxsize` of the account, in bytes (at least 1).
    pub maxsize: Option<u64>,
    /// `startdate` of the local (Maildir) repository.
    pub local_startdate: Option<chrono::NaiveDate>,
    /// `startdate` of the remote (IMAP) repository.
    pub remote_startdate: Option<chrono::NaiveDate>,
}

/// `maxage`: a number of days before each sync, or a fixed date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxAge {
    /// Messages of the last N (at least 1) days, counted from the start of
    /// each folder's sync.
    Days(u32),
    /// Messages since this day (local midnight).
    Since(chrono::NaiveDate),
}

/// `presynchook` and `postsynchook` of an account: shell commands (run
/// with `sh -c`) before and after each of its syncs. `None` when unset or
/// empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hooks {
    pub presynchook: Option<String>,
    pub postsynchook: Option<String>,
}

/// Folder selection for one account: both repositories' rules and how the
/// remote folders are listed.
#[derive(Clone, Debug, Default)]
pub struct Folders {
    pub local: FolderRules,
    pub remote: FolderRules,
    /// `subscribedonly` of the remote repository: LSUB instead of LIST.
    pub subscribedonly: bool,
    /// `reference` of the remote repository: the LIST reference, also
    /// prefixed to folders created on the server. `None` when unset or
    /// empty.
    pub reference: Option<String>,
    /// `utf8foldernames` of the account: the server's modified UTF-7 names
    /// are decoded to UTF-8 before the rules above and local names see
    /// them, and encoded back for the server.
    pub utf8foldernames: bool,
    /// The run's `python3`, for the rules above left to it (started only
    /// when asked). `None` only in values built by hand.
    pub python: Option<Arc<crate::pyeval::Python>>,
}

/// `folderfilter`, `nametrans`, `folderincludes` and `foldersort` of one
/// repository, compiled when the configuration is read so that a bad
/// expression stops the run before anything is touched.
#[derive(Clone, Debug, Default)]
pub struct FolderRules {
    /// The repository's section (`Repository NAME`), for messages.
    pub section: String,
    /// Callable(name as the repository spells it) -> bool; `None` keeps
    /// every folder.
    pub folderfilter: Option<Expr>,
    /// Callable(name as the repository spells it) -> visible name; `None`
    /// is the identity.
    pub nametrans: Option<Expr>,
    /// Extra folder names, already evaluated; always synced.
    pub folderincludes: Vec<String>,
    /// Python `cmp`-style callable(visible a, visible b) -> int; `None`
    /// sorts case-insensitively by visible name.
    pub foldersort: Option<Expr>,
}

/// A Python expression of the configuration, with the option it came
/// from, checked when the configuration was read.
#[derive(Clone, Debug)]
pub struct Expr {
    /// The option's name (`folderfilter`, or `-f` for the command line's).
    pub option: String,
    pub eval: Evaluator,
}

/// Who evaluates an [`Expr`].
#[derive(Clone, Debug)]
pub enum Evaluator {
    /// The built-in evaluator (`crate::expr`), compiled.
    Builtin(crate::expr::Expr),
    /// The run's `python3` (always when `[general] pythonfile` is set, as
    /// the pythonfile's names are visible to every expression; else when
    /// the expression is beyond the built-in evaluator). Holds the source.
    Python(String),
}

impl Expr {
    pub fn builtin(option: impl Into<String>, expr: crate::expr::Expr) -> Expr {
        Expr {
            option: option.into(),
            eval: Evaluator::Builtin(expr),
        }
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        match &self.eval {
            Evaluator::Builtin(e) => e.source(),
            Evaluator::Python(s) => s,
        }
    }

    pub fn is_python(&self) -> bool {
        matches!(self.eval, Evaluator::Python(_))
    }
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
    /// `restoreatime`, default false: put back the access times of each
    /// folder's `new/` and `cur/` after its sync.
    pub restoreatime: bool,
    /// `utime_from_header` (else `[general]`'s), default false: a written
    /// message file's mtime is its `Date:` header.
    pub utime_from_header: bool,
    /// `filename_use_mail_timestamp` (else `[general]`'s), default false:
    /// a written file's name starts with its `Date:` header's time.
    pub filename_use_mail_timestamp: bool,
    /// `customflag_a` … `customflag_z`: (letter, IMAP keyword), in letter
    /// order.
    pub customflags: Vec<(char, String)>,
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
    /// `remotehost`, required without a tunnel; with one, the tunnel's
    /// command (what messages name the server by).
    pub host: String,
    /// `remoteport`, default 993 with ssl, else 143; 0 with a tunnel.
    pub port: u16,
    /// `remoteusereval`, else `remoteuser`, else the login of the host's
    /// netrc entry.
    pub user: Option<String>,
    /// The first of `remotepasseval`, `remotepass`, `remotepassfile`'s
    /// first line, `~/.netrc`, `/etc/netrc` and the keyring that gives one
    /// (see docs/config.md).
    pub password: Option<Secret>,
    pub tls: Tls,
    /// `sslcacertfile`: PEM CA bundle to verify against instead of the
    /// system's (`OS-DEFAULT` means the system's).
    pub ca_file: Option<PathBuf>,
    /// `expunge`, default true.
    pub expunge: bool,
    /// `maxconnections`, default 1 (`-1` forces 1).
    pub maxconnections: usize,
    /// `cert_fingerprint`: the server certificate must have one of these
    /// fingerprints (lowercase hex, no colons; SHA-1 or SHA-2 of the DER
    /// certificate, told apart by length). Empty: no pinning.
    pub cert_fingerprints: Vec<String>,
    /// Whether the certificate chain and host name are verified against
    /// the CAs. False only when `cert_fingerprint` is set and
    /// `sslcacertfile` is not: as in OfflineIMAP, a pinned certificate
    /// then needs no CA, so self-signed ones work.
    pub verify_ca: bool,
    /// From `ssl_version`: the oldest TLS version accepted. `None`: the
    /// TLS library's floor (TLS 1.2 with native-tls).
    pub tls_min_version: Option<TlsVersion>,
    /// `preauthtunnel` or `transporttunnel`: a shell command whose stdin
    /// and stdout replace the TCP connection (then `tls` is `None`).
    pub tunnel: Option<Tunnel>,
    /// `sslclientcert` (and `sslclientkey`): the certificate this client
    /// shows in the TLS handshake, read and checked when the config is.
    pub client_cert: Option<ClientCert>,
    /// `usecompression`: ask for COMPRESS=DEFLATE after login.
    pub compression: bool,
    /// The account's `proxy`: the TCP connection goes through it.
    pub proxy: Option<Proxy>,
    /// `auth_mechanisms`: the login methods to try, in this order, each
    /// only when the server offers it.
    pub auth_mechanisms: Vec<AuthMechanism>,
    /// `remote_identity`: the SASL PLAIN authorization identity, the user
    /// whose mailbox is synced while `user` is the one who logs in.
    pub remote_identity: Option<String>,
    /// The `oauth2_*` options, when a token is configured.
    pub oauth2: Option<OAuth2>,
    /// `ipv6`: `Some(true)` connects over IPv6 only, `Some(false)` over
    /// IPv4 only; `None` tries every address of the host in turn.
    pub ipv6: Option<bool>,
    /// `retrycount`, default 2: how many times a folder whose connection
    /// broke is tried again on a new connection in the same sync.
    pub retrycount: u32,
}

/// A TLS client certificate with its private key, as PEM.
#[derive(Clone, Debug)]
pub struct ClientCert {
    /// `sslclientcert`: where the certificate chain came from.
    pub cert_file: PathBuf,
    /// `sslclientkey`, else `sslclientcert` (the key is in that file).
    pub key_file: PathBuf,
    /// The `CERTIFICATE` blocks, leaf first.
    pub cert_pem: Vec<u8>,
    /// The private key as unencrypted PKCS#8 PEM (what native-tls takes),
    /// whatever form the file had it in.
    pub key_pem: Secret,
}

/// The account's `proxy = TYPE:HOST:PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    pub kind: ProxyKind,
    pub host: String,
    pub port: u16,
}

/// The proxy protocols OfflineIMAP (through PySocks) knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyKind {
    /// `SOCKS4`: IPv4 addresses only.
    Socks4,
    /// `SOCKS5`, without authentication.
    Socks5,
    /// `HTTP`: the CONNECT method.
    Http,
}

/// A SASL mechanism (or `LOGIN`, the IMAP command) of `auth_mechanisms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMechanism {
    Gssapi,
    XOAuth2,
    CramMd5,
    Plain,
    Login,
}

impl AuthMechanism {
    /// OfflineIMAP's order, used when `auth_mechanisms` is not set.
    pub const DEFAULT: [AuthMechanism; 5] = [
        AuthMechanism::Gssapi,
        AuthMechanism::XOAuth2,
        AuthMechanism::CramMd5,
        AuthMechanism::Plain,
        AuthMechanism::Login,
    ];

    /// The name as written in `auth_mechanisms` and in `AUTH=` capabilities.
    pub fn name(self) -> &'static str {
        match self {
            AuthMechanism::Gssapi => "GSSAPI",
            AuthMechanism::XOAuth2 => "XOAUTH2",
            AuthMechanism::CramMd5 => "CRAM-MD5",
            AuthMechanism::Plain => "PLAIN",
            AuthMechanism::Login => "LOGIN",
        }
    }

    /// Parses a name case-insensitively.
    pub fn parse(name: &str) -> Option<AuthMechanism> {
        AuthMechanism::DEFAULT
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// OAuth2 for the XOAUTH2 login: a fixed access token, or a refresh token
/// traded for access tokens at `request_url`.
#[derive(Clone, Debug, Default)]
pub struct OAuth2 {
    /// `oauth2_access_token_eval`, else `oauth2_access_token`. When set it
    /// is used as is and nothing is refreshed (as in OfflineIMAP).
    pub access_token: Option<Secret>,
    /// `oauth2_refresh_token_eval`, else `oauth2_refresh_token`.
    pub refresh_token: Option<Secret>,
    /// `oauth2_client_id_eval`, else `oauth2_client_id`.
    pub client_id: Option<Secret>,
    /// `oauth2_client_secret_eval`, else `oauth2_client_secret`.
    pub client_secret: Option<Secret>,
    /// `oauth2_request_url`: the token endpoint.
    pub request_url: Option<String>,
    /// The account's `authproxy` (`TYPE:HOST:PORT`) for the token request.
    pub proxy: Option<String>,
}

/// A TLS protocol version, as a floor for the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// A command carrying the IMAP conversation instead of a TCP connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tunnel {
    /// `preauthtunnel`: the command speaks IMAP already logged in.
    PreAuth(String),
    /// `transporttunnel`: the command carries bytes; login follows as usual.
    Transport(String),
}

impl Tunnel {
    pub fn command(&self) -> &str {
        match self {
            Tunnel::PreAuth(c) | Tunnel::Transport(c) => c,
        }
    }
}

/// What the command line changes in the configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `-a`: sync these accounts instead of `[general] accounts`.
    pub accounts: Option<Vec<String>>,
    /// `-o`: sync once; every `autorefresh` is ignored.
    pub run_once: bool,
    /// `-1`: one connection per repository (`maxconnections` forced to 1).
    pub single_thread: bool,
    /// `-k [section:]option=value`, applied in order before anything is
    /// read from the file.
    pub settings: Vec<Setting>,
    /// `-f`: sync only these remote folders (names as the server spells
    /// them). Replaces every remote `folderfilter` and empties
    /// `folderincludes`, as OfflineIMAP does.
    pub folders: Option<Vec<String>>,
}

/// One `-k [section:]option=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub section: String,
    pub option: String,
    pub value: String,
}

impl Setting {
    /// Parses the argument of `-k`. As in OfflineIMAP, the section defaults
    /// to `general` and `_` in a section name stands for a space
    /// (`Account_Work:autorefresh=30`).
    pub fn parse(arg: &str) -> Result<Setting, String> {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(format!("-k: expected [section:]option=value, got '{arg}'"));
        };
        let (section, option) = match key.split_once(':') {
            Some((s, o)) => (s.replace('_', " "), o),
            None => ("general".to_owned(), key),
        };
        let option = option.trim();
        if option.is_empty() || section.trim().is_empty() {
            return Err(format!("-k: expected [section:]option=value, got '{arg}'"));
        }
        Ok(Setting {
            section,
            option: option.to_lowercase(),
            value: value.trim().to_owned(),
        })
    }
}

/// What went wrong, for callers that branch on it; the message says the
/// rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read (missing, unreadable, not UTF-8), or a
    /// file an option names could not be (`remotepassfile`).
    Read,
    /// The text is not valid ConfigParser syntax (or interpolation).
    Syntax,
    /// A required section or option is absent.
    Missing,
    /// A value does not have the expected form.
    Invalid,
    /// A name refers to an account or repository that is not defined.
    Undefined,
    /// Valid for OfflineIMAP, but this build does not do it yet.
    Unsupported,
}

/// A configuration error. Its `Display` is one line:
/// `<file>[:<line>]: [<section>] <option>: <message>`, leaving out the
/// parts that do not apply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    pub file: PathBuf,
    /// 1-based line, for syntax errors.
    pub line: Option<usize>,
    pub section: Option<String>,
    /// The option, or the command-line flag (`-a`, `-k`) the value came from.
    pub option: Option<String>,
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    fn new(file: &Path, kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            file: file.to_owned(),
            line: None,
            section: None,
            option: None,
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(":")?;
        if let Some(section) = &self.section {
            write!(f, " [{section}]")?;
        }
        if let Some(option) = &self.option {
            write!(f, " {option}:")?;
        }
        write!(f, " {}", self.message)
    }
}

/// Reads and parses the configuration file at `path`, expanding `~` and
/// `$VAR` from the process environment.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Config, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let message = if e.kind() == std::io::ErrorKind::NotFound {
            "configuration file not found".to_owned()
        } else {
            format!("cannot read the configuration file: {e}")
        };
        Error::new(path, ErrorKind::Read, message)
    })?;
    parse(text.as_str(), path, overrides, &|name| {
        std::env::var(name).ok()
    })
}

/// Parses configuration `text` that came from `path` (used only in
/// messages). `env` looks up environment variables (`HOME` for `~` and
/// `~/.netrc`, `PATH` for `python3` and `secret-tool`, and `$VAR`s in
/// paths), so tests need not touch the real environment.
///
/// Besides the text, this reads only what an account being synced needs
/// for its user and password: `remotepassfile`, the netrc files, the
/// keyring and Python for `*eval` options.
pub fn parse(
    text: &str,
    path: &Path,
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Error> {
    let keyring = keyring::SecretTool::find(env("PATH").as_deref());
    let sources = Sources {
        env,
        system_netrc: PathBuf::from(SYSTEM_NETRC),
        keyring: keyring.as_ref().map(|k| k as &dyn keyring::Keyring),
    };
    parse_with_sources(text, path, overrides, &sources)
}

/// The system-wide netrc file OfflineIMAP also reads.
pub const SYSTEM_NETRC: &str = "/etc/netrc";

/// Where user names and passwords come from besides the file itself.
pub struct Sources<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// `/etc/netrc` (read after `~/.netrc`).
    pub system_netrc: PathBuf,
    /// The system keyring, if there is one.
    pub keyring: Option<&'a dyn keyring::Keyring>,
}

/// [`parse`] with the password sources given.
pub fn parse_with_sources(
    text: &str,
    path: &Path,
    overrides: &Overrides,
    sources: &Sources<'_>,
) -> Result<Config, Error> {
    reader::read(text, path, overrides, sources)
}
