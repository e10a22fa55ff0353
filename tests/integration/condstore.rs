//! CONDSTORE's no-change shortcut through the real binary: a folder the
//! server reports unchanged (same UIDVALIDITY, UIDNEXT, EXISTS and
//! HIGHESTMODSEQ) since a sync that left it equal to the status cache is
//! not listed again. What the binary sends is read off a small TCP relay
//! between it and Dovecot; the results are checked on both sides with the
//! raw test client and the harness's Maildir reader.

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::harness::{Env, one_round_trip, server_flags, trace_lines};
use crate::support::dovecot::{Dovecot, User};

/// Forwards every connection to Dovecot and keeps what clients sent.
struct Relay {
    port: u16,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl Relay {
    fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = sent.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let log = log.clone();
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut s_read, mut c_write) = (server, client);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    while let Ok(n) = c_read.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        log.lock().unwrap().extend_from_slice(&buf[..n]);
                        if s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = s_write.shutdown(Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s_read, &mut c_write);
                    let _ = c_write.shutdown(Shutdown::Write);
                });
            }
        });
        Relay { port, sent }
    }

    /// What clients sent since the last call, as text.
    fn take(&self) -> String {
        let bytes = std::mem::take(&mut *self.sent.lock().unwrap());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// How many full folder listings (`UID FETCH 1:*` for the sync's
/// snapshot) the client sent.
fn listings(sent: &str) -> usize {
    sent.lines()
        .filter(|l| {
            let u = l.to_ascii_uppercase();
            u.contains("UID FETCH 1:*") && !u.contains("MODSEQ") && !u.contains("CHANGEDSINCE")
        })
        .count()
}

/// How many listings of only what changed since a saved HIGHESTMODSEQ.
fn partial_listings(sent: &str) -> usize {
    sent.lines()
        .filter(|l| {
            let u = l.to_ascii_uppercase();
            u.contains("UID FETCH 1:* (UID FLAGS RFC822.SIZE) (CHANGEDSINCE")
        })
        .count()
}

/// How many listings proving the state after our own changes were sent
/// (only what changed since the plan's listing: CHANGEDSINCE).
fn settles(sent: &str) -> usize {
    sent.lines()
        .filter(|l| {
            l.to_ascii_uppercase()
                .contains("UID FETCH 1:* (UID FLAGS MODSEQ)")
        })
        .count()
}

fn statuses(sent: &str) -> usize {
    sent.lines()
        .filter(|l| l.to_ascii_uppercase().contains(" STATUS "))
        .count()
}

fn selects(sent: &str) -> Vec<&str> {
    sent.lines()
        .filter(|l| {
            let u = l.to_ascii_uppercase();
            u.contains(" SELECT ") || u.contains(" EXAMINE ")
        })
        .collect()
}

fn change_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| {
            [
                "Copy message",
                "Deleting",
                "Adding flag",
                "Removing flag",
                "Creating folder",
            ]
            .iter()
            .any(|w| l.contains(w))
        })
        .collect()
}

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\n\r\nbody {subject}\r\n"
    )
    .into_bytes()
}

fn modseq_file(env: &Env, folder: &str) -> PathBuf {
    env.metadata()
        .join("Repository-TestRemote/FolderModSeq")
        .join(folder.replace('/', "."))
}

/// Local (flags, uid) of a folder, sorted by UID.
fn local_flags(env: &Env, folder: &str) -> Vec<(u32, String)> {
    let mut v: Vec<(u32, String)> = env
        .local_messages(folder)
        .into_iter()
        .map(|m| (m.uid.unwrap(), m.flags))
        .collect();
    v.sort();
    v
}

fn populate(d: &Dovecot, user: &User) {
    let mut c = d.imap(user);
    c.create("Work");
    c.append("INBOX", "\\Seen", &mail("a"));
    c.append("INBOX", "", &mail("b"));
    c.append("Work", "\\Flagged", &mail("w"));
    c.logout();
}

/// Syncs through the relay and returns (output, what was sent).
fn sync(env: &Env, relay: &Relay) -> (String, String) {
    relay.take();
    let out = env.sync();
    (out, relay.take())
}

/// The first sync copies everything and saves the server's state, so the
/// next one may skip listing. It changed nothing on the server, so the
/// SELECT's state is the one saved, with no round trip to prove it.
fn settled(d: &Dovecot, user: &User) -> (Env, Relay) {
    populate(d, user);
    let relay = Relay::start(d.port());
    let env = Env::new(relay.port, &user.name, &user.password);
    let (out, sent) = sync(&env, &relay);
    assert!(out.contains("Copy message"), "{out}");
    assert_eq!(listings(&sent), 2, "{sent}");
    assert_eq!(statuses(&sent), 0, "{sent}");
    assert_eq!(settles(&sent), 0, "{sent}");
    assert!(modseq_file(&env, "INBOX").exists());
    assert!(modseq_file(&env, "Work").exists());
    (env, relay)
}

#[test]
fn unchanged_server_is_not_listed_again() {
    let d = Dovecot::shared();
    let user = d.add_user("cs_nochange");
    let (env, relay) = settled(d, &user);
    let line = fs::read_to_string(modseq_file(&env, "INBOX")).unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields.len(), 6, "{line:?}");
    assert_eq!(fields[3], "2", "EXISTS of INBOX: {line:?}");
    // The local side was stamped too.
    assert_ne!(fields[5], "0000000000000000", "{line:?}");
    // OfflineIMAP's own files are as they were.
    let validity = env
        .metadata()
        .join("Repository-TestRemote/FolderValidity/INBOX");
    assert!(
        fs::read_to_string(validity)
            .unwrap()
            .trim()
            .parse::<u32>()
            .is_ok()
    );

    for _ in 0..2 {
        let (out, sent) = sync(&env, &relay);
        assert!(change_lines(&out).is_empty(), "{out}");
        assert_eq!(listings(&sent), 0, "{sent}");
        // Both sides unchanged: one pipelined STATUS per folder, and no
        // folder even selected.
        assert!(selects(&sent).is_empty(), "{sent}");
        // Dovecot lists its capabilities in its greeting and again when
        // the login succeeds: nothing to ask.
        assert!(!sent.contains("CAPABILITY"), "{sent}");
        assert_eq!(statuses(&sent), 2, "{sent}");
        assert!(out.contains("Syncing INBOX"), "{out}");
    }
    assert_eq!(local_flags(&env, "INBOX"), server_flags(d, &user, "INBOX"));
    assert_eq!(local_flags(&env, "Work"), server_flags(d, &user, "Work"));
}

/// A CONDSTORE server without QRESYNC: what changed is listed with
/// CHANGEDSINCE, and UID SEARCH finds what is gone.
#[test]
fn server_changes_are_listed_and_synced() {
    let d = &Dovecot::start_with_config(&format!(
        "protocol imap {{\n  imap_capability = {NO_QRESYNC}\n}}\n"
    ));
    let user = d.add_user("cs_remotechg");
    let (env, relay) = settled(d, &user);
    assert!(!relay.take().contains("QRESYNC"));

    // A flag change by another client.
    let mut c = d.imap(&user);
    c.select("INBOX");
    let uids = c.uids();
    c.store(uids[1], "+FLAGS", "\\Flagged");
    c.logout();
    let (out, sent) = sync(&env, &relay);
    // Only what changed since the saved state is listed, only in INBOX.
    assert_eq!(listings(&sent), 0, "{sent}");
    assert_eq!(partial_listings(&sent), 1, "only INBOX changed: {sent}");
    assert!(!change_lines(&out).is_empty(), "{out}");
    assert_eq!(local_flags(&env, "INBOX"), server_flags(d, &user, "INBOX"));
    assert!(local_flags(&env, "INBOX")[1].1.contains('F'));

    // A new message.
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail("c"));
    c.logout();
    // The run that copies it lists and saves the new state; the next skips.
    let (out, sent) = sync(&env, &relay);
    assert_eq!(partial_listings(&sent), 1, "{sent}");
    assert!(out.contains("Copy message"), "{out}");
    // Nothing changed on the server by us: the SELECT's state is recorded
    // without a settling round trip.
    assert_eq!(settles(&sent), 0, "{sent}");
    let (_, sent) = sync(&env, &relay);
    assert_eq!(listings(&sent) + partial_listings(&sent), 0, "{sent}");
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail("d"));
    c.logout();
    let (out, sent) = sync(&env, &relay);
    assert_eq!(partial_listings(&sent), 1, "only INBOX changed: {sent}");
    assert!(out.contains("Copy message"), "{out}");
    assert_eq!(local_flags(&env, "INBOX"), server_flags(d, &user, "INBOX"));
    assert_eq!(env.local_messages("INBOX").len(), 4);

    // An expunge by another client.
    let (_, sent) = sync(&env, &relay);
    assert_eq!(listings(&sent), 0, "{sent}");
    let mut c = d.imap(&user);
    c.select("INBOX");
    let uids = c.uids();
    c.store(uids[0], "+FLAGS", "\\Deleted");
    c.ok("EXPUNGE");
    c.logout();
    let (out, sent) = sync(&env, &relay);
    assert_eq!(partial_listings(&sent), 1, "only INBOX changed: {sent}");
    // The count says a message is gone: which old ones are left.
    assert!(sent.contains("UID SEARCH UID 1:"), "{sent}");
    assert!(!sent.contains("QRESYNC"), "{sent}");
    assert!(out.contains("Deleting"), "{out}");
    assert_eq!(env.local_messages("INBOX").len(), 3);
    assert_eq!(local_flags(&env, "INBOX"), server_flags(d, &user, "INBOX"));
}

/// Dovecot's capabilities with CONDSTORE but without QRESYNC.
const NO_QRESYNC: &str = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS CONDSTORE";

/// QRESYNC SELECTs of the folders with a saved state.
fn qresync_selects(sent: &str) -> usize {
    selects(sent)
        .iter()
        .filter(|l| l.to_ascii_uppercase().contains("(QRESYNC ("))
        .count()
}

/// With QRESYNC the SELECT itself reports a flag change, a new message and
/// an expunge by another client: no CHANGEDSINCE listing, no UID SEARCH.
#[test]
fn qresync_select_brings_changes_and_vanished() {
    let d = Dovecot::shared();
    let user = d.add_user("cs_qresync");
    let (env, relay) = settled(d, &user);
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail("c"));
    c.append("INBOX", "", &mail("d"));
    c.select("INBOX");
    let uids = c.uids();
    c.store(uids[1], "+FLAGS", "\\Flagged");
    c.store(uids[0], "+FLAGS", "\\Deleted");
    c.ok("EXPUNGE");
    c.logout();
    let (out, sent) = sync(&env, &relay);
    assert_eq!(qresync_selects(&sent), 1, "only INBOX changed: {sent}");
    assert_eq!(sent.matches("ENABLE QRESYNC").count(), 1, "{sent}");
    assert_eq!(listings(&sent) + partial_listings(&sent), 0, "{sent}");
    assert!(!sent.contains("UID SEARCH"), "{sent}");
    assert!(out.contains("Deleting"), "{out}");
    assert!(out.contains("Copy message"), "{out}");
    assert!(out.contains("Adding flag"), "{out}");
    assert_eq!(env.local_messages("INBOX").len(), 3);
    assert_eq!(local_flags(&env, "INBOX"), server_flags(d, &user, "INBOX"));
    assert!(local_flags(&env, "INBOX")[0].1.contains('F'));

    // The state after that sync was saved: nothing left to do.
    let (out, sent) = sync(&env, &relay);
    assert!(change_lines(&out).is_empty(), "{out}");
    assert!(selects(&sent).is_empty(), "{sent}");

    // Our own deletion goes up as UID EXPUNGE, answered with VANISHED on
    // a QRESYNC connection; the state after it is still proven.
    let mut c = d.imap(&user);
    c.select("INBOX");
    let uids = c.uids();
    c.store(uids[0], "+FLAGS", "\\Seen");
    c.logout();
    let second = local_flags(&env, "INBOX")[1].0;
    let gone = env.local_messages("INBOX").into_iter();
    let gone = gone.filter(|m| m.uid == Some(second)).map(|m| m.path);
    for path in gone {
        fs::remove_file(path).unwrap();
    }
    let (out, sent) = sync(&env, &relay);
    assert_eq!(qresync_selects(&sent), 1, "{sent}");
    assert!(sent.contains("UID EXPUNGE"), "{sent}");
    assert!(out.contains("Deleting"), "{out}");
    assert_eq!(local_flags(&env, "INBOX"), server_flags(d, &user, "INBOX"));
    assert_eq!(server_flags(d, &user, "INBOX").len(), 2);
    assert!(modseq_file(&env, "INBOX").exists());
    let (out, sent) = sync(&env, &relay);
    assert!(change_lines(&out).is_empty(), "{out}");
    assert!(selects(&sent).is_empty(), "{sent}");
}

#[test]
fn local_changes_go_up_while_the_server_is_unchanged() {
    let d = Dovecot::shared();
    let user = d.add_user("cs_localchg");
    let (env, relay) = settled(d, &user);

    // Flag a message locally (the file's `:2,` letters).
    let msgs = env.local_messages("Work");
    assert_eq!(msgs.len(), 1);
    let path = &msgs[0].path;
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let renamed = name.replace(":2,F", ":2,FS");
    assert_ne!(name, renamed);
    fs::rename(path, path.with_file_name(renamed)).unwrap();
    // Delete one locally, and write a new one.
    let inbox = env.local_messages("INBOX");
    fs::remove_file(&inbox[0].path).unwrap();
    fs::write(
        env.maildir().join("INBOX/new/1700000000.local.host"),
        b"From: me@example.org\nSubject: local\n\nlocal\n",
    )
    .unwrap();

    let (out, sent) = sync(&env, &relay);
    // Both folders changed locally: the stats say so, and the server is
    // not even asked whether it changed (no pre-pass STATUS).
    assert!(
        !sent
            .lines()
            .any(|l| l.contains(" STATUS ") && l.contains("UIDVALIDITY")),
        "{sent}"
    );
    // The server was not listed, and still got every change.
    assert_eq!(listings(&sent), 0, "{sent}");
    assert!(!change_lines(&out).is_empty(), "{out}");
    assert_eq!(server_flags(d, &user, "Work")[0].1, "FS");
    let server = server_flags(d, &user, "INBOX");
    assert_eq!(server.len(), 2, "{server:?}");
    assert_eq!(local_flags(&env, "INBOX"), server);
    // Our own changes were proven on the server and its new state saved:
    // the next run lists nothing and has nothing to do.
    assert_eq!(settles(&sent), 2, "{sent}");
    let (out, sent) = sync(&env, &relay);
    assert!(change_lines(&out).is_empty(), "{out}");
    assert_eq!(listings(&sent), 0, "{sent}");
}

/// A change made right after a sync, within the same clock tick as the
/// sync's own last change, still moves the folder's stamp: the next sync
/// sees it. Repeated, each time straight after a sync that changed the
/// Maildir itself.
#[test]
fn a_local_change_right_after_a_sync_is_seen() {
    let d = Dovecot::shared();
    let user = d.add_user("cs_quick");
    let (env, relay) = settled(d, &user);
    for round in 0..4 {
        // A server change, so that the sync below writes to the Maildir.
        let mut c = d.imap(&user);
        c.append("INBOX", "", &mail(&format!("s{round}")));
        c.logout();
        let (out, _) = sync(&env, &relay);
        assert!(out.contains("Copy message"), "{out}");
        // Straight away: toggle a flag, add a message, per round.
        let msgs = env.local_messages("INBOX");
        let path = &msgs[0].path;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (base, flags) = name.rsplit_once(":2,").unwrap();
        let mut letters: Vec<char> = flags.chars().collect();
        if let Some(i) = letters.iter().position(|c| *c == 'F') {
            letters.remove(i);
        } else {
            letters.push('F');
            letters.sort_unstable();
        }
        let renamed = format!("{base}:2,{}", letters.iter().collect::<String>());
        fs::rename(path, path.with_file_name(&renamed)).unwrap();
        fs::write(
            env.maildir()
                .join(format!("INBOX/new/17000000{round}.quick.host")),
            format!("From: me@example.org\nSubject: quick {round}\n\nquick\n"),
        )
        .unwrap();
        let (out, sent) = sync(&env, &relay);
        assert!(!selects(&sent).is_empty(), "round {round}: skipped: {out}");
        assert_eq!(
            local_flags(&env, "INBOX"),
            server_flags(d, &user, "INBOX"),
            "round {round}"
        );
        assert_eq!(
            env.local_messages("INBOX").len(),
            server_flags(d, &user, "INBOX").len()
        );
    }
    // And once all is quiet, the folders are skipped again.
    let (_, sent) = sync(&env, &relay);
    assert!(selects(&sent).is_empty(), "{sent}");
}

/// A folder our own deletions left empty is proven too (the CHANGEDSINCE
/// fetch of an empty folder), and then skipped.
#[test]
fn a_folder_emptied_by_us_is_proven_and_skipped() {
    let d = Dovecot::shared();
    let user = d.add_user("cs_emptied");
    let (env, relay) = settled(d, &user);
    for m in env.local_messages("Work") {
        fs::remove_file(&m.path).unwrap();
    }
    let (out, sent) = sync(&env, &relay);
    assert!(out.contains("Deleting"), "{out}");
    assert!(server_flags(d, &user, "Work").is_empty());
    assert!(sent.contains("CHANGEDSINCE"), "{sent}");
    let (out, sent) = sync(&env, &relay);
    assert!(change_lines(&out).is_empty(), "{out}");
    assert!(selects(&sent).is_empty(), "both folders skipped: {sent}");
}

#[test]
fn status_changed_behind_our_back_means_a_listing() {
    let d = Dovecot::shared();
    let user = d.add_user("cs_statuschg");
    let (env, relay) = settled(d, &user);
    // Someone else (OfflineIMAP itself, say) rewrote the status cache.
    let db = env.metadata().join("Account-Test/LocalStatus-sqlite/INBOX");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE status SET flags = 'FS' WHERE flags = 'S'", [])
        .unwrap();
    drop(conn);
    let (_, sent) = sync(&env, &relay);
    assert_eq!(listings(&sent), 1, "{sent}");
    assert_eq!(local_flags(&env, "INBOX"), server_flags(d, &user, "INBOX"));
}

#[test]
fn server_without_condstore_syncs_as_before() {
    let d = Dovecot::start_with_config(
        "protocol imap {\n  imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS\n}\n",
    );
    let user = d.add_user("cs_none");
    populate(&d, &user);
    let relay = Relay::start(d.port());
    let env = Env::new(relay.port, &user.name, &user.password);
    let (out, _) = sync(&env, &relay);
    assert!(out.contains("Copy message"), "{out}");
    for _ in 0..2 {
        let (out, sent) = sync(&env, &relay);
        assert!(change_lines(&out).is_empty(), "{out}");
        assert_eq!(listings(&sent), 2, "{sent}");
        assert!(!sent.contains("CONDSTORE"), "{sent}");
        assert!(!sent.contains("QRESYNC"), "{sent}");
        assert!(!sent.contains("MODSEQ"), "{sent}");
    }
    assert!(!modseq_file(&env, "INBOX").exists());
    let mut c = d.imap(&user);
    c.select("INBOX");
    let uids = c.uids();
    c.store(uids[0], "+FLAGS", "\\Flagged");
    c.logout();
    sync(&env, &relay);
    assert_eq!(local_flags(&env, "INBOX"), server_flags(&d, &user, "INBOX"));
}

/// With `sync_deletes = no` the status keeps rows for messages the server
/// no longer has: it never equals the server, so the folder is listed (what
/// changed since the last equal state) every time, and the kept copy is
/// neither deleted nor uploaded again.
#[test]
fn sync_deletes_off_never_takes_the_shortcut() {
    let d = Dovecot::shared();
    let user = d.add_user("cs_nodeletes");
    populate(d, &user);
    let relay = Relay::start(d.port());
    let env = Env::new(relay.port, &user.name, &user.password);
    env.write_config("sync_deletes = no\n");
    sync(&env, &relay);
    let mut c = d.imap(&user);
    c.select("INBOX");
    let uids = c.uids();
    c.store(uids[0], "+FLAGS", "\\Deleted");
    c.ok("EXPUNGE");
    c.logout();
    let files = crate::harness::all_files(&env.maildir());
    for round in 0..3 {
        let (out, sent) = sync(&env, &relay);
        // Each run lists what changed since the state saved before the
        // expunge (still the status cache's), never nothing at all.
        assert_eq!(listings(&sent), 0, "round {round}: {sent}");
        // With QRESYNC the SELECT itself says what changed.
        assert_eq!(qresync_selects(&sent), 1, "INBOX, not Work: {sent}");
        assert_eq!(partial_listings(&sent), 0, "{sent}");
        assert_eq!(crate::harness::all_files(&env.maildir()), files, "{out}");
        assert_eq!(server_flags(d, &user, "INBOX").len(), 1, "{out}");
    }
}

/// Syncs through the relay with the Maildir's debug lines.
fn sync_debug(env: &Env, relay: &Relay) -> (String, String) {
    relay.take();
    let out = env.run(&["-d", "maildir"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "offlineimap failed:\n{text}");
    (text, relay.take())
}

/// A Maildir untouched since the last sync (its stamp holds) and a
/// server that changed: only the messages the server changed are
/// planned, the Maildir is read for their names alone, and what the sync
/// left is proven without listing it again, so the next sync skips it.
#[test]
fn a_maildir_as_stamped_plans_only_the_servers_changes() {
    let d = Dovecot::shared();
    let user = d.add_user("cs_delta");
    let (env, relay) = settled(d, &user);
    let mut c = d.imap(&user);
    for i in 0..6 {
        c.append("INBOX", "\\Seen", &mail(&format!("old{i}")));
    }
    c.logout();
    sync(&env, &relay);
    let (_, sent) = sync(&env, &relay);
    assert!(selects(&sent).is_empty(), "settled again: {sent}");

    let mut c = d.imap(&user);
    c.select("INBOX");
    let uids = c.uids();
    assert_eq!(uids.len(), 8);
    c.store(uids[1], "+FLAGS", "\\Flagged");
    c.store(uids[4], "-FLAGS", "\\Seen");
    c.store(uids[6], "+FLAGS", "\\Deleted");
    c.ok("EXPUNGE");
    c.append("INBOX", "", &mail("new"));
    c.logout();
    let (out, sent) = sync_debug(&env, &relay);
    // Two flag changes, one expunge, one new message.
    assert!(
        out.contains("INBOX: Maildir as last synced; planning the 4 message(s)"),
        "{out}"
    );
    assert!(!out.contains("Work: Maildir as last synced"), "{out}");
    let scans: Vec<&str> = out.lines().filter(|l| l.contains("Scanned ")).collect();
    assert_eq!(scans.len(), 1, "{out}");
    assert!(scans[0].contains(": 3 messages with a UID"), "{out}");
    assert_eq!(qresync_selects(&sent), 1, "{sent}");
    assert_eq!(
        listings(&sent) + partial_listings(&sent) + settles(&sent),
        0,
        "{sent}"
    );
    assert!(out.contains("Deleting"), "{out}");
    assert!(out.contains("Copy message"), "{out}");
    assert_eq!(local_flags(&env, "INBOX"), server_flags(d, &user, "INBOX"));
    assert_eq!(env.local_messages("INBOX").len(), 8);
    let (out, sent) = sync(&env, &relay);
    assert!(change_lines(&out).is_empty(), "{out}");
    assert!(selects(&sent).is_empty(), "proven and skipped: {sent}");
}

/// A Maildir changed without its stamp moving (a file deleted, the
/// directory's time put back) loses nothing: the files the server's
/// changes need are looked up, one is missing, and the folder takes the
/// full path, which sees the deletion for what it is.
#[test]
fn a_touched_file_missing_despite_the_stamp_means_the_full_path() {
    let d = Dovecot::shared();
    let user = d.add_user("cs_delta_gone");
    let (env, relay) = settled(d, &user);
    let mut c = d.imap(&user);
    c.select("INBOX");
    let uids = c.uids();
    c.store(uids[0], "+FLAGS", "\\Answered");
    c.logout();
    let victim = env
        .local_messages("INBOX")
        .into_iter()
        .find(|m| m.uid == Some(uids[0]))
        .unwrap();
    let dir = victim.path.parent().unwrap().to_path_buf();
    let before = fs::metadata(&dir).unwrap().modified().unwrap();
    fs::remove_file(&victim.path).unwrap();
    fs::File::open(&dir).unwrap().set_modified(before).unwrap();
    let (out, _) = sync_debug(&env, &relay);
    assert!(
        out.contains("INBOX: the Maildir is not as its stamp says"),
        "{out}"
    );
    assert!(!out.contains("Maildir as last synced"), "{out}");
    // The full path saw the local deletion and sent it up.
    assert_eq!(server_flags(d, &user, "INBOX").len(), 1, "{out}");
    assert_eq!(local_flags(&env, "INBOX"), server_flags(d, &user, "INBOX"));
}

/// Rename a Maildir message so that its `:2,` letters are `letters` (in
/// `cur/`, where a message with an info part belongs).
fn set_letters(path: &std::path::Path, letters: &str) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let base = name.split(":2,").next().unwrap().to_owned();
    let cur = path.parent().unwrap().parent().unwrap().join("cur");
    fs::rename(path, cur.join(format!("{base}:2,{letters}"))).unwrap();
}

/// A folder's local deletions and flag changes go up as UID STORE
/// (\Deleted), UID EXPUNGE and one UID STORE per flag change, all sent
/// together: one round trip, where one per command (or per kind of
/// change) would cost a server across a network a round trip each
/// (bench/run --rtt).
#[test]
fn local_deletions_and_flag_changes_take_one_round_trip() {
    let d = Dovecot::shared();
    let user = d.add_user("cs_pipelined");
    populate(d, &user);
    let mut c = d.imap(&user);
    for s in ["p", "q"] {
        c.append("INBOX", "", &mail(s));
    }
    c.logout();
    let env = Env::for_user(d, &user);
    let out = env.sync();
    assert!(out.contains("Copy message"), "{out}");

    // INBOX holds a (seen), b, p, q: b and p deleted, a unseen, q flagged.
    let inbox = env.local_messages("INBOX");
    assert_eq!(inbox.len(), 4);
    let by_subject = |s: &str| {
        let needle = format!("Subject: {s}\r");
        let found = inbox.iter().find(|m| {
            String::from_utf8_lossy(&m.bytes).contains(&needle)
                || String::from_utf8_lossy(&m.bytes).contains(&format!("Subject: {s}\n"))
        });
        found.unwrap().path.clone()
    };
    fs::remove_file(by_subject("b")).unwrap();
    fs::remove_file(by_subject("p")).unwrap();
    set_letters(&by_subject("a"), "");
    set_letters(&by_subject("q"), "F");

    let log = env.dir.path().join("pipelined.log");
    let run = env.run_capture(&["-d", "imap", "-l", log.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    let trace = trace_lines(&fs::read_to_string(&log).unwrap());
    assert!(
        one_round_trip(
            &trace,
            &[
                "+FLAGS.SILENT (\\Deleted)",
                "UID EXPUNGE",
                "+FLAGS.SILENT (\\Flagged)",
                "-FLAGS.SILENT (\\Seen)"
            ]
        ),
        "{trace:#?}"
    );
    // And the server holds what the Maildir does.
    let server = server_flags(d, &user, "INBOX");
    assert_eq!(server.len(), 2, "{server:?}");
    assert_eq!(local_flags(&env, "INBOX"), server);
    assert!(server.iter().any(|(_, f)| f == "F"), "{server:?}");
    assert!(server.iter().all(|(_, f)| !f.contains('S')), "{server:?}");
}
