//! The sync window against a private Dovecot: `maxage` (messages APPENDed
//! with old INTERNALDATEs), `maxsize` both ways, and `startdate` on a
//! first sync. Above all: nothing outside the window is copied, and
//! nothing is deleted only because it is outside.

use std::fs;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::harness::{Env, crlf_to_lf, server_flags, server_messages};
use crate::support::dovecot::{Dovecot, User};

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\n\r\nText of {subject}.\r\n"
    )
    .into_bytes()
}

/// A message of `lines` body lines of 40 characters.
fn long_mail(subject: &str, lines: usize) -> Vec<u8> {
    let mut m = mail(subject);
    for _ in 0..lines {
        m.extend_from_slice(&[b'x'; 40]);
        m.extend_from_slice(b"\r\n");
    }
    m
}

/// APPEND with an INTERNALDATE (`"01-Jan-2020 10:00:00 +0000"`); returns
/// the new UID.
fn append_dated(d: &Dovecot, user: &User, flags: &str, date: &str, message: &[u8]) -> u32 {
    let mut c = d.imap(user);
    let text = String::from_utf8(message.to_vec()).unwrap();
    let (_, done) = c.command(&format!(
        "APPEND \"INBOX\" ({flags}) \"{date}\" {{{}+}}\r\n{text}",
        message.len()
    ));
    c.logout();
    assert!(done.starts_with("OK"), "APPEND -> {done}");
    let rest = &done[done.find("[APPENDUID ").expect("no APPENDUID") + 11..];
    rest[..rest.find(']').unwrap()]
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

fn append_now(d: &Dovecot, user: &User, flags: &str, message: &[u8]) -> u32 {
    let mut c = d.imap(user);
    let uid = c.append("INBOX", flags, message);
    c.logout();
    uid
}

fn expunge(d: &Dovecot, user: &User, uid: u32) {
    let mut c = d.imap(user);
    c.select("INBOX");
    c.store(uid, "+FLAGS", "\\Deleted");
    c.ok("EXPUNGE");
    c.logout();
}

/// Adds lines to `[Account Test]` of the harness's config.
fn set_account(env: &Env, lines: &str) {
    let path = env.config_path();
    let text = fs::read_to_string(&path).unwrap();
    let anchor = "remoterepository = TestRemote\n";
    assert!(text.contains(anchor));
    fs::write(
        &path,
        text.replacen(anchor, &format!("{anchor}{lines}\n"), 1),
    )
    .unwrap();
}

/// The subjects of the local INBOX, sorted.
fn local_subjects(env: &Env) -> Vec<String> {
    let mut v: Vec<String> = env
        .local_messages("INBOX")
        .iter()
        .map(|m| subject(&m.bytes))
        .collect();
    v.sort();
    v
}

fn server_subjects(d: &Dovecot, user: &User) -> Vec<String> {
    let mut v: Vec<String> = server_messages(d, user, "INBOX")
        .iter()
        .map(|m| subject(&m.bytes))
        .collect();
    v.sort();
    v
}

fn subject(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or("?")
        .trim()
        .to_string()
}

/// Lines of the output that show a message copied or deleted.
fn changes(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.contains("Copy message") || l.contains("Deleting"))
        .collect()
}

/// A new message written by a mail client now (LF line ends, the time in
/// the file name).
fn write_local_new(env: &Env, name_tail: &str, bytes: &[u8]) -> std::path::PathBuf {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let path = env
        .maildir()
        .join("INBOX/new")
        .join(format!("{now}.M1P1.{name_tail}"));
    fs::write(&path, crlf_to_lf(bytes)).unwrap();
    path
}

#[test]
fn maxage_copies_only_recent_messages() {
    let d = Dovecot::shared();
    let user = d.add_user("maxagefirst");
    append_dated(
        d,
        &user,
        "\\Seen",
        "01-Jan-2020 10:00:00 +0000",
        &mail("old1"),
    );
    append_dated(d, &user, "", "01-Feb-2020 10:00:00 +0000", &mail("old2"));
    let r1 = append_now(d, &user, "\\Seen", &mail("recent1"));
    let r2 = append_now(d, &user, "", &mail("recent2"));
    let env = Env::for_user(d, &user);
    set_account(&env, "maxage = 30");
    env.sync();
    assert_eq!(local_subjects(&env), ["recent1", "recent2"]);
    let uids: Vec<Option<u32>> = env.local_messages("INBOX").iter().map(|m| m.uid).collect();
    assert!(
        uids.contains(&Some(r1)) && uids.contains(&Some(r2)),
        "{uids:?}"
    );
    // Nothing left to do, and the old messages stay on the server.
    let out = env.sync();
    assert_eq!(changes(&out), Vec::<&str>::new(), "{out}");
    assert_eq!(
        server_subjects(d, &user),
        ["old1", "old2", "recent1", "recent2"]
    );
}

#[test]
fn maxage_never_deletes_nor_reflags_old_messages() {
    let d = Dovecot::shared();
    let user = d.add_user("maxagekeep");
    let old1 = append_dated(
        d,
        &user,
        "\\Seen",
        "01-Jan-2020 10:00:00 +0000",
        &mail("old1"),
    );
    let old2 = append_dated(
        d,
        &user,
        "\\Seen",
        "01-Feb-2020 10:00:00 +0000",
        &mail("old2"),
    );
    let old3 = append_dated(
        d,
        &user,
        "\\Seen",
        "01-Mar-2020 10:00:00 +0000",
        &mail("old3"),
    );
    append_now(d, &user, "", &mail("recent1"));
    let r2 = append_now(d, &user, "", &mail("recent2"));
    let env = Env::for_user(d, &user);
    // A full sync first: every message is local, in files named now.
    env.sync();
    assert_eq!(local_subjects(&env).len(), 5);

    set_account(&env, "maxage = 30");
    // On the server: an old message deleted, another flagged, the newest
    // deleted (its UID is above the lowest recent one: inside). Locally: an old message deleted, a new one written.
    expunge(d, &user, old1);
    {
        let mut c = d.imap(&user);
        c.select("INBOX");
        c.store(old3, "+FLAGS", "\\Flagged");
        c.logout();
    }
    expunge(d, &user, r2);
    let local_old2 = env
        .local_messages("INBOX")
        .into_iter()
        .find(|m| m.uid == Some(old2))
        .unwrap();
    fs::remove_file(&local_old2.path).unwrap();
    write_local_new(&env, "client", &mail("written-locally"));

    let out = env.sync();
    // Old messages: deleted on one side, kept on the other; flags as they
    // were.
    assert_eq!(
        local_subjects(&env),
        ["old1", "old3", "recent1", "written-locally"],
        "{out}"
    );
    assert_eq!(
        server_subjects(d, &user),
        ["old2", "old3", "recent1", "written-locally"],
        "{out}"
    );
    let local_old3 = env
        .local_messages("INBOX")
        .into_iter()
        .find(|m| m.uid == Some(old3))
        .unwrap();
    assert_eq!(local_old3.flags, "S");
    assert!(
        server_flags(d, &user, "INBOX").contains(&(old3, "FS".to_string())),
        "{out}"
    );
    // The recent message deleted on the server went locally too.
    assert!(
        env.local_messages("INBOX")
            .iter()
            .all(|m| m.uid != Some(r2))
    );
    let out = env.sync();
    assert_eq!(changes(&out), Vec::<&str>::new(), "{out}");
}

/// With no message within maxage on the server, offlineimap3 takes its
/// threshold from the Maildir's file names (download times, so all
/// recent) and deletes locally an old message deleted on the server.
#[test]
fn maxage_without_recent_server_mail_keeps_old_local_mail() {
    let d = Dovecot::shared();
    let user = d.add_user("maxagenorecent");
    let old1 = append_dated(
        d,
        &user,
        "\\Seen",
        "01-Jan-2020 10:00:00 +0000",
        &mail("old1"),
    );
    append_dated(
        d,
        &user,
        "\\Seen",
        "01-Feb-2020 10:00:00 +0000",
        &mail("old2"),
    );
    let env = Env::for_user(d, &user);
    env.sync();
    set_account(&env, "maxage = 30");
    expunge(d, &user, old1);
    let out = env.sync();
    assert_eq!(local_subjects(&env), ["old1", "old2"], "{out}");
    assert_eq!(changes(&out), Vec::<&str>::new(), "{out}");
}

#[test]
fn maxsize_skips_big_messages_both_ways() {
    let d = Dovecot::shared();
    let user = d.add_user("maxsize");
    append_now(d, &user, "\\Seen", &mail("small-remote"));
    append_now(d, &user, "", &long_mail("big-remote", 100));
    let env = Env::for_user(d, &user);
    set_account(&env, "maxsize = 2000");
    env.sync();
    assert_eq!(local_subjects(&env), ["small-remote"]);

    let big_local = write_local_new(&env, "big", &long_mail("big-local", 100));
    write_local_new(&env, "small", &mail("small-local"));
    env.sync();
    assert_eq!(
        server_subjects(d, &user),
        ["big-remote", "small-local", "small-remote"]
    );
    // The big local message stays as it was: not uploaded, not renamed.
    assert!(big_local.exists());
    assert_eq!(
        local_subjects(&env),
        ["big-local", "small-local", "small-remote"]
    );
    let out = env.sync();
    assert_eq!(changes(&out), Vec::<&str>::new(), "{out}");
}

#[test]
fn maxsize_never_deletes_a_message_whose_sizes_straddle_the_limit() {
    let d = Dovecot::shared();
    let user = d.add_user("maxsizeedge");
    let msg = long_mail("straddling", 60);
    let uid = append_now(d, &user, "\\Seen", &msg);
    let env = Env::for_user(d, &user);
    env.sync();
    // The Maildir file (LF) is at the limit, the server's copy (CRLF)
    // over it: OfflineIMAP would delete the local file here.
    let lf_size = crlf_to_lf(&msg).len();
    assert!(lf_size < msg.len());
    set_account(&env, &format!("maxsize = {lf_size}"));
    for _ in 0..2 {
        let out = env.sync();
        assert_eq!(changes(&out), Vec::<&str>::new(), "{out}");
        let local = env.local_messages("INBOX");
        assert_eq!(local.len(), 1, "{out}");
        assert_eq!(local[0].uid, Some(uid));
        assert_eq!(server_subjects(d, &user), ["straddling"]);
    }
}

#[test]
fn startdate_first_sync_copies_from_the_date_on() {
    let d = Dovecot::shared();
    let user = d.add_user("startdate");
    append_dated(
        d,
        &user,
        "\\Seen",
        "01-Jan-2020 10:00:00 +0000",
        &mail("old"),
    );
    let mid = append_dated(
        d,
        &user,
        "\\Seen",
        "15-Jun-2023 10:00:00 +0000",
        &mail("mid"),
    );
    append_now(d, &user, "", &mail("recent"));
    let env = Env::for_user(d, &user);
    env.write_config("startdate = 2023-01-01\n");
    env.sync();
    assert_eq!(local_subjects(&env), ["mid", "recent"]);
    assert_eq!(
        fs::read_to_string(env.metadata().join("Repository-TestRemote/StartUID/INBOX")).unwrap(),
        format!("{mid}\n")
    );
    // Later syncs go by UID, as OfflineIMAP's do: a message added now is
    // taken in whatever its date; the old one still is not.
    append_dated(
        d,
        &user,
        "",
        "01-Jan-2019 10:00:00 +0000",
        &mail("added-later"),
    );
    write_local_new(&env, "client", &mail("written-locally"));
    env.sync();
    assert_eq!(
        local_subjects(&env),
        ["added-later", "mid", "recent", "written-locally"]
    );
    assert_eq!(
        server_subjects(d, &user),
        ["added-later", "mid", "old", "recent", "written-locally"]
    );
}

#[test]
fn startdate_refuses_a_local_folder_with_messages() {
    let d = Dovecot::shared();
    let user = d.add_user("startdatefull");
    append_dated(
        d,
        &user,
        "\\Seen",
        "01-Jan-2020 10:00:00 +0000",
        &mail("old"),
    );
    append_now(d, &user, "", &mail("recent"));
    let env = Env::for_user(d, &user);
    env.sync();
    env.write_config("startdate = 2023-01-01\n");
    let run = env.run_capture(&[]);
    assert_ne!(run.code, Some(0), "{}", run.text());
    assert!(
        run.text().contains(
            "To use startdate on Repository TestRemote, Repository TestLocal must be empty"
        ),
        "{}",
        run.text()
    );
    assert_eq!(local_subjects(&env), ["old", "recent"]);
    assert_eq!(server_subjects(d, &user), ["old", "recent"]);
    assert!(
        !env.metadata()
            .join("Repository-TestRemote/StartUID/INBOX")
            .exists()
    );
}

/// OfflineIMAP 3 (Debian's `offlineimap3`), as scripts/test installs it.
const OFFLINEIMAP3: &str = "/usr/bin/offlineimap";

fn run_offlineimap3(env: &Env) {
    assert!(
        std::path::Path::new(OFFLINEIMAP3).is_file(),
        "{OFFLINEIMAP3} (Debian's offlineimap3) is needed; scripts/test installs it"
    );
    let out = std::process::Command::new(OFFLINEIMAP3)
        .arg("-c")
        .arg(env.config_path())
        .args(["-o", "-u", "basic"])
        .env("HOME", env.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "offlineimap3 failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The same server synced by offlineimap3 and by us into two Maildirs:
/// the same messages with maxage, the same StartUID with startdate.
#[test]
fn maxage_and_startdate_agree_with_offlineimap3() {
    let d = Dovecot::shared();
    let user = d.add_user("windowinterop");
    append_dated(
        d,
        &user,
        "\\Seen",
        "01-Jan-2020 10:00:00 +0000",
        &mail("old"),
    );
    append_dated(d, &user, "", "15-Jun-2023 10:00:00 +0000", &mail("mid"));
    append_now(d, &user, "\\Seen", &mail("recent1"));
    append_now(d, &user, "", &long_mail("recent-big", 100));

    let theirs = Env::for_user(d, &user);
    set_account(&theirs, "maxage = 30\nmaxsize = 2000");
    run_offlineimap3(&theirs);
    let ours = Env::for_user(d, &user);
    set_account(&ours, "maxage = 30\nmaxsize = 2000");
    ours.sync();
    assert_eq!(local_subjects(&ours), local_subjects(&theirs));
    assert_eq!(local_subjects(&ours), ["recent1"]);

    let theirs = Env::for_user(d, &user);
    theirs.write_config("startdate = 2023-01-01\n");
    run_offlineimap3(&theirs);
    let ours = Env::for_user(d, &user);
    ours.write_config("startdate = 2023-01-01\n");
    ours.sync();
    assert_eq!(local_subjects(&ours), local_subjects(&theirs));
    let start_uid = |env: &Env| {
        fs::read_to_string(env.metadata().join("Repository-TestRemote/StartUID/INBOX")).unwrap()
    };
    assert_eq!(start_uid(&ours), start_uid(&theirs));
    // And we carry on from offlineimap3's file.
    theirs.sync();
    assert_eq!(local_subjects(&theirs), local_subjects(&ours));
}
