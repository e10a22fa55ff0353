//! End to end: the real `offlineimap` binary against a private Dovecot.
//! Each test has its own Dovecot user and its own temp dir (Maildir,
//! metadata, config). The server is prepared and inspected with the raw
//! test client or doveadm, the Maildir with the harness's own reader;
//! nothing here uses the crate's code.

use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::{
    Env, LocalMessage, ServerMessage, all_files, crlf_to_lf, md5_hex, multiset, server_flags,
    server_messages, to_crlf,
};
use crate::support::dovecot::{Dovecot, User};

fn mail(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// A message as a mail client would save it: LF line ends.
fn local_mail(subject: &str) -> Vec<u8> {
    format!("From: me@example.org\nTo: you@example.org\nSubject: {subject}\n\nWritten locally.\n")
        .into_bytes()
}

/// Lines of the output that show a change being made.
fn change_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| {
            ["Copy message", "Deleting", "Adding flag", "Creating folder"]
                .iter()
                .any(|w| l.contains(w))
        })
        .collect()
}

fn file_name(m: &LocalMessage) -> String {
    m.path.file_name().unwrap().to_string_lossy().into_owned()
}

/// `new` or `cur`.
fn subdir(m: &LocalMessage) -> String {
    m.path
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Compares (possibly huge) byte strings without printing them.
fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let at = got
            .iter()
            .zip(want)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        let ctx = |b: &[u8]| {
            String::from_utf8_lossy(&b[at.saturating_sub(20)..(at + 20).min(b.len())]).into_owned()
        };
        panic!(
            "{what}: {} bytes vs {} expected, first difference at {at}: {:?} vs {:?}",
            got.len(),
            want.len(),
            ctx(got),
            ctx(want)
        );
    }
}

/// Checks that the local folder (same name as the server's wire name, as
/// OfflineIMAP without nametrans) holds exactly the server's messages:
/// the bytes in LF form, the flags, `,U=` = server UID and this folder's
/// FMD5. Returns the server's messages.
fn assert_in_sync(env: &Env, d: &Dovecot, user: &User, folder: &str) -> Vec<ServerMessage> {
    let server = server_messages(d, user, folder);
    let local = env.local_messages(folder);
    let names: Vec<String> = local.iter().map(file_name).collect();
    assert_eq!(
        local.len(),
        server.len(),
        "{folder}: local {names:?} vs server UIDs {:?}",
        server.iter().map(|m| m.uid).collect::<Vec<_>>()
    );
    let fmd5 = format!(",FMD5={}", md5_hex(folder));
    for s in &server {
        let l = local
            .iter()
            .find(|l| l.uid == Some(s.uid))
            .unwrap_or_else(|| panic!("{folder}: no local file for UID {} in {names:?}", s.uid));
        assert_eq!(l.flags, s.flags, "{folder} UID {}: {}", s.uid, file_name(l));
        assert!(
            file_name(l).contains(&fmd5),
            "{folder}: {} lacks {fmd5}",
            file_name(l)
        );
        // A file saved with CRLF by a client keeps its line ends.
        let want = if l.bytes.windows(2).any(|w| w == b"\r\n") {
            s.bytes.clone()
        } else {
            crlf_to_lf(&s.bytes)
        };
        assert_same_bytes(&l.bytes, &want, &format!("{folder} UID {}", s.uid));
    }
    server
}

/// Files we wrote or renamed are in cur/ exactly when they carry S.
fn assert_placement(local: &[LocalMessage]) {
    for m in local {
        let want = if m.flags.contains('S') { "cur" } else { "new" };
        assert_eq!(subdir(m), want, "{}", m.path.display());
    }
}

/// `(id, flags)` rows of a status database, by id.
fn status_rows(db: &Path) -> Vec<(u32, String)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("{}: {e}", db.display()));
    let mut stmt = conn
        .prepare("SELECT id, flags FROM status ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn expunge(d: &Dovecot, user: &User, folder: &str, uid: u32) {
    let mut c = d.imap(user);
    c.select(folder);
    c.store(uid, "+FLAGS", "\\Deleted");
    c.ok("EXPUNGE");
    c.logout();
}

fn uidvalidity(d: &Dovecot, user: &User, folder: &str) -> u32 {
    let mut c = d.imap(user);
    let v = c.select(folder);
    c.logout();
    v
}

/// Writes a message into `<folder>/<sub>/<name>` as a mail client would.
fn write_local(env: &Env, folder: &str, sub: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let path = env.maildir().join(folder).join(sub).join(name);
    fs::write(&path, bytes).unwrap();
    path
}

const FOLDERS: [&str; 4] = ["INBOX", "INBOX/Sub", "Archive/2024", "Entw&APw-rfe"];

/// A nested folder, a non-ASCII one (by its modified UTF-7 wire name),
/// INBOX and a folder inside INBOX, with a mix of flags.
fn populate(d: &Dovecot, user: &User) {
    let mut c = d.imap(user);
    c.create("Archive/2024");
    c.create("Entw&APw-rfe");
    c.create("INBOX/Sub");
    c.append("INBOX", "\\Seen", &mail("seen", "one"));
    c.append("INBOX", "", &mail("unseen", "two"));
    c.append("INBOX", "\\Flagged \\Answered", &mail("flagged", "three"));
    c.append("INBOX", "\\Draft \\Seen \\Flagged", &mail("draft", "four"));
    c.append("Archive/2024", "\\Seen", &mail("old", "five"));
    c.append("Archive/2024", "", &mail("older", "six"));
    c.append("Entw&APw-rfe", "\\Draft", &mail("entwurf", "sieben"));
    c.append("INBOX/Sub", "\\Seen", &mail("sub", "acht"));
    c.logout();
}

#[test]
fn first_sync_copies_every_folder_and_message() {
    let d = Dovecot::shared();
    let user = d.add_user("first");
    populate(d, &user);
    let env = Env::for_user(d, &user);
    env.sync();

    // Archive is only a \Noselect parent on the server: a plain directory.
    assert_eq!(
        env.local_folders(),
        ["Archive/2024", "Entw&APw-rfe", "INBOX", "INBOX/Sub"]
    );
    let meta = env.metadata();
    for (folder, basename) in [
        ("INBOX", "INBOX"),
        ("INBOX/Sub", "INBOX.Sub"),
        ("Archive/2024", "Archive.2024"),
        ("Entw&APw-rfe", "Entw&APw-rfe"),
    ] {
        let server = assert_in_sync(&env, d, &user, folder);
        assert_placement(&env.local_messages(folder));
        let want: Vec<(u32, String)> = server.iter().map(|m| (m.uid, m.flags.clone())).collect();
        let db = meta.join("Account-Test/LocalStatus-sqlite").join(basename);
        assert_eq!(status_rows(&db), want, "{}", db.display());
        let remote_validity = meta
            .join("Repository-TestRemote/FolderValidity")
            .join(basename);
        assert_eq!(
            fs::read_to_string(&remote_validity).unwrap(),
            format!("{}\n", uidvalidity(d, &user, folder))
        );
        let local_validity = meta
            .join("Repository-TestLocal/FolderValidity")
            .join(basename);
        assert_eq!(fs::read_to_string(&local_validity).unwrap(), "42\n");
    }
    // The flags made it over as letters.
    let inbox: Vec<String> = server_messages(d, &user, "INBOX")
        .into_iter()
        .map(|m| m.flags)
        .collect();
    assert_eq!(inbox, ["S", "", "FR", "DFS"]);
    assert_eq!(
        md5_hex("INBOX"),
        "7e33429f656f1e6e9d79b29c3f82c57e",
        "the FMD5 of docs/formats.md"
    );
}

#[test]
fn a_second_run_changes_nothing() {
    let d = Dovecot::shared();
    let user = d.add_user("second");
    populate(d, &user);
    let env = Env::for_user(d, &user);
    let first = env.sync();
    assert!(!change_lines(&first).is_empty(), "{first}");

    let files = all_files(&env.maildir());
    let server: Vec<_> = FOLDERS.iter().map(|f| server_flags(d, &user, f)).collect();
    let out = env.sync();
    assert_eq!(change_lines(&out), Vec::<&str>::new(), "{out}");
    assert_eq!(all_files(&env.maildir()), files);
    let after: Vec<_> = FOLDERS.iter().map(|f| server_flags(d, &user, f)).collect();
    assert_eq!(after, server);
}

#[test]
fn remote_changes_reach_the_maildir() {
    let d = Dovecot::shared();
    let user = d.add_user("remotechg");
    let mut c = d.imap(&user);
    let a = c.append("INBOX", "\\Seen", &mail("a", "a"));
    let b = c.append("INBOX", "\\Seen", &mail("b", "b"));
    let gone = c.append("INBOX", "", &mail("c", "c"));
    let env = Env::for_user(d, &user);
    env.sync();
    assert_eq!(env.local_messages("INBOX").len(), 3);

    let new = c.append("INBOX", "\\Answered", &mail("new", "d"));
    c.select("INBOX");
    c.store(b, "+FLAGS", "\\Flagged");
    c.store(a, "-FLAGS", "\\Seen");
    c.logout();
    expunge(d, &user, "INBOX", gone);

    let out = env.sync();
    let server = assert_in_sync(&env, d, &user, "INBOX");
    let got: Vec<(u32, String)> = server.iter().map(|m| (m.uid, m.flags.clone())).collect();
    assert_eq!(
        got,
        [
            (a, String::new()),
            (b, "FS".to_string()),
            (new, "R".to_string())
        ],
        "{out}"
    );
    assert_placement(&env.local_messages("INBOX"));

    let again = env.sync();
    assert_eq!(change_lines(&again), Vec::<&str>::new(), "{again}");
}

#[test]
fn local_changes_reach_the_server() {
    let d = Dovecot::shared();
    let user = d.add_user("localchg");
    let mut c = d.imap(&user);
    let a = c.append("INBOX", "\\Seen", &mail("a", "a"));
    let b = c.append("INBOX", "", &mail("b", "b"));
    let cc = c.append("INBOX", "\\Seen", &mail("c", "c"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.sync();
    let local = env.local_messages("INBOX");
    let by_uid = |uid: u32| local.iter().find(|m| m.uid == Some(uid)).unwrap().clone();

    // New mail saved by a mail client: one with an info part, one without.
    let seen_new = local_mail("new and seen");
    let plain_new = local_mail("new without info");
    write_local(&env, "INBOX", "new", "1700000000.M1P1.host:2,S", &seen_new);
    write_local(&env, "INBOX", "new", "1700000001.M2P1.host", &plain_new);
    // Some clients save CRLF line ends: those go up unchanged.
    let crlf_new = to_crlf(&local_mail("saved with CRLF"));
    write_local(&env, "INBOX", "cur", "1700000002.M3P1.host:2,RS", &crlf_new);
    // b flagged and read: the client moves it to cur/ with new flags.
    let old_b = by_uid(b).path;
    let base_b = file_name(&by_uid(b));
    let base_b = base_b.split_once(":2,").unwrap().0;
    fs::rename(
        &old_b,
        env.maildir()
            .join("INBOX/cur")
            .join(format!("{base_b}:2,FS")),
    )
    .unwrap();
    // c marked unread in place.
    let old_c = by_uid(cc).path;
    let name_c = file_name(&by_uid(cc));
    fs::rename(&old_c, old_c.with_file_name(name_c.replace(":2,S", ":2,"))).unwrap();
    // a deleted.
    fs::remove_file(by_uid(a).path).unwrap();

    let out = env.sync();
    let server = server_messages(d, &user, "INBOX");
    let uids: Vec<u32> = server.iter().map(|m| m.uid).collect();
    assert_eq!(uids.len(), 5, "{uids:?}\n{out}");
    assert!(!uids.contains(&a), "a was expunged: {uids:?}");
    let flags_of = |uid: u32| server.iter().find(|m| m.uid == uid).unwrap().flags.clone();
    assert_eq!(flags_of(b), "FS");
    assert_eq!(flags_of(cc), "");
    let uploaded = |bytes: &[u8]| {
        server
            .iter()
            .find(|m| m.bytes == to_crlf(bytes))
            .unwrap_or_else(|| panic!("not uploaded: {}\n{out}", String::from_utf8_lossy(bytes)))
            .clone()
    };
    let up_seen = uploaded(&seen_new);
    let up_plain = uploaded(&plain_new);
    let up_crlf = uploaded(&crlf_new);
    assert_eq!(up_seen.flags, "S");
    assert_eq!(up_plain.flags, "");
    assert_eq!(up_crlf.flags, "RS");
    assert!(up_seen.uid > cc && up_plain.uid > cc && up_crlf.uid > cc);

    // The new files now carry the server's UID, keeping their unique part
    // and, as OfflineIMAP's relabel does, their directory.
    let local = env.local_messages("INBOX");
    let fmd5 = md5_hex("INBOX");
    for (up, prefix, sub) in [
        (&up_seen, "1700000000.M1P1.host,", "new"),
        (&up_plain, "1700000001.M2P1.host,", "new"),
        (&up_crlf, "1700000002.M3P1.host,", "cur"),
    ] {
        let m = local
            .iter()
            .find(|m| m.uid == Some(up.uid))
            .unwrap_or_else(|| panic!("UID {} not in {local:?}", up.uid));
        let name = file_name(m);
        assert!(name.starts_with(prefix), "{name}");
        assert!(
            name.contains(&format!(",U={},FMD5={fmd5}", up.uid)),
            "{name}"
        );
        assert_eq!(subdir(m), sub, "{name}");
    }
    assert_in_sync(&env, d, &user, "INBOX");

    // A further run: nothing to do, no duplicates on either side.
    let again = env.sync();
    assert_eq!(change_lines(&again), Vec::<&str>::new(), "{again}");
    let server = assert_in_sync(&env, d, &user, "INBOX");
    assert_eq!(server.len(), 5);
    let counts = multiset(server.iter().map(|m| m.bytes.as_slice()));
    assert!(counts.values().all(|n| *n == 1), "duplicates on the server");
    let local = env.local_messages("INBOX");
    assert!(local.iter().all(|m| m.uid.is_some()), "{local:?}");
}

/// A message that tests every byte-level trap: 8-bit Latin-1 text, bare LF
/// line ends in part of the body, a 1000-character line, and a 20 MB
/// attachment.
fn awkward_message() -> Vec<u8> {
    let mut m = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: bytes\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
        --XX\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\
        Content-Transfer-Encoding: 8bit\r\n\r\n"
        .to_vec();
    m.extend_from_slice(b"Gr\xfc\xdfe aus K\xf6ln, \xa9 2024 \xff\xfe\r\n");
    m.extend_from_slice(b"bare LF line one\nbare LF line two\n");
    m.extend_from_slice("y".repeat(1000).as_bytes());
    m.extend_from_slice(
        b"\r\n--XX\r\nContent-Type: application/octet-stream\r\n\
        Content-Transfer-Encoding: base64\r\n\
        Content-Disposition: attachment; filename=big.bin\r\n\r\n",
    );
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while m.len() < 20 * 1024 * 1024 {
        for _ in 0..76 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            m.push(B64[(x % 64) as usize]);
        }
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"--XX--\r\n");
    m
}

#[test]
fn awkward_bytes_round_trip_exactly() {
    let d = Dovecot::shared();
    let user = d.add_user("bytes");
    let mut c = d.imap(&user);
    c.create("Copy");
    c.append("INBOX", "\\Seen", &awkward_message());
    c.logout();
    let original = server_messages(d, &user, "INBOX").remove(0);
    // What the test relies on: Dovecot serves the bare LFs as CRLF, and
    // keeps the 8-bit bytes.
    assert!(
        !crlf_to_lf(&original.bytes).windows(2).any(|w| w == b"\r\r"),
        "no CR CR LF"
    );
    assert!(
        original
            .bytes
            .windows(b"line one\r\nbare".len())
            .any(|w| w == b"line one\r\nbare"),
        "Dovecot no longer serves bare LF as CRLF"
    );
    assert!(original.bytes.windows(2).any(|w| w == b"\xfc\xdf"));

    let env = Env::for_user(d, &user);
    // The 20 MB body comes in pieces of 1 MiB (imap::PIECE), four
    // asked ahead of the one being written, never the whole body at once.
    let out = env.run(&["-d", "imap"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "offlineimap failed:\n{text}");
    let trace = crate::harness::trace_lines(&text);
    let pieces: Vec<&String> = trace
        .iter()
        .filter(|(side, _, line)| *side == 'C' && line.contains("BODY.PEEK[]<"))
        .map(|(_, _, line)| line)
        .collect();
    let size = original.bytes.len();
    assert_eq!(pieces.len(), size.div_ceil(1024 * 1024), "{pieces:?}");
    assert!(
        pieces[1].ends_with("(UID BODY.PEEK[]<1048576.1048576>)"),
        "{}",
        pieces[1]
    );
    assert!(
        !trace
            .iter()
            .any(|(side, _, line)| *side == 'C' && line.contains("BODY.PEEK[])")),
        "no whole-body FETCH"
    );
    assert!(
        crate::harness::one_round_trip(
            &trace,
            &[
                "BODY.PEEK[]<0.",
                "[]<1048576.",
                "[]<2097152.",
                "[]<3145728."
            ]
        ),
        "the first four pieces go out together"
    );
    assert_in_sync(&env, d, &user, "INBOX");
    let local = env.local_messages("INBOX").remove(0);

    // The same file handed to another folder as a new message goes back to
    // the server byte for byte.
    write_local(
        &env,
        "Copy",
        "cur",
        "1700000000.M9P9.host:2,S",
        &local.bytes,
    );
    env.sync();
    let copies = server_messages(d, &user, "Copy");
    assert_eq!(copies.len(), 1);
    assert_same_bytes(&copies[0].bytes, &original.bytes, "uploaded copy");
    assert_eq!(copies[0].flags, "S");
    assert_in_sync(&env, d, &user, "Copy");
}

#[test]
fn a_changed_uidvalidity_skips_only_that_folder() {
    let d = Dovecot::shared();
    let user = d.add_user("validity");
    let mut c = d.imap(&user);
    c.create("Other");
    c.append("INBOX", "", &mail("inbox", "1"));
    c.append("Other", "\\Seen", &mail("other one", "2"));
    c.append("Other", "", &mail("other two", "3"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.sync();
    assert_eq!(env.local_messages("Other").len(), 2);

    let old = uidvalidity(d, &user, "Other");
    d.set_uidvalidity(&user, "Other", old + 1000);
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail("inbox new", "4"));
    c.append("Other", "", &mail("other new", "5"));
    c.logout();
    write_local(
        &env,
        "Other",
        "new",
        "1700000000.M1P1.host",
        &local_mail("local"),
    );
    let local_before = all_files(&env.maildir().join("Other"));
    let server_before = server_messages(d, &user, "Other");

    let run = env.run_capture(&[]);
    assert_eq!(run.code, Some(2), "{}", run.text());
    let warning = run
        .text()
        .lines()
        .find(|l| l.contains("UID validity problem for folder Other"))
        .map(str::to_string);
    assert!(warning.is_some(), "{}", run.text());
    assert_eq!(all_files(&env.maildir().join("Other")), local_before);
    assert_eq!(server_messages(d, &user, "Other"), server_before);
    // INBOX went on as usual.
    assert_eq!(assert_in_sync(&env, d, &user, "INBOX").len(), 2);
    // The saved value is kept, so the folder stays skipped until the user
    // deals with it.
    let saved = env
        .metadata()
        .join("Repository-TestRemote/FolderValidity/Other");
    assert_eq!(fs::read_to_string(&saved).unwrap(), format!("{old}\n"));
    let again = env.run_capture(&[]);
    assert_eq!(again.code, Some(2), "{}", again.text());
    assert_eq!(all_files(&env.maildir().join("Other")), local_before);
}

#[test]
fn a_local_folder_is_created_on_the_server() {
    let d = Dovecot::shared();
    let user = d.add_user("localfolder");
    let env = Env::for_user(d, &user);
    env.sync();
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(env.maildir().join("Projects/Rust").join(sub)).unwrap();
    }
    let bytes = local_mail("project");
    write_local(
        &env,
        "Projects/Rust",
        "cur",
        "1700000000.M1P1.host:2,FS",
        &bytes,
    );

    let out = env.sync();
    assert!(
        out.contains("Creating folder Projects/Rust[TestRemote]"),
        "{out}"
    );
    let server = assert_in_sync(&env, d, &user, "Projects/Rust");
    assert_eq!(server.len(), 1);
    assert_eq!(server[0].bytes, to_crlf(&bytes));
    assert_eq!(server[0].flags, "FS");
    let again = env.sync();
    assert_eq!(change_lines(&again), Vec::<&str>::new(), "{again}");
}

#[test]
fn bad_configurations_fail_with_one_line_and_touch_nothing() {
    type Edit = fn(&str) -> String;
    let cases: [(&str, Edit, &[&str], &[&str]); 5] = [
        ("missing file", |_| String::new(), &[], &["not found"]),
        (
            "unknown account",
            |t| t.to_string(),
            &["-a", "Nope"],
            &["-a", "Nope"],
        ),
        (
            "undefined repository",
            |t| {
                t.replace(
                    "remoterepository = TestRemote",
                    "remoterepository = Nowhere",
                )
            },
            &[],
            &["[Account Test]", "remoterepository", "Nowhere"],
        ),
        (
            "bad port",
            |t| {
                let start = t.find("remoteport = ").unwrap();
                let end = start + t[start..].find('\n').unwrap();
                format!("{}remoteport = 99999{}", &t[..start], &t[end..])
            },
            &[],
            &["[Repository TestRemote]", "remoteport", "99999"],
        ),
        (
            "missing remotehost",
            |t| t.replace("remotehost = 127.0.0.1\n", ""),
            &[],
            &["[Repository TestRemote]", "remotehost"],
        ),
    ];
    for (what, edit, args, needles) in cases {
        // No server is needed: nothing may get as far as connecting.
        let env = Env::new(1, "nobody", "secret-pw");
        let text = fs::read_to_string(env.config_path()).unwrap();
        if what == "missing file" {
            fs::remove_file(env.config_path()).unwrap();
        } else {
            fs::write(env.config_path(), edit(&text)).unwrap();
        }
        let run = env.run_capture(args);
        assert_eq!(run.code, Some(1), "{what}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{what}: {run:?}");
        let config = env.config_path().display().to_string();
        for needle in needles.iter().copied().chain([config.as_str()]) {
            assert!(
                run.stderr.contains(needle),
                "{what}: {needle} not in {run:?}"
            );
        }
        assert!(!run.text().contains("secret-pw"), "{what}: {run:?}");
        assert!(!env.maildir().exists(), "{what}: Maildir created");
        assert!(!env.metadata().exists(), "{what}: metadata created");
    }
}

#[test]
fn command_line_flags() {
    let env = Env::new(1, "nobody", "x");
    let run = |args: &[&str]| crate::harness::Run::from(env.command(args).output().unwrap());

    // Nothing to migrate without a Maildir; nothing is created either.
    let info = run(&["--migrate-fmd5-using-nametrans"]);
    assert_eq!(info.code, Some(0), "{info:?}");
    assert!(
        info.stdout.contains("Account Test: 0 files migrated"),
        "{info:?}"
    );
    assert!(!env.maildir().exists() && !env.metadata().exists());

    let version = run(&["--version"]);
    assert_eq!(version.code, Some(0), "{version:?}");
    assert!(version.stdout.starts_with("offlineimap "), "{version:?}");
    let v = run(&["-V"]);
    assert_eq!(v.code, Some(0), "{v:?}");
    assert!(v.stdout.contains("offlineimap"), "{v:?}");

    let help = run(&["-h"]);
    assert_eq!(help.code, Some(0), "{help:?}");
    for option in [
        "-a <",
        "-c <",
        "-o",
        "-u <",
        "-1",
        "-V",
        "--dry-run",
        "--info",
    ] {
        assert!(
            help.stdout.contains(option),
            "{option} not in\n{}",
            help.stdout
        );
    }
}

fn tls_env(user: &User, port: u16, tls: &str) -> Env {
    let env = Env::new(port, &user.name, &user.password);
    env.write_config_tls("sep = /\n", tls, "");
    env
}

#[test]
fn implicit_tls_with_the_ca_file_syncs() {
    let d = Dovecot::shared_tls();
    let user = d.add_user("e2etls");
    d.imap(&user).append("INBOX", "\\Seen", &mail("tls", "t"));
    let ca = d.ca_file().display().to_string();
    let env = tls_env(
        &user,
        d.tls_port(),
        &format!("ssl = yes\nsslcacertfile = {ca}\n"),
    );
    env.sync();
    assert_eq!(assert_in_sync(&env, d, &user, "INBOX").len(), 1);
}

#[test]
fn implicit_tls_against_system_roots_fails_verification() {
    let d = Dovecot::shared_tls();
    let user = d.add_user("e2ebadca");
    d.imap(&user).append("INBOX", "", &mail("tls", "t"));
    let env = tls_env(&user, d.tls_port(), "ssl = yes\n");
    let run = env.run_capture(&[]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.text().contains("verif"), "{run:?}");
    assert!(env.local_messages("INBOX").is_empty());
}

#[test]
fn starttls_with_the_ca_file_syncs() {
    let d = Dovecot::shared_tls();
    let user = d.add_user("e2estarttls");
    d.imap(&user)
        .append("INBOX", "\\Flagged", &mail("starttls", "s"));
    let ca = d.ca_file().display().to_string();
    let env = tls_env(
        &user,
        d.port(),
        &format!("ssl = no\nstarttls = yes\nsslcacertfile = {ca}\n"),
    );
    env.sync();
    assert_eq!(assert_in_sync(&env, d, &user, "INBOX").len(), 1);
}

#[test]
fn several_connections_and_single_thread_sync_everything() {
    let d = Dovecot::shared();
    let user = d.add_user("conns");
    let folders: Vec<String> = (0..6).map(|i| format!("F{i}")).collect();
    let mut c = d.imap(&user);
    for (i, f) in folders.iter().enumerate() {
        c.create(f);
        for n in 0..=i {
            let flags = if n % 2 == 0 { "\\Seen" } else { "" };
            c.append(f, flags, &mail(&format!("{f}-{n}"), "x"));
        }
    }
    c.append("INBOX", "", &mail("inbox", "i"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.write_config("maxconnections = 3\n");
    env.sync();
    for f in folders.iter().map(String::as_str).chain(["INBOX"]) {
        assert_in_sync(&env, d, &user, f);
    }

    // Changes everywhere, then one connection only.
    let mut c = d.imap(&user);
    for f in &folders {
        c.append(f, "\\Flagged", &mail(&format!("{f}-late"), "y"));
        c.select(f);
        c.store(1, "+FLAGS", "\\Answered");
    }
    c.logout();
    let out = env.run_capture(&["-1"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    for (i, f) in folders.iter().enumerate() {
        let server = assert_in_sync(&env, d, &user, f);
        assert_eq!(server.len(), i + 2, "{f}");
    }
}

/// A first sync into an empty Maildir logs its other connections in while
/// the server answers LIST, before the folders are planned and created;
/// a resync with nothing to do logs in only the account's own.
#[test]
fn a_first_sync_logs_in_every_connection_at_once() {
    let d = Dovecot::shared();
    let user = d.add_user("earlylogins");
    let mut c = d.imap(&user);
    for f in ["A", "B", "C"] {
        c.create(f);
        c.append(f, "", &mail(f, "x"));
    }
    c.logout();
    let env = Env::for_user(d, &user);
    env.write_config("maxconnections = 3\n");
    let out = env.sync();
    let lines: Vec<&str> = out.lines().collect();
    let connecting: Vec<usize> = (0..lines.len())
        .filter(|i| lines[*i].contains("Establishing connection"))
        .collect();
    let created = lines.iter().position(|l| l.contains("Creating folder"));
    assert_eq!(connecting.len(), 3, "{out}");
    assert!(
        created.is_some_and(|c| connecting.iter().all(|i| *i < c)),
        "{out}"
    );
    for f in ["A", "B", "C", "INBOX"] {
        assert_in_sync(&env, d, &user, f);
    }
    let out = env.sync();
    assert_eq!(out.matches("Establishing connection").count(), 1, "{out}");
}

/// Without `foldersort`, INBOX is synced before the other folders (it is
/// where new mail arrives, and usually the biggest); with one, the
/// configured order holds.
#[test]
fn inbox_is_synced_first_unless_foldersort_says_otherwise() {
    let d = Dovecot::shared();
    let user = d.add_user("inboxfirst");
    let mut c = d.imap(&user);
    for f in ["Alpha", "Beta", "INBOX"] {
        if f != "INBOX" {
            c.create(f);
        }
        c.append(f, "", &mail(f, "x"));
    }
    c.logout();
    let order = |out: &str| -> Vec<String> {
        out.lines()
            .filter_map(|l| l.strip_prefix("Syncing "))
            .filter_map(|l| l.split(':').next())
            .map(str::to_string)
            .collect()
    };
    let env = Env::for_user(d, &user);
    env.write_config("maxconnections = 1\n");
    let out = env.sync();
    assert_eq!(order(&out), ["INBOX", "Alpha", "Beta"], "{out}");
    for f in ["Alpha", "Beta", "INBOX"] {
        assert_in_sync(&env, d, &user, f);
    }
    let env = Env::for_user(d, &user);
    env.write_config("maxconnections = 1\nfoldersort = lambda x, y: cmp(x, y)\n");
    let out = env.sync();
    assert_eq!(order(&out), ["Alpha", "Beta", "INBOX"], "{out}");
}

/// On a resync with several connections, the account's connection (the
/// one already logged in) takes INBOX at once; the others log in before
/// they take a folder, so none holds INBOX while it logs in.
#[test]
fn inbox_goes_to_the_connection_already_logged_in() {
    let d = Dovecot::shared();
    let user = d.add_user("inboxlate");
    let folders = ["Alpha", "Beta", "Gamma", "INBOX"];
    let mut c = d.imap(&user);
    for f in folders {
        if f != "INBOX" {
            c.create(f);
        }
        c.append(f, "", &mail(f, "x"));
    }
    c.logout();
    let env = Env::for_user(d, &user);
    env.write_config("maxconnections = 3\n");
    env.sync();
    for round in 0..3 {
        // New mail everywhere: no folder is skipped, and the sync, not a
        // first one, has no connections logged in ahead.
        let mut c = d.imap(&user);
        for f in folders {
            c.append(f, "", &mail(f, &format!("r{round}")));
        }
        c.logout();
        let out = env.sync();
        let first = out
            .lines()
            .find_map(|l| l.strip_prefix("Syncing "))
            .and_then(|l| l.split(':').next());
        assert_eq!(first, Some("INBOX"), "round {round}:\n{out}");
        for f in folders {
            assert_in_sync(&env, d, &user, f);
        }
    }
}

/// `expunge = no`: a message deleted in the Maildir stays on the server,
/// flagged `\Deleted`; the next sync finds it there and not in the status
/// cache, and copies it back, flagged T. Nothing is expunged.
#[test]
fn with_expunge_off_a_local_deletion_stays_on_the_server_flagged() {
    let d = Dovecot::shared();
    let user = d.add_user("noexpungesync");
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail("gone", "x"));
    c.append("INBOX", "", &mail("kept", "y"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.write_config("expunge = no\n");
    env.sync();
    let local = env.local_messages("INBOX");
    assert_eq!(local.len(), 2);
    let gone = local
        .iter()
        .find(|m| String::from_utf8_lossy(&m.bytes).contains("Subject: gone"))
        .unwrap();
    fs::remove_file(&gone.path).unwrap();
    env.sync();
    let server = server_messages(d, &user, "INBOX");
    assert_eq!(server.len(), 2);
    let flags: Vec<&str> = server.iter().map(|m| m.flags.as_str()).collect();
    assert!(flags.contains(&"T") && flags.contains(&""), "{flags:?}");
    env.sync();
    let mut letters: Vec<String> = env
        .local_messages("INBOX")
        .iter()
        .map(|m| m.flags.clone())
        .collect();
    letters.sort();
    assert_eq!(letters, ["", "T"]);
}

#[test]
fn a_readonly_remote_is_never_changed() {
    let d = Dovecot::shared();
    let user = d.add_user("readonly");
    let mut c = d.imap(&user);
    let a = c.append("INBOX", "\\Seen", &mail("a", "a"));
    let b = c.append("INBOX", "", &mail("b", "b"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.write_config("readonly = yes\n");
    env.sync();
    assert_in_sync(&env, d, &user, "INBOX");
    let before = server_messages(d, &user, "INBOX");

    let local = env.local_messages("INBOX");
    let msg_b = local.iter().find(|m| m.uid == Some(b)).unwrap();
    let flagged_b = msg_b.path.with_file_name(format!("{}F", file_name(msg_b)));
    fs::rename(&msg_b.path, &flagged_b).unwrap();
    fs::remove_file(&local.iter().find(|m| m.uid == Some(a)).unwrap().path).unwrap();
    write_local(
        &env,
        "INBOX",
        "new",
        "1700000000.M1P1.host",
        &local_mail("local"),
    );

    let out = env.sync();
    assert_eq!(server_messages(d, &user, "INBOX"), before, "{out}");
    let local = env.local_messages("INBOX");
    assert_eq!(local.len(), 2, "{local:?}");
    assert_eq!(local.iter().find(|m| m.uid == Some(b)).unwrap().flags, "F");
    assert!(local.iter().any(|m| m.uid.is_none()), "{local:?}");
}

#[test]
fn remote_sync_deletes_off_keeps_the_local_copy() {
    let d = Dovecot::shared();
    let user = d.add_user("nodeletes");
    let mut c = d.imap(&user);
    let a = c.append("INBOX", "", &mail("a", "a"));
    let b = c.append("INBOX", "", &mail("b", "b"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.write_config("sync_deletes = no\n");
    env.sync();
    let files = all_files(&env.maildir());
    expunge(d, &user, "INBOX", a);

    for _ in 0..2 {
        let out = env.sync();
        assert_eq!(all_files(&env.maildir()), files, "{out}");
        // Nor is the kept copy uploaded again.
        let uids: Vec<u32> = server_flags(d, &user, "INBOX")
            .iter()
            .map(|m| m.0)
            .collect();
        assert_eq!(uids, [b], "{out}");
    }
}

#[test]
fn dash_a_selects_one_of_two_accounts() {
    let d = Dovecot::shared();
    let ua = d.add_user("acca");
    let ub = d.add_user("accb");
    d.imap(&ua).append("INBOX", "", &mail("for a", "a"));
    d.imap(&ub).append("INBOX", "", &mail("for b", "b"));
    let env = Env::for_user(d, &ua);
    let root = env.dir.path();
    let repos = |acc: &str, user: &User| {
        format!(
            "[Account {acc}]\nlocalrepository = L{acc}\nremoterepository = R{acc}\n\n\
             [Repository L{acc}]\ntype = Maildir\nlocalfolders = {root}/Mail{acc}\nsep = /\n\n\
             [Repository R{acc}]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = {port}\n\
             remoteuser = {name}\nremotepass = {pw}\nssl = no\nstarttls = no\n\n",
            root = root.display(),
            port = d.port(),
            name = user.name,
            pw = user.password,
        )
    };
    fs::write(
        env.config_path(),
        format!(
            "[general]\naccounts = A, B\nmetadata = {}\nfsync = no\n\n{}{}",
            env.metadata().display(),
            repos("A", &ua),
            repos("B", &ub)
        ),
    )
    .unwrap();

    let run = env.run_capture(&["-a", "B"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let b = crate::harness::read_maildir(&root.join("MailB/INBOX"));
    assert_eq!(b.len(), 1);
    assert!(String::from_utf8_lossy(&b[0].bytes).contains("Subject: for b"));
    assert!(!root.join("MailA").exists(), "{run:?}");
    assert!(!env.metadata().join("Account-A").exists());

    env.sync();
    let a = crate::harness::read_maildir(&root.join("MailA/INBOX"));
    assert_eq!(a.len(), 1);
    assert!(String::from_utf8_lossy(&a[0].bytes).contains("Subject: for a"));
    assert_eq!(
        crate::harness::read_maildir(&root.join("MailB/INBOX")).len(),
        1
    );
}

#[test]
fn uploads_without_uidplus_are_not_duplicated() {
    let d = Dovecot::start_with_config(
        "protocol imap {\n  imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE\n}\n",
    );
    let user = d.add_user("nouidplus");
    d.imap(&user)
        .append("INBOX", "\\Seen", &mail("server", "s"));
    let env = Env::for_user(&d, &user);
    env.sync();
    let bytes = local_mail("uploaded without UIDPLUS");
    write_local(&env, "INBOX", "new", "1700000000.M1P1.host", &bytes);
    let out = env.sync();

    let server = server_messages(&d, &user, "INBOX");
    assert_eq!(server.len(), 2, "{out}");
    let up = &server[1];
    // The server copy carries the X-OfflineIMAP header used to find it.
    let text = String::from_utf8_lossy(&up.bytes).into_owned();
    assert!(text.contains("X-OfflineIMAP: "), "{text}");
    assert!(text.ends_with("\r\n\r\nWritten locally.\r\n"), "{text}");
    let local = env.local_messages("INBOX");
    assert_eq!(local.len(), 2, "{local:?}");
    assert!(
        local.iter().any(|m| m.uid == Some(up.uid)),
        "{local:?}\n{out}"
    );

    for _ in 0..2 {
        let again = env.sync();
        assert_eq!(change_lines(&again), Vec::<&str>::new(), "{again}");
    }
    assert_eq!(server_flags(&d, &user, "INBOX").len(), 2);
    assert_eq!(env.local_messages("INBOX").len(), 2);
}
