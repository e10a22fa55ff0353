//! A deliberately tiny, blocking IMAP client over `std::net::TcpStream`,
//! used to set up and inspect server state independently of the crate's
//! own IMAP code. It panics on anything unexpected: it is test scaffolding.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One untagged response: its text (literals replaced by `{n}`) and the
/// literals it carried, in order.
#[derive(Debug, Clone)]
pub struct Untagged {
    pub text: String,
    pub literals: Vec<Vec<u8>>,
}

pub struct TestClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
}

impl TestClient {
    /// Connect to the plain port and read the greeting.
    pub fn connect(port: u16) -> TestClient {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let writer = stream.try_clone().unwrap();
        let mut c = TestClient {
            reader: BufReader::new(stream),
            writer,
            tag: 0,
        };
        let (greeting, _) = c.read_response();
        assert!(greeting.starts_with("* OK"), "greeting: {greeting}");
        c
    }

    pub fn login(&mut self, user: &str, password: &str) {
        self.ok(&format!("LOGIN \"{user}\" \"{password}\""));
    }

    /// Read one response line, with any literals it announces.
    fn read_response(&mut self) -> (String, Vec<Vec<u8>>) {
        let mut text = String::new();
        let mut literals = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = self.reader.read_until(b'\n', &mut line).unwrap();
            assert!(n > 0, "server closed the connection");
            let s = String::from_utf8_lossy(&line).into_owned();
            let s = s.trim_end_matches(['\r', '\n']).to_string();
            if let Some(len) = literal_len(&s) {
                text.push_str(&s);
                let mut buf = vec![0; len];
                self.reader.read_exact(&mut buf).unwrap();
                literals.push(buf);
            } else {
                text.push_str(&s);
                return (text, literals);
            }
        }
    }

    /// Send a command; return its untagged responses and the tagged line.
    pub fn command(&mut self, line: &str) -> (Vec<Untagged>, String) {
        self.command_bytes(line.as_bytes())
    }

    fn command_bytes(&mut self, line: &[u8]) -> (Vec<Untagged>, String) {
        self.tag += 1;
        let tag = format!("T{}", self.tag);
        self.writer.write_all(tag.as_bytes()).unwrap();
        self.writer.write_all(b" ").unwrap();
        self.writer.write_all(line).unwrap();
        self.writer.write_all(b"\r\n").unwrap();
        self.writer.flush().unwrap();
        let mut untagged = Vec::new();
        loop {
            let (text, literals) = self.read_response();
            if let Some(rest) = text.strip_prefix(&format!("{tag} ")) {
                return (untagged, rest.to_string());
            }
            untagged.push(Untagged { text, literals });
        }
    }

    /// A command that must succeed; returns its untagged responses.
    pub fn ok(&mut self, line: &str) -> Vec<Untagged> {
        let (untagged, done) = self.command(line);
        assert!(done.starts_with("OK"), "{line} -> {done}");
        untagged
    }

    /// CREATE with a wire (modified UTF-7) name.
    pub fn create(&mut self, wire_name: &str) {
        self.ok(&format!("CREATE \"{wire_name}\""));
    }

    /// SELECT; returns UIDVALIDITY.
    pub fn select(&mut self, wire_name: &str) -> u32 {
        let untagged = self.ok(&format!("SELECT \"{wire_name}\""));
        untagged
            .iter()
            .find_map(|u| {
                let i = u.text.find("[UIDVALIDITY ")?;
                let rest = &u.text[i + "[UIDVALIDITY ".len()..];
                rest[..rest.find(']')?].parse().ok()
            })
            .expect("no UIDVALIDITY")
    }

    /// APPEND with flags (e.g. `"\\Seen \\Flagged"`) via LITERAL+; returns
    /// the APPENDUID.
    pub fn append(&mut self, wire_name: &str, flags: &str, message: &[u8]) -> u32 {
        let mut line = format!(
            "APPEND \"{wire_name}\" ({flags}) {{{}+}}\r\n",
            message.len()
        )
        .into_bytes();
        line.extend_from_slice(message);
        let (_, done) = self.command_bytes(&line);
        assert!(done.starts_with("OK"), "APPEND -> {done}");
        let i = done.find("[APPENDUID ").expect("no APPENDUID");
        let rest = &done[i + "[APPENDUID ".len()..];
        let end = rest.find(']').unwrap();
        rest[..end].split(' ').nth(1).unwrap().parse().unwrap()
    }

    /// UIDs in the selected folder.
    pub fn uids(&mut self) -> Vec<u32> {
        let untagged = self.ok("UID SEARCH ALL");
        let mut uids: Vec<u32> = untagged
            .iter()
            .filter_map(|u| u.text.strip_prefix("* SEARCH"))
            .flat_map(|s| {
                s.split_whitespace()
                    .map(|n| n.parse::<u32>().unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        uids.sort_unstable();
        uids
    }

    /// The exact bytes of a message in the selected folder.
    pub fn body(&mut self, uid: u32) -> Vec<u8> {
        let untagged = self.ok(&format!("UID FETCH {uid} BODY.PEEK[]"));
        untagged
            .into_iter()
            .find(|u| u.text.contains("FETCH") && !u.literals.is_empty())
            .map(|mut u| u.literals.remove(0))
            .unwrap_or_else(|| panic!("no body for uid {uid}"))
    }

    /// The flags of a message in the selected folder, sorted, e.g.
    /// `["\\Deleted", "\\Seen"]`.
    pub fn flags(&mut self, uid: u32) -> Vec<String> {
        let untagged = self.ok(&format!("UID FETCH {uid} FLAGS"));
        let text = untagged
            .iter()
            .find(|u| u.text.contains("FLAGS ("))
            .map(|u| u.text.clone())
            .unwrap_or_else(|| panic!("no FLAGS for uid {uid}"));
        let start = text.find("FLAGS (").unwrap() + "FLAGS (".len();
        let end = start + text[start..].find(')').unwrap();
        let mut flags: Vec<String> = text[start..end]
            .split_whitespace()
            .filter(|f| *f != "\\Recent")
            .map(str::to_string)
            .collect();
        flags.sort();
        flags
    }

    /// `UID STORE <uid> <op> (<flags>)`, e.g. op `+FLAGS`.
    pub fn store(&mut self, uid: u32, op: &str, flags: &str) {
        self.ok(&format!("UID STORE {uid} {op} ({flags})"));
    }

    /// The raw `* LIST` lines for `LIST "" "*"`.
    pub fn list(&mut self) -> Vec<String> {
        self.ok("LIST \"\" \"*\"")
            .into_iter()
            .map(|u| u.text)
            .filter(|t| t.starts_with("* LIST"))
            .collect()
    }

    pub fn logout(mut self) {
        let _ = self.command("LOGOUT");
    }
}

fn literal_len(line: &str) -> Option<usize> {
    let body = line.strip_suffix('}')?;
    let open = body.rfind('{')?;
    body[open + 1..].trim_end_matches('+').parse().ok()
}
