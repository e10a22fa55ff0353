//! A folder larger than one UID range, synced range by range through the
//! real binary (`OFFLINEIMAP_SYNC_CHUNK=7`, about 40 messages): the first
//! sync, changes on the server, changes in the Maildir, each checked
//! message by message against the server with the raw test client; and a
//! no-change resync that fetches nothing (the CONDSTORE state the chunked
//! sync proved and saved still holds). The wire is read off `-d imap`.

use std::fs;

use crate::harness::{Env, LocalMessage, one_round_trip, server_messages, to_crlf, trace_lines};
use crate::support::dovecot::{Dovecot, User};

const CHUNK: &str = "7";

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\n\r\nbody {subject}\r\n"
    )
    .into_bytes()
}

/// Syncs with `-d imap` and the small range size; returns everything the
/// run printed (the trace included), failing the test unless it exits 0.
fn sync(env: &Env) -> String {
    sync_debug(env, "imap")
}

/// Syncs as [`sync`] does, with the Maildir's debug lines too.
fn sync_maildir_debug(env: &Env) -> String {
    sync_debug(env, "imap,maildir")
}

fn sync_debug(env: &Env, debug: &str) -> String {
    let out = env
        .command(&["-o", "-u", "basic", "-d", debug])
        .env("OFFLINEIMAP_SYNC_CHUNK", CHUNK)
        .output()
        .unwrap();
    text_of(out)
}

fn text_of(out: std::process::Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "offlineimap failed:\n{text}");
    text
}

/// The commands the client sent (`C: ` lines of the trace).
fn sent(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|l| l.split_once("C: ").map(|(_, c)| c))
        .collect()
}

/// Whether, after the first STATUS, the `(UID FLAGS MODSEQ)` listings
/// (at least two) went out pipelined: only the last one's answer came
/// with no other listing in flight.
fn proof_listings_pipelined(out: &str) -> bool {
    let trace = trace_lines(out);
    let mut listings = 0;
    let mut alone = 0;
    let mut waiting: Vec<&str> = Vec::new();
    let after_status = trace
        .iter()
        .skip_while(|(side, _, text)| !(*side == 'C' && text.starts_with("STATUS ")));
    for (side, tag, text) in after_status {
        if *side == 'C' {
            if text.contains("(UID FLAGS MODSEQ)") && !text.contains("CHANGEDSINCE") {
                listings += 1;
                waiting.push(tag);
            }
        } else if let Some(i) = waiting.iter().position(|t| t == tag) {
            waiting.remove(i);
            if waiting.is_empty() {
                alone += 1;
            }
        }
    }
    listings >= 2 && alone == 1
}

/// Every server message has its copy in the Maildir with the same UID,
/// flags and body, and the Maildir holds nothing else.
fn assert_same(d: &Dovecot, user: &User, env: &Env) {
    let server = server_messages(d, user, "INBOX");
    let mut local: Vec<LocalMessage> = env.local_messages("INBOX");
    local.sort_by_key(|m| m.uid);
    assert!(local.iter().all(|m| m.uid.is_some()), "{local:?}");
    assert_eq!(
        server.len(),
        local.len(),
        "server {:?}\nlocal {:?}",
        server.iter().map(|m| m.uid).collect::<Vec<_>>(),
        local.iter().map(|m| m.uid).collect::<Vec<_>>()
    );
    for (s, l) in server.iter().zip(&local) {
        assert_eq!(Some(s.uid), l.uid);
        assert_eq!(s.flags, l.flags, "flags of UID {}", s.uid);
        assert_eq!(s.bytes, to_crlf(&l.bytes), "body of UID {}", s.uid);
    }
}

/// Renames a Maildir message to carry `flags`.
fn set_local_flags(m: &LocalMessage, flags: &str) {
    let name = m.path.file_name().unwrap().to_str().unwrap();
    let base = name.split(":2,").next().unwrap();
    let to = m.path.with_file_name(format!("{base}:2,{flags}"));
    fs::rename(&m.path, to).unwrap();
}

#[test]
fn large_folder_syncs_in_ranges() {
    let d = Dovecot::shared();
    let user = d.add_user("chunked");
    let mut c = d.imap(&user);
    for i in 0..40 {
        let flags = match i % 4 {
            0 => "\\Seen",
            1 => "",
            2 => "\\Seen \\Flagged",
            _ => "\\Answered",
        };
        c.append("INBOX", flags, &mail(&format!("m{i}")));
    }
    c.logout();
    let env = Env::for_user(d, &user);

    // The first sync: listed range by range, never as a whole.
    let out = sync(&env);
    let cmds = sent(&out);
    assert!(cmds.iter().any(|c| c.contains("UID SEARCH ALL")), "{out}");
    let ranged = cmds
        .iter()
        .filter(|c| c.contains("(UID FLAGS RFC822.SIZE)"))
        .count();
    assert!(ranged >= 6, "one listing per range of 7: {out}");
    assert!(
        !cmds.iter().any(|c| c.contains("UID FETCH 1:* (UID FLAGS")),
        "{out}"
    );
    assert_same(d, &user, &env);
    let modseq = env
        .metadata()
        .join("Repository-TestRemote/FolderModSeq/INBOX");
    assert!(modseq.exists(), "the state proven after the sync is saved");
    // The proof lists each range again after a STATUS; those listings go
    // out pipelined, the next range's FETCH before the answer to the one
    // before it.
    assert!(
        proof_listings_pipelined(&out),
        "the proof's range listings, one round trip each: {out}"
    );

    // Changes on the server: flags, new messages, expunges.
    let mut c = d.imap(&user);
    c.select("INBOX");
    let uids = c.uids();
    c.store(uids[1], "+FLAGS", "\\Flagged");
    c.store(uids[9], "+FLAGS", "\\Seen");
    c.store(uids[22], "-FLAGS", "\\Seen");
    c.store(uids[38], "+FLAGS", "\\Answered");
    for u in [uids[3], uids[15], uids[30]] {
        c.store(u, "+FLAGS", "\\Deleted");
    }
    c.ok("EXPUNGE");
    for i in 0..5 {
        c.append("INBOX", "", &mail(&format!("s{i}")));
    }
    c.logout();
    // And one in the Maildir, so that its stamp no longer holds and the
    // folder is planned range by range (a Maildir as stamped plans only
    // the server's changes: condstore.rs).
    let local = env.local_messages("INBOX");
    let mine = local.iter().find(|m| m.uid == Some(uids[5])).unwrap();
    let name = mine
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let (stem, letters) = name.rsplit_once(":2,").unwrap();
    assert!(!letters.contains('D'), "{name}");
    let renamed = format!("{stem}:2,D{letters}");
    fs::rename(&mine.path, mine.path.with_file_name(renamed)).unwrap();
    let line = fs::read_to_string(&modseq).unwrap();
    let uidnext = line.split_whitespace().nth(1).unwrap().to_owned();
    let out = sync_maildir_debug(&env);
    assert!(!out.contains("Maildir as last synced"), "{out}");
    assert!(out.contains("Copy message"), "{out}");
    assert!(out.contains("Deleting"), "{out}");
    // The ranges were planned from one census of the Maildir; the files
    // the server's flag changes and expunges rename or delete were then
    // found in one more listing, not one per range.
    let scans = out.lines().filter(|l| l.contains("Scanned ")).count();
    assert_eq!(scans, 1, "{out}");
    assert_same(d, &user, &env);
    assert_eq!(env.local_messages("INBOX").len(), 42);
    // The QRESYNC SELECT said what changed: no range is listed, and the
    // result is proven with one CHANGEDSINCE FETCH, not a listing per
    // range.
    let cmds = sent(&out);
    assert!(cmds.iter().any(|c| c.contains("(QRESYNC")), "{out}");
    assert!(!cmds.iter().any(|c| c.contains("UID SEARCH ALL")), "{out}");
    let qresync = format!("UID FETCH {uidnext}:* (UID FLAGS RFC822.SIZE)");
    assert!(
        cmds.iter()
            .filter(|c| c.contains("(UID FLAGS RFC822.SIZE)"))
            .all(|c| c.ends_with(&qresync)),
        "{out}"
    );
    assert!(
        !cmds
            .iter()
            .any(|c| c.contains("(UID FLAGS MODSEQ)") && !c.contains("CHANGEDSINCE")),
        "{out}"
    );
    assert!(
        cmds.iter().any(|c| c.contains("CHANGEDSINCE")),
        "the changes are proven: {out}"
    );
    assert!(
        modseq.exists(),
        "the state proven after the changes is saved"
    );
    // A server change that only moved flags the Maildir then follows: the
    // next sync after it is listed from the delta again, and the one
    // after that fetches nothing.
    let mut c = d.imap(&user);
    c.select("INBOX");
    let now = c.uids();
    c.store(now[2], "+FLAGS", "\\Flagged");
    c.logout();
    let out = sync(&env);
    assert!(
        !sent(&out).iter().any(|c| c.contains("UID SEARCH ALL")),
        "{out}"
    );
    assert_same(d, &user, &env);
    let out = sync(&env);
    assert!(!sent(&out).iter().any(|c| c.contains("FETCH")), "{out}");

    // Flag changes and deletions in the Maildir only, in ranges far apart:
    // the server gets one STORE per flag change and one expunge for the
    // folder, not some per range.
    let mut local = env.local_messages("INBOX");
    local.sort_by_key(|m| m.uid);
    let unflagged: Vec<&LocalMessage> = local.iter().filter(|m| !m.flags.contains('F')).collect();
    let picked: Vec<&LocalMessage> = unflagged.iter().step_by(8).take(3).copied().collect();
    assert_eq!(picked.len(), 3, "{unflagged:?}");
    for m in &picked {
        set_local_flags(m, &format!("F{}", m.flags));
    }
    let gone = [&local[4], &local[27]];
    for m in gone {
        assert!(picked.iter().all(|p| p.path != m.path));
        fs::remove_file(&m.path).unwrap();
    }
    let out = sync(&env);
    let stores: Vec<&str> = sent(&out)
        .into_iter()
        .filter(|c| c.contains("UID STORE"))
        .collect();
    assert_eq!(stores.len(), 2, "{out}");
    assert!(
        stores
            .iter()
            .any(|c| c.contains("+FLAGS") && c.contains("\\Flagged") && c.contains(',')),
        "{out}"
    );
    assert!(stores.iter().any(|c| c.contains("\\Deleted")), "{out}");
    // Held to the folder's end, the deletions and the flag change go up
    // in one round trip, as a folder synced whole sends them.
    assert!(
        one_round_trip(
            &trace_lines(&out),
            &[
                "+FLAGS.SILENT (\\Deleted)",
                "UID EXPUNGE",
                "+FLAGS.SILENT (\\Flagged)"
            ]
        ),
        "{out}"
    );
    assert_same(d, &user, &env);
    assert!(
        modseq.exists(),
        "the state proven after the local changes is saved"
    );

    // Changes in the Maildir: flags, deletions, new messages.
    let mut local = env.local_messages("INBOX");
    local.sort_by_key(|m| m.uid);
    set_local_flags(&local[0], "FS");
    set_local_flags(&local[12], "");
    set_local_flags(&local[39], "RS");
    for m in [&local[5], &local[20], &local[33]] {
        fs::remove_file(&m.path).unwrap();
    }
    let new_dir = env.maildir().join("INBOX/new");
    for i in 0..4 {
        fs::write(
            new_dir.join(format!("17000000{i}.local{i}.host")),
            format!(
                "From: c@example.org\nSubject: l{i}\nMessage-ID: <l{i}@example.org>\n\nlocal {i}\n"
            ),
        )
        .unwrap();
    }
    let out = sync(&env);
    assert!(out.contains("Copy message"), "{out}");
    assert_same(d, &user, &env);
    let server = server_messages(d, &user, "INBOX");
    assert_eq!(server.len(), 41);
    for i in 0..4 {
        let subject = format!("Subject: l{i}\r\n");
        assert!(
            server.iter().any(|m| m
                .bytes
                .windows(subject.len())
                .any(|w| w == subject.as_bytes())),
            "local {i} uploaded"
        );
    }
    assert!(
        modseq.exists(),
        "the state proven after local changes is saved"
    );

    // A resync with nothing changed anywhere: nothing fetched.
    let out = sync(&env);
    assert!(!sent(&out).iter().any(|c| c.contains("FETCH")), "{out}");
    // Also when the folder has to be opened (its local stamp no longer
    // matches): the saved state says the server is the status cache.
    let cur = env.maildir().join("INBOX/cur");
    fs::write(cur.join(".touch"), b"").unwrap();
    fs::remove_file(cur.join(".touch")).unwrap();
    let line = fs::read_to_string(&modseq).unwrap();
    let uidnext = line.split_whitespace().nth(1).unwrap().to_owned();
    let out = sync(&env);
    let cmds = sent(&out);
    assert!(cmds.iter().any(|c| c.contains("SELECT")), "{out}");
    // Only what a QRESYNC SELECT asks along with it: the sizes of messages
    // from UIDNEXT on (there are none).
    let qresync = format!("UID FETCH {uidnext}:* (UID FLAGS RFC822.SIZE)");
    assert!(
        cmds.iter()
            .filter(|c| c.contains("FETCH"))
            .all(|c| c.ends_with(&qresync)),
        "{out}"
    );
    assert!(
        out.contains("unchanged on the server since the last sync"),
        "{out}"
    );
    assert_same(d, &user, &env);
}
