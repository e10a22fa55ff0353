//! Crash safety of the real binary: each scenario prepares changes on
//! both sides, then starts `offlineimap` again and again and SIGKILLs it
//! at many points of its copy, flag and delete passes, until a run gets
//! to the end on its own. One more run must then leave both sides holding
//! exactly the expected messages (nothing lost, nothing duplicated) with
//! the expected flags, and a run after that must find nothing to do.
//!
//! Kill points are positions in the conversation with the server, not
//! timings, so that a loaded machine moves them little: the binary talks
//! to Dovecot through a [`Relay`] that stops at a chosen byte or just
//! before the answer to a chosen command, and the binary is killed there,
//! once it has done all it could or while still busy. A twin of the
//! scenario (another user, same changes) synced without interruption
//! tells how much traffic the work takes, so the cuts can be spread over
//! all of it, and checks the expected state itself.
//!
//! The expected state is plain because no flag letter is changed on both
//! sides of one message (the engine's rule for that case, "a change on the
//! server wins", is tested elsewhere), and no message is both changed on
//! one side and deleted on the other.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::harness::{Env, multiset, read_maildir, to_crlf};
use crate::support::dovecot::{Dovecot, User};
use crate::support::imap_client::TestClient;

/// Folder -> message body in IMAP (CRLF) form -> Maildir flag letters,
/// sorted.
type State = BTreeMap<String, BTreeMap<Vec<u8>, String>>;

/// Folder -> every copy found on one side: (CRLF body, sorted letters).
type Found = BTreeMap<String, Vec<(Vec<u8>, String)>>;

const IMAP_FLAGS: [(char, &str); 5] = [
    ('D', "\\Draft"),
    ('F', "\\Flagged"),
    ('R', "\\Answered"),
    ('S', "\\Seen"),
    ('T', "\\Deleted"),
];

fn sorted(letters: &str) -> String {
    let mut v: Vec<char> = letters.chars().collect();
    v.sort_unstable();
    v.dedup();
    v.into_iter().collect()
}

fn imap_flags(letters: &str) -> String {
    IMAP_FLAGS
        .iter()
        .filter(|(c, _)| letters.contains(*c))
        .map(|(_, f)| *f)
        .collect::<Vec<_>>()
        .join(" ")
}

fn letters_of(imap: &[String]) -> String {
    let s: String = IMAP_FLAGS
        .iter()
        .filter(|(_, f)| imap.iter().any(|x| x.eq_ignore_ascii_case(f)))
        .map(|(c, _)| *c)
        .collect();
    sorted(&s)
}

/// A message in Maildir (LF) form, unique by `tag` and `n`, one to three
/// KiB long.
fn message(tag: &str, n: usize) -> Vec<u8> {
    let mut m = format!(
        "From: sender{n}@example.org\nTo: rcpt@example.org\nSubject: {tag} message {n}\n\
         Message-ID: <{tag}.{n}@crash.test>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\n"
    );
    for line in 0..(20 + n % 40) {
        m.push_str(&format!(
            "{tag} {n} line {line}: the quick brown fox jumps over\n"
        ));
    }
    m.into_bytes()
}

/// Pseudo-random numbers from a fixed seed (xorshift), so that a scenario
/// is the same every time while choices still look unordered.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn unit(&mut self) -> f64 {
        (self.next() % 1_000_000) as f64 / 1_000_000.0
    }

    fn flags(&mut self, pool: &str) -> String {
        sorted(
            &pool
                .chars()
                .filter(|_| self.below(2) == 0)
                .collect::<String>(),
        )
    }
}

/// A TCP relay between the binary and Dovecot that stops forwarding at a
/// chosen point of the conversation and then holds the connections open,
/// silent: the binary cannot get past that point, however fast or slow
/// the machine is, so killing it then lands at a known place of the sync.
struct Relay {
    port: u16,
    shared: Arc<(Mutex<Budget>, Condvar)>,
}

/// Where a run's conversation is cut.
#[derive(Clone, Copy, Debug)]
enum Cut {
    Never,
    /// After this many bytes (both directions together).
    At(u64),
    /// This many bytes past the first work command (see [`WORK`]): the
    /// listing before it varies in size with the state.
    AfterWork(u64),
    /// Just before the server's answer to the k-th work command (from 1):
    /// the server has carried it out, the client never hears of it.
    Unheard(u32),
}

struct Budget {
    rule: Cut,
    limit: u64,
    used: u64,
    /// Set when `limit` stopped a transfer.
    cut: bool,
    /// Bumped for each new run; relays of older runs then close.
    epoch: u64,
    /// Where the first work command was.
    first_work: Option<u64>,
    work_commands: u32,
    /// With `Cut::Unheard`, the tag (and space) of the command whose
    /// answer is held back.
    mute_tag: Option<Vec<u8>>,
}

impl Budget {
    fn new(rule: Cut, epoch: u64) -> Budget {
        Budget {
            rule,
            limit: match rule {
                Cut::At(n) => n,
                _ => u64::MAX,
            },
            used: 0,
            cut: false,
            epoch,
            first_work: None,
            work_commands: 0,
            mute_tag: None,
        }
    }

    /// Bytes of `chunk` that one side may forward, applying the rule.
    /// `work` are the tags of the work commands the chunk (from the
    /// client) completed.
    fn allow(
        &mut self,
        chunk: &[u8],
        from_client: bool,
        at_line_start: bool,
        work: Vec<Vec<u8>>,
    ) -> usize {
        for tag in work {
            self.work_commands += 1;
            if self.first_work.is_none() {
                self.first_work = Some(self.used);
                if let Cut::AfterWork(x) = self.rule {
                    self.limit = self.used + x;
                }
            }
            if matches!(self.rule, Cut::Unheard(k) if k == self.work_commands) {
                self.mute_tag = Some(tag);
            }
        }
        if let (false, Some(tag)) = (from_client, &self.mute_tag) {
            let answer = (0..chunk.len()).find(|&p| {
                (if p == 0 {
                    at_line_start
                } else {
                    chunk[p - 1] == b'\n'
                }) && chunk[p..].starts_with(tag)
            });
            if let Some(p) = answer {
                self.limit = self.limit.min(self.used + p as u64);
            }
        }
        let allowed = (self.limit.saturating_sub(self.used)).min(chunk.len() as u64) as usize;
        self.used += allowed as u64;
        allowed
    }
}

impl Relay {
    fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new((Mutex::new(Budget::new(Cut::Never, 0)), Condvar::new()));
        let s = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let epoch = s.0.lock().unwrap().epoch;
                let c2s = (
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    true,
                );
                for (from, to, from_client) in [c2s, (server, client, false)] {
                    let s = s.clone();
                    std::thread::spawn(move || pump(from, to, &s, epoch, from_client));
                }
            }
        });
        Relay { port, shared }
    }

    /// Starts a new run, cut where `rule` says.
    fn reset(&self, rule: Cut) {
        let mut b = self.shared.0.lock().unwrap();
        *b = Budget::new(rule, b.epoch + 1);
        self.shared.1.notify_all();
    }

    /// Bytes forwarded since the last reset, where the first work command
    /// was, and how many there were.
    fn used(&self) -> (u64, Option<u64>, u32) {
        let b = self.shared.0.lock().unwrap();
        (b.used, b.first_work, b.work_commands)
    }

    /// Waits until the rule has stopped a transfer (true) or `child` has
    /// exited (false).
    fn wait_cut(&self, child: &mut Child) -> bool {
        let (lock, cond) = &*self.shared;
        let mut b = lock.lock().unwrap();
        loop {
            if b.cut {
                return true;
            }
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            b = cond.wait_timeout(b, Duration::from_millis(1)).unwrap().0;
        }
    }
}

/// Commands after which the sync changes things (or fetches bodies, which
/// downloads and pairing do just before changing things).
const WORK: [&[u8]; 4] = [b"BODY.PEEK[]", b"UID STORE", b" APPEND ", b"EXPUNGE"];

/// The client's current command line (its start), to spot work commands
/// however the client's writes are split.
#[derive(Default)]
struct Lines {
    current: Vec<u8>,
    counted: bool,
}

impl Lines {
    /// The tags (with their trailing space) of the work commands `chunk`
    /// completes.
    fn feed(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        let mut found = Vec::new();
        for &b in chunk {
            if self.current.len() < 256 {
                self.current.push(b);
                if !self.counted && WORK.iter().any(|w| self.current.ends_with(w)) {
                    self.counted = true;
                    let end = self.current.iter().position(|c| *c == b' ').unwrap_or(0);
                    found.push(self.current[..=end].to_vec());
                }
            }
            if b == b'\n' {
                self.current.clear();
                self.counted = false;
            }
        }
        found
    }
}

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    shared: &(Mutex<Budget>, Condvar),
    epoch: u64,
    from_client: bool,
) {
    let (lock, cond) = shared;
    let mut buf = vec![0u8; 16 * 1024];
    let mut at_line_start = true;
    let mut lines = Lines::default();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let work = if from_client {
            lines.feed(&buf[..n])
        } else {
            Vec::new()
        };
        let allowed = {
            let mut b = lock.lock().unwrap();
            if b.epoch != epoch {
                break;
            }
            let allowed = b.allow(&buf[..n], from_client, at_line_start, work);
            if allowed < n {
                b.cut = true;
                cond.notify_all();
            }
            allowed
        };
        at_line_start = buf[n - 1] == b'\n';
        if to.write_all(&buf[..allowed]).is_err() {
            break;
        }
        if allowed < n {
            // Keep both connections open and silent until the next run.
            let mut b = lock.lock().unwrap();
            while b.epoch == epoch {
                b = cond.wait(b).unwrap();
            }
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// One test's user, Maildir and expected state.
struct World {
    dovecot: &'static Dovecot,
    user: User,
    relay: Relay,
    env: Env,
    expected: State,
    next_local: usize,
    /// Server flag changes not sent yet: (STORE operation, flags) -> UIDs.
    stores: BTreeMap<(String, String), Vec<u32>>,
}

impl World {
    fn new(name: &str, vars: &[(&str, &str)]) -> World {
        let dovecot = Dovecot::shared();
        let user = dovecot.add_user(name);
        let relay = Relay::start(dovecot.port());
        let mut env = Env::new(relay.port, &user.name, &user.password);
        env.vars = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        World {
            dovecot,
            user,
            relay,
            env,
            expected: State::new(),
            next_local: 0,
            stores: BTreeMap::new(),
        }
    }

    fn imap(&self) -> TestClient {
        self.dovecot.imap(&self.user)
    }

    /// Put messages on the server (and into the expected state).
    /// One MULTIAPPEND (with LITERAL+): Dovecot syncs its disk once per
    /// command, and one APPEND per message would make the setup slow.
    fn server_add(&mut self, c: &mut TestClient, folder: &str, msgs: &[(Vec<u8>, String)]) {
        let mut line = format!("APPEND \"{folder}\"");
        for (body, flags) in msgs {
            let crlf = to_crlf(body);
            line.push_str(&format!(" ({}) {{{}+}}\r\n", imap_flags(flags), crlf.len()));
            line.push_str(std::str::from_utf8(&crlf).unwrap());
            self.expected
                .entry(folder.to_string())
                .or_default()
                .insert(crlf, sorted(flags));
        }
        c.ok(&line);
    }

    /// Sends the flag changes and deletions queued for the selected
    /// folder, one UID STORE per change, then expunges.
    fn flush_server(&mut self, c: &mut TestClient) {
        for ((op, flags), uids) in std::mem::take(&mut self.stores) {
            let set: Vec<String> = uids.iter().map(u32::to_string).collect();
            c.ok(&format!("UID STORE {} {op} ({flags})", set.join(",")));
        }
        c.ok("EXPUNGE");
    }

    /// Write messages into the Maildir as a mail client would (names
    /// without UIDs; unflagged ones in `new/` without an info part).
    fn local_add(&mut self, folder: &str, msgs: &[(Vec<u8>, String)]) {
        let dir = self.env.maildir().join(folder);
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for (body, flags) in msgs {
            self.next_local += 1;
            let n = self.next_local;
            let unique = format!("{}.M{}P4242Q{n}.crashhost", 1_700_000_000 + n, n * 7);
            let path = if flags.is_empty() && n.is_multiple_of(2) {
                dir.join("new").join(unique)
            } else {
                dir.join("cur")
                    .join(format!("{unique}:2,{}", sorted(flags)))
            };
            fs::write(path, body).unwrap();
            self.expected
                .entry(folder.to_string())
                .or_default()
                .insert(to_crlf(body), sorted(flags));
        }
    }

    /// The server's messages of `folder`: (uid, CRLF body, letters).
    fn server_messages(c: &mut TestClient, folder: &str) -> Vec<(u32, Vec<u8>, String)> {
        c.select(folder);
        let (untagged, done) = c.command("UID FETCH 1:* (UID FLAGS BODY.PEEK[])");
        assert!(done.starts_with("OK"), "FETCH -> {done}");
        let mut out = Vec::new();
        for u in untagged {
            if !u.text.contains("FETCH") {
                continue;
            }
            let uid = field(&u.text, "UID ")
                .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|s| s.parse().ok())
                .expect("UID in FETCH");
            let flags = field(&u.text, "FLAGS (")
                .map(|s| &s[..s.find(')').unwrap()])
                .unwrap_or_default();
            let flags: Vec<String> = flags.split_whitespace().map(str::to_string).collect();
            let body = u.literals.into_iter().next().expect("body literal");
            out.push((uid, body, letters_of(&flags)));
        }
        out
    }

    fn server_folders(c: &mut TestClient) -> Vec<String> {
        c.list()
            .iter()
            .filter(|line| !line.contains("\\Noselect") && !line.contains("\\NonExistent"))
            .map(|line| {
                let name = line.rsplit(' ').next().unwrap();
                name.trim_matches('"').to_string()
            })
            .collect()
    }

    fn server_state(&self) -> Found {
        let mut c = self.imap();
        let mut out = Found::new();
        for f in Self::server_folders(&mut c) {
            let msgs = Self::server_messages(&mut c, &f);
            out.insert(f, msgs.into_iter().map(|(_, b, l)| (b, l)).collect());
        }
        c.logout();
        out
    }

    fn local_state(&self) -> Found {
        let mut out = Found::new();
        for f in self.env.local_folders() {
            let msgs = self.env.local_messages(&f);
            out.insert(
                f,
                msgs.into_iter()
                    .map(|m| (to_crlf(&m.bytes), sorted(&m.flags)))
                    .collect(),
            );
        }
        out
    }

    /// A cheap picture of both sides, to tell whether a killed run had
    /// changed anything (local file names, server UIDs and flags), and
    /// whether it left an upload for pairing (see
    /// [`Stats::left_for_pairing`]).
    fn look(&self) -> (String, bool) {
        let mut s = String::new();
        for f in self.env.local_folders() {
            s.push_str(&f);
            s.push('\n');
            for m in read_maildir(&self.env.maildir().join(&f)) {
                s.push_str(&m.path.to_string_lossy());
                s.push('\n');
            }
        }
        let mut c = self.imap();
        let mut for_pairing = false;
        for f in Self::server_folders(&mut c) {
            c.select(&f);
            let (untagged, _) = c.command("UID FETCH 1:* (UID FLAGS)");
            let mut on_server = Vec::new();
            for u in untagged {
                s.push_str(&f);
                s.push_str(&u.text);
                s.push('\n');
                on_server.extend(
                    field(&u.text, "UID ")
                        .and_then(|x| x.split(|c: char| !c.is_ascii_digit()).next())
                        .and_then(|x| x.parse::<u32>().ok()),
                );
            }
            let local = read_maildir(&self.env.maildir().join(&f));
            let known: Vec<u32> = local.iter().filter_map(|m| m.uid).collect();
            for_pairing |= local.iter().any(|m| m.uid.is_none())
                && on_server.iter().any(|u| !known.contains(u));
        }
        c.logout();
        (s, for_pairing)
    }

    /// Local message files of `folder` by CRLF body.
    fn local_paths(&self, folder: &str) -> BTreeMap<Vec<u8>, PathBuf> {
        read_maildir(&self.env.maildir().join(folder))
            .into_iter()
            .map(|m| (to_crlf(&m.bytes), m.path))
            .collect()
    }

    /// Rename a local message to carry `flags` (into `cur/`, as a mail
    /// client does).
    fn local_set_flags(path: &Path, flags: &str) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let base = name
            .split_once(":2,")
            .map(|(b, _)| b.to_string())
            .unwrap_or(name);
        let dir = path.parent().unwrap().parent().unwrap().join("cur");
        fs::rename(path, dir.join(format!("{base}:2,{}", sorted(flags)))).unwrap();
    }

    /// Change some flags of a synced message on the server and/or in the
    /// Maildir, never the same letter on both sides, so the expected result
    /// is plain: each letter as the side that changed it says.
    fn flip_flags(&mut self, folder: &str, m: &Synced, sides: (bool, bool), rng: &mut Rng) {
        let (on_server, on_local) = sides;
        let mut server = m.flags.clone();
        let mut local = m.flags.clone();
        let mut want = m.flags.clone();
        let flip = |s: &str, l: char| -> String {
            if s.contains(l) {
                s.replace(l, "")
            } else {
                sorted(&format!("{s}{l}"))
            }
        };
        let mut flipped = (false, false);
        for (i, letter) in "SFRD".chars().enumerate() {
            let to_server = match (on_server, on_local) {
                (true, true) => rng.below(2) == 0,
                (s, _) => s,
            };
            // Make sure each changing side flips at least one letter.
            let last_chance = i == 3 && if to_server { !flipped.0 } else { !flipped.1 };
            if !last_chance && rng.below(2) == 0 {
                continue;
            }
            if to_server {
                server = flip(&server, letter);
                flipped.0 = true;
            } else {
                local = flip(&local, letter);
                flipped.1 = true;
            }
            want = flip(&want, letter);
        }
        if server != m.flags {
            self.stores
                .entry(("FLAGS.SILENT".into(), imap_flags(&server)))
                .or_default()
                .push(m.uid);
        }
        if local != m.flags {
            Self::local_set_flags(&m.path, &local);
        }
        self.expected
            .get_mut(folder)
            .unwrap()
            .insert(m.body.clone(), want);
    }

    fn local_delete(&mut self, folder: &str, m: &Synced) {
        fs::remove_file(&m.path).unwrap();
        self.expected.get_mut(folder).unwrap().remove(&m.body);
    }

    /// Queued for [`World::flush_server`].
    fn server_delete(&mut self, folder: &str, m: &Synced) {
        self.stores
            .entry(("+FLAGS.SILENT".into(), "\\Deleted".into()))
            .or_default()
            .push(m.uid);
        self.expected.get_mut(folder).unwrap().remove(&m.body);
    }

    /// The messages of `folder` after a clean sync, as both sides hold
    /// them (selects `folder` on `c`).
    fn synced(&self, c: &mut TestClient, folder: &str) -> Vec<Synced> {
        let paths = self.local_paths(folder);
        let out: Vec<Synced> = Self::server_messages(c, folder)
            .into_iter()
            .map(|(uid, body, flags)| Synced {
                uid,
                path: paths[&body].clone(),
                body,
                flags,
            })
            .collect();
        assert_eq!(out.len(), paths.len(), "{folder} not in sync");
        out
    }

    /// Both sides hold exactly the expected messages, once each, with the
    /// expected flags.
    fn check(&self, what: &str) {
        for (side, found) in [
            ("server", self.server_state()),
            ("maildir", self.local_state()),
        ] {
            let mut names: Vec<&String> = found.keys().chain(self.expected.keys()).collect();
            names.sort();
            names.dedup();
            for name in names {
                let copies = found.get(name).cloned().unwrap_or_default();
                let counts = multiset(copies.iter().map(|(b, _)| b.as_slice()));
                let dups: Vec<String> = counts
                    .iter()
                    .filter(|(_, n)| **n > 1)
                    .map(|(b, n)| format!("{n}x {}", subject(b)))
                    .collect();
                assert!(
                    dups.is_empty(),
                    "{what}: duplicates on {side} in {name}: {dups:?}"
                );
                let got: BTreeMap<Vec<u8>, String> = copies.into_iter().collect();
                let want = self.expected.get(name).cloned().unwrap_or_default();
                let lost: Vec<String> = want
                    .keys()
                    .filter(|b| !got.contains_key(*b))
                    .map(|b| subject(b))
                    .collect();
                let extra: Vec<String> = got
                    .keys()
                    .filter(|b| !want.contains_key(*b))
                    .map(|b| subject(b))
                    .collect();
                assert!(
                    lost.is_empty(),
                    "{what}: lost on {side} in {name}: {lost:?}"
                );
                assert!(
                    extra.is_empty(),
                    "{what}: unexpected on {side} in {name}: {extra:?}"
                );
                let wrong: Vec<String> = want
                    .iter()
                    .filter(|(b, f)| got[*b] != **f)
                    .map(|(b, f)| format!("{}: want {f:?} got {:?}", subject(b), got[b]))
                    .collect();
                assert!(
                    wrong.is_empty(),
                    "{what}: wrong flags on {side} in {name}: {wrong:?}"
                );
            }
        }
    }

    /// A run that finds nothing to do.
    fn check_stable(&self) {
        let out = self.env.sync();
        for word in ["Copy message", "Deleting", "Adding flag"] {
            assert!(!out.contains(word), "not stable, another run said:\n{out}");
        }
    }
}

fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.find(name).map(|i| &text[i + name.len()..])
}

fn subject(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .lines()
        .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
        .unwrap_or_default()
}

/// A message both sides hold after a clean sync.
struct Synced {
    uid: u32,
    path: PathBuf,
    body: Vec<u8>,
    flags: String,
}

/// What the twin's uninterrupted run showed, in bytes through the relay.
struct Traffic {
    /// Where the first work command was: login, folders, listing before.
    start_up: u64,
    /// From there to the end.
    work: u64,
    /// How many work commands there were.
    commands: u32,
}

/// A run of the binary; warnings and errors are collected (stdout is
/// not read while the run goes on, so it must not fill a pipe).
fn start(env: &Env) -> Child {
    env.command(&["-o", "-u", "quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// True when every thread of `pid` is asleep (waiting for the network,
/// a timer or a lock), false while one runs or waits for the disk.
fn asleep(pid: u32) -> bool {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|t| {
        let stat = fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        // `pid (name) S ...`: the state follows the last parenthesis.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state == 'S')
    })
}

/// Waits until the run has done all it can with the bytes it got (its
/// threads stay asleep for a few polls) or has exited. Returns how long
/// that took.
fn wait_settled(child: &mut Child) -> Duration {
    let start = Instant::now();
    let mut quiet_polls = 0;
    while quiet_polls < 4 && start.elapsed() < Duration::from_secs(5) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if asleep(child.id()) {
            quiet_polls += 1;
        } else {
            quiet_polls = 0;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    start.elapsed()
}

/// Kills the run unless it has ended; its exit status and output.
fn kill(mut child: Child) -> (ExitStatus, String) {
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The twin: same scenario, synced without interruption.
fn measure(scenario: fn(&mut World), name: &str, vars: &[(&str, &str)]) -> Traffic {
    let mut twin = World::new(&format!("{name}twin"), vars);
    scenario(&mut twin);
    twin.relay.reset(Cut::Never);
    twin.env.sync();
    let (full, first_work, commands) = twin.relay.used();
    let start_up = first_work.expect("the scenario has no work");
    twin.check("uninterrupted run");
    twin.check_stable();
    Traffic {
        start_up,
        work: full - start_up,
        commands,
    }
}

#[derive(Debug, Default)]
struct Stats {
    runs: usize,
    /// Runs that ended by our SIGKILL.
    killed: usize,
    /// Killed runs after which something had changed on either side.
    killed_after_changes: usize,
    /// Killed while still busy with what they had got (the others were
    /// killed waiting for the server).
    killed_busy: usize,
    /// Killed after the server carried out a change whose answer never
    /// reached the client.
    killed_unheard: usize,
    /// Kills that left a server message whose UID no local file carries
    /// beside a local message without a UID: an upload that only the
    /// server knows of, for pairing to sort out.
    left_for_pairing: usize,
}

/// Kill runs until one finishes by itself, then check the result.
///
/// The relay stops each run at a point of its conversation with the
/// server, whatever the machine's speed; the cuts walk through the plan:
///
/// * every fifth run, the first included, is cut at a random byte before
///   the twin's first work command: login, folder creation, status and
///   UIDVALIDITY files, listing, pairing;
/// * every fifth run, from the third, just before the server's answer to
///   its k-th work command: the server has done the APPEND, STORE or
///   EXPUNGE (or sent all of a FETCH), the client does not know;
/// * the rest a random number of bytes (up to two slices of the twin's
///   work) past the first work command: inside a download, an upload, a
///   flag store, between folders.
///
/// Each run gets about one slice (or `commands / kills` commands)
/// further into the plan, so the kills spread over all of it. Three runs
/// in five are then killed once they have done all they could (the state
/// a crash while waiting for the server leaves), the others at a random
/// moment while they may still be busy: writing files, renames,
/// deletions, status rows. When cuts keep changing nothing (pairing
/// fetches bodies that the next run fetches again) the ranges double.
fn crash_repeatedly(w: &World, traffic: &Traffic, kills: u64, seed: u64) -> Stats {
    let mut rng = Rng(seed | 1);
    let mut stats = Stats::default();
    let (mut before, _) = w.look();
    let slice = (traffic.work / kills).max(16);
    let commands = (2 * u64::from(traffic.commands) / kills).max(1);
    let mut unchanged = 0u32;
    // How long a run takes to settle after the cut, as last seen.
    let mut settle = Duration::from_millis(2);
    let debug = std::env::var_os("CRASH_DEBUG").is_some();
    loop {
        assert!(
            stats.runs < 10 * kills as usize,
            "no run finished: {stats:?}"
        );
        let widen = unchanged.saturating_sub(1).min(8);
        let rule = match stats.runs % 5 {
            0 => Cut::At(rng.below(traffic.start_up)),
            2 => Cut::Unheard(1 + rng.below(commands << widen) as u32),
            _ => Cut::AfterWork(rng.below((2 * slice) << widen)),
        };
        w.relay.reset(rule);
        let mut child = start(&w.env);
        let busy = w.relay.wait_cut(&mut child) && rng.below(5) < 2;
        if busy {
            std::thread::sleep(settle.mul_f64(rng.unit()));
        } else {
            settle = wait_settled(&mut child);
        }
        let (status, err) = kill(child);
        stats.runs += 1;
        if status.signal() != Some(9) {
            assert!(
                status.success(),
                "run {} after {} kills failed ({status}): {err}",
                stats.runs,
                stats.killed,
            );
            break;
        }
        stats.killed += 1;
        stats.killed_busy += usize::from(busy);
        stats.killed_unheard += usize::from(matches!(rule, Cut::Unheard(_)));
        let (now, pairing) = w.look();
        stats.left_for_pairing += usize::from(pairing);
        let changed = now != before;
        before = now;
        if changed {
            stats.killed_after_changes += 1;
            unchanged = 0;
        } else if !matches!(rule, Cut::At(_)) {
            unchanged += 1;
        }
        if debug {
            let (used, first, n) = w.relay.used();
            eprintln!(
                "run {}: {rule:?}: cut at {used} bytes, {n} commands (work from {first:?}), \
                 busy {busy}, settle {settle:?}, changed {changed}, pairing {pairing}",
                stats.runs
            );
        }
    }
    w.relay.reset(Cut::Never);
    w.env.sync();
    w.check(&format!("after {} kills", stats.killed));
    w.check_stable();
    stats
}

fn run_scenario(name: &str, scenario: fn(&mut World), kills: u64, seed: u64) -> Stats {
    run_scenario_with(name, scenario, kills, seed, &[])
}

/// [`run_scenario`] with environment variables for every run.
fn run_scenario_with(
    name: &str,
    scenario: fn(&mut World),
    kills: u64,
    seed: u64,
    vars: &[(&str, &str)],
) -> Stats {
    let started = Instant::now();
    let traffic = measure(scenario, name, vars);
    let twin_done = started.elapsed();
    let mut w = World::new(name, vars);
    scenario(&mut w);
    let set_up = started.elapsed();
    let stats = crash_repeatedly(&w, &traffic, kills, seed);
    eprintln!(
        "crash {name}: {} bytes of start-up, {} of work, {stats:?}; \
         twin done at {twin_done:?}, set up at {set_up:?}, all done at {:?}",
        traffic.start_up,
        traffic.work,
        started.elapsed()
    );
    assert!(stats.killed >= 10, "too few kills landed: {stats:?}");
    assert!(
        stats.killed_after_changes >= 5,
        "too few kills landed after some work: {stats:?}"
    );
    assert!(
        stats.killed_unheard >= 2,
        "too few kills landed after an unanswered change: {stats:?}"
    );
    stats
}

// ---- scenarios -------------------------------------------------------------

const FOLDERS: [&str; 3] = ["INBOX", "Work", "Lists/Rust"];

/// More folders for the downloads and the flag and delete passes, whose
/// store calls are per folder: more places to be killed at.
const MORE_FOLDERS: [&str; 7] = [
    "INBOX",
    "Work",
    "Lists/Rust",
    "Lists/Go",
    "Archive",
    "Sent",
    "Drafts",
];

fn create_server_folders(c: &mut TestClient, folders: &[&str]) {
    for f in folders {
        if *f != "INBOX" {
            c.create(f);
        }
    }
}

/// 300 messages on the server in five folders (each downloaded by one
/// FETCH), an empty Maildir.
fn copy_down(w: &mut World) {
    let mut rng = Rng(11);
    let mut c = w.imap();
    let folders = &MORE_FOLDERS[..5];
    create_server_folders(&mut c, folders);
    for (i, f) in folders.iter().enumerate() {
        let msgs: Vec<_> = (0..60)
            .map(|n| (message(&format!("down{i}"), n), rng.flags("SFRD")))
            .collect();
        w.server_add(&mut c, f, &msgs);
    }
    c.logout();
}

#[test]
fn crash_during_copy_down_loses_and_duplicates_nothing() {
    run_scenario("crashdown", copy_down, 15, 101);
}

/// 150 new messages written by a mail client into three folders that
/// already exist on both sides.
fn copy_up(w: &mut World) {
    let mut rng = Rng(12);
    let mut c = w.imap();
    create_server_folders(&mut c, &FOLDERS);
    c.logout();
    w.env.sync();
    for (i, f) in FOLDERS.iter().enumerate() {
        let msgs: Vec<_> = (0..50)
            .map(|n| (message(&format!("up{i}"), n), rng.flags("SFRD")))
            .collect();
        w.local_add(f, &msgs);
    }
}

/// Synced folders of `per_folder` messages each.
fn synced_folders(w: &mut World, tag: &str, folders: &[&str], per_folder: usize, rng: &mut Rng) {
    let mut c = w.imap();
    create_server_folders(&mut c, folders);
    for (i, f) in folders.iter().enumerate() {
        let msgs: Vec<_> = (0..per_folder)
            .map(|n| (message(&format!("{tag}{i}"), n), rng.flags("SFR")))
            .collect();
        w.server_add(&mut c, f, &msgs);
    }
    c.logout();
    w.env.sync();
}

/// Flag changes on both sides: on the server only, in the Maildir only,
/// and on both (different letters), in seven folders.
fn flags(w: &mut World) {
    let mut rng = Rng(13);
    synced_folders(w, "flags", &MORE_FOLDERS, 40, &mut rng);
    let mut c = w.imap();
    for f in MORE_FOLDERS {
        for m in w.synced(&mut c, f) {
            let sides = match rng.below(4) {
                0 => (true, false),
                1 => (false, true),
                2 => (true, true),
                _ => continue,
            };
            w.flip_flags(f, &m, sides, &mut rng);
        }
        w.flush_server(&mut c);
    }
    c.logout();
}

/// Deletions on the server and in the Maildir (and a few on both).
fn deletes(w: &mut World) {
    let mut rng = Rng(14);
    synced_folders(w, "del", &MORE_FOLDERS, 40, &mut rng);
    let mut c = w.imap();
    for f in MORE_FOLDERS {
        for m in w.synced(&mut c, f) {
            match rng.below(6) {
                0 | 1 => w.server_delete(f, &m),
                2 | 3 => w.local_delete(f, &m),
                4 => {
                    w.server_delete(f, &m);
                    w.local_delete(f, &m);
                }
                _ => {}
            }
        }
        w.flush_server(&mut c);
    }
    c.logout();
}

/// A bit of everything: new messages, deletions and flag changes on both
/// sides, plus a new folder on each side.
fn mixed(w: &mut World) {
    let mut rng = Rng(15);
    synced_folders(w, "mixed", &FOLDERS, 50, &mut rng);
    let mut c = w.imap();
    for (i, f) in FOLDERS.iter().enumerate() {
        for m in w.synced(&mut c, f) {
            match rng.below(8) {
                0 => w.server_delete(f, &m),
                1 => w.local_delete(f, &m),
                2 => w.flip_flags(f, &m, (true, false), &mut rng),
                3 => w.flip_flags(f, &m, (false, true), &mut rng),
                4 => w.flip_flags(f, &m, (true, true), &mut rng),
                _ => {}
            }
        }
        w.flush_server(&mut c);
        let remote: Vec<_> = (0..30)
            .map(|n| (message(&format!("mixr{i}"), n), rng.flags("SFRD")))
            .collect();
        w.server_add(&mut c, f, &remote);
        let local: Vec<_> = (0..30)
            .map(|n| (message(&format!("mixl{i}"), n), rng.flags("SFRD")))
            .collect();
        w.local_add(f, &local);
    }
    c.create("Remote/Fresh");
    let remote: Vec<_> = (0..30)
        .map(|n| (message("freshr", n), rng.flags("SFRD")))
        .collect();
    w.server_add(&mut c, "Remote/Fresh", &remote);
    c.logout();
    let local: Vec<_> = (0..30)
        .map(|n| (message("freshl", n), rng.flags("SFRD")))
        .collect();
    w.local_add("Local/Fresh", &local);
}

#[test]
fn crash_during_copy_up_loses_and_duplicates_nothing() {
    let stats = run_scenario("crashup", copy_up, 20, 102);
    assert!(
        stats.left_for_pairing >= 2,
        "too few kills between an APPEND and its relabelling: {stats:?}"
    );
}

#[test]
fn crash_during_flag_passes_loses_nothing() {
    run_scenario("crashflags", flags, 200, 103);
}

#[test]
fn crash_during_delete_passes_loses_and_duplicates_nothing() {
    run_scenario("crashdel", deletes, 200, 104);
}

#[test]
fn crash_during_mixed_changes_loses_and_duplicates_nothing() {
    run_scenario("crashmixed", mixed, 30, 105);
}

/// The mixed changes in folders synced in UID ranges of 7
/// (`OFFLINEIMAP_SYNC_CHUNK`), whose resyncs list each range from what the
/// QRESYNC SELECT reported and prove the result with one CHANGEDSINCE
/// FETCH.
#[test]
fn crash_during_mixed_changes_in_ranges_loses_and_duplicates_nothing() {
    run_scenario_with(
        "crashranged",
        mixed,
        30,
        106,
        &[("OFFLINEIMAP_SYNC_CHUNK", "7")],
    );
}

/// The flag changes on both sides in folders synced in UID ranges of 7: no
/// new local message, so each range is planned from the Maildir's census,
/// the local renames wait for one listing (`chunk::hold_local`) and the
/// server's flag changes for the folder's end.
#[test]
fn crash_during_flag_passes_in_ranges_loses_nothing() {
    run_scenario_with(
        "crashflagsranged",
        flags,
        40,
        107,
        &[("OFFLINEIMAP_SYNC_CHUNK", "7")],
    );
}

/// Changes on the server only, in seven folders synced and stamped just
/// before: flag changes, deletions and new messages. The resync plans each
/// folder from the server's changes alone (`folder_sync::delta`).
fn server_only(w: &mut World) {
    let mut rng = Rng(17);
    synced_folders(w, "srv", &MORE_FOLDERS, 40, &mut rng);
    let mut c = w.imap();
    for (i, f) in MORE_FOLDERS.iter().enumerate() {
        for m in w.synced(&mut c, f) {
            match rng.below(5) {
                0 => w.server_delete(f, &m),
                1 => w.flip_flags(f, &m, (true, false), &mut rng),
                _ => {}
            }
        }
        w.flush_server(&mut c);
        let new: Vec<_> = (0..8)
            .map(|n| (message(&format!("srvnew{i}"), n), rng.flags("SFRD")))
            .collect();
        w.server_add(&mut c, f, &new);
    }
    c.logout();
}

/// A resync that plans only the server's changes, killed once at a point
/// spread over its work, each time from a fresh copy of the same state
/// (only a sync's first run takes that path: a killed one leaves no saved
/// state behind, so the next plans in full), then finished and checked.
#[test]
fn crash_during_a_stamped_resync_loses_and_duplicates_nothing() {
    let name = "crashstamped";
    // The twin, uninterrupted, shows the path is taken and how much
    // traffic its work is.
    let twin = {
        let mut w = World::new(&format!("{name}twin"), &[]);
        server_only(&mut w);
        w
    };
    twin.relay.reset(Cut::Never);
    let out = twin.env.run(&["-d", "maildir"]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let planned = text
        .matches(": Maildir as last synced; planning the ")
        .count();
    assert_eq!(planned, MORE_FOLDERS.len(), "{text}");
    let (full, first_work, _) = twin.relay.used();
    let start_up = first_work.expect("the scenario has no work");
    twin.check("uninterrupted run");
    twin.check_stable();
    let work = full - start_up;

    let mut rng = Rng(108);
    let mut killed = 0;
    for i in 0..8u64 {
        let mut w = World::new(&format!("{name}{i}"), &[]);
        server_only(&mut w);
        let rule = if i % 3 == 2 {
            Cut::Unheard(1 + rng.below(6) as u32)
        } else {
            Cut::AfterWork(work * i / 8 + rng.below(work / 8))
        };
        w.relay.reset(rule);
        let mut child = start(&w.env);
        if w.relay.wait_cut(&mut child) && rng.below(2) == 0 {
            std::thread::sleep(Duration::from_millis(rng.below(20)));
        } else {
            wait_settled(&mut child);
        }
        let (status, err) = kill(child);
        if status.signal() == Some(9) {
            killed += 1;
        } else {
            assert!(status.success(), "run {i} failed ({status}): {err}");
        }
        w.relay.reset(Cut::Never);
        w.env.sync();
        w.check(&format!("after the kill of run {i} ({rule:?})"));
        w.check_stable();
    }
    assert!(killed >= 6, "too few kills landed: {killed} of 8");
}
