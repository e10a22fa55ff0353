//! A raw IMAP client that measures the floor of the benchmark's resyncs (c)
//! and (d): the least any client must ask the server to learn and apply the
//! same changes, with no disk and no sync logic (bench/run times it beside
//! the tools).
//!
//! ```text
//! imap_floor PORT USER PASS save STATEFILE
//! imap_floor PORT USER PASS server-changes STATEFILE [--connections N]
//! imap_floor PORT USER PASS local-changes CHANGESFILE [--connections N]
//! ```
//!
//! `save` records per folder what a previous sync would have kept
//! (UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT) in STATEFILE, one line
//! `UIDVALIDITY MODSEQ UIDNEXT NAME` per folder. `server-changes` asks for
//! what changed since then (`SELECT ... (QRESYNC ...)`) and fetches the new
//! messages, dropping their bodies. `local-changes` applies CHANGESFILE's
//! lines `flag|unflag|delete UIDSET NAME` (written by bench/lib/mutate.py
//! local-plan) with `UID STORE` and `UID EXPUNGE`. Folders are spread over
//! N connections, one thread each. Plain LOGIN, loopback only: a benchmark
//! tool, not a client to point at a real server.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// Every failure ends the run with one line; the floor has nothing to retry.
#[derive(Debug)]
struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, Error> {
    Err(Error(msg.into()))
}

/// One server response: its text with the literals cut out (their `{n}`
/// markers stay), the literals that were kept, and the bytes of all of them.
#[derive(Debug, Default)]
struct Response {
    text: Vec<u8>,
    literals: Vec<Vec<u8>>,
    literal_bytes: u64,
}

/// The length announced by a line ending in `{n}\r\n`, if it does.
fn literal_len(line: &[u8]) -> Option<u64> {
    let line = line
        .strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))?;
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A response code's argument: `* OK [UIDNEXT 42] ...` gives "42" for "UIDNEXT".
fn resp_code<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let rest = line.strip_prefix("* OK [")?;
    let rest = rest.strip_prefix(name)?.strip_prefix(' ')?;
    let end = rest.find(']')?;
    Some(rest[..end].trim())
}

fn resp_code_num(line: &str, name: &str) -> Option<u64> {
    resp_code(line, name)?.parse().ok()
}

/// The UID in a FETCH response's text (`* 3 FETCH (UID 17 FLAGS ...)`).
fn fetch_uid(text: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(text).ok()?;
    if !text.starts_with("* ") || !text.contains(" FETCH (") {
        return None;
    }
    let at = text.find("UID ")?;
    let digits: String = text[at + 4..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// How many UIDs a set such as `1:3,7,9:8` names.
fn count_uid_set(set: &str) -> Option<u64> {
    let mut n = 0u64;
    for part in set.split(',') {
        n += match part.split_once(':') {
            Some((a, b)) => {
                let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
                a.max(b) - a.min(b) + 1
            }
            None => {
                part.parse::<u64>().ok()?;
                1
            }
        };
    }
    Some(n)
}

/// A folder name as an IMAP quoted string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The mailbox name of a `* LIST` response, or None for a folder that cannot
/// be selected.
fn list_name(resp: &Response) -> Option<String> {
    let text = std::str::from_utf8(&resp.text).ok()?;
    let rest = text.strip_prefix("* LIST (")?;
    let (attrs, rest) = rest.split_once(')')?;
    let lower = attrs.to_ascii_lowercase();
    if lower.contains("\\noselect") || lower.contains("\\nonexistent") {
        return None;
    }
    if let Some(lit) = resp.literals.first() {
        return String::from_utf8(lit.clone()).ok();
    }
    let rest = rest.trim_start();
    // The delimiter: a quoted character or NIL.
    let rest = if let Some(r) = rest.strip_prefix("NIL") {
        r
    } else {
        let r = rest.strip_prefix('"')?;
        let r = r.strip_prefix('\\').unwrap_or(r);
        r.get(1..)?.strip_prefix('"')?
    };
    let name = rest.trim();
    if let Some(q) = name.strip_prefix('"') {
        let q = q.strip_suffix('"')?;
        let mut out = String::new();
        let mut chars = q.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                out.push(chars.next()?);
            } else {
                out.push(c);
            }
        }
        Some(out)
    } else {
        Some(name.to_string())
    }
}

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
}

impl Conn {
    fn open(port: u16, user: &str, pass: &str) -> Result<Conn, Error> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .or_else(|e| err(format!("connect to 127.0.0.1:{port}: {e}")))?;
        // Commands are one small write each, answered before the next.
        stream
            .set_nodelay(true)
            .or_else(|e| err(format!("set TCP_NODELAY: {e}")))?;
        let writer = stream
            .try_clone()
            .or_else(|e| err(format!("clone socket: {e}")))?;
        let mut conn = Conn {
            reader: BufReader::with_capacity(1 << 16, stream),
            writer,
            tag: 0,
        };
        let greeting = conn.read_response(false)?;
        if !greeting.text.starts_with(b"* OK") {
            return err(format!(
                "unexpected greeting: {}",
                String::from_utf8_lossy(&greeting.text).trim_end()
            ));
        }
        conn.command(&format!("LOGIN {} {}", quote(user), quote(pass)), false)
            .map_err(|_| Error(format!("LOGIN as {user} failed")))?;
        Ok(conn)
    }

    fn read_line(&mut self, into: &mut Vec<u8>) -> Result<(), Error> {
        let before = into.len();
        self.reader
            .read_until(b'\n', into)
            .or_else(|e| err(format!("read from server: {e}")))?;
        if into.len() == before {
            return err("server closed the connection");
        }
        Ok(())
    }

    /// Reads one response, literals included; bodies not kept are counted
    /// and dropped.
    fn read_response(&mut self, keep_literals: bool) -> Result<Response, Error> {
        let mut resp = Response::default();
        let mut start = 0;
        loop {
            self.read_line(&mut resp.text)?;
            let Some(n) = literal_len(&resp.text[start..]) else {
                return Ok(resp);
            };
            let mut lit = (&mut self.reader).take(n);
            let got = if keep_literals {
                let mut buf = Vec::new();
                let got = lit
                    .read_to_end(&mut buf)
                    .or_else(|e| err(format!("read literal: {e}")))?;
                resp.literals.push(buf);
                got as u64
            } else {
                io::copy(&mut lit, &mut io::sink())
                    .or_else(|e| err(format!("read literal: {e}")))?
            };
            if got != n {
                return err("server closed the connection inside a literal");
            }
            resp.literal_bytes += n;
            start = resp.text.len();
        }
    }

    /// Sends one command and returns its untagged responses; a tagged NO or
    /// BAD is an error naming the command.
    fn command(&mut self, cmd: &str, keep_literals: bool) -> Result<Vec<Response>, Error> {
        self.tag += 1;
        let tag = format!("f{} ", self.tag);
        let line = format!("{tag}{cmd}\r\n");
        self.writer
            .write_all(line.as_bytes())
            .or_else(|e| err(format!("write to server: {e}")))?;
        let mut out = Vec::new();
        loop {
            let resp = self.read_response(keep_literals)?;
            if let Some(status) = resp.text.strip_prefix(tag.as_bytes()) {
                if status.starts_with(b"OK") {
                    return Ok(out);
                }
                let verb = cmd.split(' ').take(2).collect::<Vec<_>>().join(" ");
                return err(format!(
                    "{verb} failed: {}",
                    String::from_utf8_lossy(status).trim_end()
                ));
            }
            out.push(resp);
        }
    }

    fn logout(mut self) {
        // The work is done; a server that hangs up first changes nothing.
        let _ = self.command("LOGOUT", false);
    }
}

fn folders(conn: &mut Conn) -> Result<Vec<String>, Error> {
    let mut names: Vec<String> = conn
        .command("LIST \"\" \"*\"", true)?
        .iter()
        .filter_map(list_name)
        .collect();
    names.sort();
    Ok(names)
}

/// What `save` records for one folder.
#[derive(Debug, Clone, PartialEq)]
struct FolderState {
    name: String,
    uidvalidity: u64,
    modseq: u64,
    uidnext: u64,
}

fn parse_state(text: &str) -> Result<Vec<FolderState>, Error> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut parts = line.splitn(4, ' ');
        let mut num = || parts.next().and_then(|p| p.parse::<u64>().ok());
        let (Some(uidvalidity), Some(modseq), Some(uidnext)) = (num(), num(), num()) else {
            return err(format!(
                "state file line {}: not 'UIDVALIDITY MODSEQ UIDNEXT NAME'",
                i + 1
            ));
        };
        let Some(name) = parts.next().filter(|n| !n.is_empty()) else {
            return err(format!("state file line {}: no folder name", i + 1));
        };
        out.push(FolderState {
            name: name.to_string(),
            uidvalidity,
            modseq,
            uidnext,
        });
    }
    Ok(out)
}

/// One folder's share of CHANGESFILE: UID sets to flag, unflag and delete.
#[derive(Debug, Default, Clone, PartialEq)]
struct FolderChanges {
    flag: Vec<String>,
    unflag: Vec<String>,
    delete: Vec<String>,
}

fn parse_changes(text: &str) -> Result<Vec<(String, FolderChanges)>, Error> {
    let mut by_folder: BTreeMap<String, FolderChanges> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let mut parts = line.splitn(3, ' ');
        let (Some(action), Some(set), Some(name)) = (parts.next(), parts.next(), parts.next())
        else {
            return err(format!(
                "changes file line {}: not 'ACTION UIDSET NAME'",
                i + 1
            ));
        };
        if count_uid_set(set).is_none() {
            return err(format!("changes file line {}: bad UID set {set}", i + 1));
        }
        let entry = by_folder.entry(name.to_string()).or_default();
        let list = match action {
            "flag" => &mut entry.flag,
            "unflag" => &mut entry.unflag,
            "delete" => &mut entry.delete,
            other => {
                return err(format!(
                    "changes file line {}: unknown action {other}",
                    i + 1
                ));
            }
        };
        list.push(set.to_string());
    }
    Ok(by_folder.into_iter().collect())
}

fn save(conn: &mut Conn) -> Result<(String, usize), Error> {
    conn.command("ENABLE QRESYNC", false)?;
    let mut out = String::new();
    let names = folders(conn)?;
    for name in &names {
        if name.contains(['\n', '\r']) {
            return err(format!("folder name with a line break: {name:?}"));
        }
        let resps = conn.command(&format!("EXAMINE {}", quote(name)), false)?;
        let (mut validity, mut modseq, mut next) = (None, None, None);
        for r in &resps {
            let text = String::from_utf8_lossy(&r.text);
            validity = validity.or(resp_code_num(&text, "UIDVALIDITY"));
            modseq = modseq.or(resp_code_num(&text, "HIGHESTMODSEQ"));
            next = next.or(resp_code_num(&text, "UIDNEXT"));
        }
        let (Some(v), Some(m), Some(n)) = (validity, modseq, next) else {
            return err(format!(
                "EXAMINE {name}: no UIDVALIDITY, HIGHESTMODSEQ and UIDNEXT (server without QRESYNC?)"
            ));
        };
        out.push_str(&format!("{v} {m} {n} {name}\n"));
    }
    Ok((out, names.len()))
}

#[derive(Debug, Default)]
struct Stats {
    folders: u64,
    changed: u64,
    vanished: u64,
    fetched: u64,
    bytes: u64,
    stores: u64,
    expunged: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.folders += o.folders;
        self.changed += o.changed;
        self.vanished += o.vanished;
        self.fetched += o.fetched;
        self.bytes += o.bytes;
        self.stores += o.stores;
        self.expunged += o.expunged;
    }
}

fn server_changes(conn: &mut Conn, f: &FolderState, st: &mut Stats) -> Result<(), Error> {
    let resps = conn.command(
        &format!(
            "SELECT {} (QRESYNC ({} {}))",
            quote(&f.name),
            f.uidvalidity,
            f.modseq
        ),
        false,
    )?;
    let mut uidnext = None;
    for r in &resps {
        let text = String::from_utf8_lossy(&r.text);
        if let Some(v) = resp_code_num(&text, "UIDVALIDITY")
            && v != f.uidvalidity
        {
            return err(format!(
                "{}: UIDVALIDITY changed, a full resync is needed",
                f.name
            ));
        }
        uidnext = uidnext.or(resp_code_num(&text, "UIDNEXT"));
        if let Some(set) = text.strip_prefix("* VANISHED (EARLIER) ") {
            st.vanished += count_uid_set(set.trim_end())
                .ok_or_else(|| Error(format!("{}: bad VANISHED set {}", f.name, set.trim_end())))?;
        } else if let Some(uid) = fetch_uid(&r.text)
            && u64::from(uid) < f.uidnext
        {
            // New messages show up here too; they are counted as fetched.
            st.changed += 1;
        }
    }
    let Some(uidnext) = uidnext else {
        return err(format!("SELECT {}: no UIDNEXT", f.name));
    };
    // `n:*` names the last message even when nothing is newer: ask only when
    // the folder grew.
    if uidnext > f.uidnext {
        let resps = conn.command(
            &format!("UID FETCH {}:* (UID FLAGS BODY.PEEK[])", f.uidnext),
            false,
        )?;
        for r in &resps {
            if fetch_uid(&r.text).is_some_and(|u| u64::from(u) >= f.uidnext) {
                st.fetched += 1;
                st.bytes += r.literal_bytes;
            }
        }
    }
    st.folders += 1;
    Ok(())
}

fn local_changes(
    conn: &mut Conn,
    name: &str,
    c: &FolderChanges,
    st: &mut Stats,
) -> Result<(), Error> {
    conn.command(&format!("SELECT {}", quote(name)), false)?;
    let store = |conn: &mut Conn, set: &str, how: &str, flag: &str| {
        conn.command(
            &format!("UID STORE {set} {how}FLAGS.SILENT ({flag})"),
            false,
        )
    };
    for set in &c.flag {
        store(conn, set, "+", "\\Flagged")?;
        st.stores += 1;
    }
    for set in &c.unflag {
        store(conn, set, "-", "\\Flagged")?;
        st.stores += 1;
    }
    for set in &c.delete {
        store(conn, set, "+", "\\Deleted")?;
        st.stores += 1;
        let resps = conn.command(&format!("UID EXPUNGE {set}"), false)?;
        st.expunged += resps
            .iter()
            .filter(|r| r.text.starts_with(b"* ") && r.text.ends_with(b" EXPUNGE\r\n"))
            .count() as u64;
    }
    st.folders += 1;
    Ok(())
}

/// Runs `work` for every item on up to `connections` connections, each
/// taking the next item when done with one, and sums their stats.
fn spread<T: Sync>(
    port: u16,
    user: &str,
    pass: &str,
    connections: usize,
    qresync: bool,
    items: &[T],
    work: impl Fn(&mut Conn, &T, &mut Stats) -> Result<(), Error> + Sync,
) -> Result<Stats, Error> {
    let next = AtomicUsize::new(0);
    let total = Mutex::new(Stats::default());
    let worker = || -> Result<(), Error> {
        let mut conn = Conn::open(port, user, pass)?;
        if qresync {
            conn.command("ENABLE QRESYNC", false)?;
        }
        let mut st = Stats::default();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            work(&mut conn, item, &mut st)?;
        }
        conn.logout();
        match total.lock() {
            Ok(mut t) => t.add(&st),
            Err(_) => return err("a worker thread panicked"),
        }
        Ok(())
    };
    let n = connections.clamp(1, items.len().max(1));
    let results: Vec<Result<(), Error>> = thread::scope(|s| {
        let handles: Vec<_> = (0..n).map(|_| s.spawn(worker)).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| err("a worker thread panicked")))
            .collect()
    });
    for r in results {
        r?;
    }
    total
        .into_inner()
        .or_else(|_| err("a worker thread panicked"))
}

const USAGE: &str = "usage: imap_floor PORT USER PASS save STATEFILE\n       \
    imap_floor PORT USER PASS no-change STATEFILE\n       \
    imap_floor PORT USER PASS server-changes STATEFILE [--connections N]\n       \
    imap_floor PORT USER PASS local-changes CHANGESFILE [--connections N]";

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn run(args: &[String]) -> Result<(), Error> {
    let mut pos = Vec::new();
    let mut connections = 1usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--connections" {
            connections = it
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|&n| n > 0)
                .ok_or_else(|| Error("--connections needs a positive number".into()))?;
        } else {
            pos.push(a.as_str());
        }
    }
    let [port, user, pass, mode, file] = pos[..] else {
        return err(USAGE);
    };
    let port: u16 = port.parse().or_else(|_| err(format!("bad port {port}")))?;
    let read =
        |path: &str| std::fs::read_to_string(path).or_else(|e| err(format!("read {path}: {e}")));
    match mode {
        "save" => {
            let mut conn = Conn::open(port, user, pass)?;
            let (text, n) = save(&mut conn)?;
            conn.logout();
            std::fs::write(file, text).or_else(|e| err(format!("write {file}: {e}")))?;
            eprintln!("imap_floor save: {n} folders");
        }
        "no-change" => {
            // What a no-change resync cannot do without: log in, ask each
            // folder's STATUS, log out.
            let state = parse_state(&read(file)?)?;
            let mut conn = Conn::open(port, user, pass)?;
            for f in &state {
                conn.command(
                    &format!("STATUS {} (UIDNEXT MESSAGES HIGHESTMODSEQ)", quote(&f.name)),
                    false,
                )?;
            }
            conn.logout();
            eprintln!("imap_floor no-change: {} folders", state.len());
        }
        "server-changes" => {
            let state = parse_state(&read(file)?)?;
            let st = spread(port, user, pass, connections, true, &state, server_changes)?;
            eprintln!(
                "imap_floor server-changes ({connections} connection{}): {} folders, {} changed, \
                 {} vanished, {} messages fetched, {} bytes",
                plural(connections),
                st.folders,
                st.changed,
                st.vanished,
                st.fetched,
                st.bytes
            );
        }
        "local-changes" => {
            let changes = parse_changes(&read(file)?)?;
            let st = spread(
                port,
                user,
                pass,
                connections,
                false,
                &changes,
                |c, (n, ch), st| local_changes(c, n, ch, st),
            )?;
            eprintln!(
                "imap_floor local-changes ({connections} connection{}): {} folders, {} stores, \
                 {} expunged",
                plural(connections),
                st.folders,
                st.stores,
                st.expunged
            );
        }
        _ => return err(USAGE),
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imap_floor: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_lengths() {
        assert_eq!(literal_len(b"* 1 FETCH (BODY[] {123}\r\n"), Some(123));
        assert_eq!(literal_len(b"* LIST () \"/\" {0}\r\n"), Some(0));
        assert_eq!(literal_len(b"* OK done\r\n"), None);
        assert_eq!(literal_len(b"* OK {}\r\n"), None);
        assert_eq!(literal_len(b"* OK {1x}\r\n"), None);
        assert_eq!(literal_len(b"* OK {99999999999999999999999}\r\n"), None);
    }

    #[test]
    fn response_codes() {
        let line = "* OK [HIGHESTMODSEQ 4711] Highest";
        assert_eq!(resp_code_num(line, "HIGHESTMODSEQ"), Some(4711));
        assert_eq!(resp_code_num(line, "UIDNEXT"), None);
        assert_eq!(
            resp_code_num("* OK [UIDNEXT 9] Predicted", "UIDNEXT"),
            Some(9)
        );
        assert_eq!(resp_code_num("* OK [UIDNEXTX 9]", "UIDNEXT"), None);
        assert_eq!(resp_code_num("* 3 EXISTS", "UIDNEXT"), None);
    }

    #[test]
    fn fetch_uids_and_sets() {
        assert_eq!(
            fetch_uid(b"* 3 FETCH (UID 17 FLAGS (\\Seen))\r\n"),
            Some(17)
        );
        assert_eq!(
            fetch_uid(b"* 3 FETCH (FLAGS () UID 5 MODSEQ (7))\r\n"),
            Some(5)
        );
        assert_eq!(fetch_uid(b"* OK [UIDNEXT 4]\r\n"), None);
        assert_eq!(count_uid_set("1:3,7,10:9"), Some(6));
        assert_eq!(count_uid_set("5"), Some(1));
        assert_eq!(count_uid_set("1:x"), None);
        assert_eq!(count_uid_set(""), None);
    }

    #[test]
    fn list_names() {
        let resp = |t: &str, lits: Vec<Vec<u8>>| Response {
            text: t.as_bytes().to_vec(),
            literals: lits,
            literal_bytes: 0,
        };
        assert_eq!(
            list_name(&resp(
                "* LIST (\\HasNoChildren) \"/\" \"Lists/rust\"\r\n",
                vec![]
            )),
            Some("Lists/rust".into())
        );
        assert_eq!(
            list_name(&resp("* LIST () \"/\" INBOX\r\n", vec![])),
            Some("INBOX".into())
        );
        assert_eq!(
            list_name(&resp("* LIST () \"\\\\\" \"a\\\"b\"\r\n", vec![])),
            Some("a\"b".into())
        );
        assert_eq!(
            list_name(&resp("* LIST () NIL {3}\r\n", vec![b"a b".to_vec()])),
            Some("a b".into())
        );
        assert_eq!(
            list_name(&resp("* LIST (\\Noselect) \"/\" Archive\r\n", vec![])),
            None
        );
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn state_and_changes_files() {
        let st = parse_state("1 20 30 INBOX\n2 5 6 Sent old\n").unwrap();
        assert_eq!(st.len(), 2);
        assert_eq!(
            st[1],
            FolderState {
                name: "Sent old".into(),
                uidvalidity: 2,
                modseq: 5,
                uidnext: 6
            }
        );
        assert!(parse_state("1 x 3 INBOX\n").is_err());
        assert!(parse_state("1 2 3\n").is_err());

        let ch = parse_changes("flag 1,2 INBOX\ndelete 3:4 INBOX\nunflag 9 Lists/rust\n").unwrap();
        assert_eq!(ch.len(), 2);
        assert_eq!(ch[0].0, "INBOX");
        assert_eq!(ch[0].1.flag, vec!["1,2".to_string()]);
        assert_eq!(ch[0].1.delete, vec!["3:4".to_string()]);
        assert_eq!(ch[1].1.unflag, vec!["9".to_string()]);
        assert!(parse_changes("toggle 1 INBOX\n").is_err());
        assert!(parse_changes("flag x INBOX\n").is_err());
    }
}
