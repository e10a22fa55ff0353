//! The IMAP backend against a private Dovecot. Each test has its own user;
//! server state is prepared and checked with the raw `TestClient`, not
//! with the code under test.

use async_trait::async_trait;
use offlineimap::config::{ImapRepository, RepositoryCommon, Secret, Tls};
use offlineimap::imap::{FolderOptions, ImapFolder, ImapSession, PIECE};
use offlineimap::sync::model::{Flags, Message, MsgRef, NewId};
use offlineimap::sync::store::{ErrorKind, MessageSink, Pieces, Store, StoreError};

use crate::support::dovecot::{Dovecot, User};

fn repo(port: u16, user: &User, tls: Tls, ca_file: Option<&std::path::Path>) -> ImapRepository {
    ImapRepository {
        common: RepositoryCommon {
            name: "Remote".into(),
            readonly: false,
            createfolders: true,
            sync_deletes: true,
        },
        host: "127.0.0.1".into(),
        port,
        user: Some(user.name.clone()),
        password: Some(Secret::new(user.password.clone())),
        tls,
        ca_file: ca_file.map(|p| p.to_path_buf()),
        tunnel: None,
        expunge: true,
        maxconnections: 1,
        cert_fingerprints: Vec::new(),
        verify_ca: true,
        tls_min_version: None,
        client_cert: None,
        compression: false,
        proxy: None,
        auth_mechanisms: offlineimap::config::AuthMechanism::DEFAULT.to_vec(),
        remote_identity: None,
        oauth2: None,
        ipv6: None,
        retrycount: 2,
    }
}

async fn session(d: &Dovecot, user: &User) -> ImapSession {
    match ImapSession::connect(&repo(d.port(), user, Tls::None, None), None, None).await {
        Ok(s) => s,
        Err(e) => panic!("{e}\nDovecot log:\n{}", d.log()),
    }
}

async fn open(d: &Dovecot, user: &User, folder: &str) -> ImapFolder {
    select(session(d, user).await, folder, false, true).await
}

async fn select(s: ImapSession, folder: &str, readonly: bool, expunge: bool) -> ImapFolder {
    s.select_folder(folder, FolderOptions { readonly, expunge })
        .await
        .map_err(|e| e.error)
        .unwrap()
}

#[derive(Default)]
struct Collect(Vec<Message>);

#[async_trait]
impl MessageSink for Collect {
    async fn accept(&mut self, msg: Message) -> Result<(), StoreError> {
        self.0.push(msg);
        Ok(())
    }
}

fn mail(subject: &str, body: &str) -> Vec<u8> {
    format!("From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\r\n{body}\r\n")
        .into_bytes()
}

#[tokio::test]
async fn connects_in_plain_text_and_reads_capabilities_after_login() {
    let d = Dovecot::shared();
    let user = d.add_user("plain");
    let mut s = session(d, &user).await;
    // UIDPLUS is only announced after login: proves CAPABILITY was re-read.
    assert!(s.has_capability("UIDPLUS"), "{:?}", s.capabilities());
    let folders = s.list_folders().await.unwrap();
    assert!(
        folders.iter().any(|f| f.name_utf8 == "INBOX"),
        "{folders:?}"
    );
    s.logout().await;
}

#[tokio::test]
async fn connects_with_implicit_tls_verified_by_the_test_ca() {
    let d = Dovecot::shared_tls();
    let user = d.add_user("tls");
    let r = repo(d.tls_port(), &user, Tls::Implicit, Some(d.ca_file()));
    let mut s = ImapSession::connect(&r, None, None).await.unwrap();
    assert!(!s.list_folders().await.unwrap().is_empty());
}

#[tokio::test]
async fn connects_with_starttls_verified_by_the_test_ca() {
    let d = Dovecot::shared_tls();
    let user = d.add_user("starttls");
    let r = repo(d.port(), &user, Tls::StartTls, Some(d.ca_file()));
    let mut s = ImapSession::connect(&r, None, None).await.unwrap();
    assert!(s.has_capability("UIDPLUS"));
    assert!(!s.list_folders().await.unwrap().is_empty());
}

#[tokio::test]
async fn tls_against_system_roots_fails_verification() {
    let d = Dovecot::shared_tls();
    let user = d.add_user("badca");
    for (port, tls) in [(d.tls_port(), Tls::Implicit), (d.port(), Tls::StartTls)] {
        let r = repo(port, &user, tls, None);
        let err = ImapSession::connect(&r, None, None).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("127.0.0.1: TLS handshake failed"),
            "{text}"
        );
        assert!(text.contains("verif"), "{text}");
        assert!(!text.contains('\n'), "{text}");
        assert!(!err.is_transient());
    }
}

#[tokio::test]
async fn tls_with_an_unrelated_ca_fails_verification() {
    let d = Dovecot::shared_tls();
    let other = Dovecot::start_tls();
    let user = d.add_user("otherca");
    let r = repo(d.tls_port(), &user, Tls::Implicit, Some(other.ca_file()));
    let err = ImapSession::connect(&r, None, None).await.unwrap_err();
    assert!(err.to_string().contains("verif"), "{err}");
}

#[tokio::test]
async fn starttls_is_required_when_configured() {
    let d = Dovecot::shared();
    let user = d.add_user("nostarttls");
    let r = repo(d.port(), &user, Tls::StartTls, None);
    let err = ImapSession::connect(&r, None, None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "127.0.0.1: STARTTLS failed: server does not offer STARTTLS"
    );
}

#[tokio::test]
async fn wrong_password_names_user_but_not_password() {
    let d = Dovecot::shared();
    let user = d.add_user("wrongpw");
    let mut r = repo(d.port(), &user, Tls::None, None);
    let bad = "sup3r-s3cret-typo";
    r.password = Some(Secret::new(bad));
    let err = ImapSession::connect(&r, None, None).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("127.0.0.1: LOGIN failed for user {}: ", user.name)),
        "{text}"
    );
    assert!(text.contains("Authentication failed"), "{text}");
    assert!(!text.contains(bad) && !format!("{err:?}").contains(bad));
    assert_eq!(StoreError::from(err).kind, ErrorKind::Repository);
}

#[tokio::test]
async fn connection_refused_is_transient() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let user = User {
        name: "nobody".into(),
        password: "x".into(),
    };
    let err = ImapSession::connect(&repo(port, &user, Tls::None, None), None, None)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        err.to_string().starts_with("127.0.0.1: connect failed"),
        "{err}"
    );
}

#[tokio::test]
async fn lists_nested_and_non_ascii_folders() {
    let d = Dovecot::shared();
    let user = d.add_user("list");
    let mut raw = d.imap(&user);
    raw.create("Archive/2024");
    raw.create("Entw&APw-rfe");
    raw.create("&ZeVnLIqe-");
    raw.create("Tom &- Jerry");
    raw.create("Parent/Child");

    let mut s = session(d, &user).await;
    let folders = s.list_folders().await.unwrap();
    let find = |n: &str| folders.iter().find(|f| f.name_utf8 == n);
    for name in [
        "INBOX",
        "Archive/2024",
        "Entwürfe",
        "日本語",
        "Tom & Jerry",
        "Parent/Child",
    ] {
        let f = find(name).unwrap_or_else(|| panic!("{name} missing from {folders:?}"));
        assert!(!f.noselect, "{f:?}");
        assert_eq!(f.delimiter, Some('/'));
    }
    assert_eq!(find("日本語").unwrap().raw_name, "&ZeVnLIqe-");
    assert_eq!(find("Tom & Jerry").unwrap().raw_name, "Tom &- Jerry");
    // With LAYOUT=fs the parents are plain directories, listed \Noselect
    // (checked against the raw LIST so the test states what Dovecot does).
    let raw_lines = raw.list();
    for parent in ["Archive", "Parent"] {
        let line = raw_lines
            .iter()
            .find(|l| l.ends_with(&format!(" {parent}")))
            .unwrap_or_else(|| panic!("{parent} not in {raw_lines:?}"));
        assert!(line.contains("\\Noselect"), "{line}");
        assert!(find(parent).unwrap().noselect, "{folders:?}");
    }
    assert_eq!(folders.len(), raw_lines.len());
}

#[tokio::test]
async fn creates_folders_in_modified_utf7() {
    let d = Dovecot::shared();
    let user = d.add_user("create");
    let mut s = session(d, &user).await;
    s.create_folder("Neu/Ördner & Co").await.unwrap();
    let lines = d.imap(&user).list();
    assert!(
        lines.iter().any(|l| l.contains("\"Neu/&ANY-rdner &- Co\"")),
        "{lines:?}"
    );
    let err = s.create_folder("Neu/Ördner & Co").await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("127.0.0.1: CREATE Neu/Ördner & Co failed: "),
        "{err}"
    );
}

#[tokio::test]
async fn select_reports_uidvalidity_and_failure_returns_the_session() {
    let d = Dovecot::shared();
    let user = d.add_user("select");
    let mut raw = d.imap(&user);
    raw.create("Box");
    raw.append("Box", "", &mail("one", "1"));
    raw.append("Box", "", &mail("two", "2"));
    let validity = raw.select("Box");

    let s = session(d, &user).await;
    let err = s
        .select_folder("Missing", FolderOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.error
            .to_string()
            .starts_with("127.0.0.1: SELECT Missing failed: "),
        "{}",
        err.error
    );
    let folder = err
        .session
        .select_folder("Box", FolderOptions::default())
        .await
        .map_err(|e| e.error)
        .unwrap();
    assert_eq!(folder.uidvalidity(), validity);
    assert_eq!(folder.exists(), 2);
    assert_eq!(folder.uidnext(), Some(3));
    let again = folder
        .into_session()
        .select_folder("INBOX", FolderOptions::default())
        .await;
    assert_eq!(again.map_err(|e| e.error).unwrap().exists(), 0);
}

#[tokio::test]
async fn snapshot_lists_uids_flags_and_sizes() {
    let d = Dovecot::shared();
    let user = d.add_user("snap");
    let mut raw = d.imap(&user);
    let m1 = mail("seen", "a");
    let m2 = mail("many", "bb");
    let m3 = mail("deleted", "ccc");
    let u1 = raw.append("INBOX", "\\Seen", &m1);
    let u2 = raw.append("INBOX", "\\Answered \\Flagged \\Draft $Label", &m2);
    let u3 = raw.append("INBOX", "\\Deleted \\Seen", &m3);

    let mut f = open(d, &user, "INBOX").await;
    let snap = f.snapshot().await.unwrap();
    assert!(snap.new.is_empty());
    let got: Vec<(u32, String, u64)> = snap
        .uids
        .iter()
        .map(|(u, m)| (*u, m.flags.to_string(), m.size))
        .collect();
    assert_eq!(
        got,
        vec![
            (u1, "S".to_string(), m1.len() as u64),
            (u2, "DFR".to_string(), m2.len() as u64),
            (u3, "ST".to_string(), m3.len() as u64),
        ]
    );
}

#[tokio::test]
async fn snapshot_of_an_empty_folder_is_empty() {
    let d = Dovecot::shared();
    let user = d.add_user("empty");
    let mut f = open(d, &user, "INBOX").await;
    assert_eq!(f.snapshot().await.unwrap(), Default::default());
}

#[tokio::test]
async fn fetch_returns_exact_bytes_in_one_pass() {
    let d = Dovecot::shared();
    let user = d.add_user("fetch");
    let mut raw = d.imap(&user);

    let mut eight_bit = b"From: a@example.org\r\nSubject: 8bit\r\nContent-Type: text/plain; charset=latin1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".to_vec();
    eight_bit.extend_from_slice(b"Gr\xfc\xdfe, \xe4\xf6\xfc \xff\x80\x01 end\r\n");
    let long_line = mail("long line", &"x".repeat(1000));
    let mut big = b"From: a@example.org\r\nSubject: big\r\n\r\n".to_vec();
    let mut n = 0u64;
    while big.len() < 2 * 1024 * 1024 {
        big.extend_from_slice(format!("line {n:08} {}\r\n", "y".repeat(60)).as_bytes());
        n += 1;
    }
    let u1 = raw.append("INBOX", "\\Seen", &eight_bit);
    let u2 = raw.append("INBOX", "", &long_line);
    let u3 = raw.append("INBOX", "\\Flagged", &big);

    let mut f = open(d, &user, "INBOX").await;
    let mut sink = Collect::default();
    let ids = [
        MsgRef::Uid(u3),
        MsgRef::Uid(u1),
        MsgRef::Uid(999),
        MsgRef::Uid(u2),
    ];
    f.fetch(&ids, &mut sink).await.unwrap();
    let mut got = sink.0;
    got.sort_by_key(|m| m.id);
    assert_eq!(got.len(), 3, "uid 999 does not exist and is skipped");
    assert_eq!(got[0].id, MsgRef::Uid(u1));
    assert_eq!(got[0].bytes, eight_bit);
    assert_eq!(got[0].flags, Flags::from_letters("S"));
    assert_eq!(got[1].bytes, long_line);
    assert_eq!(got[1].flags, Flags::EMPTY);
    assert!(got[2].bytes == big, "2 MB body differs");
    assert_eq!(got[2].flags, Flags::from_letters("F"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for m in &got {
        let date = m.internal_date.expect("INTERNALDATE");
        assert!((now - date).abs() < 600, "{date} vs {now}");
    }
    // BODY.PEEK must not set \Seen.
    raw.select("INBOX");
    assert_eq!(raw.flags(u2), Vec::<String>::new());

    // The connection is still in step afterwards.
    let snap = f.snapshot().await.unwrap();
    assert_eq!(snap.uids.len(), 3);
}

/// What a sink saw of each message: its bytes, and the sizes of the
/// pieces it came in (one entry: whole).
#[derive(Default)]
struct ByPiece(Vec<(Message, Vec<usize>)>);

#[async_trait]
impl MessageSink for ByPiece {
    async fn accept(&mut self, msg: Message) -> Result<(), StoreError> {
        let n = msg.bytes.len();
        self.0.push((msg, vec![n]));
        Ok(())
    }

    async fn accept_in_pieces(
        &mut self,
        head: Message,
        rest: &mut dyn Pieces,
    ) -> Result<(), StoreError> {
        let mut sizes = vec![head.bytes.len()];
        let mut all = head.bytes.to_vec();
        while let Some(p) = rest.next().await? {
            sizes.push(p.len());
            all.extend_from_slice(&p);
        }
        self.0.push((
            Message {
                bytes: all.into(),
                ..head
            },
            sizes,
        ));
        Ok(())
    }
}

/// A message of `len` bytes (CRLF form) whose lines end so that a CR is
/// the last byte of every piece and its LF the first of the next.
fn sized_mail(subject: &str, len: usize) -> Vec<u8> {
    let piece = PIECE as usize;
    let mut m = format!("From: a@example.org\r\nSubject: {subject}\r\n\r\n").into_bytes();
    while m.len() < len - 2 {
        let next_cut = (m.len() / piece + 1) * piece;
        // Fill to just before the next piece's start, then CRLF across it.
        let fill = (next_cut - 1).min(len - 2).saturating_sub(m.len()).max(1);
        m.extend(std::iter::repeat_n(b'z', fill.min(998)));
        m.extend_from_slice(b"\r\n");
    }
    m.truncate(len - 2);
    m.extend_from_slice(b"\r\n");
    m
}

/// Bodies listed above PIECE bytes come in pieces of at most PIECE, the
/// rest whole; every byte arrives, whether the size is a multiple of the
/// piece or not, and the connection stays in step.
#[tokio::test]
async fn big_bodies_are_fetched_in_pieces() {
    let d = Dovecot::shared();
    let user = d.add_user("pieces");
    let mut raw = d.imap(&user);
    let piece = PIECE as usize;
    let small = mail("small", "hello");
    let exact = sized_mail("exact", 2 * piece);
    let odd = sized_mail("odd", 4 * piece + 12_345);
    let just = sized_mail("just", piece + 1);
    let at_piece = sized_mail("at piece", piece);
    for (m, len) in [
        (&exact, 2 * piece),
        (&odd, 4 * piece + 12_345),
        (&just, piece + 1),
    ] {
        assert_eq!(m.len(), len);
    }
    assert_eq!(exact[piece - 1], b'\r');
    assert_eq!(exact[piece], b'\n');
    let u_small = raw.append("INBOX", "\\Seen", &small);
    let u_exact = raw.append("INBOX", "\\Flagged", &exact);
    let u_odd = raw.append("INBOX", "", &odd);
    let u_just = raw.append("INBOX", "\\Answered", &just);
    let u_at = raw.append("INBOX", "", &at_piece);

    let mut f = open(d, &user, "INBOX").await;
    // The listing gives the sizes that decide.
    assert_eq!(f.snapshot().await.unwrap().uids.len(), 5);
    let mut sink = ByPiece::default();
    let ids: Vec<MsgRef> = [u_odd, u_small, u_exact, 999, u_just, u_at]
        .into_iter()
        .map(MsgRef::Uid)
        .collect();
    f.fetch(&ids, &mut sink).await.unwrap();
    let mut got = sink.0;
    got.sort_by_key(|(m, _)| m.id);
    let want = [
        (u_small, &small, vec![small.len()], "S"),
        (u_exact, &exact, vec![piece, piece], "F"),
        (u_odd, &odd, vec![piece, piece, piece, piece, 12_345], ""),
        (u_just, &just, vec![piece, 1], "R"),
        (u_at, &at_piece, vec![piece], ""),
    ];
    assert_eq!(got.len(), want.len(), "uid 999 does not exist");
    for ((m, sizes), (uid, bytes, want_sizes, flags)) in got.iter().zip(want) {
        assert_eq!(m.id, MsgRef::Uid(uid));
        assert!(m.bytes == **bytes, "UID {uid}: body differs");
        assert_eq!(*sizes, want_sizes, "UID {uid}");
        assert_eq!(m.flags, Flags::from_letters(flags), "UID {uid}");
        assert!(m.internal_date.is_some(), "UID {uid}");
    }
    // BODY.PEEK: no piece set \Seen.
    raw.select("INBOX");
    assert_eq!(raw.flags(u_odd), Vec::<String>::new());
    // The connection is in step: the next command gets its own answer.
    assert_eq!(f.snapshot().await.unwrap().uids.len(), 5);
}

/// A sink that stops after a big message's first piece: the pieces in
/// flight are read and dropped, the sink's error is returned, and the
/// folder can go on.
#[tokio::test]
async fn a_sink_that_stops_mid_message_leaves_the_connection_usable() {
    struct FirstOnly(usize);
    #[async_trait]
    impl MessageSink for FirstOnly {
        async fn accept(&mut self, _msg: Message) -> Result<(), StoreError> {
            Err(StoreError::new(ErrorKind::Repository, "whole?"))
        }
        async fn accept_in_pieces(
            &mut self,
            _head: Message,
            _rest: &mut dyn Pieces,
        ) -> Result<(), StoreError> {
            self.0 += 1;
            Err(StoreError::new(ErrorKind::Repository, "disk full"))
        }
    }
    let d = Dovecot::shared();
    let user = d.add_user("piecestop");
    let mut raw = d.imap(&user);
    let big = sized_mail("big", 6 * PIECE as usize + 7);
    let a = raw.append("INBOX", "", &big);
    let b = raw.append("INBOX", "", &big);
    let mut f = open(d, &user, "INBOX").await;
    f.snapshot().await.unwrap();
    let mut sink = FirstOnly(0);
    let err = f
        .fetch(&[MsgRef::Uid(a), MsgRef::Uid(b)], &mut sink)
        .await
        .unwrap_err();
    assert_eq!(err.message, "disk full");
    assert_eq!(sink.0, 1, "nothing is handed over after a failure");
    let mut again = ByPiece::default();
    f.fetch(&[MsgRef::Uid(b)], &mut again).await.unwrap();
    assert_eq!(again.0.len(), 1);
    assert!(again.0[0].0.bytes == big);
    assert_eq!(again.0[0].1.len(), 7);
}

/// Pieces from a list with their total announced, optionally failing
/// after `fail_after` of them.
struct Announced {
    pieces: std::collections::VecDeque<Vec<u8>>,
    total: u64,
    fail_after: Option<usize>,
    given: usize,
}

#[async_trait]
impl Pieces for Announced {
    async fn next(&mut self) -> Result<Option<bytes::Bytes>, StoreError> {
        if self.fail_after == Some(self.given) {
            return Err(StoreError::new(ErrorKind::Message, "read error"));
        }
        self.given += 1;
        Ok(self.pieces.pop_front().map(Into::into))
    }

    fn total(&self) -> Option<u64> {
        Some(self.total)
    }
}

fn announced(msg: &[u8], cut: usize, fail_after: Option<usize>) -> (Message, Announced) {
    let head = Message {
        id: MsgRef::New(NewId(0)),
        flags: Flags::from_letters("S"),
        internal_date: None,
        bytes: msg[..cut].to_vec().into(),
    };
    let pieces = msg[cut..]
        .chunks(PIECE as usize)
        .map(<[u8]>::to_vec)
        .collect();
    let rest = Announced {
        pieces,
        total: msg.len() as u64,
        fail_after,
        given: 0,
    };
    (head, rest)
}

/// A message whose length is known goes up as its pieces come, the
/// filtered header included in the announced length, and the server holds
/// it byte for byte.
#[tokio::test]
async fn append_in_pieces_sends_the_literal_as_it_is_read() {
    let d = Dovecot::shared();
    let user = d.add_user("appendpieces");
    let mut raw = d.imap(&user);
    let mut msg = b"From: a@example.org\r\nX-Secret: drop me\r\nSubject: up\r\n\r\n".to_vec();
    let mut n = 0u64;
    while msg.len() < 3 * PIECE as usize + 999 {
        msg.extend_from_slice(format!("line {n:08}\r\n").as_bytes());
        n += 1;
    }
    let mut f = open(d, &user, "INBOX").await;
    f.set_filterheaders(vec!["X-Secret".into()]);
    let (head, mut rest) = announced(&msg, 100_000, None);
    let uid = f
        .append_in_pieces(&head, &mut rest, None)
        .await
        .unwrap()
        .expect("APPENDUID");
    assert_eq!(rest.given, 4, "every piece read, then the end");
    raw.select("INBOX");
    let want: Vec<u8> = String::from_utf8(msg.clone())
        .unwrap()
        .replace("X-Secret: drop me\r\n", "")
        .into_bytes();
    assert!(raw.body(uid) == want, "server copy differs");
    assert_eq!(raw.flags(uid), vec!["\\Seen".to_string()]);
}

/// A piece that fails once the literal has begun closes the connection:
/// the server drops the message instead of storing it cut short, and
/// the error is transient (the folder is tried again).
#[tokio::test]
async fn a_piece_failing_mid_append_stores_nothing() {
    let d = Dovecot::shared();
    let user = d.add_user("appendcut");
    let mut raw = d.imap(&user);
    let mut msg = b"From: a@example.org\r\nSubject: cut\r\n\r\n".to_vec();
    msg.resize(3 * PIECE as usize, b'q');
    let mut f = open(d, &user, "INBOX").await;
    let (head, mut rest) = announced(&msg, 50_000, Some(1));
    let err = f
        .append_in_pieces(&head, &mut rest, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
    assert!(err.message.contains("read error"), "{err}");
    // The connection is closed: nothing else can be sent on it (a byte
    // sent now would have become part of the cut message).
    let next = Message {
        id: MsgRef::New(NewId(1)),
        flags: Flags::EMPTY,
        internal_date: None,
        bytes: mail("after", "after").into(),
    };
    assert!(f.append(&next, None).await.is_err());
    raw.select("INBOX");
    assert_eq!(raw.uids(), Vec::<u32>::new());
}

#[tokio::test]
async fn fetch_keeps_the_connection_usable_when_the_sink_fails() {
    struct Failing(usize);
    #[async_trait]
    impl MessageSink for Failing {
        async fn accept(&mut self, _msg: Message) -> Result<(), StoreError> {
            self.0 += 1;
            Err(StoreError::new(ErrorKind::Repository, "disk full"))
        }
    }
    let d = Dovecot::shared();
    let user = d.add_user("sinkfail");
    let mut raw = d.imap(&user);
    let a = raw.append("INBOX", "", &mail("a", "a"));
    let b = raw.append("INBOX", "", &mail("b", "b"));
    let mut f = open(d, &user, "INBOX").await;
    let mut sink = Failing(0);
    let err = f
        .fetch(&[MsgRef::Uid(a), MsgRef::Uid(b)], &mut sink)
        .await
        .unwrap_err();
    assert_eq!(err.message, "disk full");
    assert_eq!(
        sink.0, 1,
        "no more messages are handed over after a failure"
    );
    assert_eq!(f.snapshot().await.unwrap().uids.len(), 2);
}

#[tokio::test]
async fn append_returns_the_uid_and_the_server_holds_the_exact_bytes() {
    let d = Dovecot::shared();
    let user = d.add_user("append");
    let mut raw = d.imap(&user);
    raw.create("Sent");
    raw.append("Sent", "", &mail("existing", "0"));

    let mut f = open(d, &user, "Sent").await;
    let mut bytes = mail("uploaded", "Hello \u{e9}t\u{e9}");
    bytes.extend_from_slice(b"raw \xe9 byte\r\n");
    let msg = Message {
        id: MsgRef::New(NewId(0)),
        flags: Flags::from_letters("FS"),
        internal_date: Some(1_577_880_000),
        bytes: bytes.clone().into(),
    };
    let uid = f.append(&msg, None).await.unwrap().expect("APPENDUID");
    assert_eq!(uid, 2);
    assert_eq!(f.exists(), 2, "EXISTS after APPEND is tracked");

    raw.select("Sent");
    assert_eq!(raw.body(uid), bytes);
    assert_eq!(raw.flags(uid), ["\\Flagged", "\\Seen"]);
    let date = raw.ok(&format!("UID FETCH {uid} INTERNALDATE"));
    assert!(
        date.iter()
            .any(|u| u.text.contains("\"01-Jan-2020 12:00:00 +0000\"")),
        "{date:?}"
    );

    // No flags and no date is fine too.
    let plain = Message {
        flags: Flags::EMPTY,
        internal_date: None,
        ..msg.clone()
    };
    let uid2 = f.append(&plain, None).await.unwrap().expect("APPENDUID");
    assert_eq!(uid2, 3);
    raw.select("Sent");
    assert_eq!(raw.flags(uid2), Vec::<String>::new());

    let err = f.append(&msg, Some(7)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Message);
    assert!(f.assign_uid(MsgRef::New(NewId(0)), 7).await.is_err());
}

#[tokio::test]
async fn a_refused_append_is_a_message_error() {
    let d = Dovecot::shared();
    let user = d.add_user("refused");
    let mut f = open(d, &user, "INBOX").await;
    let msg = Message {
        id: MsgRef::New(NewId(0)),
        flags: Flags::EMPTY,
        internal_date: None,
        bytes: Default::default(),
    };
    let err = f.append(&msg, None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Message, "{err}");
    assert!(
        err.message
            .starts_with("127.0.0.1: APPEND in INBOX failed: "),
        "{err}"
    );
    // The folder is still usable.
    assert!(f.snapshot().await.unwrap().uids.is_empty());
}

#[tokio::test]
async fn flags_are_added_and_removed() {
    let d = Dovecot::shared();
    let user = d.add_user("flags");
    let mut raw = d.imap(&user);
    let a = raw.append("INBOX", "\\Seen", &mail("a", "a"));
    let b = raw.append("INBOX", "", &mail("b", "b"));
    let c = raw.append("INBOX", "\\Flagged", &mail("c", "c"));

    let mut f = open(d, &user, "INBOX").await;
    f.add_flags(&[a, b], Flags::from_letters("FR"))
        .await
        .unwrap();
    f.remove_flags(&[a, c], Flags::from_letters("SF"))
        .await
        .unwrap();
    // Letters without an IMAP system flag change nothing.
    f.add_flags(&[a], Flags::from_letters("x")).await.unwrap();

    raw.select("INBOX");
    assert_eq!(raw.flags(a), ["\\Answered"]);
    assert_eq!(raw.flags(b), ["\\Answered", "\\Flagged"]);
    assert_eq!(raw.flags(c), Vec::<String>::new());
}

#[tokio::test]
async fn delete_expunges_only_the_given_uids() {
    let d = Dovecot::shared();
    let user = d.add_user("delete");
    let mut raw = d.imap(&user);
    let a = raw.append("INBOX", "", &mail("a", "a"));
    let b = raw.append("INBOX", "", &mail("b", "b"));
    let c = raw.append("INBOX", "", &mail("c", "c"));
    raw.select("INBOX");
    // Another client marked c for deletion but has not expunged it.
    raw.store(c, "+FLAGS", "\\Deleted");

    let mut f = open(d, &user, "INBOX").await;
    f.delete(&[a]).await.unwrap();
    assert_eq!(f.exists(), 2);

    let mut check = d.imap(&user);
    check.select("INBOX");
    assert_eq!(check.uids(), vec![b, c]);
    assert_eq!(check.flags(c), ["\\Deleted"]);
}

/// `expunge = no` leaves a deleted message on the server, flagged
/// `\Deleted`, also where UIDPLUS would allow expunging it alone.
#[tokio::test]
async fn with_expunge_off_delete_only_flags_even_with_uidplus() {
    let d = Dovecot::shared();
    let user = d.add_user("noexpunge");
    let mut raw = d.imap(&user);
    let a = raw.append("INBOX", "", &mail("a", "a"));
    let b = raw.append("INBOX", "", &mail("b", "b"));
    let s = session(d, &user).await;
    assert!(s.has_capability("UIDPLUS"), "{:?}", s.capabilities());
    let mut f = select(s, "INBOX", false, false).await;
    f.delete(&[a]).await.unwrap();
    raw.select("INBOX");
    assert_eq!(raw.uids(), vec![a, b]);
    assert_eq!(raw.flags(a), ["\\Deleted"]);
    assert_eq!(raw.flags(b), Vec::<String>::new());
}

#[tokio::test]
async fn a_read_only_folder_refuses_changes() {
    let d = Dovecot::shared();
    let user = d.add_user("readonly");
    let mut raw = d.imap(&user);
    let a = raw.append("INBOX", "", &mail("a", "a"));
    let mut f = select(session(d, &user).await, "INBOX", true, true).await;
    assert!(f.is_read_only());
    assert_eq!(f.snapshot().await.unwrap().uids.len(), 1);
    let err = f
        .add_flags(&[a], Flags::from_letters("S"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Folder);
    assert!(f.delete(&[a]).await.is_err());
    raw.select("INBOX");
    assert_eq!(raw.uids(), vec![a]);
}

/// Dovecot with UIDPLUS hidden from the capability list.
fn dovecot_without_uidplus() -> Dovecot {
    Dovecot::start_with_config(
        "protocol imap {\n  imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE\n}\n",
    )
}

#[tokio::test]
async fn without_uidplus_append_finds_the_uid_by_header_and_delete_obeys_expunge() {
    let d = dovecot_without_uidplus();
    let user = d.add_user("nouidplus");
    let mut raw = d.imap(&user);
    let keep = raw.append("INBOX", "", &mail("keep", "k"));

    let s = session(&d, &user).await;
    assert!(!s.has_capability("UIDPLUS"), "{:?}", s.capabilities());
    let mut f = select(s, "INBOX", false, false).await;
    let bytes = mail("found by header", "body");
    let msg = Message {
        id: MsgRef::New(NewId(0)),
        flags: Flags::EMPTY,
        internal_date: None,
        bytes: bytes.clone().into(),
    };
    let uid = f
        .append(&msg, None)
        .await
        .unwrap()
        .expect("UID via header search");
    assert!(uid > keep);
    raw.select("INBOX");
    let stored = raw.body(uid);
    let text = String::from_utf8(stored).unwrap();
    assert!(text.contains("\r\nX-OfflineIMAP: "), "{text}");
    assert!(text.ends_with("\r\n\r\nbody\r\n"), "{text}");

    // expunge = false: the message is only flagged.
    f.delete(&[keep]).await.unwrap();
    assert_eq!(raw.uids(), vec![keep, uid]);
    assert_eq!(raw.flags(keep), ["\\Deleted"]);
}

#[tokio::test]
async fn select_sees_a_uidvalidity_changed_by_doveadm() {
    let d = Dovecot::shared();
    let user = d.add_user("validity");
    d.imap(&user).create("Box");
    d.set_uidvalidity(&user, "Box", 12345);
    let f = open(d, &user, "Box").await;
    assert_eq!(f.uidvalidity(), 12345);
}

#[tokio::test]
async fn a_silent_server_times_out_as_a_transient_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept but never greet.
    let _keep = std::thread::spawn(move || {
        let (_conn, _) = listener.accept().unwrap();
        // Longer than any plausible delay of the 1 s timeout on a loaded
        // machine, so only the timeout can end the wait.
        std::thread::sleep(std::time::Duration::from_secs(60));
    });
    let user = User {
        name: "nobody".into(),
        password: "x".into(),
    };
    let started = std::time::Instant::now();
    let err = ImapSession::connect(
        &repo(port, &user, Tls::None, None),
        Some(std::time::Duration::from_secs(1)),
        None,
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(
        err.to_string(),
        "127.0.0.1: greeting failed: timed out after 1 s"
    );
    assert!(err.is_transient());
}

/// A TCP relay in front of Dovecot for exactly one connection. It tells
/// the test when the server has closed its side, so a test can wait for a
/// server-side disconnect to be complete instead of racing it.
struct Relay {
    port: u16,
    server_closed: std::sync::mpsc::Receiver<()>,
}

impl Relay {
    fn start(target: u16) -> Relay {
        use std::net::{Shutdown, TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (closed_tx, server_closed) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (client, _) = listener.accept().unwrap();
            let server = TcpStream::connect(("127.0.0.1", target)).unwrap();
            let (mut c_in, mut c_out) = (client.try_clone().unwrap(), client);
            let (mut s_in, mut s_out) = (server.try_clone().unwrap(), server);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut s_out);
                let _ = s_out.shutdown(Shutdown::Write);
            });
            // Everything the server sent (a BYE, say) reaches the client,
            // then the client sees the close too.
            let _ = std::io::copy(&mut s_in, &mut c_out);
            let _ = c_out.shutdown(Shutdown::Both);
            let _ = closed_tx.send(());
        });
        Relay {
            port,
            server_closed,
        }
    }
}

#[tokio::test]
async fn a_dropped_connection_is_a_transient_store_error() {
    let d = Dovecot::shared();
    let user = d.add_user("kicked");
    d.imap(&user).append("INBOX", "", &mail("a", "a"));
    let relay = Relay::start(d.port());
    let mut f = ImapSession::connect(&repo(relay.port, &user, Tls::None, None), None, None)
        .await
        .unwrap()
        .select_folder("INBOX", FolderOptions::default())
        .await
        .map_err(|e| e.error)
        .unwrap();
    d.doveadm(&["kick", &user.name]);
    // `doveadm kick` only signals the imap process; wait until it has
    // really closed the connection, or the next command may still succeed.
    relay
        .server_closed
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("Dovecot did not close the kicked connection");
    let err = f.snapshot().await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        err.message
            .starts_with("127.0.0.1: UID FETCH in INBOX failed: "),
        "{err}"
    );
}

#[tokio::test]
async fn logs_in_with_sasl_login_when_only_auth_login_is_offered() {
    // Dovecot then also announces LOGINDISABLED (its LOGIN command needs
    // the PLAIN mechanism), so AUTHENTICATE LOGIN is the only way in.
    let d = Dovecot::start_with_config("auth_mechanisms = login\n");
    let user = d.add_user("loginonly");
    let mut s = session(&d, &user).await;
    assert!(!s.list_folders().await.unwrap().is_empty());
    // Dovecot's log process writes the line asynchronously.
    let started = std::time::Instant::now();
    while !d.log().contains("method=LOGIN") && started.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(d.log().contains("method=LOGIN"), "{}", d.log());
    let mut r = repo(d.port(), &user, Tls::None, None);
    r.password = Some(Secret::new("wrong \"quoted\" pw"));
    let err = ImapSession::connect(&r, None, None).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("127.0.0.1: LOGIN failed for user {}: ", user.name)),
        "{text}"
    );
    assert!(!text.contains("quoted"), "{text}");
}
