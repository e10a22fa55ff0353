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

/// Adds `lines` to the `[Account Test]` section of the test's config.
fn account_options(env: &Env, lines: &str) {
    let text = fs::read_to_string(env.config_path()).unwrap();
    let text = text.replace("[Account Test]\n", &format!("[Account Test]\n{lines}\n"));
    fs::write(env.config_path(), text).unwrap();
}

/// A new message in the local Maildir folder `folder` (sep `/`).
fn local_new(env: &Env, folder: &str, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = env.maildir().join(folder).join("new");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn filterheaders_strips_fields_from_the_server_copy_only() {
    let d = Dovecot::shared();
    let user = d.add_user("copy-filterheaders");
    let mut c = d.imap(&user);
    // Downloads are not filtered.
    c.append(
        "INBOX",
        "",
        b"X-Spam-Status: No\r\nSubject: down\r\n\r\nbody\r\n",
    );
    c.logout();
    let env = Env::for_user(d, &user);
    account_options(&env, "filterheaders = x-spam-status, X-Spam-Level");
    env.sync();
    let local = env.local_messages("INBOX");
    assert_eq!(local.len(), 1);
    assert!(local[0].bytes.starts_with(b"X-Spam-Status: No"));

    let up = b"From: a@example.org\nX-Spam-Status: Yes, score=9\n\ttests=BAYES\n\
               X-Spam-Status-Extra: kept\nX-Spam-Level: ***\nSubject: up\n\n\
               X-Spam-Status: in the body\n";
    let path = local_new(&env, "INBOX", "1700000000.1_0.host", up);
    env.sync();
    let server = crate::harness::server_messages(d, &user, "INBOX");
    let uploaded: Vec<_> = server
        .iter()
        .filter(|m| m.bytes.windows(11).any(|w| w == b"Subject: up"))
        .collect();
    assert_eq!(uploaded.len(), 1);
    assert_eq!(
        uploaded[0].bytes,
        b"From: a@example.org\r\nX-Spam-Status-Extra: kept\r\nSubject: up\r\n\r\n\
          X-Spam-Status: in the body\r\n"
            .to_vec()
    );
    // The Maildir file keeps every field (renamed with its UID only).
    let local: Vec<_> = env
        .local_messages("INBOX")
        .into_iter()
        .filter(|m| m.bytes.windows(11).any(|w| w == b"Subject: up"))
        .collect();
    assert_eq!(local.len(), 1);
    assert_eq!(local[0].bytes, up.to_vec());
    assert!(!path.exists());

    // Nothing more to do on the next run.
    env.sync();
    assert_eq!(crate::harness::server_messages(d, &user, "INBOX").len(), 2);
    assert_eq!(env.local_messages("INBOX").len(), 2);
}

/// A run that died after a filtered upload reached the server but before
/// the Maildir file got its UID: the next run pairs the two rather than
/// uploading and downloading copies.
#[test]
fn an_interrupted_filtered_upload_is_paired_not_duplicated() {
    let d = Dovecot::shared();
    let user = d.add_user("copy-filterheaders-pair");
    let env = Env::for_user(d, &user);
    account_options(&env, "filterheaders = X-Spam-Status");
    env.sync();
    let full = b"From: a@example.org\r\nX-Spam-Status: No\r\nSubject: p\r\n\r\nbody\r\n";
    let sent = b"From: a@example.org\r\nSubject: p\r\n\r\nbody\r\n";
    let mut c = d.imap(&user);
    c.append("INBOX", "", sent);
    c.logout();
    local_new(&env, "INBOX", "1700000001.1_0.host", full);
    let out = env.sync();
    assert!(out.contains("Matched 1 local message"), "{out}");
    let server = crate::harness::server_messages(d, &user, "INBOX");
    assert_eq!(server.len(), 1);
    let local = env.local_messages("INBOX");
    assert_eq!(local.len(), 1);
    assert_eq!(local[0].bytes, full.to_vec());
    assert_eq!(local[0].uid, Some(server[0].uid));
}

#[test]
fn copy_ignore_eval_leaves_the_listed_uids_on_the_server_and_logs_them() {
    let d = Dovecot::shared();
    let user = d.add_user("copy-ignore");
    let mut c = d.imap(&user);
    c.create("Lists");
    let one = c.append("INBOX", "", &mail("one"));
    let two = c.append("INBOX", "", &mail("two"));
    let three = c.append("INBOX", "", &mail("three"));
    let list = c.append("Lists", "", &mail("list"));
    c.logout();
    let env = Env::for_user(d, &user);
    // UID `two` of INBOX and the one of Lists by name; `one` is synced
    // first, then listed too: it stays synced.
    let rule = |uids: &str| {
        format!(
            "copy_ignore_eval = lambda folder: {{'INBOX': [{uids}], 'Lists': [{list}]}}.get(folder)\n"
        )
    };
    env.write_config(&rule(&format!("{two}")));
    let out = env.sync();
    assert!(
        out.contains(&format!(
            "IGNORED: Copy message UID {two} TestRemote:INBOX -> TestLocal"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "IGNORED: Copy message UID {list} TestRemote:Lists"
        )),
        "{out}"
    );
    let uids = |folder: &str| -> Vec<u32> {
        let mut v: Vec<u32> = env
            .local_messages(folder)
            .iter()
            .filter_map(|m| m.uid)
            .collect();
        v.sort();
        v
    };
    assert_eq!(uids("INBOX"), vec![one, three]);
    assert!(uids("Lists").is_empty());

    // Listing a synced message changes nothing for it: its flags still
    // sync, and deleting it on the server still deletes it locally.
    env.write_config(&rule(&format!("{one}, {two}, {three}")));
    let mut c = d.imap(&user);
    c.select("INBOX");
    c.store(one, "+FLAGS", "\\Flagged");
    c.store(three, "+FLAGS", "\\Deleted");
    c.ok("EXPUNGE");
    c.logout();
    let out = env.sync();
    assert!(
        out.contains(&format!("IGNORED: Copy message UID {two} ")),
        "{out}"
    );
    let local = env.local_messages("INBOX");
    assert_eq!(local.len(), 1);
    assert_eq!(local[0].uid, Some(one));
    assert_eq!(local[0].flags, "F");
    // The server keeps the ignored ones.
    assert_eq!(crate::harness::server_messages(d, &user, "INBOX").len(), 2);

    // Without the option they are downloaded.
    env.write_config("");
    env.sync();
    assert_eq!(uids("INBOX"), vec![one, two]);
    assert_eq!(uids("Lists"), vec![list]);
}

#[test]
fn copy_ignore_eval_that_fails_stops_the_folder_without_copying() {
    let d = Dovecot::shared();
    let user = d.add_user("copy-ignore-error");
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail("one"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.write_config("copy_ignore_eval = lambda folder: {}[folder]\n");
    let r = env.run_capture(&[]);
    assert_ne!(r.code, Some(0), "{}", r.text());
    assert!(r.text().contains("copy_ignore_eval"), "{}", r.text());
    assert!(r.text().contains("KeyError"), "{}", r.text());
    assert!(env.local_messages("INBOX").is_empty());
}
