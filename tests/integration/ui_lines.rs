//! The line UIs and outputs through the real binary against the private
//! Dovecot: `-u machineui` lines parse back, `-l FILE` writes the log
//! file (or stops the run when FILE cannot be opened), `-u quiet` is
//! silent on a clean sync, `-s` without a syslog socket is refused.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::dovecot::{Dovecot, User};

/// One test's world (a trimmed copy of `harness::Env`): a temp dir with
/// `Mail/`, `meta/` and `offlineimaprc` for account `Test`.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new(d: &Dovecot, user: &User) -> World {
        let world = World {
            dir: tempfile::tempdir().unwrap(),
        };
        let text = format!(
            "[general]\naccounts = Test\nmetadata = {meta}\nfsync = no\n\n\
             [Account Test]\nlocalrepository = TestLocal\nremoterepository = TestRemote\n\n\
             [Repository TestLocal]\ntype = Maildir\nlocalfolders = {mail}\nsep = /\n\n\
             [Repository TestRemote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = {port}\n\
             remoteuser = {user}\nremotepass = {pass}\nssl = no\nstarttls = no\n",
            meta = world.path("meta").display(),
            mail = world.path("Mail").display(),
            port = d.port(),
            user = user.name,
            pass = user.password,
        );
        fs::write(world.path("offlineimaprc"), text).unwrap();
        world
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_offlineimap"))
            .arg("-c")
            .arg(self.path("offlineimaprc"))
            .arg("-o")
            .args(args)
            .env("HOME", self.dir.path())
            .output()
            .unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn message(subject: &str) -> Vec<u8> {
    format!("From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\r\nbody\r\n")
        .into_bytes()
}

/// A user whose INBOX holds `n` messages; returns their UIDs.
fn user_with_mail(d: &Dovecot, n: usize) -> (User, Vec<u32>) {
    let user = d.add_user("uilines");
    let mut c = d.imap(&user);
    let uids = (0..n)
        .map(|i| c.append("INBOX", "\\Seen", &message(&format!("m{i}"))))
        .collect();
    c.logout();
    (user, uids)
}

/// Undoes Python's `quote_plus`.
fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn machineui_lines_of_a_real_sync_parse_back() {
    let d = Dovecot::shared();
    let (user, uids) = user_with_mail(d, 2);
    let world = World::new(d, &user);
    let out = world.run(&["-u", "machineui"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}{}",
        out.status,
        text(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"msg:protocol:MainThread:7.2.0"));
    let mut copied = Vec::new();
    for line in &lines {
        let parts: Vec<&str> = line.splitn(4, ':').collect();
        assert_eq!(parts.len(), 4, "{line}");
        assert!(
            ["msg", "warn", "error", "debug"].contains(&parts[0]),
            "{line}"
        );
        // Encoded fields carry nothing a parser would split on.
        for field in &parts[2..] {
            assert!(!field.contains([':', ' ', '\n']), "{line}");
        }
        if parts[1] == "copyingmessage" {
            let payload = unquote(parts[3]);
            let fields: Vec<&str> = payload.split('\n').collect();
            assert_eq!(fields.len(), 4, "{line}");
            assert_eq!(&fields[1..], ["IMAP", "INBOX", "Maildir[INBOX]"], "{line}");
            assert_eq!(unquote(parts[2]), "Folder INBOX [acc: Test]");
            copied.push(fields[0].parse::<u32>().unwrap());
        }
    }
    copied.sort_unstable();
    assert_eq!(copied, uids, "{stdout}");
    assert!(
        lines.contains(&"msg:acct:Account+sync+Test:Test"),
        "{stdout}"
    );
    assert!(
        lines.contains(&"msg:acctdone:Account+sync+Test:Test"),
        "{stdout}"
    );
}

#[test]
fn logfile_gets_the_blurb_and_every_info_line() {
    let d = Dovecot::shared();
    let (user, _) = user_with_mail(d, 1);
    let world = World::new(d, &user);
    let log = world.path("sync.log");
    fs::write(&log, "kept\n").unwrap();
    let out = world.run(&["-u", "quiet", "-l", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines[0], "kept", "{written}");
    let stamped = |l: &str, rest: &str| {
        // YYYY-MM-DD HH:MM:SS LEVEL: message
        l.len() > 20
            && l.as_bytes()[4] == b'-'
            && l.as_bytes()[10] == b' '
            && l.as_bytes()[13] == b':'
            && &l[19..] == rest
    };
    assert!(
        lines[1].len() > 20 && lines[1][19..].starts_with(" INFO: OfflineImap "),
        "{written}"
    );
    assert!(lines[1].ends_with(" starting..."), "{written}");
    for want in [
        " INFO: *** Processing account Test",
        " INFO: Syncing INBOX: IMAP -> Maildir",
        " INFO: Copy message UID 1 (1/1) TestRemote:INBOX -> TestLocal:INBOX",
    ] {
        assert!(
            lines.iter().any(|l| stamped(l, want)),
            "no {want:?} in:\n{written}"
        );
    }
    assert!(
        lines
            .last()
            .is_some_and(|l| l[19..].starts_with(" INFO: *** Finished account 'Test' in ")),
        "{written}"
    );
}

#[test]
fn an_unopenable_logfile_stops_the_run_before_any_sync() {
    let d = Dovecot::shared();
    let (user, _) = user_with_mail(d, 1);
    let world = World::new(d, &user);
    let bad = world.path("no-such-dir/sync.log");
    let out = world.run(&["-u", "basic", "-l", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "offlineimap: cannot open log file {}: ",
            bad.display()
        )),
        "{stderr}"
    );
    assert_eq!(text(&out.stdout), "");
    assert!(!world.path("Mail").exists(), "a sync ran");
}

#[test]
fn quiet_prints_nothing_on_a_clean_sync() {
    let d = Dovecot::shared();
    let (user, _) = user_with_mail(d, 2);
    let world = World::new(d, &user);
    let out = world.run(&["-u", "quiet"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "");
    // It did sync.
    let inbox = world.path("Mail/INBOX/cur");
    assert_eq!(fs::read_dir(&inbox).unwrap().count(), 2);
}

#[test]
fn syslog_option_needs_the_system_log() {
    let d = Dovecot::shared();
    let (user, _) = user_with_mail(d, 0);
    let world = World::new(d, &user);
    let out = world.run(&["-u", "quiet", "-s"]);
    if Path::new("/dev/log").exists() {
        // A machine with a syslog daemon: the run works and stays quiet.
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "");
    } else {
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("offlineimap: cannot log to syslog via /dev/log: "),
            "{stderr}"
        );
        assert!(!world.path("Mail").exists(), "a sync ran");
    }
}
