//! OfflineIMAP's signals on a running autorefresh loop, through the real
//! binary: SIGUSR1 ends the sleep and syncs now, SIGUSR2 stops after the
//! current sync, SIGTERM stops (finishing the current folder).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::harness::Env;
use crate::support::dovecot::Dovecot;

fn mail(subject: &str) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: {subject}\r\n\r\nbody {subject}\r\n").into_bytes()
}

/// The binary syncing account `Test` every 5 minutes with `-u basic`, and
/// its stdout lines arriving on a channel.
struct Daemon {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Daemon {
    fn start(env: &Env) -> Daemon {
        let text = std::fs::read_to_string(env.config_path()).unwrap();
        let text = text.replace("[Account Test]\n", "[Account Test]\nautorefresh = 5\n");
        std::fs::write(env.config_path(), text).unwrap();
        let mut child = env
            .command(&["-u", "basic"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Daemon { child, lines }
    }

    /// Waits for the `n`th line containing `what`; fails the test after
    /// `limit`.
    fn wait_for(&self, what: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(what) => return l,
                Ok(_) => {}
                Err(_) => panic!("no line containing {what:?} within {limit:?}"),
            }
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

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn sigusr1_syncs_now_and_sigusr2_stops_after_the_sync() {
    let d = Dovecot::shared();
    let user = d.add_user("sigusr");
    d.imap(&user).append("INBOX", "", &mail("first"));
    let env = Env::for_user(d, &user);
    let mut daemon = Daemon::start(&env);
    daemon.wait_for("*** Finished account 'Test'", LIMIT);
    assert_eq!(env.local_messages("INBOX").len(), 1);

    // Sleeping for 5 minutes now: only SIGUSR1 can bring the new message.
    d.imap(&user).append("INBOX", "", &mail("second"));
    daemon.signal("USR1");
    daemon.wait_for("*** Processing account Test", LIMIT);
    daemon.wait_for("*** Finished account 'Test'", LIMIT);
    assert_eq!(env.local_messages("INBOX").len(), 2);

    // SIGUSR2 while sleeping: no further sync, a clean exit.
    daemon.signal("USR2");
    assert_eq!(daemon.exit_code(LIMIT), Some(0));
}

#[test]
fn sigterm_ends_the_autorefresh_loop() {
    let d = Dovecot::shared();
    let user = d.add_user("sigterm");
    d.imap(&user).append("INBOX", "", &mail("only"));
    let env = Env::for_user(d, &user);
    let mut daemon = Daemon::start(&env);
    daemon.wait_for("*** Finished account 'Test'", LIMIT);
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(LIMIT), Some(0));
    assert_eq!(env.local_messages("INBOX").len(), 1);
}
