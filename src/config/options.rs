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
}

impl Scope {
    /// Whether an option of this scope may appear in a repository of the
    /// given scope (`Repository` options apply to both types).
    fn applies_to(self, section: Scope) -> bool {
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
    }
}

use DefaultValue::{Derived, Required, Unset, Value};
use Scope::{Account, Blinkenlights, General, Imap, Maildir, Repository};

/// Every option this build reads.
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
    opt(Repository, "type", Required, "Maildir or IMAP"),
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
    opt(Imap, "remotehost", Required, "server host name"),
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
        Value("1"),
        "parallel connections to the server",
    ),
];

/// The spec of `name` for a section of `scope`, if this build knows it.
pub fn find(scope: Scope, name: &str) -> Option<&'static OptionSpec> {
    OPTIONS
        .iter()
        .find(|o| o.name == name && o.scope.applies_to(scope))
}

/// Whether `name` is an option of any scope (for `[DEFAULT]`, whose
/// options reach every section).
pub fn known_anywhere(name: &str) -> bool {
    OPTIONS.iter().any(|o| o.name == name)
}
