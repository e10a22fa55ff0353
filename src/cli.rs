//! The command line: OfflineIMAP's options, parsed with clap, and where the
//! configuration file is looked for.
//!
//! This module only describes and parses arguments; acting on them is
//! `app`'s job.

use std::path::{Path, PathBuf};

use clap::{ArgAction, Parser};

/// OfflineIMAP's command line. Field names follow OfflineIMAP's meaning,
/// not its letters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Parser)]
#[command(
    name = "offlineimap",
    version,
    disable_version_flag = true,
    // optparse lets a later `-a x` replace an earlier one; so do we.
    args_override_self = true,
    about = "Two-way synchronisation of IMAP mailboxes with local Maildir folders",
    long_about = "Two-way synchronisation of IMAP mailboxes with local Maildir folders.\n\n\
                  Reads the same configuration file as OfflineIMAP: -c FILE, else \
                  $XDG_CONFIG_HOME/offlineimap/config if it exists, else ~/.offlineimaprc."
)]
pub struct Cli {
    /// Print the program name and version, then exit.
    #[arg(long = "version", action = ArgAction::Version)]
    pub version: Option<bool>,

    /// Print the version with library and TLS details, then exit.
    #[arg(short = 'V')]
    pub version_info: bool,

    /// Show what a sync would change without changing anything.
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    /// Show connection and folder diagnostics for each account; do not sync.
    #[arg(long)]
    pub info: bool,

    /// Do everything one step at a time: one connection per repository.
    #[arg(short = '1')]
    pub single_thread: bool,

    /// Write a plain-text timing profile of each account's sync into DIR
    /// (DIR/<timestamp>_<account>.prof, not a Python cProfile); implies -1.
    #[arg(short = 'P', value_name = "DIR")]
    pub profile_dir: Option<PathBuf>,

    /// Sync only these accounts (comma-separated) instead of [general] accounts.
    #[arg(
        short = 'a',
        value_name = "ACCOUNT[,ACCOUNT...]",
        value_delimiter = ',',
        action = ArgAction::Set
    )]
    pub accounts: Option<Vec<String>>,

    /// Read the configuration from FILE.
    #[arg(short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Debug output of these kinds (comma-separated): imap (protocol trace,
    /// passwords hidden), maildir, thread, or ALL; shown by every UI and
    /// log. Implies -1 unless thread is among them.
    #[arg(short = 'd', value_name = "TYPE[,TYPE...]", value_delimiter = ',', action = ArgAction::Set)]
    pub debug: Option<Vec<String>>,

    /// Also write the log to FILE.
    #[arg(short = 'l', value_name = "FILE")]
    pub logfile: Option<PathBuf>,

    /// Also send the log to syslog.
    #[arg(short = 's')]
    pub syslog: bool,

    /// Sync only these remote folders (comma-separated, names as on the server).
    #[arg(short = 'f', value_name = "FOLDER[,FOLDER...]", value_delimiter = ',', action = ArgAction::Set)]
    pub folders: Option<Vec<String>>,

    /// Set a configuration option for this run; SECTION defaults to general
    /// and '_' in it stands for a space. May be repeated.
    #[arg(short = 'k', value_name = "[SECTION:]OPTION=VALUE", action = ArgAction::Append)]
    pub settings: Vec<String>,

    /// Sync once and exit, ignoring autorefresh.
    #[arg(short = 'o')]
    pub run_once: bool,

    /// Quick sync (accepted; every sync here is a full sync, see docs/config.md).
    #[arg(short = 'q')]
    pub quick: bool,

    /// Use this user interface (blinkenlights, ttyui, basic, quiet, syslog, machineui).
    #[arg(short = 'u', value_name = "UI")]
    pub ui: Option<String>,

    /// Delete folder NAME on the remote side of the one account given with -a; no sync.
    #[arg(long = "delete-folder", value_name = "NAME")]
    pub delete_folder: Option<String>,

    /// Rename local message files written before OfflineIMAP 6.3.5 to the
    /// current folder checksum (FMD5); no sync.
    #[arg(long = "migrate-fmd5-using-nametrans")]
    pub migrate_fmd5: bool,

    /// Forget mbnames entries of accounts that are no longer configured.
    #[arg(long = "mbnames-prune")]
    pub mbnames_prune: bool,

    /// Do not look passwords up in the system keyring.
    #[arg(long = "ignore-keyring")]
    pub ignore_keyring: bool,

    /// Store the password that worked in the system keyring.
    #[arg(long = "update-keyring")]
    pub update_keyring: bool,
}

/// Parses the process's arguments; on `--help`, `--version` or a usage
/// error clap prints and exits (status 0 or 2).
pub fn parse() -> Cli {
    Cli::parse()
}

/// What `-V` prints: version plus the libraries that talk to the server.
pub fn version_info() -> String {
    let tls = if cfg!(target_os = "macos") || cfg!(target_os = "ios") {
        "native-tls (Security.framework)"
    } else if cfg!(windows) {
        "native-tls (SChannel)"
    } else {
        "native-tls (OpenSSL)"
    };
    format!(
        "offlineimap v{}, async-imap v0.12, Rust {} or later, TLS via {tls}",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_RUST_VERSION"),
    )
}

/// Where the configuration file is: `-c FILE` (a leading `~` expanded), else
/// `$XDG_CONFIG_HOME/offlineimap/config` (`~/.config` when the variable is
/// unset or empty) if that file exists, else `~/.offlineimaprc`.
///
/// `env` looks up environment variables and `exists` tests for a file, so
/// this can be tested without touching the real ones.
pub fn config_path(
    cli_c: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    exists: &dyn Fn(&Path) -> bool,
) -> PathBuf {
    let home = env("HOME").filter(|h| !h.is_empty());
    let in_home = |rest: &str| match &home {
        Some(h) => Path::new(h).join(rest),
        None => PathBuf::from("~").join(rest),
    };
    if let Some(c) = cli_c {
        return match c.to_str() {
            Some("~") => in_home(""),
            Some(s) if s.starts_with("~/") => in_home(&s[2..]),
            _ => c.to_owned(),
        };
    }
    let xdg = match env("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => in_home(".config"),
    };
    let xdg_file = xdg.join("offlineimap").join("config");
    if exists(&xdg_file) {
        xdg_file
    } else {
        in_home(".offlineimaprc")
    }
}

/// [`config_path`] with the process environment and file system.
pub fn config_path_from_env(cli_c: Option<&Path>) -> PathBuf {
    config_path(cli_c, &|name| std::env::var(name).ok(), &Path::exists)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (house rules).
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["offlineimap"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all) {
            Ok(c) => c,
            Err(e) => panic!("{args:?}: {e}"),
        }
    }

    fn fails(args: &[&str]) -> ErrorKind {
        let mut all = vec!["offlineimap"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap_err().kind()
    }

    #[test]
    fn no_arguments() {
        let c = cli(&[]);
        assert_eq!(c, Cli::default());
    }

    #[test]
    fn implemented_options() {
        let c = cli(&[
            "-c",
            "/tmp/rc",
            "-a",
            "Work,Home",
            "-o",
            "-u",
            "basic",
            "-1",
        ]);
        assert_eq!(c.config, Some(PathBuf::from("/tmp/rc")));
        assert_eq!(c.accounts, Some(vec!["Work".to_owned(), "Home".to_owned()]));
        assert!(c.run_once);
        assert_eq!(c.ui.as_deref(), Some("basic"));
        assert!(c.single_thread);
        let c = cli(&["-l", "/tmp/log", "-s"]);
        assert_eq!(c.logfile, Some(PathBuf::from("/tmp/log")));
        assert!(c.syslog);
        let c = cli(&[
            "-k",
            "fsync=no",
            "-k",
            "Account_Work:autorefresh=30",
            "--ignore-keyring",
            "--update-keyring",
        ]);
        assert_eq!(c.settings, ["fsync=no", "Account_Work:autorefresh=30"]);
        assert!(c.ignore_keyring && c.update_keyring);
        let c = cli(&["-d", "imap,maildir"]);
        assert_eq!(c.debug, Some(vec!["imap".to_owned(), "maildir".to_owned()]));
        // Short options cluster as with optparse.
        let c = cli(&["-o1", "-cfile"]);
        assert!(c.run_once && c.single_thread);
        assert_eq!(c.config, Some(PathBuf::from("file")));
    }

    #[test]
    fn later_option_wins() {
        let c = cli(&["-a", "A", "-a", "B", "-o", "-o"]);
        assert_eq!(c.accounts, Some(vec!["B".to_owned()]));
        assert!(c.run_once);
    }

    #[test]
    fn commands_and_modes() {
        let c = cli(&["-P", "/tmp/prof"]);
        assert_eq!(c.profile_dir, Some(PathBuf::from("/tmp/prof")));
        let c = cli(&["--delete-folder", "Old", "-a", "A"]);
        assert_eq!(c.delete_folder.as_deref(), Some("Old"));
        let c = cli(&["--migrate-fmd5-using-nametrans", "--dry-run"]);
        assert!(c.migrate_fmd5 && c.dry_run);
        let c = cli(&["--dry-run", "--info", "-q"]);
        assert!(c.dry_run && c.info && c.quick);
    }

    #[test]
    fn values_of_list_options() {
        let c = cli(&[
            "-d",
            "imap,thread",
            "-f",
            "INBOX",
            "-k",
            "a=1",
            "-k",
            "Account_X:b=2",
            "-P",
            "d",
        ]);
        assert_eq!(c.debug, Some(vec!["imap".to_owned(), "thread".to_owned()]));
        assert_eq!(c.folders, Some(vec!["INBOX".to_owned()]));
        assert_eq!(
            c.settings,
            vec!["a=1".to_owned(), "Account_X:b=2".to_owned()]
        );
        assert_eq!(c.profile_dir, Some(PathBuf::from("d")));
        // The first unimplemented option in a fixed order.
    }

    #[test]
    fn version_flags() {
        assert_eq!(fails(&["--version"]), ErrorKind::DisplayVersion);
        let c = cli(&["-V"]);
        assert!(c.version_info);
        let v = version_info();
        assert!(
            v.starts_with(&format!(
                "offlineimap v{}, async-imap v0.12",
                env!("CARGO_PKG_VERSION")
            )),
            "{v}"
        );
        // --version is the plain form.
        let cmd = <Cli as clap::CommandFactory>::command();
        assert_eq!(
            cmd.render_version(),
            format!("offlineimap {}\n", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn help_and_errors() {
        assert_eq!(fails(&["-h"]), ErrorKind::DisplayHelp);
        assert_eq!(fails(&["--help"]), ErrorKind::DisplayHelp);
        assert_eq!(fails(&["--bogus"]), ErrorKind::UnknownArgument);
        assert_eq!(fails(&["-c"]), ErrorKind::InvalidValue);
        assert_eq!(fails(&["extra"]), ErrorKind::UnknownArgument);
        let help = <Cli as clap::CommandFactory>::command()
            .render_help()
            .to_string();
        for flag in [
            "--dry-run",
            "--info",
            "-1",
            "-P",
            "-a",
            "-c",
            "-d",
            "-l",
            "-s",
            "-f",
            "-k",
            "-o",
            "-q",
            "-u",
            "--delete-folder",
            "--migrate-fmd5-using-nametrans",
            "--mbnames-prune",
            "--ignore-keyring",
            "--update-keyring",
            "--version",
            "-V",
            "-h",
        ] {
            assert!(help.contains(flag), "help lacks {flag}:\n{help}");
        }
    }

    #[test]
    fn debug_assert_command() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn config_path_choices() {
        let home = env_of(&[("HOME", "/home/u")]);
        let nothing = |_: &Path| false;
        let everything = |_: &Path| true;

        assert_eq!(
            config_path(Some(Path::new("/etc/rc")), &home, &nothing),
            PathBuf::from("/etc/rc")
        );
        assert_eq!(
            config_path(Some(Path::new("~/rc")), &home, &nothing),
            PathBuf::from("/home/u/rc")
        );
        assert_eq!(
            config_path(Some(Path::new("rel/rc")), &home, &nothing),
            PathBuf::from("rel/rc")
        );

        assert_eq!(
            config_path(None, &home, &nothing),
            PathBuf::from("/home/u/.offlineimaprc")
        );
        assert_eq!(
            config_path(None, &home, &everything),
            PathBuf::from("/home/u/.config/offlineimap/config")
        );

        let xdg = env_of(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "/cfg")]);
        let only_xdg = |p: &Path| p == Path::new("/cfg/offlineimap/config");
        assert_eq!(
            config_path(None, &xdg, &only_xdg),
            PathBuf::from("/cfg/offlineimap/config")
        );
        assert_eq!(
            config_path(None, &xdg, &nothing),
            PathBuf::from("/home/u/.offlineimaprc")
        );

        let empty_xdg = env_of(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "")]);
        let only_default_xdg = |p: &Path| p == Path::new("/home/u/.config/offlineimap/config");
        assert_eq!(
            config_path(None, &empty_xdg, &only_default_xdg),
            PathBuf::from("/home/u/.config/offlineimap/config")
        );

        let no_home = env_of(&[]);
        assert_eq!(
            config_path(None, &no_home, &nothing),
            PathBuf::from("~/.offlineimaprc")
        );
    }
}
