//! Password prompts end to end: a configuration without `remotepass`, the
//! real binary asking in Blinkenlights and ttyui (in a tmux pane, typed
//! with `send-keys`), answering machineui's `getpass` on stdin, and basic
//! refusing clearly. Also the second `q`, which stops at once.

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::dovecot::Dovecot;
use crate::support::tmux::{Tmux, count_messages, message, stty_is_restored};

/// A one-shot configuration; `remote_extra` holds `remotepass` or nothing.
fn write_config(dir: &Path, port: u16, user: &str, remote_extra: &str) -> PathBuf {
    let path = dir.join("offlineimaprc");
    let text = format!(
        "[general]\naccounts = Test\nmetadata = {meta}\nfsync = no\n\n\
         [Account Test]\nlocalrepository = TestLocal\nremoterepository = TestRemote\n\n\
         [Repository TestLocal]\ntype = Maildir\nlocalfolders = {mail}\nsep = /\n\n\
         [Repository TestRemote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = {port}\n\
         remoteuser = {user}\nssl = no\nstarttls = no\n{remote_extra}",
        meta = dir.join("meta").display(),
        mail = dir.join("Mail").display(),
    );
    fs::write(&path, text).unwrap();
    path
}

/// `sh -c` script: the binary with `ui`, then its exit status and the
/// terminal modes, then a pause so the pane stays readable.
fn script(dir: &Path, conf: &Path, ui: &str) -> String {
    format!(
        "env HOME='{home}' TERM=xterm-256color '{bin}' -c '{conf}' -u {ui}; \
         echo EXIT=$?; stty -a; sleep 120",
        home = dir.display(),
        bin = env!("CARGO_BIN_EXE_offlineimap"),
        conf = conf.display(),
    )
}

#[test]
fn blinkenlights_asks_for_the_password_without_echo() {
    let d = Dovecot::shared();
    let user = d.add_user("prompt");
    d.imap(&user).append("INBOX", "", &message("asked"));
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(dir.path(), d.port(), &user.name, "");
    let tmux = Tmux::start(&script(dir.path(), &conf, "blinkenlights"), 100, 30);

    let screen = tmux.wait_for("the prompt", Duration::from_secs(30), |s| {
        s.contains(&format!(
            " *** Please enter password for user '{}':",
            user.name
        ))
    });
    assert!(screen.contains(" *** Input Required"), "{screen}");
    assert!(screen.contains("Enter sends, Esc gives none"), "{screen}");
    // `q` and a digit are part of the typing, not commands; Backspace
    // takes them back.
    tmux.type_text("q1");
    tmux.keys("BSpace");
    tmux.keys("BSpace");
    tmux.type_text(&user.password);
    std::thread::sleep(Duration::from_millis(300));
    let typing = tmux.capture();
    assert!(!typing.contains(&user.password), "{typing}");
    assert!(!typing.contains("Requested shutdown"), "{typing}");
    tmux.keys("Enter");

    let screen = tmux.wait_for("the exit", Duration::from_secs(30), |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(!screen.contains(&user.password), "{screen}");
    assert_eq!(count_messages(&dir.path().join("Mail").join("INBOX")), 1);
    let screen = tmux.wait_for("stty", Duration::from_secs(5), |s| s.contains("icanon"));
    assert!(stty_is_restored(&screen), "{screen}");
}

#[test]
fn blinkenlights_escape_gives_no_password_and_the_account_fails() {
    let d = Dovecot::shared();
    let user = d.add_user("promptesc");
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(dir.path(), d.port(), &user.name, "");
    let tmux = Tmux::start(&script(dir.path(), &conf, "blinkenlights"), 100, 30);
    tmux.wait_for("the prompt", Duration::from_secs(30), |s| {
        s.contains(" *** Please enter password")
    });
    tmux.keys("Escape");
    let screen = tmux.wait_for("the exit", Duration::from_secs(30), |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=1"), "{screen}");
    // The error is printed again on the normal screen.
    assert!(
        screen.contains(&format!(
            "no password configured for user {} at 127.0.0.1, and none was entered",
            user.name
        )),
        "{screen}"
    );
}

#[test]
fn ttyui_asks_on_the_terminal_without_echo() {
    let d = Dovecot::shared();
    let user = d.add_user("prompttty");
    d.imap(&user).append("INBOX", "", &message("tty"));
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(dir.path(), d.port(), &user.name, "");
    let tmux = Tmux::start(&script(dir.path(), &conf, "ttyui"), 100, 30);

    tmux.wait_for("the prompt", Duration::from_secs(30), |s| {
        s.contains(&format!("Enter password for user '{}':", user.name))
    });
    tmux.type_text(&user.password);
    std::thread::sleep(Duration::from_millis(300));
    let typing = tmux.capture();
    assert!(!typing.contains(&user.password), "{typing}");
    tmux.keys("Enter");

    let screen = tmux.wait_for("the exit", Duration::from_secs(30), |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(!screen.contains(&user.password), "{screen}");
    assert!(screen.contains("*** Finished account 'Test'"), "{screen}");
    assert_eq!(count_messages(&dir.path().join("Mail").join("INBOX")), 1);
    let screen = tmux.wait_for("stty", Duration::from_secs(5), |s| s.contains("icanon"));
    assert!(stty_is_restored(&screen), "{screen}");
}

#[test]
fn basic_cannot_prompt_and_says_so() {
    let d = Dovecot::shared();
    let user = d.add_user("promptbasic");
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(dir.path(), d.port(), &user.name, "");
    for ui in ["basic", "quiet"] {
        let out = Command::new(env!("CARGO_BIN_EXE_offlineimap"))
            .args(["-c", conf.to_str().unwrap(), "-u", ui])
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{ui}: {text}");
        let expected = format!(
            "no password configured for user {} at 127.0.0.1, and the {ui} UI cannot prompt \
             for one (set remotepass or remotepassfile, or use -u blinkenlights or -u ttyui)",
            user.name
        );
        assert_eq!(text.matches(&expected).count(), 1, "{ui}: {text}");
    }
}

#[test]
fn machineui_sends_getpass_and_reads_a_line_of_stdin() {
    let d = Dovecot::shared();
    let user = d.add_user("promptmachine");
    d.imap(&user).append("INBOX", "", &message("machine"));
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(dir.path(), d.port(), &user.name, "");
    let mut child = Command::new(env!("CARGO_BIN_EXE_offlineimap"))
        .args(["-c", conf.to_str().unwrap(), "-u", "machineui"])
        .env("HOME", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", user.password).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let getpass = format!("msg:getpass:Account+sync+Test:{}\n", user.name);
    let at = stdout.find(&getpass).expect(&stdout);
    // Asked before connecting, after the account started.
    assert!(
        stdout[..at].contains("msg:acct:Account+sync+Test:Test"),
        "{stdout}"
    );
    assert!(stdout[at..].contains("msg:connecting:"), "{stdout}");
    assert!(!stdout.contains(&user.password), "{stdout}");
    assert_eq!(count_messages(&dir.path().join("Mail").join("INBOX")), 1);
}

#[test]
fn a_second_q_stops_at_once() {
    // A server that accepts and never greets: the connection waits for
    // the socket timeout, which a first (graceful) q does not cut short.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(dir.path(), port, "nobody", "remotepass = x\n");
    let tmux = Tmux::start(&script(dir.path(), &conf, "blinkenlights"), 100, 30);
    tmux.wait_for("the connection", Duration::from_secs(30), |s| {
        s.contains(&format!("Establishing connection to 127.0.0.1:{port}"))
    });
    tmux.keys("q");
    tmux.wait_for("the graceful shutdown", Duration::from_secs(5), |s| {
        s.contains("Requested shutdown via 'q'") && s.contains("q again stops now")
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !tmux.capture().contains("EXIT="),
        "the first q already ended the run"
    );
    let pressed = Instant::now();
    tmux.keys("q");
    let screen = tmux.wait_for("the abort", Duration::from_secs(5), |s| s.contains("EXIT="));
    assert!(
        pressed.elapsed() < Duration::from_secs(2),
        "took {:?}",
        pressed.elapsed()
    );
    assert!(screen.contains("EXIT=1"), "{screen}");
    let screen = tmux.wait_for("stty", Duration::from_secs(5), |s| s.contains("icanon"));
    assert!(stty_is_restored(&screen), "{screen}");
}
