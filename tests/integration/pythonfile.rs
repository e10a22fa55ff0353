//! Folder selection through `[general] pythonfile`, end to end: the real
//! binary against the private Dovecot with a typical pythonfile defining
//! the folderfilter and the nametrans helpers (evaluated by one `python3`
//! per run), and the one-line error when `python3` is not in `PATH`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Env, Run};
use crate::support::dovecot::{Dovecot, User};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config/pythonfile")
        .join(name)
}

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\n\r\nbody\r\n"
    )
    .into_bytes()
}

/// A user whose server has the given folders (one message each), and the
/// fixture config pointing at it.
fn setup(name: &str, folders: &[&str]) -> (User, Env) {
    let d = Dovecot::shared();
    let user = d.add_user(name);
    let mut c = d.imap(&user);
    for f in folders {
        if *f != "INBOX" {
            c.create(f);
        }
        c.append(f, "", &mail(f));
    }
    c.logout();
    let env = Env::for_user(d, &user);
    let text = fs::read_to_string(fixture("offlineimaprc"))
        .unwrap()
        .replace("@PORT@", &env.port.to_string())
        .replace("@USER@", &env.user)
        .replace("@PASS@", &env.password)
        .replace("@MAIL@", &env.maildir().display().to_string())
        .replace("@META@", &env.metadata().display().to_string())
        .replace(
            "@PYTHONFILE@",
            &fixture("offlineimap.py").display().to_string(),
        );
    fs::write(env.config_path(), text).unwrap();
    (user, env)
}

fn run(mut cmd: Command) -> Run {
    Run::from(cmd.output().unwrap())
}

#[test]
fn pythonfile_folderfilter_and_nametrans_pick_and_name_the_folders() {
    let (user, env) = setup(
        "pyfile-folders",
        &[
            "INBOX",
            "Sent",
            "Drafts",
            "Spam",
            "Trash",
            "Archive/2020",
            "Lists/rust",
        ],
    );
    let pids = env.dir.path().join("pids");
    let sync = || {
        let mut cmd = env.command(&["-o", "-u", "basic"]);
        cmd.env("OFFLINEIMAP_TEST_PIDFILE", &pids);
        let r = run(cmd);
        assert_eq!(r.code, Some(0), "{}", r.text());
        r
    };
    let server_list = || {
        let mut c = Dovecot::shared().imap(&user);
        let mut listed = c.list();
        c.logout();
        listed.sort();
        listed
    };
    sync();
    let after_first = server_list();
    assert_eq!(
        env.local_folders(),
        vec!["Lists.rust", "drafts", "inbox", "sent"]
    );
    assert_eq!(env.local_messages("inbox").len(), 1);
    assert_eq!(env.local_messages("Lists.rust").len(), 1);
    // One python3 for the whole run (the load-time check and every folder).
    let lines = fs::read_to_string(&pids).unwrap();
    assert_eq!(lines.lines().count(), 1, "{lines}");

    // The reverse nametrans maps the local names back: a second run
    // creates nothing on the server and changes nothing locally.
    fs::remove_file(&pids).unwrap();
    let r = sync();
    assert!(!r.text().contains("INFINITE"), "{}", r.text());
    assert_eq!(
        env.local_folders(),
        vec!["Lists.rust", "drafts", "inbox", "sent"]
    );
    assert_eq!(server_list(), after_first);
    let lines = fs::read_to_string(&pids).unwrap();
    assert_eq!(lines.lines().count(), 1, "{lines}");
}

#[test]
fn without_python3_the_error_names_the_option() {
    let (_user, env) = setup("pyfile-nopython", &["INBOX"]);
    let mut cmd = env.command(&["-o", "-u", "basic"]);
    // No python3 here; the binary itself is run by its full path.
    cmd.env("PATH", env.dir.path());
    let r = run(cmd);
    assert_eq!(r.code, Some(1), "{}", r.text());
    let text = r.text();
    assert!(
        text.contains(
            "[Repository main-remote] folderfilter: needs python3 ([general] pythonfile is set), but it was not found in PATH"
        ),
        "{text}"
    );
    assert!(env.local_folders().is_empty(), "{text}");
}
