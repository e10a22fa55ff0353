//! `presynchook` and `postsynchook` through the real binary against a
//! private Dovecot: when they run relative to the sync, what they see,
//! what the log says about them, and what a failing or interrupted run
//! does with them. The hooks are small shell scripts that leave their
//! observations in files of the test's temp dir.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::harness::Env;
use crate::support::dovecot::Dovecot;

const LIMIT: Duration = Duration::from_secs(30);

fn mail(subject: &str) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: {subject}\r\n\r\nbody {subject}\r\n").into_bytes()
}

/// Adds `lines` to the `[Account Test]` section of the test's config.
fn account_options(env: &Env, lines: &str) {
    let text = fs::read_to_string(env.config_path()).unwrap();
    let text = text.replace("[Account Test]\n", &format!("[Account Test]\n{lines}\n"));
    fs::write(env.config_path(), text).unwrap();
}

/// Writes a shell script into the test's temp dir; the hook line that
/// runs it.
fn script(env: &Env, name: &str, body: &str) -> String {
    let path = env.dir.path().join(name);
    fs::write(&path, body).unwrap();
    format!("sh {}", path.display())
}

fn read(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_owned()
}

/// Index of the first line containing `what`; fails the test with the
/// whole output otherwise.
fn line_of(lines: &[&str], what: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no line containing {what:?} in:\n{}", lines.join("\n")))
}

#[test]
fn hooks_run_before_and_after_the_sync_and_are_logged() {
    let d = Dovecot::shared();
    let user = d.add_user("hooksorder");
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail("one"));
    c.append("INBOX", "", &mail("two"));
    c.logout();
    let env = Env::for_user(d, &user);
    let dir = env.dir.path();
    let inbox = env.maildir().join("INBOX");
    let pre = script(
        &env,
        "pre.sh",
        &format!(
            "if [ -d '{inbox}' ]; then echo present; else echo absent; fi > '{dir}/pre.txt'\n\
             echo \"$OFFLINEIMAPSYNCMODE\" > '{dir}/pre-mode.txt'\n\
             echo 'pre says hello'\n\
             echo 'pre complains' >&2\n",
            inbox = inbox.display(),
            dir = dir.display(),
        ),
    );
    let post = script(
        &env,
        "post.sh",
        &format!(
            "find '{inbox}/new' '{inbox}/cur' -type f | wc -l | tr -d ' ' > '{dir}/post.txt'\n\
             echo \"$OFFLINEIMAPSYNCMODE\" > '{dir}/post-mode.txt'\n\
             echo 'post done'\n",
            inbox = inbox.display(),
            dir = dir.display(),
        ),
    );
    account_options(&env, &format!("presynchook = {pre}\npostsynchook = {post}"));
    let log = dir.join("run.log");
    let run = env.run_capture(&["-l", log.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.text());

    // The pre hook ran before anything reached the Maildir, the post hook
    // after both messages had.
    assert_eq!(read(&dir.join("pre.txt")), "absent");
    assert_eq!(read(&dir.join("post.txt")), "2");
    assert_eq!(env.local_messages("INBOX").len(), 2);
    assert_eq!(read(&dir.join("pre-mode.txt")), "full");
    assert_eq!(read(&dir.join("post-mode.txt")), "full");

    // The log tells the same story, in order.
    let lines: Vec<&str> = run.stdout.lines().collect();
    let calling_pre = line_of(&lines, &format!("Calling hook: {pre}"));
    let hello = line_of(&lines, "Hook stdout: pre says hello");
    let complains = line_of(&lines, "Hook stderr: pre complains");
    let pre_code = line_of(&lines, "Hook return code: 0");
    let connecting = line_of(&lines, "Establishing connection");
    let last_copy = lines
        .iter()
        .rposition(|l| l.contains("Copy message"))
        .expect("messages copied");
    let calling_post = line_of(&lines, &format!("Calling hook: {post}"));
    let post_done = line_of(&lines, "Hook stdout: post done");
    let finished = line_of(&lines, "*** Finished account 'Test'");
    assert!(calling_pre < hello && calling_pre < complains, "{lines:#?}");
    assert!(hello < pre_code && complains < pre_code, "{lines:#?}");
    assert!(pre_code < connecting, "{lines:#?}");
    assert!(last_copy < calling_post, "{lines:#?}");
    assert!(
        calling_post < post_done && post_done < finished,
        "{lines:#?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("Hook return code: 0"))
            .count(),
        2
    );

    // -l FILE gets the hook lines too.
    let logged = fs::read_to_string(&log).unwrap();
    assert!(logged.contains("Hook stdout: pre says hello"), "{logged}");
    assert!(logged.contains("Hook stderr: pre complains"), "{logged}");
    assert!(logged.contains("Hook stdout: post done"), "{logged}");
}

#[test]
fn a_failing_hook_is_a_warning_and_the_sync_still_runs() {
    let d = Dovecot::shared();
    let user = d.add_user("hooksfail");
    d.imap(&user).append("INBOX", "", &mail("still synced"));
    let env = Env::for_user(d, &user);
    account_options(
        &env,
        "presynchook = echo 'no network?' >&2; exit 3\npostsynchook = exit 4",
    );
    let run = env.run_capture(&[]);
    let text = run.text();
    // OfflineIMAP only logs a hook's exit code: the run succeeds.
    assert_eq!(run.code, Some(0), "{text}");
    assert_eq!(env.local_messages("INBOX").len(), 1, "{text}");
    for want in [
        "Hook stderr: no network?",
        "Hook return code: 3",
        "presynchook 'echo 'no network?' >&2; exit 3' exited with code 3",
        "Hook return code: 4",
        "postsynchook 'exit 4' exited with code 4",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    // The warnings are what -u quiet shows of the hooks.
    let quiet = quiet_output(&env);
    assert!(
        quiet.contains("presynchook 'echo 'no network?' >&2; exit 3' exited with code 3"),
        "{quiet}"
    );
    assert!(!quiet.contains("Hook return code"), "{quiet}");
}

/// What `-o -u quiet` prints (both streams); fails unless it exits 0.
fn quiet_output(env: &Env) -> String {
    let out = env
        .command(&["-o", "-u", "quiet"])
        .output()
        .expect("run offlineimap");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{}: {text}", out.status);
    text
}

/// The binary running with `-u basic`, its stdout lines on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(env: &Env, args: &[&str]) -> Running {
        let mut all = vec!["-u", "basic"];
        all.extend_from_slice(args);
        let mut child = env
            .command(&all)
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
        Running { child, lines }
    }

    fn wait_for(&self, what: &str) {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(what) => return,
                Ok(_) => {}
                Err(_) => panic!("no line containing {what:?} within {LIMIT:?}"),
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

    fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + LIMIT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("offlineimap still running after {LIMIT:?}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + LIMIT;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn hooks_run_around_every_autorefresh_round() {
    let d = Dovecot::shared();
    let user = d.add_user("hooksloop");
    d.imap(&user).append("INBOX", "", &mail("first"));
    let env = Env::for_user(d, &user);
    let trace = env.dir.path().join("trace.txt");
    account_options(
        &env,
        &format!(
            "autorefresh = 5\npresynchook = echo pre >> '{t}'\npostsynchook = echo post >> '{t}'",
            t = trace.display()
        ),
    );
    let mut running = Running::start(&env, &[]);
    running.wait_for("*** Finished account 'Test'");
    assert_eq!(read(&trace), "pre\npost");
    running.signal("USR1");
    running.wait_for("*** Processing account Test");
    running.wait_for("*** Finished account 'Test'");
    assert_eq!(read(&trace), "pre\npost\npre\npost");
    running.signal("USR2");
    assert_eq!(running.exit_code(), Some(0));
    assert_eq!(read(&trace), "pre\npost\npre\npost");
}

#[test]
fn no_postsynchook_after_a_stop_signal() {
    let d = Dovecot::shared();
    let user = d.add_user("hooksabort");
    d.imap(&user).append("INBOX", "", &mail("first"));
    let env = Env::for_user(d, &user);
    let dir = env.dir.path();
    let (started, post) = (dir.join("pre-started"), dir.join("post-ran"));
    account_options(
        &env,
        &format!(
            "presynchook = touch '{}'; sleep 2\npostsynchook = touch '{}'",
            started.display(),
            post.display()
        ),
    );
    let mut running = Running::start(&env, &["-o"]);
    wait_for_file(&started);
    // SIGTERM while the pre hook runs: it is waited for, then the account
    // skips its folders and the post hook.
    running.signal("TERM");
    assert_eq!(running.exit_code(), Some(0));
    assert!(started.exists());
    assert!(!post.exists(), "postsynchook ran after SIGTERM");
    assert!(
        env.local_messages("INBOX").is_empty(),
        "a folder synced after SIGTERM"
    );
}
