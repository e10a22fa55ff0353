//! `synclabels` through the real binary. Dovecot has no `X-GM-EXT-1`, so
//! the server here is a small scripted one (a thread speaking just the
//! IMAP this client sends for one folder, as a `-d imap` trace against
//! Dovecot shows: CAPABILITY, AUTHENTICATE PLAIN, LIST, SELECT, UID FETCH,
//! UID STORE, APPEND with UIDPLUS's APPENDUID, LOGOUT) that keeps `X-GM-LABELS` per message and records
//! every command line.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::harness::Env;

struct FakeMessage {
    uid: u32,
    flags: Vec<String>,
    labels: BTreeSet<String>,
    body: Vec<u8>,
}

#[derive(Default)]
struct State {
    messages: Vec<FakeMessage>,
    commands: Vec<String>,
}

struct FakeGmail {
    port: u16,
    state: Arc<Mutex<State>>,
}

fn labels(l: &[&str]) -> BTreeSet<String> {
    l.iter().map(|s| s.to_string()).collect()
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The labels of an `X-GM-LABELS (...)` list sent by the client.
fn parse_list(inner: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut chars = inner.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c == ' ' {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut l = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => l.extend(chars.next()),
                    c => l.push(c),
                }
            }
            out.insert(l);
        } else {
            let mut l = String::new();
            while let Some(c) = chars.next_if(|c| *c != ' ') {
                l.push(c);
            }
            out.insert(l);
        }
    }
    out
}

fn in_set(set: &str, uid: u32) -> bool {
    set.split(',').any(|part| match part.split_once(':') {
        Some((a, b)) => {
            let lo: u32 = a.parse().unwrap_or(1);
            let hi: u32 = if b == "*" {
                u32::MAX
            } else {
                b.parse().unwrap()
            };
            (lo.min(hi)..=lo.max(hi)).contains(&uid)
        }
        None => part.parse::<u32>().is_ok_and(|u| u == uid),
    })
}

impl FakeGmail {
    fn start(messages: Vec<FakeMessage>) -> FakeGmail {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            messages,
            commands: Vec::new(),
        }));
        let st = state.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let st = st.clone();
                thread::spawn(move || serve(conn, st));
            }
        });
        FakeGmail { port, state }
    }

    fn commands(&self) -> Vec<String> {
        self.state.lock().unwrap().commands.clone()
    }

    fn labels_of(&self, uid: u32) -> BTreeSet<String> {
        let st = self.state.lock().unwrap();
        st.messages
            .iter()
            .find(|m| m.uid == uid)
            .unwrap()
            .labels
            .clone()
    }

    fn set_labels(&self, uid: u32, l: &[&str]) {
        let mut st = self.state.lock().unwrap();
        st.messages
            .iter_mut()
            .find(|m| m.uid == uid)
            .unwrap()
            .labels = labels(l);
    }
}

fn fetch_line(seq: usize, m: &FakeMessage, items: &str) -> Vec<u8> {
    let up = items.to_ascii_uppercase();
    let mut parts = vec![format!("UID {}", m.uid)];
    if up.contains("FLAGS") {
        parts.push(format!("FLAGS ({})", m.flags.join(" ")));
    }
    if up.contains("RFC822.SIZE") {
        parts.push(format!("RFC822.SIZE {}", m.body.len()));
    }
    if up.contains("X-GM-LABELS") {
        let l: Vec<String> = m
            .labels
            .iter()
            .map(|l| {
                if l.starts_with('\\') {
                    l.clone()
                } else {
                    quote(l)
                }
            })
            .collect();
        parts.push(format!("X-GM-LABELS ({})", l.join(" ")));
    }
    if up.contains("INTERNALDATE") {
        parts.push("INTERNALDATE \"01-Jan-2024 10:00:00 +0000\"".to_owned());
    }
    let mut out = format!("* {seq} FETCH ({}", parts.join(" ")).into_bytes();
    if up.contains("BODY") || up.contains("RFC822)") {
        out.extend_from_slice(format!(" BODY[] {{{}}}\r\n", m.body.len()).as_bytes());
        out.extend_from_slice(&m.body);
    }
    out.extend_from_slice(b")\r\n");
    out
}

fn serve(conn: TcpStream, state: Arc<Mutex<State>>) {
    let mut out = conn.try_clone().unwrap();
    let mut input = BufReader::new(conn);
    const CAPS: &str = "IMAP4rev1 AUTH=PLAIN UIDPLUS X-GM-EXT-1";
    let _ = out.write_all(format!("* OK [CAPABILITY {CAPS}] fake Gmail ready\r\n").as_bytes());
    loop {
        let mut line = String::new();
        if input.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end().to_owned();
        let Some((tag, rest)) = line.split_once(' ') else {
            continue;
        };
        state.lock().unwrap().commands.push(rest.to_owned());
        let upper = rest.to_ascii_uppercase();
        let mut reply: Vec<u8> = Vec::new();
        if upper == "CAPABILITY" {
            reply.extend(format!("* CAPABILITY {CAPS}\r\n{tag} OK done\r\n").bytes());
        } else if upper.starts_with("AUTHENTICATE PLAIN") {
            out.write_all(b"+ \r\n").unwrap();
            let mut creds = String::new();
            input.read_line(&mut creds).unwrap();
            reply.extend(format!("{tag} OK logged in\r\n").bytes());
        } else if upper.starts_with("LOGIN") {
            reply.extend(format!("{tag} OK logged in\r\n").bytes());
        } else if upper.starts_with("LIST") {
            reply.extend(
                format!("* LIST (\\HasNoChildren) \"/\" INBOX\r\n{tag} OK done\r\n").bytes(),
            );
        } else if upper.starts_with("SELECT") || upper.starts_with("EXAMINE") {
            let st = state.lock().unwrap();
            let next = st.messages.iter().map(|m| m.uid).max().unwrap_or(0) + 1;
            reply.extend(
                format!(
                    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
                     * {} EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT {next}] ok\r\n\
                     {tag} OK [READ-WRITE] done\r\n",
                    st.messages.len()
                )
                .bytes(),
            );
        } else if upper.starts_with("UID FETCH ") {
            let args = &rest["UID FETCH ".len()..];
            let (set, items) = args.split_once(' ').unwrap();
            let st = state.lock().unwrap();
            for (i, m) in st.messages.iter().enumerate() {
                if in_set(set, m.uid) {
                    reply.extend(fetch_line(i + 1, m, items));
                }
            }
            reply.extend(format!("{tag} OK done\r\n").bytes());
        } else if upper.starts_with("UID STORE ") {
            let args = &rest["UID STORE ".len()..];
            let mut it = args.splitn(3, ' ');
            let (set, what, list) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
            let inner = list.trim().trim_start_matches('(').trim_end_matches(')');
            let mut st = state.lock().unwrap();
            for (i, m) in st.messages.iter_mut().enumerate() {
                if !in_set(set, m.uid) {
                    continue;
                }
                let items = parse_list(inner);
                match what.to_ascii_uppercase().as_str() {
                    "+X-GM-LABELS" => m.labels.extend(items),
                    "-X-GM-LABELS" => m.labels.retain(|l| !items.contains(l)),
                    "+FLAGS.SILENT" => m.flags.extend(items),
                    "-FLAGS.SILENT" => m.flags.retain(|f| !items.contains(f)),
                    other => panic!("unexpected STORE {other}"),
                }
                if what.to_ascii_uppercase().ends_with("X-GM-LABELS") {
                    reply.extend(fetch_line(i + 1, m, "X-GM-LABELS"));
                }
            }
            reply.extend(format!("{tag} OK done\r\n").bytes());
        } else if upper.starts_with("APPEND ") {
            // APPEND "INBOX" (flags) ["date"] {n}: UIDPLUS's answer.
            let size: usize = rest
                .rsplit_once('{')
                .and_then(|(_, n)| n.trim_end_matches('}').parse().ok())
                .unwrap();
            let flags: Vec<String> = rest
                .split_once('(')
                .and_then(|(_, f)| f.split_once(')'))
                .map(|(f, _)| f.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default();
            out.write_all(b"+ go ahead\r\n").unwrap();
            let mut body = vec![0; size];
            input.read_exact(&mut body).unwrap();
            let mut crlf = String::new();
            input.read_line(&mut crlf).unwrap();
            let mut st = state.lock().unwrap();
            let uid = st.messages.iter().map(|m| m.uid).max().unwrap_or(0) + 1;
            st.messages.push(FakeMessage {
                uid,
                flags,
                labels: BTreeSet::new(),
                body,
            });
            reply.extend(
                format!(
                    "* {} EXISTS\r\n{tag} OK [APPENDUID 7 {uid}] done\r\n",
                    st.messages.len()
                )
                .bytes(),
            );
        } else if upper == "LOGOUT" {
            let _ = out.write_all(format!("* BYE bye\r\n{tag} OK done\r\n").as_bytes());
            return;
        } else if ["NOOP", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE"].contains(&upper.as_str()) {
            reply.extend(format!("{tag} OK done\r\n").bytes());
        } else {
            reply.extend(format!("{tag} BAD not in this fake server\r\n").bytes());
        }
        if out.write_all(&reply).is_err() {
            return;
        }
    }
}

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n\r\nbody of {subject}\r\n"
    )
    .into_bytes()
}

fn config(env: &Env, port: u16, extra_account: &str) {
    let text = format!(
        "[general]\naccounts = Test\nmetadata = {meta}\nfsync = no\n\n\
         [Account Test]\nlocalrepository = L\nremoterepository = R\nsynclabels = yes\n{extra_account}\n\n\
         [Repository L]\ntype = GmailMaildir\nlocalfolders = {mail}\nsep = /\n\n\
         [Repository R]\ntype = Gmail\nremotehost = 127.0.0.1\nremoteport = {port}\nssl = no\n\
         starttls = no\nremoteuser = me\nremotepass = pw\nmaxconnections = 1\n",
        meta = env.metadata().display(),
        mail = env.maildir().display(),
    );
    fs::write(env.config_path(), text).unwrap();
}

/// The one file of UID `uid` in the local INBOX.
fn file_of(env: &Env, uid: u32) -> PathBuf {
    let hits: Vec<PathBuf> = ["cur", "new"]
        .iter()
        .flat_map(|d| fs::read_dir(env.maildir().join("INBOX").join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains(&format!(",U={uid},"))
        })
        .collect();
    assert_eq!(hits.len(), 1, "{hits:?}");
    hits.into_iter().next().unwrap()
}

fn read(p: &Path) -> String {
    let mut s = String::new();
    fs::File::open(p).unwrap().read_to_string(&mut s).unwrap();
    s
}

fn status_labels(env: &Env) -> Vec<(i64, String)> {
    let db = env.metadata().join("Account-Test/LocalStatus-sqlite/INBOX");
    let c = rusqlite::Connection::open(db).unwrap();
    let mut st = c
        .prepare("SELECT id, labels FROM status ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn stores(server: &FakeGmail) -> Vec<String> {
    server
        .commands()
        .into_iter()
        .filter(|c| c.starts_with("UID STORE"))
        .collect()
}

#[test]
fn labels_go_both_ways_through_the_header_and_x_gm_labels() {
    let server = FakeGmail::start(vec![
        FakeMessage {
            uid: 1,
            flags: vec!["\\Seen".into()],
            labels: labels(&["\\Inbox", "Work", "\\Starred"]),
            body: mail("one"),
        },
        FakeMessage {
            uid: 2,
            flags: vec![],
            labels: labels(&[]),
            body: mail("two"),
        },
    ]);
    let env = Env::new(server.port, "me", "pw");
    config(&env, server.port, "ignorelabels = \\Starred");

    // 1. Download: the server's labels (less the ignored one) land in
    // the header, the body is untouched.
    let out = env.sync();
    let one = read(&file_of(&env, 1));
    assert_eq!(
        one,
        "From: a@example.org\nSubject: one\nMessage-ID: <one@example.org>\n\
         X-Keywords: Work,\\Inbox\n\nbody of one\n",
        "{out}"
    );
    assert!(!read(&file_of(&env, 2)).contains("X-Keywords"));
    assert!(file_of(&env, 1).to_string_lossy().ends_with(":2,S"));
    assert_eq!(
        status_labels(&env),
        vec![(1, "Work, \\Inbox".to_owned()), (2, String::new())]
    );
    assert!(stores(&server).is_empty(), "{:?}", server.commands());
    assert!(
        server
            .commands()
            .contains(&"UID FETCH 1:* (UID X-GM-LABELS)".to_owned())
    );

    // 2. Labels changed on the server are rewritten into the file, which
    // keeps its name.
    server.set_labels(1, &["Later", "Work", "\\Starred"]);
    let name = file_of(&env, 1);
    env.sync();
    assert_eq!(file_of(&env, 1), name);
    assert_eq!(
        read(&name),
        "From: a@example.org\nSubject: one\nMessage-ID: <one@example.org>\n\
         X-Keywords: Later,Work\n\nbody of one\n"
    );
    assert!(stores(&server).is_empty(), "{:?}", stores(&server));

    // 3. Labels edited in the Maildir go to the server as one STORE per
    // label; the ignored label stays on the server.
    let two = file_of(&env, 2);
    let text = read(&two).replacen("\n\n", "\nX-Keywords: Personal, Travel\n\n", 1);
    fs::write(&two, text).unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    fs::File::options()
        .write(true)
        .open(&two)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let one_text = read(&name).replace("X-Keywords: Later,Work", "X-Keywords: Work");
    fs::write(&name, one_text).unwrap();
    fs::File::options()
        .write(true)
        .open(&name)
        .unwrap()
        .set_modified(later)
        .unwrap();
    env.sync();
    assert_eq!(server.labels_of(2), labels(&["Personal", "Travel"]));
    assert_eq!(server.labels_of(1), labels(&["Work", "\\Starred"]));
    assert_eq!(
        stores(&server),
        vec![
            "UID STORE 2 +X-GM-LABELS (\"Personal\")".to_owned(),
            "UID STORE 2 +X-GM-LABELS (\"Travel\")".to_owned(),
            "UID STORE 1 -X-GM-LABELS (\"Later\")".to_owned(),
        ]
    );
    assert_eq!(
        status_labels(&env),
        vec![(1, "Work".to_owned()), (2, "Personal, Travel".to_owned())]
    );

    // 4. Nothing changed: nothing is stored or rewritten.
    let before = (read(&name), read(&two));
    env.sync();
    assert_eq!(stores(&server).len(), 3, "{:?}", stores(&server));
    assert_eq!((read(&file_of(&env, 1)), read(&file_of(&env, 2))), before);
}

#[test]
fn a_new_local_message_uploads_with_its_labels() {
    let server = FakeGmail::start(vec![FakeMessage {
        uid: 1,
        flags: vec![],
        labels: labels(&["Old"]),
        body: mail("one"),
    }]);
    let env = Env::new(server.port, "me", "pw");
    config(&env, server.port, "");
    env.sync();
    let inbox = env.maildir().join("INBOX");
    fs::write(
        inbox.join("new/1700000000.mua.host"),
        "From: me@example.org\nSubject: mine\nX-Keywords: Receipts, Tax 2024\n\nmy body\n",
    )
    .unwrap();
    env.sync();
    let appended: Vec<String> = server
        .commands()
        .into_iter()
        .filter(|c| c.starts_with("APPEND"))
        .collect();
    assert_eq!(appended.len(), 1, "{:?}", server.commands());
    assert_eq!(server.labels_of(2), labels(&["Receipts", "Tax 2024"]));
    let mine = read(&file_of(&env, 2));
    assert!(mine.contains("X-Keywords: Receipts, Tax 2024\n"), "{mine}");
    assert_eq!(
        status_labels(&env),
        vec![(1, "Old".to_owned()), (2, "Receipts, Tax 2024".to_owned())]
    );
    // Settled: the next sync stores nothing and rewrites nothing.
    let before = stores(&server);
    env.sync();
    assert_eq!(stores(&server), before);
    assert_eq!(read(&file_of(&env, 2)), mine);
}
