//! The one table of configuration options this build understands: where
//! each may appear, its default and a one-line description.
//!
//! The parser takes its defaults and its notion of "known option" from
//! here, and a test checks that the shipped `offlineimap.conf` documents
//! every entry, so the table, the parser and the sample cannot drift apart.

/// Which kind of section an option belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `[general]`
    General,
    /// `[Account NAME]`
    Account,
    /// `[Repository NAME]` of any type.
    Repository,
    /// `[Repository NAME]` with `type = Maildir`.
    Maildir,
    /// `[Repository NAME]` with `type = IMAP`.
    Imap,
    /// `[ui.blinkenlights]` (also read from OfflineIMAP's old
    /// `[ui.Curses.Blinkenlights]`).
    Blinkenlights,
    /// `[mbnames]`
    Mbnames,
}

impl Scope {
    /// Whether an option of this scope may appear in a repository of the
    /// given scope (`Repository` options apply to both types).
    pub fn applies_to(self, section: Scope) -> bool {
        self == section
            || (self == Scope::Repository && matches!(section, Scope::Maildir | Scope::Imap))
    }
}

/// What happens when an option is absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultValue {
    /// The option must be given.
    Required,
    /// Absent means "not set"; nothing is assumed.
    Unset,
    /// Absent means this value, written as it would be in the file and
    /// parsed by the same code as a user's value.
    Value(&'static str),
    /// The default depends on other options; the text says how.
    Derived(&'static str),
}

/// What this build does with an option OfflineIMAP knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Read and acted on.
    Yes,
    /// Accepted, but it does nothing here; set to anything but its default
    /// it gets one warning line, which is this text: what happens instead.
    Ignored(&'static str),
    /// Set to anything but its default it stops the run with this one-line
    /// reason (ignoring it could sync the wrong thing).
    Refused(&'static str),
}

/// One known option.
#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    pub scope: Scope,
    /// The name as written in the file (option names are case-insensitive;
    /// these are lowercase).
    pub name: &'static str,
    pub default: DefaultValue,
    /// What the option does, in a few words.
    pub about: &'static str,
    pub support: Support,
}

const fn opt(
    scope: Scope,
    name: &'static str,
    default: DefaultValue,
    about: &'static str,
) -> OptionSpec {
    OptionSpec {
        scope,
        name,
        default,
        about,
        support: Support::Yes,
    }
}

/// An OfflineIMAP option that does nothing here; `instead` says what
/// happens instead.
const fn ignored(
    scope: Scope,
    name: &'static str,
    default: DefaultValue,
    about: &'static str,
    instead: &'static str,
) -> OptionSpec {
    OptionSpec {
        support: Support::Ignored(instead),
        ..opt(scope, name, default, about)
    }
}

/// An OfflineIMAP option this build refuses to run with, for `why`.
const fn refused(
    scope: Scope,
    name: &'static str,
    default: DefaultValue,
    about: &'static str,
    why: &'static str,
) -> OptionSpec {
    OptionSpec {
        support: Support::Refused(why),
        ..opt(scope, name, default, about)
    }
}

use DefaultValue::{Derived, Required, Unset, Value};
use Scope::{Account, Blinkenlights, General, Imap, Maildir, Mbnames, Repository};

/// The table's name for `customflag_a` ... `customflag_z`.
pub const CUSTOMFLAG: &str = "customflag_x";

/// Every option OfflineIMAP has (and a few of this build's own), with what
/// this build does with it.
pub const OPTIONS: &[OptionSpec] = &[
    opt(
        Blinkenlights,
        "theme",
        Value("classic"),
        "Blinkenlights colour theme: a name from ui-themes/ or a file path",
    ),
    opt(
        Blinkenlights,
        "statuschar",
        Value("@"),
        "the character drawn for each worker light",
    ),
    opt(
        General,
        "accounts",
        Required,
        "comma-separated list of the accounts to sync",
    ),
    opt(
        General,
        "metadata",
        Value("~/.offlineimap"),
        "directory for status caches and locks",
    ),
    opt(
        General,
        "fsync",
        Value("yes"),
        "flush message files and status to disk before going on",
    ),
    opt(
        General,
        "ui",
        Unset,
        "user interface to use (the -u option wins)",
    ),
    opt(
        General,
        "maxsyncaccounts",
        Value("1"),
        "how many accounts may sync at the same time",
    ),
    opt(
        General,
        "socktimeout",
        Unset,
        "seconds a network operation may stall before it fails",
    ),
    opt(
        Account,
        "localrepository",
        Required,
        "name of the local (Maildir) repository",
    ),
    opt(
        Account,
        "remoterepository",
        Required,
        "name of the remote (IMAP) repository",
    ),
    opt(
        Account,
        "autorefresh",
        Unset,
        "minutes between syncs; unset or 0 syncs once",
    ),
    opt(
        Account,
        "maildir-windows-compatible",
        Value("no"),
        "use '!' instead of ':' in Maildir file names",
    ),
    opt(
        Repository,
        "type",
        Required,
        "Maildir, GmailMaildir, IMAP or Gmail",
    ),
    opt(
        Repository,
        "readonly",
        Value("no"),
        "never change anything in this repository",
    ),
    opt(
        Repository,
        "createfolders",
        Value("yes"),
        "create folders here that exist only on the other side",
    ),
    opt(
        Repository,
        "sync_deletes",
        Value("yes"),
        "propagate deletions made here to the other side",
    ),
    opt(
        Repository,
        "folderfilter",
        Derived("every folder"),
        "Python callable(folder name as this repository spells it) -> keep it?",
    ),
    opt(
        Repository,
        "nametrans",
        Derived("names unchanged"),
        "Python callable(folder name) -> name the other repository sees",
    ),
    opt(
        Repository,
        "folderincludes",
        Value("[]"),
        "Python list of extra folder names to sync whatever the folderfilter says",
    ),
    opt(
        Repository,
        "foldersort",
        Derived("case-insensitive by translated name"),
        "Python cmp-style callable(a, b) -> int ordering the folder syncs",
    ),
    opt(
        Repository,
        "dynamic_folderfilter",
        Value("no"),
        "re-evaluate folderfilter on every sync instead of once at start-up",
    ),
    opt(
        Maildir,
        "localfolders",
        Required,
        "root directory of the Maildir tree",
    ),
    opt(
        Maildir,
        "sep",
        Value("."),
        "folder hierarchy separator on disk ('/' nests directories)",
    ),
    opt(
        Maildir,
        "maildir-windows-compatible",
        Value("no"),
        "use '!' instead of ':' in Maildir file names",
    ),
    opt(
        Imap,
        "remotehost",
        Derived("required unless a tunnel is set"),
        "server host name",
    ),
    opt(
        Imap,
        "remoteport",
        Derived("993 with ssl, else 143"),
        "server port",
    ),
    opt(Imap, "remoteuser", Unset, "login name"),
    opt(Imap, "remotepass", Unset, "password (write '%' as '%%')"),
    opt(
        Imap,
        "remotepassfile",
        Unset,
        "file whose first line is the password",
    ),
    // Credentials and Python (remotepasseval & co., pythonfile, keyring).
    opt(
        Imap,
        "remotepasseval",
        Unset,
        "Python expression giving the password (before remotepass)",
    ),
    opt(
        Imap,
        "remoteusereval",
        Unset,
        "Python expression giving the login name (before remoteuser)",
    ),
    opt(
        Imap,
        "remotehosteval",
        Unset,
        "Python expression giving the host name (before remotehost)",
    ),
    opt(
        Imap,
        "remoteporteval",
        Unset,
        "Python expression giving the port (before remoteport)",
    ),
    opt(
        Imap,
        "auth_mechanisms",
        Value("GSSAPI, XOAUTH2, CRAM-MD5, PLAIN, LOGIN"),
        "login methods to try, in order, each if the server offers it (GSSAPI is skipped)",
    ),
    opt(
        General,
        "pythonfile",
        Unset,
        "Python file whose names every Python option can use",
    ),
    opt(
        General,
        "ignore-keyring",
        Value("no"),
        "do not look passwords up in the system keyring (--ignore-keyring)",
    ),
    opt(
        General,
        "update-keyring",
        Value("no"),
        "store the password that worked in the system keyring (--update-keyring)",
    ),
    opt(
        General,
        "dry-run",
        Value("no"),
        "show what a sync would change without changing anything (--dry-run)",
    ),
    opt(
        General,
        "utime_from_header",
        Value("no"),
        "default of the Maildir option of the same name",
    ),
    opt(
        General,
        "filename_use_mail_timestamp",
        Value("no"),
        "default of the Maildir option of the same name",
    ),
    // OfflineIMAP options that do nothing here (one warning each) or that
    // this build refuses (an error), see docs/config.md.
    opt(
        General,
        "ignore-readonly",
        Value("no"),
        "no warning when changes cannot go to a folder the server opened read-only",
    ),
    opt(
        Mbnames,
        "enabled",
        Value("no"),
        "write a file listing every synced mailbox (e.g. for mutt)",
    ),
    opt(
        Mbnames,
        "filename",
        Unset,
        "the mailbox list file (`~` expanded)",
    ),
    opt(Mbnames, "header", Unset, "Python string written first"),
    opt(
        Mbnames,
        "peritem",
        Unset,
        "%-template for each mailbox (accountname, foldername, localfolders)",
    ),
    opt(Mbnames, "sep", Unset, "Python string between items"),
    opt(Mbnames, "footer", Unset, "Python string written last"),
    opt(
        Mbnames,
        "incremental",
        Value("no"),
        "rewrite the file after each account, not once at the end",
    ),
    opt(
        Mbnames,
        "folderfilter",
        Unset,
        "Python function (accountname, foldername) choosing the mailboxes listed",
    ),
    opt(
        Mbnames,
        "sort_keyfunc",
        Unset,
        "Python function (item dict) giving the sort key of the list",
    ),
    opt(
        Account,
        "quick",
        Value("0"),
        "quick syncs between full ones (-q); accepted, every sync here is a full sync",
    ),
    opt(
        Account,
        "presynchook",
        Unset,
        "shell command run before each sync",
    ),
    opt(
        Account,
        "postsynchook",
        Unset,
        "shell command run after each sync",
    ),
    opt(
        Account,
        "maxsize",
        Unset,
        "leave out messages larger than this many bytes",
    ),
    opt(
        Account,
        "maxage",
        Unset,
        "only sync messages of the last N days (or since a date)",
    ),
    opt(
        Account,
        "synclabels",
        Value("no"),
        "Gmail: keep labels in a message header",
    ),
    opt(
        Account,
        "labelsheader",
        Value("X-Keywords"),
        "Gmail: the header holding the labels",
    ),
    opt(Account, "ignorelabels", Unset, "Gmail: labels never synced"),
    opt(
        Account,
        "filterheaders",
        Unset,
        "headers removed from messages uploaded to the server",
    ),
    opt(
        Account,
        "proxy",
        Unset,
        "SOCKS5, SOCKS4 or HTTP (CONNECT) proxy for the IMAP connection (TYPE:HOST:PORT)",
    ),
    opt(
        Account,
        "authproxy",
        Unset,
        "proxy for OAuth2 token requests (TYPE:HOST:PORT, SOCKS5, SOCKS4 or HTTP)",
    ),
    opt(
        Account,
        "utf8foldernames",
        Value("no"),
        "decode the server's modified UTF-7 folder names to UTF-8 for nametrans, folderfilter, foldersort and local names",
    ),
    refused(
        Account,
        "status_backend",
        Unset,
        "removed from OfflineIMAP: the status cache is always SQLite",
        "not supported anymore; please remove this option",
    ),
    ignored(
        Account,
        "skipsleep",
        Value("no"),
        "internal to OfflineIMAP",
        "it has no effect (send SIGUSR1 to end a sleep)",
    ),
    opt(
        Repository,
        "startdate",
        Unset,
        "only sync messages since this date (YYYY-MM-DD)",
    ),
    opt(
        Maildir,
        "restoreatime",
        Value("no"),
        "restore the access time of new/ and cur/ after each folder's sync",
    ),
    opt(
        Maildir,
        "utime_from_header",
        Derived("[general] utime_from_header"),
        "set new message files' modification time from their Date: header",
    ),
    opt(
        Maildir,
        "filename_use_mail_timestamp",
        Derived("[general] filename_use_mail_timestamp"),
        "time in new file names from the Date: header (else Delivery-date:)",
    ),
    opt(
        Maildir,
        CUSTOMFLAG,
        Unset,
        "map an IMAP keyword to a Maildir flag letter (customflag_a to customflag_z)",
    ),
    opt(
        Imap,
        "ipv6",
        Unset,
        "yes: IPv6 only; no: IPv4 only (unset: every address of the host in turn)",
    ),
    opt(
        Imap,
        "cert_fingerprint",
        Unset,
        "accept only server certificates with these fingerprints (SHA-1/SHA-2 hex, comma-separated); without sslcacertfile no CA is needed",
    ),
    opt(
        Imap,
        "sslclientcert",
        Unset,
        "PEM file with the TLS client certificate (and its key, without sslclientkey)",
    ),
    opt(
        Imap,
        "sslclientkey",
        Unset,
        "PEM file with the client certificate's private key",
    ),
    opt(
        Imap,
        "ssl_version",
        Unset,
        "oldest TLS version: tls1_2 or tls1_3 (ssl23: any; older ones warn, never below TLS 1.2)",
    ),
    opt(
        Imap,
        "tls_level",
        Value("tls_compat"),
        "which ssl_version values are allowed: tls_compat, tls_no_ssl or tls_secure",
    ),
    opt(
        Imap,
        "preauthtunnel",
        Unset,
        "shell command that speaks IMAP on stdin/stdout, already logged in",
    ),
    opt(
        Imap,
        "transporttunnel",
        Unset,
        "shell command that carries the connection (login follows)",
    ),
    opt(
        Imap,
        "usecompression",
        Value("no"),
        "COMPRESS=DEFLATE after login, when the server offers it",
    ),
    opt(
        Imap,
        "remote_identity",
        Unset,
        "SASL PLAIN authorization identity: log in as remoteuser, act as this user",
    ),
    opt(Imap, "oauth2_client_id", Unset, "OAuth2 client id"),
    opt(
        Imap,
        "oauth2_client_id_eval",
        Unset,
        "OAuth2 client id (Python, before oauth2_client_id)",
    ),
    opt(Imap, "oauth2_client_secret", Unset, "OAuth2 client secret"),
    opt(
        Imap,
        "oauth2_client_secret_eval",
        Unset,
        "OAuth2 client secret (Python, before oauth2_client_secret)",
    ),
    opt(
        Imap,
        "oauth2_refresh_token",
        Unset,
        "OAuth2 refresh token, traded at oauth2_request_url for access tokens",
    ),
    opt(
        Imap,
        "oauth2_refresh_token_eval",
        Unset,
        "OAuth2 refresh token (Python, before oauth2_refresh_token)",
    ),
    opt(
        Imap,
        "oauth2_access_token",
        Unset,
        "OAuth2 access token, used as is (before a refresh token)",
    ),
    opt(
        Imap,
        "oauth2_access_token_eval",
        Unset,
        "OAuth2 access token (Python, before oauth2_access_token)",
    ),
    opt(
        Imap,
        "oauth2_request_url",
        Unset,
        "OAuth2 token endpoint (needed with a refresh token)",
    ),
    ignored(
        Imap,
        "singlethreadperfolder",
        Value("no"),
        "one copy thread per folder",
        "it has no effect (it tunes OfflineIMAP's threads)",
    ),
    opt(
        Imap,
        "holdconnectionopen",
        Value("no"),
        "keep connections open between syncs",
    ),
    opt(
        Imap,
        "keepalive",
        Unset,
        "seconds between NOOPs while waiting for the next sync",
    ),
    opt(
        Imap,
        "idlefolders",
        Unset,
        "folders to watch with IMAP IDLE between syncs",
    ),
    ignored(
        Imap,
        "sep",
        Unset,
        "not used for IMAP",
        "the server's hierarchy separator is used",
    ),
    refused(
        Imap,
        "decodefoldernames",
        Value("no"),
        "deprecated: UTF-8 visible names of remote folders",
        "deprecated, and every sync fails with it in OfflineIMAP 8; remove it and set utf8foldernames = yes in the [Account] section instead",
    ),
    opt(
        Imap,
        "newmail_hook",
        Unset,
        "Python function called when new unseen mail was copied from INBOX",
    ),
    opt(
        Imap,
        "retrycount",
        Value("2"),
        "how many times a folder whose connection broke is synced again on a new connection",
    ),
    opt(
        Imap,
        "copy_ignore_eval",
        Unset,
        "Python function(folder) listing server UIDs never downloaded",
    ),
    ignored(
        Imap,
        "trashfolder",
        Value("[Gmail]/Trash"),
        "Gmail: the trash folder",
        "it has no effect, as in OfflineIMAP",
    ),
    ignored(
        Imap,
        "spamfolder",
        Value("[Gmail]/Spam"),
        "Gmail: the spam folder",
        "it has no effect, as in OfflineIMAP",
    ),
    opt(Imap, "ssl", Value("yes"), "TLS from the first byte"),
    opt(
        Imap,
        "starttls",
        Value("yes"),
        "with ssl = no: upgrade with STARTTLS",
    ),
    opt(
        Imap,
        "sslcacertfile",
        Value("OS-DEFAULT"),
        "PEM file of CAs to trust; OS-DEFAULT uses the system's",
    ),
    opt(
        Imap,
        "expunge",
        Value("yes"),
        "expunge messages deleted on the server",
    ),
    opt(
        Imap,
        "subscribedonly",
        Value("no"),
        "sync only subscribed folders (LSUB instead of LIST)",
    ),
    opt(
        Imap,
        "reference",
        Unset,
        "LIST reference (e.g. Mail); prefixed to folders created on the server",
    ),
    opt(
        Imap,
        "maxconnections",
        Value("4"),
        "parallel connections to the server",
    ),
];

/// The spec of `name` for a section of `scope`, if this build knows it.
pub fn find(scope: Scope, name: &str) -> Option<&'static OptionSpec> {
    let name = canonical(name);
    OPTIONS
        .iter()
        .find(|o| o.name == name && o.scope.applies_to(scope))
}

/// Whether `name` is an option of any scope (for `[DEFAULT]`, whose
/// options reach every section).
pub fn known_anywhere(name: &str) -> bool {
    let name = canonical(name);
    OPTIONS.iter().any(|o| o.name == name)
}

/// The table's name for `name`: `customflag_a` ... `customflag_z` share
/// one entry.
fn canonical(name: &str) -> &str {
    match name.strip_prefix("customflag_").map(str::as_bytes) {
        Some([c]) if c.is_ascii_lowercase() => CUSTOMFLAG,
        _ => name,
    }
}

/// The known option of one of `scopes` closest to the unknown `name`, for
/// "did you mean" (a typo of a letter or two, or a different case of `-`
/// and `_`).
pub fn suggest(scopes: &[Scope], name: &str) -> Option<&'static str> {
    let limit = (name.chars().count() / 4).max(1);
    OPTIONS
        .iter()
        .filter(|o| scopes.iter().any(|&s| o.scope.applies_to(s)))
        .filter(|o| o.name != CUSTOMFLAG)
        .map(|o| {
            (
                distance(&name.replace('-', "_"), &o.name.replace('-', "_")),
                o.name,
            )
        })
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, n)| n)
}

/// Levenshtein distance in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
