//! Blinkenlights end to end: the real binary in a tmux pane against the
//! private Dovecot, driven by keys, read back with `capture-pane`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::dovecot::Dovecot;
use crate::support::tmux::{Tmux, count_messages, message, stty_is_restored};

fn write_config(dir: &Path, port: u16, user: &str, pass: &str) -> PathBuf {
    let path = dir.join("offlineimaprc");
    let text = format!(
        "[general]\naccounts = Test\nmetadata = {meta}\nfsync = no\n\n\
         [Account Test]\nlocalrepository = TestLocal\nremoterepository = TestRemote\n\
         autorefresh = 5\n\n\
         [Repository TestLocal]\ntype = Maildir\nlocalfolders = {mail}\nsep = /\n\n\
         [Repository TestRemote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = {port}\n\
         remoteuser = {user}\nremotepass = {pass}\nssl = no\nstarttls = no\n",
        meta = dir.join("meta").display(),
        mail = dir.join("Mail").display(),
    );
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn blinkenlights_countdown_digit_resync_and_quit() {
    let d = Dovecot::shared();
    let user = d.add_user("blink");
    let mut imap = d.imap(&user);
    imap.append("INBOX", "", &message("first"));

    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(dir.path(), d.port(), &user.name, &user.password);
    let inbox = dir.path().join("Mail").join("INBOX");
    let bin = env!("CARGO_BIN_EXE_offlineimap");
    let script = format!(
        "env HOME='{home}' TERM=xterm-256color '{bin}' -c '{conf}' -u blinkenlights; \
         echo EXIT=$?; stty -a; sleep 120",
        home = dir.path().display(),
        conf = conf.display(),
    );
    let tmux = Tmux::start(&script, 100, 30);

    // First sync done, the account asleep with its countdown.
    let screen = tmux.wait_for("the countdown", Duration::from_secs(30), |s| {
        s.contains("1: [  4:5") && s.contains("Test: @")
    });
    assert!(screen.contains("0: [active]     *Control: @"), "{screen}");
    assert!(screen.contains("*** Processing account Test"), "{screen}");
    assert!(
        screen.contains("*** Finished account 'Test' in "),
        "{screen}"
    );
    assert!(screen.contains("1/1 msgs"), "{screen}");
    assert_eq!(count_messages(&inbox), 1, "{screen}");
    // The banner is drawn bold white on blue, the sleeping account light
    // red and its finished folder worker black (tmux writes 256-colour
    // forms: 38;5;N foreground, 48;5;N background).
    let styled = tmux.capture_styled();
    assert!(
        styled.contains("\u{1b}[1m\u{1b}[38;5;7m\u{1b}[48;5;4m offlineimap "),
        "{styled:?}"
    );
    assert!(
        styled.contains("Test: \u{1b}[38;5;1m@\u{1b}[38;5;0m@"),
        "{styled:?}"
    );
    assert!(
        styled.contains("\u{1b}[38;5;3mCopy message UID 1 (1/1)"),
        "copying lines are yellow: {styled:?}"
    );

    // The countdown ticks.
    let first = screen
        .lines()
        .find(|l| l.starts_with("1: ["))
        .unwrap()
        .to_string();
    tmux.wait_for("the countdown to tick", Duration::from_secs(3), |s| {
        s.lines().any(|l| l.starts_with("1: [") && l != first)
    });

    // A message arrives on the server; the digit syncs it now.
    imap.append("INBOX", "", &message("second"));
    tmux.keys("1");
    let screen = tmux.wait_for("the sync request", Duration::from_secs(1), |s| {
        s.contains("Requested synchronization for acc: Test")
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while count_messages(&inbox) < 2 {
        assert!(
            Instant::now() < deadline,
            "the second message did not arrive; screen:\n{}",
            tmux.capture()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(screen);
    tmux.wait_for("the second sync in the log", Duration::from_secs(10), |s| {
        s.matches("*** Processing account Test").count() == 2
            && s.matches("*** Finished account 'Test'").count() == 2
            && s.contains("1: [  4:5")
    });

    // The help opens and closes.
    tmux.keys("?");
    tmux.wait_for("the help", Duration::from_secs(2), |s| {
        s.contains("sync that account now")
    });
    tmux.keys("Escape");
    tmux.wait_for("the help to close", Duration::from_secs(2), |s| {
        !s.contains("sync that account now")
    });

    // A resize lays the screen out again: the hint moves to the new edge
    // and the account lines to the new bottom.
    tmux.run(&["resize-window", "-t", "t", "-x", "60", "-y", "12"]);
    tmux.wait_for("the new layout", Duration::from_secs(3), |s| {
        let all: Vec<&str> = s.lines().collect();
        let lines = &all[all.len().saturating_sub(12)..];
        lines.len() == 12
            // capture-pane drops the trailing blank of the banner.
            && lines[0].len() == 59
            && lines[0].ends_with("? help  q quit")
            && lines[11].starts_with("0: [active]     *Control: ")
            && lines[10].starts_with("1: [  4:")
    });

    // q: graceful exit, status 0, terminal restored.
    tmux.keys("q");
    let screen = tmux.wait_for("the exit", Duration::from_secs(15), |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        !screen.contains("*Control"),
        "the alternate screen was not left:\n{screen}"
    );
    let screen = tmux.wait_for("stty", Duration::from_secs(5), |s| s.contains("icanon"));
    assert!(stty_is_restored(&screen), "{screen}");
    assert_eq!(count_messages(&inbox), 2);
}

#[test]
fn forced_blinkenlights_on_a_pipe_is_a_clear_error() {
    let d = Dovecot::shared();
    let user = d.add_user("blinkpipe");
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(dir.path(), d.port(), &user.name, &user.password);
    let out = Command::new(env!("CARGO_BIN_EXE_offlineimap"))
        .args(["-c", conf.to_str().unwrap(), "-u", "Curses.Blinkenlights"])
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "offlineimap: cannot use the blinkenlights UI: standard output is not a terminal"
        ),
        "{err}"
    );
    assert!(!dir.path().join("Mail").exists(), "it must not sync");
}

#[test]
fn default_ui_on_a_pipe_is_ttyui() {
    let d = Dovecot::shared();
    let user = d.add_user("blinkdefault");
    let mut imap = d.imap(&user);
    imap.append("INBOX", "", &message("only"));
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(dir.path(), d.port(), &user.name, &user.password);
    let out = Command::new(env!("CARGO_BIN_EXE_offlineimap"))
        .args(["-c", conf.to_str().unwrap(), "-o"])
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // ttyui: thread-name headers on stderr, nothing on stdout.
    assert!(
        err.contains("Account sync Test:\n *** Processing account Test"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(count_messages(&dir.path().join("Mail").join("INBOX")), 1);
}

#[test]
fn sigterm_restores_the_terminal() {
    let d = Dovecot::shared();
    let user = d.add_user("blinkterm");
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(dir.path(), d.port(), &user.name, &user.password);
    let bin = env!("CARGO_BIN_EXE_offlineimap");
    let script = format!(
        "env HOME='{home}' TERM=xterm '{bin}' -c '{conf}' -u blinkenlights; \
         echo EXIT=$?; stty -a; sleep 120",
        home = dir.path().display(),
        conf = conf.display(),
    );
    let tmux = Tmux::start(&script, 80, 24);
    tmux.wait_for("the countdown", Duration::from_secs(30), |s| {
        s.contains("1: [  4:5")
    });
    // `env` execs, so the shell's child is offlineimap itself.
    let shell = tmux.run(&["list-panes", "-t", "t", "-F", "#{pane_pid}"]);
    let shell = String::from_utf8_lossy(&shell.stdout).trim().to_string();
    let child = Command::new("pgrep").args(["-P", &shell]).output().unwrap();
    let child = String::from_utf8_lossy(&child.stdout).trim().to_string();
    assert!(!child.is_empty(), "no child of {shell}");
    let kill = Command::new("kill")
        .args(["-TERM", &child])
        .status()
        .unwrap();
    assert!(kill.success());
    let screen = tmux.wait_for("the exit", Duration::from_secs(15), |s| {
        s.contains("EXIT=") && s.contains("icanon")
    });
    assert!(!screen.contains("*Control"), "{screen}");
    assert!(stty_is_restored(&screen), "{screen}");
}
