//! Bodies fetched in pieces (`imap::PIECE`) from servers that do what
//! Dovecot never does: list a size that is wrong either way, or ignore
//! the range of a partial FETCH and send the whole body. The server is a
//! small scripted one (the IMAP this client sends for one folder: CAPABILITY,
//! LOGIN, LIST, SELECT, UID FETCH, LOGOUT); the real binary syncs it into a
//! Maildir, which must hold every message whole.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::harness::{Env, crlf_to_lf};

struct Served {
    uid: u32,
    body: Vec<u8>,
    /// The RFC822.SIZE the listing gives.
    listed: usize,
}

struct Fake {
    port: u16,
    commands: Arc<Mutex<Vec<String>>>,
    mode: Arc<Mutex<Mode>>,
}

/// How the fake answers a partial FETCH.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// As RFC 3501 says: the octets asked for.
    Honest,
    /// The whole body, whatever the range.
    IgnoreRange,
    /// The first piece, then nothing: the message was expunged meanwhile.
    GoneAfterFirst,
}

/// `BODY.PEEK[]<offset.len>` in a FETCH's items.
fn range(items: &str) -> Option<(usize, usize)> {
    let (_, r) = items.split_once("BODY.PEEK[]<")?;
    let (r, _) = r.split_once('>')?;
    let (o, n) = r.split_once('.')?;
    Some((o.parse().ok()?, n.parse().ok()?))
}

impl Fake {
    fn start(messages: Vec<Served>, mode: Mode) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let commands = Arc::new(Mutex::new(Vec::new()));
        let mode = Arc::new(Mutex::new(mode));
        let messages = Arc::new(messages);
        let (seen, m_mode) = (commands.clone(), mode.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (m, seen, mode) = (messages.clone(), seen.clone(), m_mode.clone());
                thread::spawn(move || serve(conn, &m, &mode, &seen));
            }
        });
        Fake {
            port,
            commands,
            mode,
        }
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn commands(&self) -> Vec<String> {
        self.commands.lock().unwrap().clone()
    }
}

fn serve(conn: TcpStream, messages: &[Served], mode: &Mutex<Mode>, seen: &Mutex<Vec<String>>) {
    let mut out = conn.try_clone().unwrap();
    let mut input = BufReader::new(conn);
    const CAPS: &str = "IMAP4rev1 UIDPLUS";
    let _ = out.write_all(format!("* OK [CAPABILITY {CAPS}] fake ready\r\n").as_bytes());
    loop {
        let mut line = String::new();
        if input.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end().to_owned();
        let Some((tag, rest)) = line.split_once(' ') else {
            continue;
        };
        seen.lock().unwrap().push(rest.to_owned());
        let upper = rest.to_ascii_uppercase();
        let mut reply: Vec<u8> = Vec::new();
        if upper == "CAPABILITY" {
            reply.extend(format!("* CAPABILITY {CAPS}\r\n{tag} OK done\r\n").bytes());
        } else if upper.starts_with("LOGIN") {
            reply.extend(format!("{tag} OK logged in\r\n").bytes());
        } else if upper.starts_with("LIST") {
            reply.extend(
                format!("* LIST (\\HasNoChildren) \"/\" INBOX\r\n{tag} OK done\r\n").bytes(),
            );
        } else if upper.starts_with("SELECT") || upper.starts_with("EXAMINE") {
            let next = messages.iter().map(|m| m.uid).max().unwrap_or(0) + 1;
            reply.extend(
                format!(
                    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
                     * {} EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT {next}] ok\r\n\
                     {tag} OK [READ-WRITE] done\r\n",
                    messages.len()
                )
                .bytes(),
            );
        } else if let Some(args) = rest.strip_prefix("UID FETCH ") {
            let (set, items) = args.split_once(' ').unwrap();
            for (i, m) in messages.iter().enumerate() {
                let wanted = set == "1:*"
                    || set
                        .split(',')
                        .any(|s| s.parse::<u32>().is_ok_and(|u| u == m.uid));
                if !wanted {
                    continue;
                }
                let mode = *mode.lock().unwrap();
                if mode == Mode::GoneAfterFirst && range(items).is_some_and(|(o, _)| o > 0) {
                    continue;
                }
                let mut head = format!("* {} FETCH (UID {} FLAGS (\\Seen)", i + 1, m.uid);
                if items.contains("RFC822.SIZE") {
                    head.push_str(&format!(" RFC822.SIZE {}", m.listed));
                }
                if items.contains("INTERNALDATE") {
                    head.push_str(" INTERNALDATE \"01-Jan-2024 10:00:00 +0000\"");
                }
                reply.extend(head.bytes());
                let part: (String, &[u8]) = match range(items) {
                    Some((o, n)) if mode != Mode::IgnoreRange => {
                        let o = o.min(m.body.len());
                        let end = (o + n).min(m.body.len());
                        (format!("BODY[]<{o}>"), &m.body[o..end])
                    }
                    _ if items.contains("BODY.PEEK[]") => ("BODY[]".into(), &m.body),
                    _ => (String::new(), &[]),
                };
                if !part.0.is_empty() {
                    reply.extend(format!(" {} {{{}}}\r\n", part.0, part.1.len()).bytes());
                    reply.extend_from_slice(part.1);
                }
                reply.extend_from_slice(b")\r\n");
            }
            reply.extend(format!("{tag} OK done\r\n").bytes());
        } else if upper == "LOGOUT" {
            let _ = out.write_all(format!("* BYE bye\r\n{tag} OK done\r\n").as_bytes());
            return;
        } else if ["NOOP", "CHECK", "CLOSE", "UNSELECT"].contains(&upper.as_str()) {
            reply.extend(format!("{tag} OK done\r\n").bytes());
        } else {
            reply.extend(format!("{tag} BAD not in this fake server\r\n").bytes());
        }
        if out.write_all(&reply).is_err() {
            return;
        }
    }
}

/// A message of about `len` bytes, CRLF line ends, its lines numbered so
/// that a piece out of place shows.
fn body(subject: &str, len: usize) -> Vec<u8> {
    let mut m = format!("From: a@example.org\r\nSubject: {subject}\r\n\r\n").into_bytes();
    let mut n = 0u64;
    while m.len() < len {
        m.extend_from_slice(format!("{subject} line {n:09} {}\r\n", "x".repeat(50)).as_bytes());
        n += 1;
    }
    m
}

fn sync_and_check(messages: Vec<Served>, mode: Mode) -> Vec<String> {
    let fake = Fake::start_for(&messages, mode);
    let env = Env::new(fake.port, "me", "pw");
    env.write_config("maxconnections = 1\n");
    env.sync();
    check(&env, &messages);
    fake.commands()
}

impl Fake {
    fn start_for(messages: &[Served], mode: Mode) -> Fake {
        let copy = messages
            .iter()
            .map(|m| Served {
                uid: m.uid,
                body: m.body.clone(),
                listed: m.listed,
            })
            .collect();
        Fake::start(copy, mode)
    }
}

/// The Maildir holds each of `messages` whole, in LF form.
fn check(env: &Env, messages: &[Served]) {
    let want: Vec<(u32, Vec<u8>)> = messages
        .iter()
        .map(|m| (m.uid, crlf_to_lf(&m.body)))
        .collect();
    let local = env.local_messages("INBOX");
    assert_eq!(local.len(), want.len());
    for (uid, bytes) in want {
        let l = local
            .iter()
            .find(|l| l.uid == Some(uid))
            .unwrap_or_else(|| panic!("no file for UID {uid}"));
        assert!(
            l.bytes == bytes,
            "UID {uid}: {} bytes on disk, {} sent",
            l.bytes.len(),
            bytes.len()
        );
    }
}

const MIB: usize = 1024 * 1024;

/// Listed smaller than it is (but above one piece): pieces are asked for
/// one at a time past the listed size until a short one comes. Listed
/// larger: the pieces asked past the end come back empty and are read.
#[test]
fn a_wrong_listed_size_loses_nothing() {
    let under = body("under", 3 * MIB + 5_000);
    let over = body("over", MIB + 10);
    let small = body("small", 2_000);
    let commands = sync_and_check(
        vec![
            Served {
                uid: 1,
                listed: MIB + 1,
                body: under,
            },
            Served {
                uid: 2,
                listed: 6 * MIB,
                body: over,
            },
            Served {
                uid: 3,
                listed: 2_000,
                body: small,
            },
        ],
        Mode::Honest,
    );
    let pieces = |uid: u32| {
        commands
            .iter()
            .filter(|c| c.starts_with(&format!("UID FETCH {uid} (")) && c.contains("BODY.PEEK[]<"))
            .count()
    };
    // 3 MiB + 5,000: four pieces, the last one short.
    assert_eq!(pieces(1), 4, "{commands:#?}");
    // Six listed: four asked at once (the window), a fifth once the
    // first is handed on, before the short second one is read; only two
    // hold data.
    assert_eq!(pieces(2), 5, "{commands:#?}");
    assert_eq!(pieces(3), 0, "{commands:#?}");
}

/// A server that ignores the range and sends the whole body to a partial
/// FETCH: the first answer is the message, the rest are read and dropped.
#[test]
fn a_server_that_ignores_the_range_gives_the_whole_message() {
    let big = body("whole", 2 * MIB + 77);
    let small = body("small", 500);
    sync_and_check(
        vec![
            Served {
                uid: 5,
                listed: big.len(),
                body: big,
            },
            Served {
                uid: 6,
                listed: small.len(),
                body: small,
            },
        ],
        Mode::IgnoreRange,
    );
}

/// A message expunged while its pieces come: its partial file is removed,
/// nothing of it is recorded, the other messages are stored, and the next
/// sync fetches it whole once the server serves it.
#[test]
fn a_message_gone_after_its_first_piece_is_left_for_the_next_sync() {
    let big = body("gone", 2 * MIB + 5);
    let small = body("stays", 300);
    let messages = vec![
        Served {
            uid: 8,
            listed: big.len(),
            body: big,
        },
        Served {
            uid: 9,
            listed: small.len(),
            body: small,
        },
    ];
    let fake = Fake::start_for(&messages, Mode::GoneAfterFirst);
    let env = Env::new(fake.port, "me", "pw");
    env.write_config("maxconnections = 1\n");
    let out = env.run_capture(&[]);
    let text = out.text();
    assert!(text.contains("UID 8 vanished"), "{text}");
    // A message left out is an error of this run.
    assert_eq!(out.code, Some(1), "{text}");
    let local = env.local_messages("INBOX");
    assert_eq!(
        local.iter().map(|l| l.uid).collect::<Vec<_>>(),
        vec![Some(9)],
        "{text}"
    );
    let tmp = env.maildir().join("INBOX").join("tmp");
    assert_eq!(
        fs::read_dir(&tmp).unwrap().count(),
        0,
        "partial file left in tmp/"
    );

    fake.set_mode(Mode::Honest);
    env.sync();
    check(&env, &messages);
}
