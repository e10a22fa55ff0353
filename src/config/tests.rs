//! Tests of configuration loading: defaults, each error, the fixture
//! directories and the shipped sample `offlineimap.conf`.

#![allow(clippy::unwrap_used)] // Tests may unwrap (house rules).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::options::{DefaultValue, OPTIONS};
use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/home/test".to_owned()),
        "MAILROOT" => Some("/srv/mail".to_owned()),
        _ => None,
    }
}

const FILE: &str = "/home/test/.offlineimaprc";

fn parse_with(text: &str, o: &Overrides) -> Result<Config, Error> {
    parse(text, Path::new(FILE), o, &env)
}

fn ok(text: &str) -> Config {
    match parse_with(text, &Overrides::default()) {
        Ok(c) => c,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn err(text: &str) -> String {
    err_with(text, &Overrides::default())
}

fn err_with(text: &str, o: &Overrides) -> String {
    match parse_with(text, o) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// A complete configuration with one account, plus `extra_*` lines
/// appended to each section.
fn conf(general: &str, account: &str, local: &str, remote: &str) -> String {
    format!(
        "[general]\naccounts = Work\n{general}\n\
         [Account Work]\nlocalrepository = WorkLocal\nremoterepository = WorkRemote\n{account}\n\
         [Repository WorkLocal]\ntype = Maildir\nlocalfolders = ~/Mail\n{local}\n\
         [Repository WorkRemote]\ntype = IMAP\nremotehost = imap.example.org\n{remote}\n"
    )
}

fn base() -> String {
    conf("", "", "", "")
}

#[test]
fn defaults() {
    let c = ok(&base());
    assert_eq!(c.path, PathBuf::from(FILE));
    assert_eq!(c.general.metadata, PathBuf::from("/home/test/.offlineimap"));
    assert!(c.general.fsync);
    assert_eq!(c.general.ui, None);
    assert_eq!(c.general.maxsyncaccounts, 1);
    assert_eq!(c.general.socktimeout, None);
    assert_eq!(c.defined_accounts, vec!["Work".to_owned()]);
    assert!(c.unknown.is_empty());
    assert!(c.warnings.is_empty());

    let [a] = c.accounts.as_slice() else {
        panic!("one account expected")
    };
    assert_eq!(a.name, "Work");
    assert_eq!(a.autorefresh, None);

    let l = &a.local;
    assert_eq!(l.common.name, "WorkLocal");
    assert!(!l.common.readonly);
    assert!(l.common.createfolders);
    assert!(l.common.sync_deletes);
    assert_eq!(l.localfolders, PathBuf::from("/home/test/Mail"));
    assert_eq!(l.sep, '.');
    assert!(!l.windows_compatible);

    let r = &a.remote;
    assert_eq!(r.common.name, "WorkRemote");
    assert!(!r.common.readonly);
    assert!(r.common.createfolders);
    assert!(r.common.sync_deletes);
    assert_eq!(r.host, "imap.example.org");
    assert_eq!(r.port, 993);
    assert_eq!(r.user, None);
    assert!(r.password.is_none());
    assert_eq!(r.tls, Tls::Implicit);
    assert_eq!(r.ca_file, None);
    assert!(r.expunge);
    assert_eq!(r.maxconnections, 4);
}

#[test]
fn every_table_default_is_valid() {
    // A table default is parsed like a user's value; a typo there would
    // only show up for users who leave the option out.
    let mut general = String::new();
    let mut account = String::new();
    let mut local = String::new();
    let mut remote = String::new();
    for o in OPTIONS {
        if let DefaultValue::Value(v) = o.default {
            let line = format!("{} = {v}\n", o.name);
            match o.scope {
                options::Scope::General => general.push_str(&line),
                options::Scope::Account => account.push_str(&line),
                options::Scope::Maildir => local.push_str(&line),
                options::Scope::Imap => remote.push_str(&line),
                options::Scope::Repository => {
                    local.push_str(&line);
                    remote.push_str(&line);
                }
                // Its own section; covered by `blinkenlights_options`.
                options::Scope::Blinkenlights | options::Scope::Mbnames => {}
            }
        }
    }
    let explicit = ok(&conf(&general, &account, &local, &remote));
    let implicit = ok(&base());
    assert_eq!(format!("{explicit:?}"), format!("{implicit:?}"));
}

#[test]
fn general_options() {
    let c = ok(&conf(
        "metadata = $MAILROOT/state\nfsync = no\nui = Blinkenlights\nmaxsyncaccounts = 4\nsocktimeout = 30",
        "",
        "",
        "",
    ));
    assert_eq!(c.general.metadata, PathBuf::from("/srv/mail/state"));
    assert!(!c.general.fsync);
    assert_eq!(c.general.ui.as_deref(), Some("Blinkenlights"));
    assert_eq!(c.general.maxsyncaccounts, 4);
    assert_eq!(c.general.socktimeout, Some(Duration::from_secs(30)));
    assert_eq!(
        ok(&conf("socktimeout = 0", "", "", "")).general.socktimeout,
        None
    );
    assert!(!c.general.dry_run);
    assert!(ok(&conf("dry-run = yes", "", "", "")).general.dry_run);
}

#[test]
fn quick_is_accepted_when_a_number() {
    for v in ["0", "-1", "10"] {
        let c = ok(&conf("", &format!("quick = {v}"), "", ""));
        assert!(c.warnings.is_empty(), "{v}: {:?}", c.warnings);
    }
    let e = err(&conf("", "quick = often", "", ""));
    assert!(e.contains("[Account Work] quick"), "{e}");
}

#[test]
fn option_names_are_case_insensitive_values_keep_case() {
    let c = ok(&conf(
        "FSync = No\nUI = TTYUI",
        "",
        "",
        "RemoteUser = Alice",
    ));
    assert!(!c.general.fsync);
    assert_eq!(c.general.ui.as_deref(), Some("TTYUI"));
    assert_eq!(c.accounts[0].remote.user.as_deref(), Some("Alice"));
}

#[test]
fn autorefresh() {
    let c = ok(&conf("", "autorefresh = 2.5", "", ""));
    assert_eq!(c.accounts[0].autorefresh, Some(Duration::from_secs(150)));
    assert_eq!(
        ok(&conf("", "autorefresh = 0", "", "")).accounts[0].autorefresh,
        None
    );

    let neg = ok(&conf("", "autorefresh = -3", "", ""));
    assert_eq!(neg.accounts[0].autorefresh, None);
    assert_eq!(
        neg.warnings,
        vec!["[Account Work] autorefresh is negative (-3); syncing once".to_owned()]
    );

    let once = Overrides {
        run_once: true,
        ..Overrides::default()
    };
    let c = parse_with(&conf("", "autorefresh = 5", "", ""), &once).unwrap();
    assert_eq!(c.accounts[0].autorefresh, None);
    // -o also silences a value that would be an error, as it removes the
    // option before OfflineIMAP reads it.
    assert!(parse_with(&conf("", "autorefresh = soon", "", ""), &once).is_ok());
}

#[test]
fn tls_mapping_and_port_defaults() {
    let cases = [
        ("", Tls::Implicit, 993),
        ("ssl = yes\nstarttls = no", Tls::Implicit, 993),
        ("ssl = no", Tls::StartTls, 143),
        ("ssl = no\nstarttls = yes", Tls::StartTls, 143),
        ("ssl = no\nstarttls = no", Tls::None, 143),
        ("ssl = no\nremoteport = 1143", Tls::StartTls, 1143),
    ];
    for (lines, tls, port) in cases {
        let c = ok(&conf("", "", "", lines));
        assert_eq!(c.accounts[0].remote.tls, tls, "{lines}");
        assert_eq!(c.accounts[0].remote.port, port, "{lines}");
    }
}

#[test]
fn imap_options() {
    let c = ok(&conf(
        "",
        "",
        "",
        "remoteuser = bob\nremotepass = p%%ss\nsslcacertfile = ~/ca.pem\nexpunge = no\nmaxconnections = 3\n\
         readonly = yes\ncreatefolders = no\nsync_deletes = no",
    ));
    let r = &c.accounts[0].remote;
    assert_eq!(r.user.as_deref(), Some("bob"));
    assert_eq!(r.password.as_ref().map(Secret::expose), Some("p%ss"));
    assert_eq!(r.ca_file, Some(PathBuf::from("/home/test/ca.pem")));
    assert!(!r.expunge);
    assert_eq!(r.maxconnections, 3);
    assert!(r.common.readonly && !r.common.createfolders && !r.common.sync_deletes);

    let c = ok(&conf("", "", "", "sslcacertfile = OS-DEFAULT"));
    assert_eq!(c.accounts[0].remote.ca_file, None);

    let single = Overrides {
        single_thread: true,
        ..Overrides::default()
    };
    let c = parse_with(&conf("", "", "", "maxconnections = 5"), &single).unwrap();
    assert_eq!(c.accounts[0].remote.maxconnections, 1);
}

#[test]
fn remotepassfile_first_line_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pass");
    std::fs::write(&file, "  s3cret \nsecond line\n").unwrap();
    let c = ok(&conf(
        "",
        "",
        "",
        &format!("remotepassfile = {}", file.display()),
    ));
    assert_eq!(
        c.accounts[0].remote.password.as_ref().map(Secret::expose),
        Some("s3cret")
    );

    // remotepass wins over remotepassfile, as in OfflineIMAP.
    let c = ok(&conf(
        "",
        "",
        "",
        &format!("remotepass = inline\nremotepassfile = {}", file.display()),
    ));
    assert_eq!(
        c.accounts[0].remote.password.as_ref().map(Secret::expose),
        Some("inline")
    );
}

#[test]
fn passwords_never_in_debug_or_errors() {
    let c = ok(&conf("", "", "", "remotepass = hunter2"));
    assert!(!format!("{c:?}").contains("hunter2"));
    let e = err(&conf("", "", "", "remotepass = hunter2%x"));
    assert!(!e.contains("hunter2"), "{e}");
}

#[test]
fn maildir_options() {
    let c = ok(&conf(
        "",
        "",
        "sep = /\nreadonly = true\ncreatefolders = off\nsync_deletes = 0\nmaildir-windows-compatible = yes",
        "",
    ));
    let l = &c.accounts[0].local;
    assert_eq!(l.sep, '/');
    assert!(l.windows_compatible);
    assert!(l.common.readonly && !l.common.createfolders && !l.common.sync_deletes);

    // The account-level option (where OfflineIMAP reads it) works too.
    let c = ok(&conf("", "maildir-windows-compatible = yes", "", ""));
    assert!(c.accounts[0].local.windows_compatible);
}

#[test]
fn maildir_time_options_and_their_general_fallbacks() {
    let c = ok(&conf("", "", "", ""));
    let l = &c.accounts[0].local;
    assert!(!l.restoreatime && !l.utime_from_header && !l.filename_use_mail_timestamp);

    let c = ok(&conf(
        "",
        "",
        "restoreatime = yes\nutime_from_header = true\nfilename_use_mail_timestamp = on",
        "",
    ));
    let l = &c.accounts[0].local;
    assert!(l.restoreatime && l.utime_from_header && l.filename_use_mail_timestamp);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);

    // [general] gives the default; the repository's own value wins.
    let c = ok(&conf(
        "utime_from_header = yes\nfilename_use_mail_timestamp = yes",
        "",
        "filename_use_mail_timestamp = no",
        "",
    ));
    let l = &c.accounts[0].local;
    assert!(l.utime_from_header && !l.filename_use_mail_timestamp);
    assert!(!l.restoreatime);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);

    assert!(err(&conf("", "", "utime_from_header = maybe", "")).contains("utime_from_header"),);
    assert!(
        err(&conf("filename_use_mail_timestamp = maybe", "", "", ""))
            .contains("filename_use_mail_timestamp"),
    );
}

#[test]
fn default_section_and_interpolation() {
    let text = "[DEFAULT]\nroot = ~/Mail\nssl = no\n\n".to_owned()
        + &conf("", "", "", "").replace("~/Mail", "%(root)s/w");
    let c = ok(&text);
    assert_eq!(
        c.accounts[0].local.localfolders,
        PathBuf::from("/home/test/Mail/w")
    );
    assert_eq!(c.accounts[0].remote.tls, Tls::StartTls);
    assert_eq!(c.unknown, vec![("DEFAULT".to_owned(), "root".to_owned())]);
}

#[test]
fn accounts_list_and_dash_a() {
    let two = conf("", "", "", "").replace("accounts = Work", "accounts =  Work , Other,")
        + "[Account Other]\nlocalrepository = WorkLocal\nremoterepository = WorkRemote\n";
    let c = ok(&two);
    let names: Vec<_> = c.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Work", "Other"]);
    assert_eq!(c.defined_accounts, ["Work", "Other"]);

    let only_other = Overrides {
        accounts: Some(vec!["Other".to_owned()]),
        ..Overrides::default()
    };
    let c = parse_with(&two, &only_other).unwrap();
    assert_eq!(c.accounts.len(), 1);
    assert_eq!(c.accounts[0].name, "Other");

    let unknown = Overrides {
        accounts: Some(vec!["Work".to_owned(), "Nope".to_owned()]),
        ..Overrides::default()
    };
    assert_eq!(
        err_with(&two, &unknown),
        format!("{FILE}: -a: account 'Nope' is not defined")
    );

    let twice = ok(&conf("", "", "", "").replace("accounts = Work", "accounts = Work,Work"));
    assert_eq!(twice.accounts.len(), 1);
    assert_eq!(twice.warnings.len(), 1);
}

#[test]
fn unlisted_accounts_are_not_checked() {
    let text = base() + "[Account Broken]\nlocalrepository = Nowhere\n";
    let c = ok(&text);
    assert_eq!(c.defined_accounts, ["Work", "Broken"]);
    assert_eq!(c.accounts.len(), 1);
}

#[test]
fn unknown_options_are_collected() {
    let text = conf(
        "pythonfil = ~/x.py",
        "quick = 10",
        "remoteuser = me",
        "remoteusr = me",
    ) + "[mbnames]\nenabled = no\nfoo = 1\n";
    let c = ok(&text);
    let got: Vec<(&str, &str)> = c
        .unknown
        .iter()
        .map(|(s, o)| (s.as_str(), o.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("general", "pythonfil"),
            // An IMAP option in a Maildir repository.
            ("Repository WorkLocal", "remoteuser"),
            ("Repository WorkRemote", "remoteusr"),
            ("mbnames", "foo"),
        ]
    );
    assert_eq!(
        c.warnings,
        [
            format!(
                "{FILE}: [general] pythonfil: unknown option, ignored (did you mean 'pythonfile'?)"
            ),
            format!("{FILE}: [Repository WorkLocal] remoteuser: unknown option, ignored"),
            format!(
                "{FILE}: [Repository WorkRemote] remoteusr: unknown option, ignored (did you mean 'remoteuser'?)"
            ),
            format!("{FILE}: [mbnames] foo: unknown option, ignored"),
        ]
    );
}

#[test]
fn dash_k_settings() {
    let o = Overrides {
        settings: vec![
            Setting::parse("fsync=no").unwrap(),
            Setting::parse("Account_Work:autorefresh=1").unwrap(),
            Setting::parse("Repository_WorkRemote:remoteport = 2000").unwrap(),
        ],
        ..Overrides::default()
    };
    let c = parse_with(&base(), &o).unwrap();
    assert!(!c.general.fsync);
    assert_eq!(c.accounts[0].autorefresh, Some(Duration::from_secs(60)));
    assert_eq!(c.accounts[0].remote.port, 2000);

    assert_eq!(
        Setting::parse("Account_A_B:Opt=x = y"),
        Ok(Setting {
            section: "Account A B".to_owned(),
            option: "opt".to_owned(),
            value: "x = y".to_owned(),
        })
    );
    assert!(Setting::parse("novalue").is_err());
    assert!(Setting::parse("=x").is_err());
    assert!(Setting::parse("sec:=x").is_err());
}

/// Each error the reader can produce, with its exact one-line message.
#[test]
fn errors() {
    let cases: Vec<(String, String)> = vec![
        (
            "[Account Work]\nx = 1\n".to_owned(),
            format!("{FILE}: no [general] section"),
        ),
        (
            "[General]\naccounts = Work\n".to_owned(),
            format!(
                "{FILE}: no [general] section ([General] does not count: section names are case-sensitive)"
            ),
        ),
        (
            "[general]\n".to_owned(),
            format!("{FILE}: [general] accounts: required, but not set"),
        ),
        (
            base().replace("accounts = Work", "accounts = Work, Foo"),
            format!("{FILE}: [general] accounts: account 'Foo' is not defined"),
        ),
        (
            base().replace("[Repository WorkRemote]", "[Repository Elsewhere]"),
            format!(
                "{FILE}: [Account Work] remoterepository: repository 'WorkRemote' is not defined (no [Repository WorkRemote] section)"
            ),
        ),
        (
            base().replace("localrepository = WorkLocal\n", ""),
            format!("{FILE}: [Account Work] localrepository: required, but not set"),
        ),
        (
            base().replace("localrepository = WorkLocal", "localrepository ="),
            format!("{FILE}: [Account Work] localrepository: names no repository"),
        ),
        (
            base().replace("type = Maildir", "type = Mbox"),
            format!(
                "{FILE}: [Repository WorkLocal] type: expected Maildir, GmailMaildir, IMAP or Gmail, got 'Mbox'"
            ),
        ),
        (
            base().replace("type = Maildir", "type = Gmail"),
            format!(
                "{FILE}: [Repository WorkLocal] type: type Gmail cannot be a local repository (account 'Work' uses it as localrepository)"
            ),
        ),
        (
            base().replace("type = IMAP", "type = GmailMaildir"),
            format!(
                "{FILE}: [Repository WorkRemote] type: type GmailMaildir cannot be a remote repository (account 'Work' uses it as remoterepository)"
            ),
        ),
        (
            base().replace("type = Maildir", "type = IMAP"),
            format!(
                "{FILE}: [Repository WorkLocal] type: type IMAP is not supported yet for a local repository (account 'Work' uses it as localrepository)"
            ),
        ),
        (
            base().replace("type = IMAP", "type = Maildir"),
            format!(
                "{FILE}: [Repository WorkRemote] type: type Maildir cannot be a remote repository (account 'Work' uses it as remoterepository)"
            ),
        ),
        (
            conf("", "", "", "remoteport = abc"),
            format!(
                "{FILE}: [Repository WorkRemote] remoteport: expected a port number, got 'abc'"
            ),
        ),
        (
            conf("", "", "", "ssl = maybe"),
            format!("{FILE}: [Repository WorkRemote] ssl: expected yes/no, got 'maybe'"),
        ),
        (
            conf("", "", "", "starttls = perhaps"),
            format!("{FILE}: [Repository WorkRemote] starttls: expected yes/no, got 'perhaps'"),
        ),
        (
            conf("", "", "", "expunge = 2"),
            format!("{FILE}: [Repository WorkRemote] expunge: expected yes/no, got '2'"),
        ),
        (
            conf("", "", "", "maxconnections = 0"),
            format!(
                "{FILE}: [Repository WorkRemote] maxconnections: expected a positive whole number, got '0'"
            ),
        ),
        (
            conf("fsync = sometimes", "", "", ""),
            format!("{FILE}: [general] fsync: expected yes/no, got 'sometimes'"),
        ),
        (
            conf("maxsyncaccounts = -1", "", "", ""),
            format!(
                "{FILE}: [general] maxsyncaccounts: expected a positive whole number, got '-1'"
            ),
        ),
        (
            conf("socktimeout = 1.5", "", "", ""),
            format!(
                "{FILE}: [general] socktimeout: expected a whole number of seconds (0 or more), got '1.5'"
            ),
        ),
        (
            conf("", "autorefresh = soon", "", ""),
            format!("{FILE}: [Account Work] autorefresh: expected a number of minutes, got 'soon'"),
        ),
        (
            conf("", "", "sep = ab", ""),
            format!("{FILE}: [Repository WorkLocal] sep: expected a single character, got 'ab'"),
        ),
        (
            conf("", "", "sep =", ""),
            format!("{FILE}: [Repository WorkLocal] sep: expected a single character, got ''"),
        ),
        (
            conf("", "", "readonly = nope", ""),
            format!("{FILE}: [Repository WorkLocal] readonly: expected yes/no, got 'nope'"),
        ),
        (
            conf("", "", "", "").replace("localfolders = ~/Mail\n", ""),
            format!("{FILE}: [Repository WorkLocal] localfolders: required, but not set"),
        ),
        (
            conf("", "", "", "").replace("remotehost = imap.example.org\n", "remotehost =\n"),
            format!("{FILE}: [Repository WorkRemote] remotehost: names no host"),
        ),
        (
            conf("", "", "", "").replace("type = IMAP\n", ""),
            format!("{FILE}: [Repository WorkRemote] type: required, but not set"),
        ),
        (
            "x = 1\n".to_owned(),
            format!("{FILE}:1: expected a [section] header before 'x = 1'"),
        ),
        (
            "[general]\naccounts = Work\n# note\nAccounts = Other\n".to_owned(),
            format!("{FILE}:4: [general] accounts: already set on line 2"),
        ),
        (
            "[general]\naccounts = Work\n  more\nnot an option\n".to_owned(),
            format!("{FILE}:4: [general] expected 'option = value', got 'not an option'"),
        ),
        (
            conf("", "", "", "remotepass = 5%"),
            format!(
                "{FILE}: [Repository WorkRemote] remotepass: a '%' must be written '%%' (the value is not shown because it is a password)"
            ),
        ),
        (
            conf("", "", "", "remotepassfile = /nonexistent/offlineimap/pass"),
            format!(
                "{FILE}: [Repository WorkRemote] remotepassfile: cannot read /nonexistent/offlineimap/pass: No such file or directory (os error 2)"
            ),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(err(&text), want, "for:\n{text}");
    }
}

#[test]
fn error_kinds() {
    let e = parse_with(
        &base().replace("type = Maildir", "type = IMAP"),
        &Overrides::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert_eq!(e.section.as_deref(), Some("Repository WorkLocal"));
    assert_eq!(e.option.as_deref(), Some("type"));
    let e = parse_with("[s]\njunk\n", &Overrides::default()).unwrap_err();
    assert_eq!((e.kind, e.line), (ErrorKind::Syntax, Some(2)));
    assert_eq!(e.section.as_deref(), Some("s"));
    let e = parse_with("[s]\na = 1\nA = 2\n", &Overrides::default()).unwrap_err();
    assert_eq!((e.kind, e.line), (ErrorKind::Syntax, Some(3)));
    assert_eq!(
        (e.section.as_deref(), e.option.as_deref()),
        (Some("s"), Some("a"))
    );
}

#[test]
fn load_reads_file_and_reports_missing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.rc");
    let e = load(&missing, &Overrides::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Read);
    assert_eq!(
        e.to_string(),
        format!("{}: configuration file not found", missing.display())
    );

    let file = dir.path().join("rc");
    std::fs::write(&file, base().replace("~/Mail", "/abs/Mail")).unwrap();
    let c = load(&file, &Overrides::default()).unwrap();
    assert_eq!(c.path, file);
    assert_eq!(c.accounts[0].local.localfolders, PathBuf::from("/abs/Mail"));
}

fn fixture_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(kind)
}

fn conf_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    files
}

#[test]
fn valid_fixtures_parse() {
    let files = conf_files(&fixture_dir("valid"));
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        if let Err(e) = parse(&text, &f, &Overrides::default(), &env) {
            panic!("{e}");
        }
    }
}

#[test]
fn valid_fixture_contents() {
    let read = |name: &str| {
        let f = fixture_dir("valid").join(name);
        parse(
            &std::fs::read_to_string(&f).unwrap(),
            &f,
            &Overrides::default(),
            &env,
        )
        .unwrap()
    };
    let c = read("default-section.conf");
    assert_eq!(c.general.metadata, PathBuf::from("/home/test/Mail/.state"));
    let a = &c.accounts[0];
    assert_eq!(a.autorefresh, Some(Duration::from_secs(300)));
    assert_eq!(a.local.localfolders, PathBuf::from("/home/test/Mail/Work"));
    assert_eq!((a.remote.tls, a.remote.port), (Tls::None, 1143));
    assert_eq!(
        a.remote.password.as_ref().map(Secret::expose),
        Some("100%secret")
    );

    let c = read("multi-account.conf");
    let names: Vec<_> = c.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Home", "Work", "Lists"]);
    assert_eq!(c.defined_accounts, ["Home", "Work", "Lists", "Old"]);
    assert_eq!(
        c.accounts[0].local.localfolders,
        PathBuf::from("/srv/mail/home")
    );
    assert_eq!(c.accounts[0].autorefresh, Some(Duration::from_secs(30)));
    assert_eq!(c.accounts[1].remote.port, 10993);
    assert!(!c.accounts[1].remote.expunge);
    assert!(c.accounts[1].local.common.readonly);
    assert_eq!(c.accounts[2].remote.maxconnections, 3);
    assert!(!c.accounts[2].remote.common.sync_deletes);
    assert_eq!(c.general.socktimeout, Some(Duration::from_secs(60)));

    let c = read("imap-starttls.conf");
    assert_eq!(
        (c.accounts[0].remote.tls, c.accounts[0].remote.port),
        (Tls::StartTls, 143)
    );
    assert_eq!(
        c.accounts[0].remote.ca_file,
        Some(PathBuf::from("/home/test/certs/ca.pem"))
    );

    let c = read("maildir-sep-slash.conf");
    assert_eq!(c.accounts[0].local.sep, '/');
    assert!(c.accounts[0].local.windows_compatible);
    assert_eq!(c.accounts[0].remote.ca_file, None);
}

#[test]
fn invalid_fixtures_give_their_error() {
    let files = conf_files(&fixture_dir("invalid"));
    assert!(files.len() >= 10, "{files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let want = std::fs::read_to_string(f.with_extension("err"))
            .unwrap_or_else(|e| panic!("{}: {e}", f.with_extension("err").display()));
        let want = want.trim_end().replace("{file}", &f.display().to_string());
        match parse(&text, &f, &Overrides::default(), &env) {
            Ok(_) => panic!("{} parsed, expected: {want}", f.display()),
            Err(e) => assert_eq!(e.to_string(), want),
        }
    }
}

fn sample_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("offlineimap.conf")
}

#[test]
fn sample_config_parses() {
    let path = sample_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let c = match parse(&text, &path, &Overrides::default(), &env) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert!(!c.accounts.is_empty());
    assert!(
        c.unknown.is_empty(),
        "sample sets options the parser does not know: {:?}",
        c.unknown
    );
}

#[test]
fn sample_config_documents_every_option() {
    let text = std::fs::read_to_string(sample_path()).unwrap();
    // An option counts as documented when a line (commented out or not)
    // sets it: `name = ...` or `# name = ...`.
    let documented = |name: &str| {
        text.lines().any(|l| {
            let l = l.trim_start_matches(|c: char| c == '#' || c.is_whitespace());
            l.strip_prefix(name)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
    };
    let missing: Vec<&str> = OPTIONS
        .iter()
        .map(|o| o.name)
        .filter(|n| !documented(n))
        .collect();
    assert!(
        missing.is_empty(),
        "offlineimap.conf does not document: {missing:?}"
    );
}

#[test]
fn blinkenlights_options() {
    let text = format!(
        "{}\n[ui.blinkenlights]\ntheme = mono\nstatuschar = *\n",
        base()
    );
    let c = ok(&text);
    assert_eq!(c.general.ui_theme.as_deref(), Some("mono"));
    assert_eq!(c.general.ui_statuschar.as_deref(), Some("*"));
    assert!(c.unknown.is_empty(), "{:?}", c.unknown);

    // OfflineIMAP's pre-2011 section name still works.
    let old = format!("{}\n[ui.Curses.Blinkenlights]\nstatuschar = .\n", base());
    assert_eq!(ok(&old).general.ui_statuschar.as_deref(), Some("."));

    let none = ok(&base());
    assert_eq!(none.general.ui_theme, None);
    assert_eq!(none.general.ui_statuschar, None);
}

#[test]
fn sync_hooks_are_read_without_a_warning() {
    let c = ok(&conf(
        "",
        "presynchook = ~/bin/check-network\npostsynchook = notmuch new --quiet",
        "",
        "",
    ));
    let hooks = &c.accounts[0].hooks;
    assert_eq!(hooks.presynchook.as_deref(), Some("~/bin/check-network"));
    assert_eq!(hooks.postsynchook.as_deref(), Some("notmuch new --quiet"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // Unset or empty runs nothing, as in OfflineIMAP.
    let c = ok(&conf("", "presynchook =", "", ""));
    assert_eq!(c.accounts[0].hooks, crate::config::Hooks::default());
}

const MUTT: &str = "[mbnames]\nenabled = yes\nfilename = ~/.mutt/mailboxes\n\
                    header = \"mailboxes \"\nperitem = +%(accountname)s/%(foldername)s\n\
                    sep = \" \"\nfooter = \"\\n\"\n";

#[test]
fn mbnames_options() {
    let c = ok(&(base() + MUTT));
    let mb = c.general.mbnames.unwrap();
    assert_eq!(mb.filename, PathBuf::from("/home/test/.mutt/mailboxes"));
    assert_eq!(mb.header, "mailboxes ");
    // Raw: no interpolation of `%(accountname)s`.
    assert_eq!(mb.peritem, "+%(accountname)s/%(foldername)s");
    assert_eq!(mb.sep, " ");
    assert_eq!(mb.footer, "\n");
    assert!(!mb.incremental);
    assert!(mb.folderfilter.is_none() && mb.sort_keyfunc.is_none());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);

    let c = ok(&(base()
        + MUTT
        + "incremental = yes\nfolderfilter = lambda a, f: f != 'Trash'\n\
           sort_keyfunc = lambda d: d['foldername']\n"));
    let mb = c.general.mbnames.unwrap();
    assert!(mb.incremental);
    assert_eq!(
        mb.folderfilter.unwrap().source(),
        "lambda a, f: f != 'Trash'"
    );
    assert_eq!(
        mb.sort_keyfunc.unwrap().source(),
        "lambda d: d['foldername']"
    );

    // Disabled, or no section: nothing is read, nothing is checked.
    let off = ok(&(base() + "[mbnames]\nenabled = no\nheader = (\n"));
    assert!(off.general.mbnames.is_none());
    assert!(ok(&base()).general.mbnames.is_none());
}

/// `MUTT` with `option = value` set (replacing its line, if any).
fn mutt_with(option: &str, value: &str) -> String {
    let mut lines: Vec<String> = MUTT
        .lines()
        .filter(|l| !l.starts_with(&format!("{option} =")))
        .map(str::to_owned)
        .collect();
    lines.push(format!("{option} = {value}"));
    base() + &lines.join("\n") + "\n"
}

#[test]
fn mbnames_errors_name_the_option() {
    let with = |option: &str, value: &str| err(&mutt_with(option, value));
    let starts = |option: &str, value: &str| {
        let e = with(option, value);
        // Lambdas' syntax errors point at the column on further lines,
        // as for every other folderfilter.
        assert!(
            e.starts_with(&format!("{FILE}: [mbnames] {option}: ")),
            "{e}"
        );
    };
    starts("header", "\"mailboxes");
    starts("footer", "nope");
    starts("peritem", "%(account)s");
    starts("peritem", "%(foldername)s %");
    starts("folderfilter", "lambda a, f: (");
    starts("sort_keyfunc", "lambda d:");
    assert_eq!(
        with("sep", "3"),
        format!("{FILE}: [mbnames] sep: must give a str, not int")
    );
    starts("enabled", "maybe");
    assert_eq!(
        err(&(base() + "[mbnames]\nenabled = yes\nfilename = x\nheader = ''\n")),
        format!("{FILE}: [mbnames] peritem: required, but not set")
    );
    assert_eq!(
        err(&(base() + "[mbnames]\nenabled = yes\n")),
        format!("{FILE}: [mbnames] filename: required, but not set")
    );
}
