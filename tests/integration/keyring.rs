//! The system keyring against a real Secret Service: a private D-Bus
//! session bus and a gnome-keyring-daemon on it, unlocked with a known
//! password, with HOME and the XDG directories in a temp dir so that the
//! user's own keyring and session are never touched. The real
//! `secret-tool` stores and reads entries; the real binary syncs against
//! the private Dovecot with the password from the keyring, with
//! `--ignore-keyring` and with `--update-keyring`. Missing programs or a
//! service that does not come up fail the tests (scripts/lib/install-deps
//! installs them).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use offlineimap::config::Secret;
use offlineimap::config::keyring::{Keyring, SecretTool};

use crate::harness::{Env, Run};
use crate::support::dovecot::{Dovecot, User};

/// The host the tests' configs name (`remotehost`), hence the keyring's
/// `service` attribute.
const HOST: &str = "127.0.0.1";

/// What Python's keyring library stores besides service and username.
const PYTHON_KEYRING_APP: &str = "Python keyring library";

/// `program` from `PATH`, or a failed test saying which package has it.
fn require(program: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the keyring tests need {program} (Debian package {package}); \
                 `scripts/test` installs it through scripts/lib/install-deps, or run \
                 `apt-get install --no-install-recommends libsecret-tools gnome-keyring dbus-daemon`"
            )
        })
}

/// A child process killed (and reaped) on drop, also when a test fails
/// half way through starting the service.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private session bus with an unlocked gnome-keyring-daemon on it;
/// both are killed on drop (the daemon first: fields drop in order).
pub struct SecretService {
    daemon: KillOnDrop,
    _bus: KillOnDrop,
    address: String,
    secret_tool: PathBuf,
    dir: tempfile::TempDir,
}

impl SecretService {
    /// Starts the bus and the daemon and waits until an item can be
    /// stored and read back; fails the test with the daemons' own words
    /// otherwise.
    pub fn start() -> SecretService {
        let secret_tool = require("secret-tool", "libsecret-tools");
        let dbus_daemon = require("dbus-daemon", "dbus-daemon (dbus before Debian 12)");
        let keyring_daemon = require("gnome-keyring-daemon", "gnome-keyring");

        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "data", "config", "cache", "run"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        fs::set_permissions(dir.path().join("run"), fs::Permissions::from_mode(0o700)).unwrap();
        let conf = dir.path().join("session.conf");
        fs::write(
            &conf,
            format!(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n \
                 \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n\
                 <busconfig>\n  <type>session</type>\n  <listen>unix:dir={}</listen>\n  \
                 <auth>EXTERNAL</auth>\n  <policy context=\"default\">\n    \
                 <allow send_destination=\"*\" eavesdrop=\"true\"/>\n    \
                 <allow eavesdrop=\"true\"/>\n    <allow own=\"*\"/>\n  </policy>\n</busconfig>\n",
                dir.path().join("run").display()
            ),
        )
        .unwrap();

        let bus_log = dir.path().join("dbus-daemon.log");
        let mut bus = KillOnDrop(
            Command::new(&dbus_daemon)
                .arg(format!("--config-file={}", conf.display()))
                .args(["--nofork", "--print-address=1"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(fs::File::create(&bus_log).unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", dbus_daemon.display())),
        );
        let mut address = String::new();
        BufReader::new(bus.0.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_owned();
        if address.is_empty() {
            panic!(
                "the private D-Bus session bus did not start: {}",
                fs::read_to_string(&bus_log).unwrap_or_default()
            );
        }

        let daemon_log = dir.path().join("gnome-keyring-daemon.log");
        let mut daemon = KillOnDrop(
            Command::new(&keyring_daemon)
                .args(["--foreground", "--unlock", "--components=secrets"])
                .env("HOME", dir.path().join("home"))
                .env("XDG_DATA_HOME", dir.path().join("data"))
                .env("XDG_CONFIG_HOME", dir.path().join("config"))
                .env("XDG_CACHE_HOME", dir.path().join("cache"))
                .env("XDG_RUNTIME_DIR", dir.path().join("run"))
                .env("DBUS_SESSION_BUS_ADDRESS", &address)
                .env_remove("DISPLAY")
                .env_remove("WAYLAND_DISPLAY")
                .env_remove("GNOME_KEYRING_CONTROL")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(fs::File::create(&daemon_log).unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", keyring_daemon.display())),
        );
        // The login keyring's password: --unlock reads it from stdin (and
        // creates the keyring with it).
        {
            let mut stdin = daemon.0.stdin.take().unwrap();
            stdin.write_all(b"keyring-test-unlock").unwrap();
        }

        let svc = SecretService {
            daemon,
            _bus: bus,
            address,
            secret_tool,
            dir,
        };
        svc.wait_until_ready(&daemon_log);
        svc
    }

    fn wait_until_ready(&self, daemon_log: &Path) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = String::new();
        loop {
            let out = self.secret_tool(&["lookup", "offlineimap-test", "probe"], None);
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            // Not found, said quietly: the service answered.
            if out.status.code() == Some(1) && stderr.is_empty() {
                break;
            }
            last = stderr;
            if Instant::now() > deadline {
                panic!(
                    "the Secret Service (gnome-keyring-daemon) did not come up on the private \
                     bus within 20 s; secret-tool said: {last}; the daemon said: {}",
                    fs::read_to_string(daemon_log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // The default collection must exist and be unlocked, or a store
        // would need a prompt.
        self.store_raw(&["offlineimap-test", "probe"], b"probe-value");
        assert_eq!(
            self.lookup_raw(&["offlineimap-test", "probe"]).as_deref(),
            Some("probe-value"),
            "the Secret Service did not give back what was stored (last error: {last})"
        );
    }

    /// Points a command at this bus (and nowhere else).
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_RUNTIME_DIR", self.dir.path().join("run"))
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
    }

    fn secret_tool(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut cmd = Command::new(&self.secret_tool);
        cmd.args(args);
        self.apply(&mut cmd);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let Some(input) = stdin else {
            return cmd.stdin(Stdio::null()).output().unwrap();
        };
        let mut child = cmd.stdin(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    fn store_raw(&self, attributes: &[&str], secret: &[u8]) {
        let mut args = vec!["store", "--label=offlineimap test"];
        args.extend_from_slice(attributes);
        let out = self.secret_tool(&args, Some(secret));
        assert!(
            out.status.success(),
            "secret-tool store failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn lookup_raw(&self, attributes: &[&str]) -> Option<String> {
        let mut args = vec!["lookup"];
        args.extend_from_slice(attributes);
        let out = self.secret_tool(&args, None);
        match out.status.code() {
            Some(0) => Some(String::from_utf8(out.stdout).unwrap()),
            Some(1) if out.stderr.is_empty() => None,
            _ => panic!(
                "secret-tool lookup failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    /// Stores `secret` as Python's keyring library does
    /// (`keyring.set_password(host, user, secret)`).
    pub fn store_like_python(&self, host: &str, user: &str, secret: &[u8]) {
        let label = format!("--label=Password for '{user}' on '{host}'");
        let out = self.secret_tool(
            &[
                "store",
                &label,
                "application",
                PYTHON_KEYRING_APP,
                "service",
                host,
                "username",
                user,
            ],
            Some(secret),
        );
        assert!(
            out.status.success(),
            "secret-tool store failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// What Python's keyring library would find for `user` at `host`.
    pub fn lookup(&self, host: &str, user: &str) -> Option<String> {
        self.lookup_raw(&["service", host, "username", user])
    }

    /// `secret-tool search` output (label, attributes and secret) of the
    /// items for `user` at `host`.
    pub fn search(&self, host: &str, user: &str) -> String {
        let out = self.secret_tool(
            &["search", "--all", "service", host, "username", user],
            None,
        );
        assert!(out.status.success(), "{out:?}");
        // secret-tool 0.20 prints the label and attributes on stderr.
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// A `secret-tool` that reaches this service from any environment: a
    /// script setting the bus address and running the real program.
    pub fn wrapped_secret_tool(&self) -> SecretTool {
        let program = self.dir.path().join("secret-tool");
        fs::write(
            &program,
            format!(
                "#!/bin/sh\nDBUS_SESSION_BUS_ADDRESS='{}' exec '{}' \"$@\"\n",
                self.address,
                self.secret_tool.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
        SecretTool { program }
    }
}

impl SecretService {
    /// Leaves the bus without a Secret Service on it.
    fn stop_keyring_daemon(&mut self) {
        self.daemon.0.kill().unwrap();
        self.daemon.0.wait().unwrap();
    }
}

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\n\r\nbody\r\n"
    )
    .into_bytes()
}

/// A user with one message in INBOX, and an `Env` for it.
fn setup(name: &str) -> (&'static Dovecot, User, Env) {
    let d = Dovecot::shared();
    let user = d.add_user(name);
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail(name));
    c.logout();
    let env = Env::for_user(d, &user);
    (d, user, env)
}

/// A config with `remoteuser` and the remote's `extra` lines, but no
/// `remotepass`.
fn write_config(env: &Env, extra: &str) {
    let text = format!(
        "[general]\naccounts = Test\nmetadata = {meta}\nfsync = no\n\n\
         [Account Test]\nlocalrepository = TestLocal\nremoterepository = TestRemote\n\n\
         [Repository TestLocal]\ntype = Maildir\nlocalfolders = {mail}\nsep = /\n\n\
         [Repository TestRemote]\ntype = IMAP\nremotehost = {HOST}\nremoteport = {port}\n\
         ssl = no\nstarttls = no\nremoteuser = {user}\n{extra}\n",
        meta = env.metadata().display(),
        mail = env.maildir().display(),
        port = env.port,
        user = env.user,
    );
    fs::write(env.config_path(), text).unwrap();
}

/// `offlineimap -o -u basic -l LOG ARGS` with the keyring's bus (or
/// `bus` = an address) and no terminal; the log file's text is added to
/// stderr so that every check sees it.
fn run(env: &Env, bus: Option<&SecretService>, args: &[&str]) -> Run {
    let log = env.dir.path().join("offlineimap.log");
    let _ = fs::remove_file(&log);
    let log_arg = log.display().to_string();
    let mut all = vec!["-o", "-u", "basic", "-l", &log_arg];
    all.extend_from_slice(args);
    let mut cmd = env.command(&all);
    if let Some(svc) = bus {
        svc.apply(&mut cmd);
    }
    let mut run = Run::from(cmd.stdin(Stdio::null()).output().unwrap());
    run.stderr
        .push_str(&fs::read_to_string(&log).unwrap_or_default());
    run
}

fn assert_secret_not_shown(run: &Run, secret: &str) {
    assert!(
        !run.text().contains(secret),
        "the password was shown:\n{}",
        run.text()
    );
}

#[test]
fn the_password_from_the_keyring_logs_in() {
    let svc = SecretService::start();
    let (_d, user, env) = setup("keyring-read");
    svc.store_like_python(HOST, &user.name, user.password.as_bytes());
    write_config(&env, "");
    let r = run(&env, Some(&svc), &[]);
    assert_eq!(r.code, Some(0), "{}", r.text());
    assert_eq!(env.local_messages("INBOX").len(), 1, "{}", r.text());
    assert!(
        !r.text()
            .contains("cannot read the password from the keyring"),
        "{}",
        r.text()
    );
    assert_secret_not_shown(&r, &user.password);

    // Stored by hand with `echo PASSWORD | secret-tool store ...`: the
    // newline echo adds is not part of the password.
    let (d, user2, env2) = setup("keyring-echo");
    svc.store_like_python(
        HOST,
        &user2.name,
        format!("{}\n", user2.password).as_bytes(),
    );
    write_config(&env2, "");
    let r = run(&env2, Some(&svc), &[]);
    assert_eq!(r.code, Some(0), "{}", r.text());
    assert_eq!(env2.local_messages("INBOX").len(), 1, "{}", r.text());
    assert_secret_not_shown(&r, &user2.password);

    // A wrong password in the keyring: the login fails and the password
    // is not shown in the error.
    let wrong = "wrong-keyring-password-4711";
    svc.store_like_python(HOST, &user2.name, wrong.as_bytes());
    let mut c = d.imap(&user2);
    c.append("INBOX", "", &mail("keyring-echo-2"));
    c.logout();
    let r = run(&env2, Some(&svc), &[]);
    assert_eq!(r.code, Some(1), "{}", r.text());
    assert_eq!(env2.local_messages("INBOX").len(), 1, "{}", r.text());
    assert_secret_not_shown(&r, wrong);
}

#[test]
fn ignore_keyring_does_not_ask_the_keyring() {
    let svc = SecretService::start();
    let (_d, user, env) = setup("keyring-ignore");
    svc.store_like_python(HOST, &user.name, user.password.as_bytes());
    write_config(&env, "");
    for args in [
        &["--ignore-keyring"][..],
        &["-k", "general:ignore-keyring=yes"][..],
    ] {
        let r = run(&env, Some(&svc), args);
        assert_eq!(r.code, Some(1), "{args:?}: {}", r.text());
        assert!(
            r.stderr.contains(&format!(
                "no password configured for user {} at {HOST}",
                user.name
            )),
            "{args:?}: {}",
            r.text()
        );
        assert!(env.local_messages("INBOX").is_empty(), "{}", r.text());
        assert_secret_not_shown(&r, &user.password);
    }
    // The same run reading the keyring logs in: the entry was there.
    let r = run(&env, Some(&svc), &[]);
    assert_eq!(r.code, Some(0), "{}", r.text());
    assert_eq!(env.local_messages("INBOX").len(), 1, "{}", r.text());
}

#[test]
fn update_keyring_stores_the_password_that_logged_in() {
    let svc = SecretService::start();
    let (d, user, env) = setup("keyring-update");
    assert_eq!(svc.lookup(HOST, &user.name), None);

    // A wrong password from remotepassfile is not stored.
    let passfile = env.dir.path().join("passfile");
    fs::write(&passfile, "not-the-password-0815\n").unwrap();
    write_config(&env, &format!("remotepassfile = {}", passfile.display()));
    let r = run(&env, Some(&svc), &["--update-keyring"]);
    assert_eq!(r.code, Some(1), "{}", r.text());
    assert_eq!(svc.lookup(HOST, &user.name), None, "{}", r.text());
    assert_secret_not_shown(&r, "not-the-password-0815");

    fs::write(&passfile, format!("{}\n", user.password)).unwrap();
    let r = run(&env, Some(&svc), &["--update-keyring"]);
    assert_eq!(r.code, Some(0), "{}", r.text());
    assert_eq!(env.local_messages("INBOX").len(), 1, "{}", r.text());
    assert!(
        r.text().contains(&format!(
            "Stored the password of {} at {HOST} in the keyring",
            user.name
        )),
        "{}",
        r.text()
    );
    assert_secret_not_shown(&r, &user.password);
    // Exactly the password, where and as Python's keyring library keeps it.
    assert_eq!(svc.lookup(HOST, &user.name), Some(user.password.clone()));
    let found = svc.search(HOST, &user.name);
    for line in [
        format!("label = Password for '{}' on '{HOST}'", user.name),
        format!("attribute.application = {PYTHON_KEYRING_APP}"),
        format!("attribute.service = {HOST}"),
        format!("attribute.username = {}", user.name),
    ] {
        assert!(found.lines().any(|l| l == line), "{line:?} in:\n{found}");
    }
    assert_eq!(found.matches("label = ").count(), 1, "{found}");

    // Once more: the entry is replaced, not doubled.
    let r = run(&env, Some(&svc), &["--update-keyring"]);
    assert_eq!(r.code, Some(0), "{}", r.text());
    assert_eq!(svc.search(HOST, &user.name).matches("label = ").count(), 1);

    // Without the file, the keyring's entry logs in.
    write_config(&env, "");
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail("keyring-update-2"));
    c.logout();
    let r = run(&env, Some(&svc), &[]);
    assert_eq!(r.code, Some(0), "{}", r.text());
    assert_eq!(env.local_messages("INBOX").len(), 2, "{}", r.text());
    assert_secret_not_shown(&r, &user.password);
}

#[test]
fn secret_tool_round_trips_through_the_real_service() {
    let svc = SecretService::start();
    let kr = svc.wrapped_secret_tool();
    assert_eq!(kr.get("imap.example.org", "nobody"), Ok(None));
    for password in [
        "plain",
        " spaces around ",
        "quotes ' \" and \\ backslash",
        "ünïcødé €",
        "-starts-with-dash",
    ] {
        kr.set("imap.example.org", "me", &Secret::new(password))
            .unwrap();
        assert_eq!(
            kr.get("imap.example.org", "me").unwrap().unwrap().expose(),
            password
        );
        // What Python's keyring library (and so OfflineIMAP) would read.
        assert_eq!(
            svc.lookup("imap.example.org", "me").as_deref(),
            Some(password)
        );
    }
    // Other users and hosts are other entries.
    assert_eq!(kr.get("imap.example.org", "me2"), Ok(None));
    assert_eq!(kr.get("imap.example.net", "me"), Ok(None));

    // Not UTF-8 (secret-tool store labels whatever it reads text/plain):
    // an error, not "no entry", and without the bytes.
    svc.store_raw(
        &["service", "binary.example.org", "username", "me"],
        b"\xff\xfe",
    );
    assert_eq!(
        kr.get("binary.example.org", "me"),
        Err("the keyring's password is not UTF-8".to_owned())
    );
}

#[test]
fn no_secret_service_is_a_warning_then_the_usual_error() {
    // A bus address where nothing listens, as in a session without D-Bus.
    let nobus = tempfile::tempdir().unwrap();
    let address = format!("unix:path={}", nobus.path().join("bus").display());
    let secret_tool = require("secret-tool", "libsecret-tools");
    let (_d, user, env) = setup("keyring-nobus");
    write_config(&env, "");
    let mut cmd = env.command(&["-o", "-u", "basic"]);
    cmd.env("DBUS_SESSION_BUS_ADDRESS", &address)
        .env_remove("DISPLAY")
        .stdin(Stdio::null());
    let r = Run::from(cmd.output().unwrap());
    assert_eq!(r.code, Some(1), "{}", r.text());
    let warning = format!(
        "[Repository TestRemote] cannot read the password from the keyring: {} lookup failed: Could not connect: ",
        secret_tool.display()
    );
    assert!(r.text().contains(&warning), "{warning:?} in:\n{}", r.text());
    assert!(
        r.text().contains(&format!(
            "no password configured for user {} at {HOST}",
            user.name
        )),
        "{}",
        r.text()
    );
    assert!(env.local_messages("INBOX").is_empty());

    // A bus without a Secret Service on it: the same, with the bus's
    // reason.
    let mut svc = SecretService::start();
    svc.stop_keyring_daemon();
    let mut cmd = env.command(&["-o", "-u", "basic"]);
    svc.apply(&mut cmd);
    cmd.stdin(Stdio::null());
    let r = Run::from(cmd.output().unwrap());
    assert_eq!(r.code, Some(1), "{}", r.text());
    assert!(
        r.text()
            .contains("lookup failed: The name org.freedesktop.secrets was not provided"),
        "{}",
        r.text()
    );
}
