//! Between autorefresh syncs, through the real binary against a private
//! Dovecot: `idlefolders` (a message appended to a watched folder is
//! synced within seconds; SIGTERM ends IDLE cleanly), `holdconnectionopen`
//! (two syncs, one login) and `keepalive` (NOOPs while sleeping).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::harness::Env;
use crate::support::dovecot::{Dovecot, User};

const LIMIT: Duration = Duration::from_secs(30);

fn mail(subject: &str) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: {subject}\r\n\r\nbody {subject}\r\n").into_bytes()
}

/// The binary with `-u basic` (and `args`), autorefresh every 10
/// minutes, `remote` added to the remote repository; its stdout and
/// stderr lines arriving on a channel.
struct Daemon {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

fn forward(out: impl Read + Send + 'static, tx: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
}

impl Daemon {
    fn start(env: &Env, remote: &str, args: &[&str]) -> Daemon {
        Daemon::start_with(env, "", remote, args)
    }

    /// As [`Daemon::start`], with `account` lines added to the account.
    fn start_with(env: &Env, account: &str, remote: &str, args: &[&str]) -> Daemon {
        env.write_config(remote);
        let text = std::fs::read_to_string(env.config_path()).unwrap();
        let text = text.replace(
            "[Account Test]\n",
            &format!("[Account Test]\nautorefresh = 10\n{account}"),
        );
        std::fs::write(env.config_path(), text).unwrap();
        let mut all = vec!["-u", "basic"];
        all.extend_from_slice(args);
        let mut child = env
            .command(&all)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        forward(child.stdout.take().unwrap(), tx.clone());
        forward(child.stderr.take().unwrap(), tx);
        Daemon {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `what`; fails the test after `limit`.
    fn wait_for(&mut self, what: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(what) {
                        return l;
                    }
                }
                Err(_) => panic!(
                    "no line containing {what:?} within {limit:?}; output:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Every line that arrives within `d`.
    fn drain(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while let Ok(l) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(l);
        }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} failed");
    }

    /// Waits for the process to exit; its exit code.
    fn exit_code(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("offlineimap still running after {limit:?}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How often Dovecot logged `user` in.
fn logins(d: &Dovecot, user: &User) -> usize {
    let needle = format!("Login: user=<{}>", user.name);
    d.log().lines().filter(|l| l.contains(&needle)).count()
}

/// Waits until `check` holds; false after `limit`.
fn eventually(limit: Duration, check: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

#[test]
fn idle_syncs_a_watched_folder_at_once() {
    let d = Dovecot::shared();
    let user = d.add_user("idle");
    d.imap(&user).append("INBOX", "", &mail("first"));
    let env = Env::for_user(d, &user);
    let modes = env.metadata().with_file_name("modes");
    let hook = format!(
        "presynchook = echo $OFFLINEIMAPSYNCMODE >> {}\n",
        modes.display()
    );
    let mut daemon = Daemon::start_with(&env, &hook, "idlefolders = ['INBOX']\n", &[]);
    daemon.wait_for("*** Finished account 'Test'", LIMIT);
    assert_eq!(env.local_messages("INBOX").len(), 1);
    let logins_after_first = logins(d, &user);

    // Sleeping for 10 minutes now: only IDLE can bring these in time.
    // Let the watcher get into IDLE first.
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    d.imap(&user).append("INBOX", "", &mail("second"));
    assert!(
        eventually(Duration::from_secs(10), || env
            .local_messages("INBOX")
            .len()
            == 2),
        "the appended message was not synced within 10 s; output:\n{}",
        daemon.seen.join("\n")
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // And again: IDLE resumes after the sync.
    daemon.wait_for("*** Finished account 'Test'", LIMIT);
    std::thread::sleep(Duration::from_millis(500));
    d.imap(&user).append("INBOX", "", &mail("third"));
    assert!(
        eventually(Duration::from_secs(10), || env
            .local_messages("INBOX")
            .len()
            == 3),
        "the second appended message was not synced; output:\n{}",
        daemon.seen.join("\n")
    );
    // The watcher's connection did the syncs: no login per change (the
    // test client's own logins aside).
    let ours = logins(d, &user) - 2 - logins_after_first;
    assert_eq!(ours, 0, "logins for two IDLE syncs; log:\n{}", d.log());

    // The hooks ran around the two IDLE syncs, and said so.
    assert_eq!(
        std::fs::read_to_string(&modes).unwrap(),
        "full\nidle\nidle\n"
    );

    // SIGTERM while idling: DONE, LOGOUT, a clean exit, no error.
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(LIMIT), Some(0));
    daemon.drain(Duration::from_millis(200));
    assert!(
        !daemon.seen.iter().any(|l| l.contains("ERROR")),
        "{}",
        daemon.seen.join("\n")
    );
    // The watching connection left IDLE and logged out (the test
    // client's connections just close).
    let ours = format!("imap({})", user.name);
    // (Dovecot logs through its log process: give a loaded machine time.)
    assert!(
        eventually(Duration::from_secs(15), || d
            .log()
            .lines()
            .any(|l| l.contains(&ours) && l.contains("Logged out"))),
        "log:\n{}\noutput:\n{}",
        d.log(),
        daemon.seen.join("\n")
    );
}

#[test]
fn holdconnectionopen_reuses_the_connection() {
    let d = Dovecot::shared();
    let user = d.add_user("hold");
    d.imap(&user).append("INBOX", "", &mail("first"));
    let env = Env::for_user(d, &user);
    let before = logins(d, &user);
    let mut daemon = Daemon::start(&env, "holdconnectionopen = yes\n", &[]);
    daemon.wait_for("*** Finished account 'Test'", LIMIT);

    d.imap(&user).append("INBOX", "", &mail("second"));
    daemon.signal("USR1");
    daemon.wait_for("*** Processing account Test", LIMIT);
    daemon.wait_for("*** Finished account 'Test'", LIMIT);
    assert_eq!(env.local_messages("INBOX").len(), 2);
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(LIMIT), Some(0));
    // Two syncs, one login of ours (plus the test client's one).
    assert_eq!(logins(d, &user) - before, 2, "log:\n{}", d.log());

    // Without it, each sync logs in.
    let before = logins(d, &user);
    let mut daemon = Daemon::start(&env, "", &[]);
    daemon.wait_for("*** Finished account 'Test'", LIMIT);
    daemon.signal("USR1");
    daemon.wait_for("*** Processing account Test", LIMIT);
    daemon.wait_for("*** Finished account 'Test'", LIMIT);
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(LIMIT), Some(0));
    assert_eq!(logins(d, &user) - before, 2, "log:\n{}", d.log());
}

#[test]
fn keepalive_sends_noops_while_sleeping() {
    let d = Dovecot::shared();
    let user = d.add_user("keepalive");
    d.imap(&user).append("INBOX", "", &mail("first"));
    let env = Env::for_user(d, &user);
    let mut daemon = Daemon::start(
        &env,
        "holdconnectionopen = yes\nkeepalive = 1\n",
        &["-d", "imap"],
    );
    daemon.wait_for("*** Finished account 'Test'", LIMIT);
    // Sleeping now: only keepalive talks to the server.
    daemon.wait_for("NOOP", Duration::from_secs(10));
    daemon.wait_for("NOOP", Duration::from_secs(10));
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(LIMIT), Some(0));
}

#[test]
fn a_server_closing_a_held_connection_is_no_error() {
    let d = Dovecot::shared();
    let user = d.add_user("kicked");
    d.imap(&user).append("INBOX", "", &mail("first"));
    let env = Env::for_user(d, &user);
    let mut daemon = Daemon::start(&env, "idlefolders = ['INBOX']\n", &[]);
    daemon.wait_for("*** Finished account 'Test'", LIMIT);
    std::thread::sleep(Duration::from_millis(500));
    // Every connection of the user dropped by the server while idle.
    let out = d.doveadm(&["kick", &user.name]);
    assert!(out.status.success(), "{out:?}");
    // The watcher's connection is gone (the test client's closed before).
    let gone = format!("imap({})", user.name);
    assert!(
        eventually(Duration::from_secs(5), || d
            .log()
            .lines()
            .filter(|l| l.contains(&gone) && l.contains("Disconnected"))
            .count()
            >= 2),
        "log:\n{}",
        d.log()
    );
    d.imap(&user).append("INBOX", "", &mail("second"));
    daemon.signal("USR1");
    daemon.wait_for("*** Processing account Test", LIMIT);
    daemon.wait_for("*** Finished account 'Test'", LIMIT);
    assert_eq!(env.local_messages("INBOX").len(), 2);
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(LIMIT), Some(0));
    daemon.drain(Duration::from_millis(200));
    assert!(
        !daemon
            .seen
            .iter()
            .any(|l| l.contains("ERROR") || l.contains("WARNING")),
        "{}",
        daemon.seen.join("\n")
    );
}

#[test]
fn a_server_without_idle_is_polled_with_noop() {
    let d = Dovecot::start_with_config(
        "protocol imap {\n  imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE NAMESPACE UIDPLUS\n}\n",
    );
    let user = d.add_user("noidle");
    d.imap(&user).append("INBOX", "", &mail("first"));
    let env = Env::for_user(&d, &user);
    let mut daemon = Daemon::start(&env, "idlefolders = ['INBOX']\nkeepalive = 1\n", &[]);
    daemon.wait_for("*** Finished account 'Test'", LIMIT);
    daemon.wait_for("IMAP IDLE not supported", LIMIT);
    d.imap(&user).append("INBOX", "", &mail("second"));
    assert!(
        eventually(Duration::from_secs(10), || env
            .local_messages("INBOX")
            .len()
            == 2),
        "the appended message was not synced by NOOP polling; output:\n{}",
        daemon.seen.join("\n")
    );
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(LIMIT), Some(0));
}
