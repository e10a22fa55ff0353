//! Tests of where user names and passwords come from (OfflineIMAP's
//! order), Python options (built-in evaluator and `python3`), `-k`, and
//! what happens to each OfflineIMAP option this build does not act on.

#![allow(clippy::unwrap_used)] // Tests may unwrap (house rules).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use super::keyring::Keyring;
use super::options::{self, OPTIONS, Support};
use super::*;

/// An in-memory keyring that records what it was asked.
#[derive(Default)]
struct MemoryKeyring {
    entries: HashMap<(String, String), String>,
    fail: bool,
    asked: Mutex<Vec<(String, String)>>,
}

impl Keyring for MemoryKeyring {
    fn get(&self, host: &str, user: &str) -> Result<Option<Secret>, String> {
        self.asked
            .lock()
            .unwrap()
            .push((host.to_owned(), user.to_owned()));
        if self.fail {
            return Err("no D-Bus session".to_owned());
        }
        Ok(self
            .entries
            .get(&(host.to_owned(), user.to_owned()))
            .map(Secret::new))
    }
    fn set(&self, _: &str, _: &str, _: &Secret) -> Result<(), String> {
        Err("read-only".to_owned())
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    /// `PATH` as the parser sees it (the real one, so python3 is found).
    path_var: Option<String>,
}

const FILE: &str = "/home/test/.offlineimaprc";
const HOST: &str = "imap.example.org";

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("home")).unwrap();
        Fixture {
            dir,
            path_var: std::env::var("PATH").ok(),
        }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn system_netrc(&self) -> PathBuf {
        self.dir.path().join("etc-netrc")
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn parse(
        &self,
        text: &str,
        o: &Overrides,
        keyring: Option<&dyn Keyring>,
    ) -> Result<Config, Error> {
        let home = self.home().to_str().unwrap().to_owned();
        let path_var = self.path_var.clone();
        let env = move |name: &str| match name {
            "HOME" => Some(home.clone()),
            "PATH" => path_var.clone(),
            _ => None,
        };
        let sources = Sources {
            env: &env,
            system_netrc: self.system_netrc(),
            keyring,
        };
        parse_with_sources(text, Path::new(FILE), o, &sources)
    }

    fn ok(&self, text: &str, keyring: Option<&dyn Keyring>) -> Config {
        match self.parse(text, &Overrides::default(), keyring) {
            Ok(c) => c,
            Err(e) => panic!("unexpected error: {e}\n{text}"),
        }
    }

    fn err(&self, text: &str) -> String {
        match self.parse(text, &Overrides::default(), None) {
            Ok(_) => panic!("expected an error for:\n{text}"),
            Err(e) => e.to_string(),
        }
    }
}

fn conf(general: &str, account: &str, remote: &str) -> String {
    format!(
        "[general]\naccounts = Work\n{general}\n\
         [Account Work]\nlocalrepository = WorkLocal\nremoterepository = WorkRemote\n{account}\n\
         [Repository WorkLocal]\ntype = Maildir\nlocalfolders = /tmp/mail\n\n\
         [Repository WorkRemote]\ntype = IMAP\nremotehost = {HOST}\n{remote}\n"
    )
}

fn credentials(c: &Config) -> (Option<&str>, Option<&str>) {
    let r = &c.accounts[0].remote;
    (r.user.as_deref(), r.password.as_ref().map(Secret::expose))
}

/// Every source, from the first to the last, each shadowing the next.
#[test]
fn password_lookup_order() {
    let fx = Fixture::new();
    let passfile = fx.write("pass", "  from-file  \nsecond line\n");
    std::fs::write(
        fx.home().join(".netrc"),
        format!("machine {HOST} login me password from-home-netrc\n"),
    )
    .unwrap();
    std::fs::write(
        fx.system_netrc(),
        format!("machine {HOST} login me password from-etc-netrc\n"),
    )
    .unwrap();
    let keyring = MemoryKeyring {
        entries: HashMap::from([((HOST.into(), "me".into()), "from-keyring".into())]),
        ..MemoryKeyring::default()
    };
    let kr: Option<&dyn Keyring> = Some(&keyring);
    let eval = "remotepasseval = 'from' + '-eval'\n";
    let pass = "remotepass = from-pass\n";
    let file = format!("remotepassfile = {}\n", passfile.display());
    let user = "remoteuser = me\n";

    let all = format!("{user}{eval}{pass}{file}");
    assert_eq!(
        credentials(&fx.ok(&conf("", "", &all), kr)),
        (Some("me"), Some("from-eval"))
    );
    let c = fx.ok(&conf("", "", &format!("{user}{pass}{file}")), kr);
    assert_eq!(credentials(&c), (Some("me"), Some("from-pass")));
    let c = fx.ok(&conf("", "", &format!("{user}{file}")), kr);
    assert_eq!(credentials(&c), (Some("me"), Some("from-file")));
    let c = fx.ok(&conf("", "", user), kr);
    assert_eq!(credentials(&c), (Some("me"), Some("from-home-netrc")));
    std::fs::remove_file(fx.home().join(".netrc")).unwrap();
    let c = fx.ok(&conf("", "", user), kr);
    assert_eq!(credentials(&c), (Some("me"), Some("from-etc-netrc")));
    std::fs::remove_file(fx.system_netrc()).unwrap();
    assert!(keyring.asked.lock().unwrap().is_empty(), "asked too early");
    let c = fx.ok(&conf("", "", user), kr);
    assert_eq!(credentials(&c), (Some("me"), Some("from-keyring")));
    assert_eq!(
        *keyring.asked.lock().unwrap(),
        [(HOST.to_owned(), "me".to_owned())]
    );
    // --ignore-keyring (a [general] option, as in OfflineIMAP): nothing
    // found, so an interactive UI will ask.
    let c = fx.ok(&conf("ignore-keyring = yes", "", user), kr);
    assert_eq!(credentials(&c), (Some("me"), None));
    let o = Overrides {
        settings: vec![Setting::parse("ignore-keyring=true").unwrap()],
        ..Overrides::default()
    };
    let c = fx.parse(&conf("", "", user), &o, kr).unwrap();
    assert_eq!(credentials(&c), (Some("me"), None));
    // Without a user the keyring cannot be asked.
    let c = fx.ok(&conf("", "", ""), kr);
    assert_eq!(credentials(&c), (None, None));
    assert_eq!(keyring.asked.lock().unwrap().len(), 1);
}

#[test]
fn keyring_failure_is_a_warning() {
    let fx = Fixture::new();
    let keyring = MemoryKeyring {
        fail: true,
        ..MemoryKeyring::default()
    };
    let c = fx.ok(&conf("", "", "remoteuser = me"), Some(&keyring));
    assert_eq!(credentials(&c), (Some("me"), None));
    assert_eq!(
        c.warnings,
        ["[Repository WorkRemote] cannot read the password from the keyring: no D-Bus session"]
    );
}

#[test]
fn user_lookup_order_and_netrc_by_login() {
    let fx = Fixture::new();
    std::fs::write(
        fx.home().join(".netrc"),
        format!(
            "machine {HOST} login alice password a-pass\n\
             machine {HOST} login bob password b-pass\n\
             default login anonymous password guest\n"
        ),
    )
    .unwrap();
    // No user anywhere: the first netrc entry for the host gives both.
    let c = fx.ok(&conf("", "", ""), None);
    assert_eq!(credentials(&c), (Some("alice"), Some("a-pass")));
    // remoteuser picks the entry with that login (OfflineIMAP could keep
    // only one entry per host).
    let c = fx.ok(&conf("", "", "remoteuser = bob"), None);
    assert_eq!(credentials(&c), (Some("bob"), Some("b-pass")));
    // remoteusereval wins over remoteuser.
    let c = fx.ok(
        &conf("", "", "remoteuser = alice\nremoteusereval = 'b' + 'ob'"),
        None,
    );
    assert_eq!(credentials(&c), (Some("bob"), Some("b-pass")));
    // A login no entry has: no netrc password (the default entry's login
    // differs), so the UI will ask.
    let c = fx.ok(&conf("", "", "remoteuser = carol"), None);
    assert_eq!(credentials(&c), (Some("carol"), None));
    // Another host: the default entry.
    let c = fx.ok(&conf("", "", "").replace(HOST, "other.example.org"), None);
    assert_eq!(credentials(&c), (Some("anonymous"), Some("guest")));

    // The system file gives the user when ~/.netrc has no entry.
    std::fs::write(
        fx.home().join(".netrc"),
        "machine elsewhere login x password y\n",
    )
    .unwrap();
    std::fs::write(
        fx.system_netrc(),
        format!("machine {HOST} login sys password s\n"),
    )
    .unwrap();
    let c = fx.ok(&conf("", "", ""), None);
    assert_eq!(credentials(&c), (Some("sys"), Some("s")));
}

#[test]
fn netrc_errors_name_the_file_and_line() {
    let fx = Fixture::new();
    let netrc = fx.home().join(".netrc");
    std::fs::write(&netrc, format!("machine {HOST}\n  login me password\n")).unwrap();
    assert_eq!(
        fx.err(&conf("", "", "remoteuser = me")),
        format!("{}:2: 'password' without a value", netrc.display())
    );
    // Not needed (the password is in the file): not read.
    fx.ok(&conf("", "", "remoteuser = me\nremotepass = x"), None);
}

#[test]
fn remotepasseval_through_python_with_a_pythonfile() {
    let fx = Fixture::new();
    let py = fx.write(
        "helpers.py",
        "def get_password(name):\n    return {'work': 's3cr%t'}[name]\n\
         def get_user(name):\n    return name.encode() + b'@example.org'\n",
    );
    let text = conf(
        &format!("pythonfile = {}", py.display()),
        "",
        "remoteusereval = get_user('work')\nremotepasseval = get_password(\"work\")",
    );
    let c = fx.ok(&text, None);
    assert_eq!(credentials(&c), (Some("work@example.org"), Some("s3cr%t")));
    assert!(c.python.started(), "one process, kept for the run");
    assert_eq!(c.general.pythonfile.as_deref(), Some(py.as_path()));

    // A Python error: one line naming the option, without the password.
    let text = conf(
        &format!("pythonfile = {}", py.display()),
        "",
        "remotepasseval = get_password('home')",
    );
    assert_eq!(
        fx.err(&text),
        format!("{FILE}: [Repository WorkRemote] remotepasseval: line 2: KeyError: 'home'")
    );
    // A pythonfile that does not load is reported against pythonfile.
    let bad = fx.write("bad.py", "def f(:\n");
    let e = fx.err(&conf(
        &format!("pythonfile = {}", bad.display()),
        "",
        "remotepasseval = f()",
    ));
    assert!(
        e.starts_with(&format!(
            "{FILE}: [general] pythonfile: {}: SyntaxError",
            bad.display()
        )),
        "{e}"
    );
}

#[test]
fn expressions_beyond_the_evaluator_go_to_python() {
    let fx = Fixture::new();
    let pw = fx.write("pw", "from-open\n");
    // `open` is outside the built-in evaluator's subset.
    let text = conf(
        "",
        "",
        &format!(
            "remoteuser = me\nremotepasseval = open('{}').read().strip()",
            pw.display()
        ),
    );
    let c = fx.ok(&text, None);
    assert_eq!(credentials(&c), (Some("me"), Some("from-open")));
    assert!(c.python.started());
    // What the evaluator supports needs no process.
    let c = fx.ok(
        &conf("", "", "remoteuser = me\nremotepasseval = 'x'.upper()"),
        None,
    );
    assert_eq!(credentials(&c), (Some("me"), Some("X")));
    assert!(!c.python.started());
}

#[test]
fn python3_missing_names_the_option() {
    let mut fx = Fixture::new();
    fx.path_var = Some(fx.dir.path().display().to_string());
    let py = fx.write("helpers.py", "def get_password(n): return 'x'\n");
    assert_eq!(
        fx.err(&conf(
            &format!("pythonfile = {}", py.display()),
            "",
            "remotepasseval = get_password('work')"
        )),
        format!(
            "{FILE}: [Repository WorkRemote] remotepasseval: needs python3 ([general] pythonfile is set), but it was not found in PATH"
        )
    );
    assert_eq!(
        fx.err(&conf(
            "",
            "",
            "remoteuser = me\nremotepasseval = open('/x').read()"
        )),
        format!(
            "{FILE}: [Repository WorkRemote] remotepasseval: needs python3 (for the built-in evaluator, the builtin 'open' is not supported), but it was not found in PATH"
        )
    );
    // Without pythonfile, supported expressions need no python3.
    let c = fx.ok(
        &conf("", "", "remoteuser = me\nremotepasseval = 'pw'"),
        None,
    );
    assert_eq!(credentials(&c), (Some("me"), Some("pw")));
}

#[test]
fn eval_errors_never_show_the_password() {
    let fx = Fixture::new();
    let e = fx.err(&conf("", "", "remotepasseval = 'hunter2' + 1"));
    assert!(!e.contains("hunter2"), "{e}");
    assert!(
        e.starts_with(&format!(
            "{FILE}: [Repository WorkRemote] remotepasseval: TypeError:"
        )),
        "{e}"
    );
    let e = fx.err(&conf("", "", "remotepasseval = 42"));
    assert_eq!(
        e,
        format!("{FILE}: [Repository WorkRemote] remotepasseval: must give a str, not int")
    );
    let e = fx.err(&conf("", "", "remotepasseval = lambda: 'hunter2'"));
    assert!(!e.contains("hunter2"), "{e}");
}

#[test]
fn host_and_port_expressions() {
    let fx = Fixture::new();
    let c = fx.ok(
        &conf(
            "",
            "",
            "remotehosteval = 'mail.' + 'example.net'\nremoteporteval = 990 + 3",
        ),
        None,
    );
    assert_eq!(c.accounts[0].remote.host, "mail.example.net");
    assert_eq!(c.accounts[0].remote.port, 993);
    let e = fx.err(&conf("", "", "remoteporteval = 70000"));
    assert_eq!(
        e,
        format!(
            "{FILE}: [Repository WorkRemote] remoteporteval: expected a port number, got '70000'"
        )
    );
}

#[test]
fn dash_k_overrides() {
    let fx = Fixture::new();
    let o = Overrides {
        settings: vec![
            Setting::parse("Account_Work:autorefresh=30").unwrap(),
            Setting::parse("Repository_WorkRemote:remotepass=from-k").unwrap(),
            Setting::parse("Repository_WorkRemote:remoteuser=k-user").unwrap(),
        ],
        ..Overrides::default()
    };
    let c = fx
        .parse(&conf("", "autorefresh = 5", ""), &o, None)
        .unwrap();
    assert_eq!(
        c.accounts[0].autorefresh,
        Some(Duration::from_secs(30 * 60))
    );
    assert_eq!(credentials(&c), (Some("k-user"), Some("from-k")));
    assert_eq!(
        Setting::parse("Account_Work:autorefresh=30")
            .unwrap()
            .section,
        "Account Work"
    );
}

/// Each OfflineIMAP option that does nothing here says so in one line;
/// set to its default it says nothing.
#[test]
fn ignored_options_warn_once_each() {
    let fx = Fixture::new();
    let cases = [
        (
            "singlethreadperfolder = yes",
            "it has no effect (it tunes OfflineIMAP's threads)",
        ),
        ("sep = /", "the server's hierarchy separator is used"),
    ];
    for (line, instead) in cases {
        let c = fx.ok(
            &conf("", "", &format!("remoteuser = me\nremotepass = x\n{line}")),
            None,
        );
        let option = line.split(" =").next().unwrap();
        assert_eq!(
            c.warnings,
            [format!(
                "{FILE}: [Repository WorkRemote] {option}: not supported by this version, ignored: {instead}"
            )],
            "{line}"
        );
        assert!(c.unknown.is_empty());
    }
    let c = fx.ok(
        &conf("", "", "remoteuser = me").replace(
            "localfolders = /tmp/mail",
            "localfolders = /tmp/mail\ncustomflag_b = $Label1\ncustomflag_e = Work",
        ),
        None,
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(
        c.accounts[0].local.customflags,
        [('b', "$Label1".to_owned()), ('e', "Work".to_owned())]
    );
    let quiet = conf(
        "",
        "quick = 0",
        "remoteuser = me\nremotepass = x\nusecompression = no\ntls_level = tls_compat\n\
         auth_mechanisms = GSSAPI, XOAUTH2, CRAM-MD5, PLAIN, LOGIN",
    );
    assert!(fx.ok(&quiet, None).warnings.is_empty());

    // [mbnames] is implemented: enabled, it gives no warning.
    let c = fx.ok(
        &(conf("", "", "remoteuser = me")
            + "[mbnames]\nenabled = yes\nfilename = ~/x\nheader = ''\nperitem = x\nsep = ''\nfooter = ''\n"),
        None,
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(c.general.mbnames.is_some());
}

#[test]
fn refused_options_stop_the_run() {
    let fx = Fixture::new();
    assert_eq!(
        fx.err(&conf("", "status_backend = sqlite", "")),
        format!(
            "{FILE}: [Account Work] status_backend: not supported anymore; please remove this option"
        )
    );
    assert!(
        fx.err(&conf("", "", "decodefoldernames = yes"))
            .starts_with(&format!(
                "{FILE}: [Repository WorkRemote] decodefoldernames: "
            ))
    );
    // Refused options reach every section through [DEFAULT].
    let text = format!("[DEFAULT]\nstatus_backend = plain\n{}", conf("", "", ""));
    assert!(
        fx.err(&text)
            .contains("[Account Work] status_backend: not supported anymore")
    );
    // Set to their default they are harmless.
    fx.ok(&conf("dry-run = no", "utf8foldernames = no", ""), None);
}

#[test]
fn auth_mechanisms_keep_their_order() {
    use crate::config::AuthMechanism as M;
    let fx = Fixture::new();
    let c = fx.ok(&conf("", "", "remoteuser = me\nremotepass = x"), None);
    assert_eq!(c.accounts[0].remote.auth_mechanisms, M::DEFAULT);
    let c = fx.ok(
        &conf(
            "",
            "",
            "remoteuser = me\nremotepass = x\nauth_mechanisms = login, Cram-MD5,PLAIN",
        ),
        None,
    );
    assert_eq!(
        c.accounts[0].remote.auth_mechanisms,
        [M::Login, M::CramMd5, M::Plain]
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(
        fx.err(&conf("", "", "auth_mechanisms = XOAUTH2, NTLM")),
        format!(
            "{FILE}: [Repository WorkRemote] auth_mechanisms: unknown mechanism 'NTLM' (known: GSSAPI, XOAUTH2, CRAM-MD5, PLAIN, LOGIN)"
        )
    );
    assert_eq!(
        fx.err(&conf("", "", "auth_mechanisms = GSSAPI")),
        format!(
            "{FILE}: [Repository WorkRemote] auth_mechanisms: this version does not do GSSAPI (Kerberos) and no other mechanism is listed"
        )
    );
}

#[test]
fn oauth2_options_are_read_eval_first() {
    let fx = Fixture::new();
    let c = fx.ok(
        &conf(
            "",
            "authproxy = SOCKS5:localhost:9050",
            "remoteuser = me\n\
             oauth2_refresh_token = r-plain\noauth2_refresh_token_eval = 'r-' + 'eval'\n\
             oauth2_client_id = id\noauth2_client_secret_eval = 'cs'\n\
             oauth2_request_url = https://tokens.example.org/token\n\
             remote_identity = boss",
        ),
        None,
    );
    let r = &c.accounts[0].remote;
    let o = r.oauth2.as_ref().unwrap();
    assert_eq!(o.refresh_token.as_ref().unwrap().expose(), "r-eval");
    assert!(o.access_token.is_none());
    assert_eq!(o.client_id.as_ref().unwrap().expose(), "id");
    assert_eq!(o.client_secret.as_ref().unwrap().expose(), "cs");
    assert_eq!(
        o.request_url.as_deref(),
        Some("https://tokens.example.org/token")
    );
    assert_eq!(o.proxy.as_deref(), Some("SOCKS5:localhost:9050"));
    assert_eq!(r.remote_identity.as_deref(), Some("boss"));
    assert!(r.password.is_none());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);

    // A static token needs no endpoint; no token at all: no OAuth2.
    let c = fx.ok(
        &conf("", "", "remoteuser = me\noauth2_access_token = a"),
        None,
    );
    let o = c.accounts[0].remote.oauth2.as_ref().unwrap();
    assert_eq!(o.access_token.as_ref().unwrap().expose(), "a");
    let c = fx.ok(
        &conf("", "", "remoteuser = me\noauth2_client_id = id"),
        None,
    );
    assert!(c.accounts[0].remote.oauth2.is_none());

    assert_eq!(
        fx.err(&conf(
            "",
            "",
            "remoteuser = me\noauth2_refresh_token = SECRET"
        )),
        format!(
            "{FILE}: [Repository WorkRemote] oauth2_request_url: is needed to trade oauth2_refresh_token for an access token"
        )
    );
    let e = fx.err(&conf(
        "",
        "",
        "remoteuser = me\noauth2_access_token_eval = 42\noauth2_access_token = SECRET",
    ));
    assert_eq!(
        e,
        format!(
            "{FILE}: [Repository WorkRemote] oauth2_access_token_eval: must give a str, not int"
        )
    );
    let e = fx.err(&conf(
        "",
        "authproxy = TOR:h:1",
        "remoteuser = me\noauth2_access_token = SECRET",
    ));
    assert!(
        e.contains("[Account Work] authproxy: expected TYPE:HOST:PORT"),
        "{e}"
    );
    assert!(!e.contains("SECRET"));
}

#[test]
fn utf8foldernames_is_read_and_excludes_decodefoldernames() {
    let fx = Fixture::new();
    let on = fx.ok(&conf("", "utf8foldernames = yes", "remoteuser = me"), None);
    assert!(on.accounts[0].folders.utf8foldernames);
    assert!(on.warnings.is_empty(), "{:?}", on.warnings);
    let off = fx.ok(&conf("", "", "remoteuser = me"), None);
    assert!(!off.accounts[0].folders.utf8foldernames);
    // OfflineIMAP aborts such an account; here the run stops before any
    // sync, naming both options.
    assert_eq!(
        fx.err(&conf(
            "",
            "utf8foldernames = yes",
            "decodefoldernames = yes"
        )),
        format!(
            "{FILE}: [Account Work] utf8foldernames: may not be used together with decodefoldernames \
             of [Repository WorkRemote] (OfflineIMAP does not sync the account then); remove decodefoldernames"
        )
    );
    // decodefoldernames = no beside it is harmless, as in OfflineIMAP.
    fx.ok(
        &conf(
            "",
            "utf8foldernames = yes",
            "decodefoldernames = no\nremoteuser = me",
        ),
        None,
    );
    assert_eq!(
        fx.err(&conf("", "", "decodefoldernames = yes")),
        format!(
            "{FILE}: [Repository WorkRemote] decodefoldernames: deprecated, and every sync fails with it in \
             OfflineIMAP 8; remove it and set utf8foldernames = yes in the [Account] section instead"
        )
    );
}

/// Every option of OfflineIMAP 8.0.1's offlineimap.conf (notes §1a) is in
/// the table: implemented, ignored with a warning, or refused.
#[test]
fn every_offlineimap_option_is_classified() {
    let offlineimap: &[&str] = &[
        // [general]
        "accounts",
        "metadata",
        "maxsyncaccounts",
        "ui",
        "ignore-readonly",
        "pythonfile",
        "socktimeout",
        "fsync",
        "utime_from_header",
        "filename_use_mail_timestamp",
        "dry-run",
        "ignore-keyring",
        "update-keyring",
        // [mbnames]
        "enabled",
        "filename",
        "header",
        "peritem",
        "sep",
        "footer",
        "incremental",
        "folderfilter",
        "sort_keyfunc",
        // [Account]
        "localrepository",
        "remoterepository",
        "autorefresh",
        "quick",
        "presynchook",
        "postsynchook",
        "maxsize",
        "maxage",
        "maildir-windows-compatible",
        "synclabels",
        "labelsheader",
        "ignorelabels",
        "filterheaders",
        "proxy",
        "authproxy",
        "utf8foldernames",
        "status_backend",
        "skipsleep",
        // [Repository], common
        "type",
        "nametrans",
        "folderfilter",
        "folderincludes",
        "foldersort",
        "dynamic_folderfilter",
        "createfolders",
        "readonly",
        "sync_deletes",
        "startdate",
        // Maildir
        "localfolders",
        "sep",
        "restoreatime",
        "utime_from_header",
        "filename_use_mail_timestamp",
        "customflag_a",
        "customflag_z",
        // IMAP and Gmail
        "remotehost",
        "remotehosteval",
        "remoteport",
        "remoteporteval",
        "ipv6",
        "ssl",
        "starttls",
        "sslcacertfile",
        "cert_fingerprint",
        "sslclientcert",
        "sslclientkey",
        "ssl_version",
        "tls_level",
        "preauthtunnel",
        "transporttunnel",
        "usecompression",
        "reference",
        "subscribedonly",
        "remoteuser",
        "remoteusereval",
        "remotepass",
        "remotepassfile",
        "remotepasseval",
        "remote_identity",
        "auth_mechanisms",
        "oauth2_client_id",
        "oauth2_client_id_eval",
        "oauth2_client_secret",
        "oauth2_client_secret_eval",
        "oauth2_refresh_token",
        "oauth2_refresh_token_eval",
        "oauth2_access_token",
        "oauth2_access_token_eval",
        "oauth2_request_url",
        "maxconnections",
        "singlethreadperfolder",
        "holdconnectionopen",
        "keepalive",
        "idlefolders",
        "expunge",
        "decodefoldernames",
        "newmail_hook",
        "retrycount",
        "copy_ignore_eval",
        "trashfolder",
        "spamfolder",
    ];
    let missing: Vec<&str> = offlineimap
        .iter()
        .copied()
        .filter(|n| !options::known_anywhere(n))
        .collect();
    assert!(missing.is_empty(), "not in the options table: {missing:?}");
    // Every entry that is not implemented says what happens instead.
    for o in OPTIONS {
        match o.support {
            Support::Yes => {}
            Support::Ignored(t) | Support::Refused(t) => {
                assert!(!t.is_empty() && !t.contains('\n'), "{}", o.name);
            }
        }
    }
}

#[test]
fn did_you_mean() {
    use options::Scope;
    assert_eq!(
        options::suggest(&[Scope::Imap], "remoteusr"),
        Some("remoteuser")
    );
    assert_eq!(
        options::suggest(&[Scope::Imap], "remotepas"),
        Some("remotepass")
    );
    assert_eq!(
        options::suggest(&[Scope::General], "maxsyncacounts"),
        Some("maxsyncaccounts")
    );
    assert_eq!(
        options::suggest(&[Scope::General], "ignore_keyring"),
        Some("ignore-keyring")
    );
    assert_eq!(
        options::suggest(&[Scope::Account], "autorefersh"),
        Some("autorefresh")
    );
    assert_eq!(
        options::suggest(&[Scope::Imap], "completely-different"),
        None
    );
    // Only options of the section's kind are suggested.
    assert_eq!(options::suggest(&[Scope::Maildir], "remoteusr"), None);
}

/// docs/config.md's table lists every option of the table, with what
/// this version does with it.
#[test]
fn docs_config_lists_every_option() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/config.md"))
        .unwrap();
    for o in OPTIONS {
        let name = if o.name == options::CUSTOMFLAG {
            "customflag_a"
        } else {
            o.name
        };
        let word = match o.support {
            Support::Yes => "implemented",
            Support::Ignored(_) => "ignored, warning",
            Support::Refused(_) => "error",
        };
        assert!(
            doc.lines()
                .any(|l| l.contains(&format!("| `{name}")) && l.contains(word)),
            "docs/config.md does not list {name} as {word}"
        );
    }
}

fn rules(c: &Config) -> &FolderRules {
    &c.accounts[0].folders.remote
}

#[test]
fn folder_rules_through_python_with_a_pythonfile() {
    let fx = Fixture::new();
    let py = fx.write(
        "folders.py",
        "def my_filter(f):\n    return f in ['INBOX', 'Sent']\n\
         def translate(f):\n    return f.lower()\n\
         def extra():\n    return ['Archive/2020']\n",
    );
    let general = format!("pythonfile = {}", py.display());
    let c = fx.ok(
        &conf(
            &general,
            "",
            "remoteuser = me\nremotepass = x\nfolderfilter = my_filter\n\
             nametrans = lambda f: translate(f)\nfolderincludes = extra()\n\
             foldersort = lambda a, b: (a > b) - (a < b)",
        ),
        None,
    );
    let r = rules(&c);
    for e in [&r.folderfilter, &r.nametrans, &r.foldersort] {
        assert!(e.as_ref().unwrap().is_python(), "{e:?}");
    }
    assert_eq!(
        r.nametrans.as_ref().unwrap().source(),
        "lambda f: translate(f)"
    );
    assert_eq!(r.folderincludes, vec!["Archive/2020"]);
    assert!(c.accounts[0].folders.python.is_some());
    assert!(c.python.started(), "checked at load, in the run's process");

    // Names the pythonfile lacks, and bad syntax, stop the run at load with
    // one line naming the option.
    let e = fx.err(&conf(
        &general,
        "",
        "remoteuser = me\nremotepass = x\nfolderfilter = no_such_filter",
    ));
    assert_eq!(
        e,
        format!(
            "{FILE}: [Repository WorkRemote] folderfilter: NameError: name 'no_such_filter' is not defined"
        )
    );
    let e = fx.err(&conf(
        &general,
        "",
        "remoteuser = me\nremotepass = x\nnametrans = lambda f: f in [",
    ));
    assert!(
        e.starts_with(&format!(
            "{FILE}: [Repository WorkRemote] nametrans: SyntaxError"
        )) && !e.contains('\n'),
        "{e}"
    );
}

#[test]
fn folder_rules_beyond_the_evaluator_go_to_python() {
    let fx = Fixture::new();
    // `open` is outside the built-in evaluator's subset; the probe call
    // finds that out even though the lambda itself compiles.
    let c = fx.ok(
        &conf(
            "",
            "",
            "remoteuser = me\nremotepass = x\n\
             folderfilter = lambda f: f not in open('/dev/null').read()",
        ),
        None,
    );
    assert!(rules(&c).folderfilter.as_ref().unwrap().is_python());
    assert!(c.accounts[0].folders.python.is_some());
    // Supported rules stay built-in and start nothing.
    let c = fx.ok(
        &conf(
            "",
            "",
            "remoteuser = me\nremotepass = x\nfolderfilter = lambda f: f != 'Spam'",
        ),
        None,
    );
    assert!(!rules(&c).folderfilter.as_ref().unwrap().is_python());
    assert!(!c.python.started());
}

#[test]
fn folder_rules_without_python3_name_the_option() {
    let mut fx = Fixture::new();
    fx.path_var = Some(fx.dir.path().display().to_string());
    let py = fx.write("folders.py", "def my_filter(f): return True\n");
    assert_eq!(
        fx.err(&conf(
            &format!("pythonfile = {}", py.display()),
            "",
            "remoteuser = me\nremotepass = x\nfolderfilter = my_filter"
        )),
        format!(
            "{FILE}: [Repository WorkRemote] folderfilter: needs python3 ([general] pythonfile is set), but it was not found in PATH"
        )
    );
    assert_eq!(
        fx.err(&conf(
            "",
            "",
            "remoteuser = me\nremotepass = x\nnametrans = lambda f: open(f).read()"
        )),
        format!(
            "{FILE}: [Repository WorkRemote] nametrans: needs python3 (for the built-in evaluator, the builtin 'open' is not supported), but it was not found in PATH"
        )
    );
}

#[test]
fn sync_window_options() {
    use crate::config::{MaxAge, SyncWindow};
    let fx = Fixture::new();
    let c = fx.ok(&conf("", "maxage = 30\nmaxsize = 2000000", ""), None);
    assert_eq!(
        c.accounts[0].window,
        SyncWindow {
            maxage: Some(MaxAge::Days(30)),
            maxsize: Some(2_000_000),
            local_startdate: None,
            remote_startdate: None,
        }
    );
    let c = fx.ok(&conf("", "maxage = 2015-04-01", ""), None);
    let d = chrono::NaiveDate::from_ymd_opt(2015, 4, 1).unwrap();
    assert_eq!(c.accounts[0].window.maxage, Some(MaxAge::Since(d)));
    let c = fx.ok(&conf("", "", "startdate = 2015-04-01"), None);
    assert_eq!(c.accounts[0].window.remote_startdate, Some(d));
    let local = conf("", "", "").replace(
        "localfolders = /tmp/mail\n",
        "localfolders = /tmp/mail\nstartdate = 2015-4-1\n",
    );
    assert_eq!(
        fx.ok(&local, None).accounts[0].window.local_startdate,
        Some(d)
    );
    // Unset and empty mean no window.
    let c = fx.ok(&conf("", "maxage =", ""), None);
    assert_eq!(c.accounts[0].window, SyncWindow::default());
    // [DEFAULT] reaches the account, as in ConfigParser.
    let c = fx.ok(
        &format!("[DEFAULT]\nmaxsize = 10\n{}", conf("", "", "")),
        None,
    );
    assert_eq!(c.accounts[0].window.maxsize, Some(10));
}

#[test]
fn bad_sync_window_values_are_one_line_errors() {
    let fx = Fixture::new();
    let cases = [
        (
            "maxage = 0",
            "maxage: expected a number of days (1 or more) or a date YYYY-MM-DD, got '0'",
        ),
        (
            "maxage = -3",
            "maxage: expected a number of days (1 or more) or a date YYYY-MM-DD, got '-3'",
        ),
        (
            "maxage = 1.5",
            "maxage: expected a whole number of days or a date YYYY-MM-DD, got '1.5'",
        ),
        (
            "maxage = soon",
            "maxage: expected a number of days or a date YYYY-MM-DD, got 'soon'",
        ),
        (
            "maxage = 2015-02-30",
            "maxage: expected a number of days or a date YYYY-MM-DD, got '2015-02-30'",
        ),
        (
            "maxage = 1850-01-01",
            "maxage: the year of '1850-01-01' is before 1900",
        ),
        (
            "maxage = 9999-01-01",
            "maxage: '9999-01-01' is in the future",
        ),
        (
            "maxsize = 0",
            "maxsize: expected a positive number of bytes, got '0'",
        ),
        (
            "maxsize = 2MB",
            "maxsize: expected a positive number of bytes, got '2MB'",
        ),
    ];
    for (line, want) in cases {
        assert_eq!(
            fx.err(&conf("", line, "")),
            format!("{FILE}: [Account Work] {want}"),
            "{line}"
        );
    }
    assert_eq!(
        fx.err(&conf("", "", "startdate = 01/04/2015")),
        format!(
            "{FILE}: [Repository WorkRemote] startdate: expected a date YYYY-MM-DD, got '01/04/2015'"
        )
    );
    assert_eq!(
        fx.err(&conf("", "maxage = 3", "startdate = 2015-04-01")),
        format!(
            "{FILE}: [Account Work] maxage: may not be used together with startdate of [Repository WorkRemote] (OfflineIMAP allows at most one of maxage and the startdate of either repository)"
        )
    );
    let both = conf("", "", "startdate = 2015-04-01").replace(
        "localfolders = /tmp/mail\n",
        "localfolders = /tmp/mail\nstartdate = 2015-04-01\n",
    );
    assert_eq!(
        fx.err(&both),
        format!(
            "{FILE}: [Repository WorkLocal] startdate: may not be used together with startdate of [Repository WorkRemote] (OfflineIMAP allows at most one of maxage and the startdate of either repository)"
        )
    );
}

#[test]
fn preauthtunnel_needs_no_host_user_password_or_tls() {
    let fx = Fixture::new();
    let text = conf(
        "",
        "",
        "preauthtunnel = ssh -q host imapd \nremoteuser = bob",
    )
    .replace("remotehost = imap.example.org\n", "");
    let c = fx.ok(&text, None);
    let r = &c.accounts[0].remote;
    assert_eq!(
        r.tunnel,
        Some(crate::config::Tunnel::PreAuth("ssh -q host imapd".into()))
    );
    assert_eq!(r.host, "ssh -q host imapd");
    assert_eq!((r.port, r.tls), (0, Tls::None));
    assert_eq!(r.user, None);
    assert!(r.password.is_none());
}

#[test]
fn transporttunnel_keeps_the_login_and_drops_tls() {
    let fx = Fixture::new();
    let c = fx.ok(
        &conf(
            "",
            "",
            "transporttunnel = nc imap 143\nremoteuser = bob\nremotepass = pw\nssl = yes",
        ),
        None,
    );
    let r = &c.accounts[0].remote;
    assert_eq!(
        r.tunnel,
        Some(crate::config::Tunnel::Transport("nc imap 143".into()))
    );
    assert_eq!(r.host, "nc imap 143");
    assert_eq!(r.tls, Tls::None);
    assert_eq!(r.user.as_deref(), Some("bob"));
    assert_eq!(r.password.as_ref().map(|p| p.expose()), Some("pw"));
}

#[test]
fn two_tunnels_or_no_host_are_errors() {
    let fx = Fixture::new();
    assert_eq!(
        fx.err(&conf("", "", "preauthtunnel = a\ntransporttunnel = b")),
        format!(
            "{FILE}: [Repository WorkRemote] transporttunnel: set only one of preauthtunnel and transporttunnel"
        )
    );
    let no_host = conf("", "", "").replace("remotehost = imap.example.org\n", "");
    assert_eq!(
        fx.err(&no_host),
        format!("{FILE}: [Repository WorkRemote] remotehost: required, but not set")
    );
}

/// `proxy`, `usecompression`, `sslclientcert`/`sslclientkey`: read into
/// the remote repository; bad values are one-line errors naming the
/// option.
#[test]
fn connection_options() {
    let fx = Fixture::new();
    let c = fx.ok(
        &conf("", "proxy = SOCKS5:127.0.0.1:1080", "usecompression = yes"),
        None,
    );
    let remote = &c.accounts[0].remote;
    assert!(remote.compression);
    assert_eq!(
        remote.proxy,
        Some(crate::config::Proxy {
            kind: crate::config::ProxyKind::Socks5,
            host: "127.0.0.1".into(),
            port: 1080
        })
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(
        fx.ok(&conf("", "proxy =", ""), None).accounts[0]
            .remote
            .proxy,
        None
    );

    let e = fx.err(&conf("", "proxy = SOCKS4A:127.0.0.1:1080", ""));
    assert!(
        e.starts_with(&format!("{FILE}: [Account Work] proxy: unknown proxy type")),
        "{e}"
    );
    let e = fx.err(&conf("", "", "sslclientkey = /nonexistent/k.pem"));
    assert!(
        e.starts_with(&format!(
            "{FILE}: [Repository WorkRemote] sslclientkey: needs sslclientcert"
        )),
        "{e}"
    );
    let e = fx.err(&conf(
        "",
        "",
        "ssl = yes\nsslclientcert = /nonexistent/c.pem",
    ));
    assert!(
        e.starts_with(&format!(
            "{FILE}: [Repository WorkRemote] sslclientcert: cannot read /nonexistent/c.pem"
        )),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
}

/// `idlefolders` forces `holdconnectionopen` and a 29-minute `keepalive`,
/// as in OfflineIMAP; set alone, the other two keep their own values.
#[test]
fn between_syncs_options() {
    let fx = Fixture::new();
    let base = "remoteuser = me\nremotepass = x\n";
    let c = fx.ok(
        &conf(
            "",
            "autorefresh = 5",
            &format!("{base}idlefolders = ['INBOX', 'Lists/' + 'rust']"),
        ),
        None,
    );
    let b = &c.accounts[0].between;
    assert_eq!(b.idlefolders, ["INBOX", "Lists/rust"]);
    assert!(b.hold);
    assert_eq!(b.keepalive, Some(Duration::from_secs(29 * 60)));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);

    let c = fx.ok(
        &conf(
            "",
            "autorefresh = 5",
            &format!("{base}holdconnectionopen = yes\nkeepalive = 60"),
        ),
        None,
    );
    let b = &c.accounts[0].between;
    assert!(b.hold && b.idlefolders.is_empty());
    assert_eq!(b.keepalive, Some(Duration::from_secs(60)));

    let c = fx.ok(
        &conf("", "autorefresh = 5", &format!("{base}keepalive = 0")),
        None,
    );
    assert_eq!(c.accounts[0].between, Default::default());

    // Without autorefresh there is no sleep to watch folders in.
    let c = fx.ok(
        &conf("", "", &format!("{base}idlefolders = ['INBOX']")),
        None,
    );
    assert_eq!(
        c.warnings,
        [
            "[Repository WorkRemote] idlefolders: ignored: autorefresh is not set, so there is no wait between syncs to watch folders in"
        ]
    );
    assert!(
        fx.err(&conf(
            "",
            "autorefresh = 5",
            &format!("{base}keepalive = soon")
        ))
        .contains("keepalive")
    );
}
