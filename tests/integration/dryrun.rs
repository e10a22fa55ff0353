//! `--dry-run`, `--info` and `-q` through the real binary against a private
//! Dovecot. A dry run must report what a real run then does, and change
//! nothing: the Maildir, the metadata directory and the server are
//! compared before and after, file by file and message by message.

use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::{Env, ServerMessage, server_messages};
use crate::support::dovecot::{Dovecot, User};

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\n\r\nBody of {subject}.\r\n"
    )
    .into_bytes()
}

/// Every directory (content `None`) and file (its bytes) under `root`,
/// relative and sorted; empty when `root` does not exist.
fn tree(root: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Option<Vec<u8>>)>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if p.is_dir() {
                out.push((rel, None));
                walk(root, &p, out);
            } else {
                out.push((rel, Some(fs::read(&p).unwrap())));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// The server as IMAP shows it: the folder list, and per folder its
/// STATUS (UIDNEXT, MESSAGES, UIDVALIDITY and HIGHESTMODSEQ, which any
/// APPEND, STORE or EXPUNGE moves) and every message's UID, flags and
/// bytes. Read with EXAMINE only.
#[derive(Debug, PartialEq, Eq)]
struct ServerState {
    list: Vec<String>,
    folders: Vec<(String, String, Vec<ServerMessage>)>,
}

fn server_state(d: &Dovecot, user: &User, folders: &[&str]) -> ServerState {
    let mut c = d.imap(user);
    let mut list = c.list();
    list.sort();
    let statuses: Vec<String> = folders
        .iter()
        .map(|f| {
            let lines = c.ok(&format!(
                "STATUS \"{f}\" (UIDNEXT MESSAGES UIDVALIDITY HIGHESTMODSEQ)"
            ));
            lines
                .into_iter()
                .map(|u| u.text)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    c.logout();
    ServerState {
        list,
        folders: folders
            .iter()
            .zip(statuses)
            .map(|(f, s)| (f.to_string(), s, server_messages(d, user, f)))
            .collect(),
    }
}

/// The Maildir, the metadata directory and the server, for "nothing
/// changed" checks.
fn everything(
    env: &Env,
    d: &Dovecot,
    user: &User,
    folders: &[&str],
) -> impl PartialEq + std::fmt::Debug {
    (
        tree(&env.maildir()),
        tree(&env.metadata()),
        server_state(d, user, folders),
    )
}

fn assert_unchanged<T: PartialEq + std::fmt::Debug>(before: &T, after: &T, out: &str) {
    // Not assert_eq!: the states hold whole messages.
    assert!(before == after, "the dry run changed something:\n{out}");
}

/// The lines of a run's output that describe an action, with a dry run's
/// `[DRYRUN] ` taken off; OfflineIMAP's per-direction summary of a dry
/// run (`Copy N messages from ...`) is left out, a real run has none.
fn action_lines(out: &str) -> Vec<String> {
    let mut v: Vec<String> = out
        .lines()
        .map(|l| l.strip_prefix("[DRYRUN] ").unwrap_or(l))
        .filter(|l| {
            ["Copy message", "Deleting", "Adding flag", "Creating folder"]
                .iter()
                .any(|w| l.starts_with(w))
        })
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

#[test]
fn a_first_dry_run_creates_nothing_and_names_what_it_would_copy() {
    let d = Dovecot::shared();
    let user = d.add_user("dryfirst");
    let mut c = d.imap(&user);
    c.create("Archive/2024");
    let a = c.append("INBOX", "\\Seen", &mail("a"));
    let b = c.append("INBOX", "", &mail("b"));
    let old = c.append("Archive/2024", "\\Flagged", &mail("old"));
    c.logout();
    let folders = ["INBOX", "Archive/2024"];
    let env = Env::for_user(d, &user);
    let before = everything(&env, d, &user, &folders);

    for args in [&["--dry-run"][..], &["-k", "dry-run=yes"][..]] {
        let run = env.run_capture(args);
        let out = run.text();
        assert_eq!(run.code, Some(0), "{args:?}:\n{out}");
        for line in [
            "[DRYRUN] Creating folder INBOX[TestLocal]".to_owned(),
            "[DRYRUN] Creating folder Archive/2024[TestLocal]".to_owned(),
            "[DRYRUN] Copy 2 messages from INBOX[TestRemote] to TestLocal".to_owned(),
            format!("[DRYRUN] Copy message UID {a} (1/2) TestRemote:INBOX -> TestLocal:INBOX"),
            format!("[DRYRUN] Copy message UID {b} (2/2) TestRemote:INBOX -> TestLocal:INBOX"),
            format!(
                "[DRYRUN] Copy message UID {old} (1/1) TestRemote:Archive/2024 -> TestLocal:Archive/2024"
            ),
        ] {
            assert!(out.lines().any(|l| l == line), "no {line:?} in:\n{out}");
        }
        assert!(!out.contains("ERROR"), "{out}");
        // Not even the directories: no Maildir root, no metadata.
        assert!(!env.maildir().exists(), "{out}");
        assert!(!env.metadata().exists(), "{out}");
        assert_unchanged(&before, &everything(&env, d, &user, &folders), &out);
    }

    // The real run then does what the dry run said.
    let dry = env.run_capture(&["--dry-run"]).text();
    let real = env.sync();
    assert_eq!(
        action_lines(&dry),
        action_lines(&real),
        "{dry}\n---\n{real}"
    );
    assert_eq!(env.local_messages("INBOX").len(), 2);
}

#[test]
fn a_dry_resync_with_changes_on_both_sides_changes_nothing() {
    let d = Dovecot::shared();
    let user = d.add_user("dryresync");
    let mut c = d.imap(&user);
    let keep = c.append("INBOX", "\\Seen", &mail("keep"));
    let flag_remote = c.append("INBOX", "\\Seen", &mail("flag-remote"));
    let gone_remote = c.append("INBOX", "", &mail("gone-remote"));
    let gone_local = c.append("INBOX", "\\Seen", &mail("gone-local"));
    let unseen_local = c.append("INBOX", "\\Seen", &mail("unseen-local"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.sync();

    // Server: a new message, a flag added, a message expunged.
    let mut c = d.imap(&user);
    let new_remote = c.append("INBOX", "\\Answered", &mail("new-remote"));
    c.select("INBOX");
    c.store(flag_remote, "+FLAGS", "\\Flagged");
    c.store(gone_remote, "+FLAGS", "\\Deleted");
    c.ok("EXPUNGE");
    c.logout();
    // Maildir: a new message, one deleted, one marked unread.
    let local = env.local_messages("INBOX");
    let by_uid = |uid: u32| local.iter().find(|m| m.uid == Some(uid)).unwrap().clone();
    fs::write(
        env.maildir().join("INBOX/new/1700000000.M1P1.host:2,S"),
        b"From: me@example.org\nSubject: new-local\n\nWritten here.\n",
    )
    .unwrap();
    fs::remove_file(by_uid(gone_local).path).unwrap();
    let unseen = by_uid(unseen_local).path;
    let renamed = unseen.to_string_lossy().replace(":2,S", ":2,");
    fs::rename(&unseen, renamed).unwrap();

    let folders = ["INBOX"];
    let before = everything(&env, d, &user, &folders);
    let marker = env.dir.path().join("hook-ran");
    let hook = format!("Account_Test:presynchook=touch {}", marker.display());
    let run = env.run_capture(&["--dry-run", "-k", &hook]);
    let out = run.text();
    assert_eq!(run.code, Some(0), "{out}");
    for line in [
        "[DRYRUN] Copy 1 messages from INBOX[TestRemote] to TestLocal".to_owned(),
        "[DRYRUN] Copy 1 messages from INBOX[TestLocal] to TestRemote".to_owned(),
        format!("[DRYRUN] Copy message UID {new_remote} (1/1) TestRemote:INBOX -> TestLocal:INBOX"),
        format!("[DRYRUN] Deleting 1 messages ({gone_remote}) in Maildir[INBOX]"),
        format!("[DRYRUN] Deleting 1 messages ({gone_local}) in IMAP[INBOX]"),
        "[DRYRUN] Adding flag F to 1 messages on INBOX".to_owned(),
        "[DRYRUN] Deleting flag S from 1 messages on INBOX".to_owned(),
        format!("[DRYRUN] Calling hook: touch {}", marker.display()),
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in:\n{out}");
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with("[DRYRUN] Copy message UID -1 (1/1) TestLocal:INBOX")),
        "{out}"
    );
    assert!(!marker.exists(), "the hook ran in a dry run");
    assert_unchanged(&before, &everything(&env, d, &user, &folders), &out);

    // A second dry run says the same; the real run does exactly that.
    let again = env.run_capture(&["--dry-run"]).text();
    assert_eq!(action_lines(&again), action_lines(&out));
    let real = env.sync();
    assert_eq!(
        action_lines(&real),
        action_lines(&out),
        "{out}\n---\n{real}"
    );
    let server = server_messages(d, &user, "INBOX");
    assert_eq!(server.len(), 5, "{real}");
    assert!(
        server
            .iter()
            .all(|m| m.uid != gone_local && m.uid != gone_remote)
    );
    assert!(server.iter().any(|m| m.uid == keep));
    // Now there is nothing left to do, dry or not.
    let idle = env.run_capture(&["--dry-run"]).text();
    assert_eq!(action_lines(&idle), Vec::<String>::new(), "{idle}");
}

#[test]
fn info_reports_the_server_and_both_folder_lists_without_the_password() {
    let d = Dovecot::shared();
    let user = d.add_user("dryinfo");
    let mut c = d.imap(&user);
    c.create("Archive/2024");
    c.create("Trash");
    c.logout();
    let env = Env::for_user(d, &user);
    env.write_config(
        "folderfilter = lambda f: f != 'Trash'\nnametrans = lambda f: f.replace('Archive', 'Old')\n",
    );
    fs::create_dir_all(env.maildir().join("Local/cur")).unwrap();
    fs::create_dir_all(env.maildir().join("Local/new")).unwrap();
    fs::create_dir_all(env.maildir().join("Local/tmp")).unwrap();
    let before = tree(env.dir.path());

    let run = env.run_capture(&["--info"]);
    let out = run.text();
    assert_eq!(run.code, Some(0), "{out}");
    for want in [
        "Account 'Test'",
        "Remote repository 'TestRemote': type 'IMAP'",
        &format!("Host: 127.0.0.1 Port: {} SSL: no (plain text)", d.port()),
        "Local repository 'TestLocal': type 'Maildir'",
        "folderfilter= lambda f: f != 'Trash'",
        " INBOX",
        " Archive/2024 -> Old/2024",
        " Trash (disabled)",
        " Local",
    ] {
        assert!(out.lines().any(|l| l == want), "no {want:?} in:\n{out}");
    }
    let caps = out
        .lines()
        .find_map(|l| l.strip_prefix("Server capabilities: "))
        .unwrap_or_else(|| panic!("no capabilities in:\n{out}"));
    assert!(caps.split(' ').any(|c| c == "IMAP4rev1"), "{caps}");
    assert!(
        !out.contains(&env.password),
        "the password was shown:\n{out}"
    );
    // Nothing synced, nothing written.
    assert_eq!(tree(env.dir.path()), before, "{out}");
    assert!(!env.metadata().exists());
}

#[test]
fn quick_is_accepted_and_syncs_fully() {
    let d = Dovecot::shared();
    let user = d.add_user("dryquick");
    let mut c = d.imap(&user);
    c.append("INBOX", "\\Seen", &mail("one"));
    let two = c.append("INBOX", "", &mail("two"));
    c.logout();
    let env = Env::for_user(d, &user);
    let run = env.run_capture(&["-q"]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert_eq!(env.local_messages("INBOX").len(), 2);
    // A server-side flag change keeps the message count: OfflineIMAP's
    // quick sync would miss it, a full sync does not.
    let mut c = d.imap(&user);
    c.select("INBOX");
    c.store(two, "+FLAGS", "\\Flagged");
    c.logout();
    env.write_config("");
    let run = env.run_capture(&["-q", "-k", "Account_Test:quick=-1"]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert!(
        env.local_messages("INBOX")
            .iter()
            .any(|m| m.uid == Some(two) && m.flags == "F"),
        "{}",
        run.text()
    );
    assert!(!run.text().contains("not implemented"), "{}", run.text());
}

#[test]
fn a_local_folder_missing_on_the_server_is_reported_not_synced() {
    let d = Dovecot::shared();
    let user = d.add_user("drynewremote");
    let mut c = d.imap(&user);
    c.append("INBOX", "\\Seen", &mail("inbox"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.sync();
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(env.maildir().join("Notes").join(sub)).unwrap();
    }
    fs::write(
        env.maildir().join("Notes/cur/1700000000.M1P1.host:2,S"),
        b"From: me@example.org\nSubject: note\n\nA note.\n",
    )
    .unwrap();
    let folders = ["INBOX"];
    let before = everything(&env, d, &user, &folders);
    let run = env.run_capture(&["--dry-run"]);
    let out = run.text();
    assert_eq!(run.code, Some(0), "{out}");
    for line in [
        "[DRYRUN] Creating folder Notes[TestRemote]",
        "[DRYRUN] Folder Notes is not on TestRemote yet: a real run creates it and uploads \
         every message of Notes[TestLocal]",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in:\n{out}");
    }
    assert_unchanged(&before, &everything(&env, d, &user, &folders), &out);
    // The real run does create it and upload the note.
    let real = env.sync();
    assert!(
        real.lines()
            .any(|l| l == "Creating folder Notes[TestRemote]"),
        "{real}"
    );
    assert_eq!(server_messages(d, &user, "Notes").len(), 1, "{real}");
}
