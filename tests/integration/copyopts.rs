//! The options that steer message copies, through the real binary against
//! the private Dovecot: `newmail_hook` (called after unseen mail came from
//! INBOX), `filterheaders` (headers left out of uploads) and
//! `copy_ignore_eval` (server UIDs never downloaded).

use std::fs;
use std::path::Path;

use crate::harness::Env;
use crate::support::dovecot::Dovecot;

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n\r\nbody {subject}\r\n"
    )
    .into_bytes()
}

/// A Python string literal of `path`.
fn py_str(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

fn count_lines(path: &Path) -> usize {
    fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

#[test]
fn newmail_hook_runs_once_per_sync_with_unseen_mail_from_inbox() {
    let d = Dovecot::shared();
    let user = d.add_user("copy-newmail");
    let mut c = d.imap(&user);
    c.create("Lists");
    c.append("INBOX", "", &mail("unseen-1"));
    c.append("INBOX", "", &mail("unseen-2"));
    c.append("INBOX", "\\Seen", &mail("seen-1"));
    c.logout();
    let env = Env::for_user(d, &user);
    let calls = env.dir.path().join("calls");
    env.write_config(&format!(
        "newmail_hook = lambda: open({}, 'a').write('called\\n')\n",
        py_str(&calls)
    ));

    // Two unseen messages in one sync: one call.
    env.sync();
    assert_eq!(count_lines(&calls), 1);
    assert_eq!(env.local_messages("INBOX").len(), 3);

    // Nothing new: no call.
    env.sync();
    assert_eq!(count_lines(&calls), 1);

    // Only seen mail in INBOX, unseen mail in another folder: no call.
    let mut c = d.imap(&user);
    c.append("INBOX", "\\Seen", &mail("seen-2"));
    c.append("Lists", "", &mail("list-1"));
    c.logout();
    env.sync();
    assert_eq!(count_lines(&calls), 1);
    assert_eq!(env.local_messages("Lists").len(), 1);

    // A new unseen message in INBOX: called again.
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail("unseen-3"));
    c.logout();
    env.sync();
    assert_eq!(count_lines(&calls), 2);

    // A hook that raises is a warning; the sync still succeeds.
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail("unseen-4"));
    c.logout();
    env.write_config("newmail_hook = lambda: {}['nokey']\n");
    let out = env.sync();
    assert!(out.contains("newmail_hook"), "{out}");
    assert!(out.contains("KeyError"), "{out}");
    assert_eq!(env.local_messages("INBOX").len(), 6);
}

#[test]
fn newmail_hook_can_use_the_pythonfile() {
    let d = Dovecot::shared();
    let user = d.add_user("copy-newmail-pyfile");
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail("unseen-1"));
    c.logout();
    let env = Env::for_user(d, &user);
    let calls = env.dir.path().join("calls");
    let pyfile = env.dir.path().join("helpers.py");
    fs::write(
        &pyfile,
        format!(
            "def notify():\n    with open({}, 'a') as f:\n        f.write('new\\n')\n",
            py_str(&calls)
        ),
    )
    .unwrap();
    env.write_config("newmail_hook = notify\n");
    let text = fs::read_to_string(env.config_path()).unwrap().replace(
        "[general]\n",
        &format!("[general]\npythonfile = {}\n", pyfile.display()),
    );
    fs::write(env.config_path(), text).unwrap();
    env.sync();
    assert_eq!(count_lines(&calls), 1);
    env.sync();
    assert_eq!(count_lines(&calls), 1);
}
