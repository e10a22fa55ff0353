//! Running the real binary against a private Dovecot: a temp directory
//! with a Maildir, a metadata directory and a config file, plus helpers to
//! read the Maildir back without using the code under test.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use md5::{Digest, Md5};

use crate::support::dovecot::{Dovecot, User};

/// One test's world: `<tmp>/Mail` (localfolders), `<tmp>/meta`
/// (metadata), `<tmp>/offlineimaprc`.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// Environment variables every run of the binary gets.
    pub vars: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalMessage {
    pub path: PathBuf,
    /// Letters after `:2,`.
    pub flags: String,
    /// `,U=` if present.
    pub uid: Option<u32>,
    pub bytes: Vec<u8>,
}

impl Env {
    pub fn new(port: u16, user: &str, password: &str) -> Env {
        let env = Env {
            dir: tempfile::tempdir().expect("tempdir"),
            port,
            user: user.to_string(),
            password: password.to_string(),
            vars: Vec::new(),
        };
        env.write_config("");
        env
    }

    /// An `Env` for `user` on the plain port of `d`.
    pub fn for_user(d: &Dovecot, user: &User) -> Env {
        Env::new(d.port(), &user.name, &user.password)
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("Mail")
    }

    pub fn metadata(&self) -> PathBuf {
        self.dir.path().join("meta")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("offlineimaprc")
    }

    /// Writes a config for account `Test`; `extra_remote` lines are added
    /// to the remote repository section (e.g. `readonly = yes`).
    pub fn write_config(&self, extra_remote: &str) {
        self.write_config_full("sep = /\n", extra_remote);
    }

    pub fn write_config_full(&self, extra_local: &str, extra_remote: &str) {
        self.write_config_tls(extra_local, "ssl = no\nstarttls = no\n", extra_remote);
    }

    /// As [`Env::write_config_full`], with the remote's TLS lines given
    /// (e.g. `ssl = yes\nsslcacertfile = ...\n`).
    pub fn write_config_tls(&self, extra_local: &str, tls: &str, extra_remote: &str) {
        let text = format!(
            "[general]\naccounts = Test\nmetadata = {meta}\nfsync = no\n\n\
             [Account Test]\nlocalrepository = TestLocal\nremoterepository = TestRemote\n\n\
             [Repository TestLocal]\ntype = Maildir\nlocalfolders = {mail}\n{extra_local}\n\
             [Repository TestRemote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = {port}\n\
             remoteuser = {user}\nremotepass = {pass}\n{tls}{extra_remote}\n",
            meta = self.metadata().display(),
            mail = self.maildir().display(),
            port = self.port,
            user = self.user,
            pass = self.password,
        );
        fs::write(self.config_path(), text).expect("write config");
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_offlineimap"));
        cmd.arg("-c").arg(self.config_path());
        cmd.args(args);
        cmd.env("HOME", self.dir.path());
        cmd.envs(self.vars.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Runs `offlineimap -c CONF -o -u basic ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["-o", "-u", "basic"];
        all.extend_from_slice(args);
        self.command(&all).output().expect("run offlineimap")
    }

    /// Runs `offlineimap -c CONF -o -u basic ARGS` and collects what it
    /// said.
    pub fn run_capture(&self, args: &[&str]) -> Run {
        Run::from(self.run(args))
    }

    /// Runs a sync and fails the test with its output unless it exits 0.
    pub fn sync(&self) -> String {
        let out = self.run(&[]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "offlineimap failed ({}):\n{text}",
            out.status
        );
        text
    }

    /// Every message of the local folder `name` (sep `/`), sorted by path.
    pub fn local_messages(&self, name: &str) -> Vec<LocalMessage> {
        read_maildir(&self.maildir().join(name))
    }

    /// The local folders (directories holding cur/new/tmp), relative names.
    pub fn local_folders(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_folders(&self.maildir(), &self.maildir(), &mut out);
        out.sort();
        out
    }
}

fn collect_folders(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    if dir.join("cur").is_dir() && dir.join("new").is_dir() && dir.join("tmp").is_dir() {
        out.push(
            dir.strip_prefix(root)
                .expect("prefix")
                .to_string_lossy()
                .into_owned(),
        );
    }
    for e in entries.flatten() {
        let p = e.path();
        let n = e.file_name();
        if p.is_dir() && n != "cur" && n != "new" && n != "tmp" {
            collect_folders(root, &p, out);
        }
    }
}

pub fn read_maildir(folder: &Path) -> Vec<LocalMessage> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = fs::read_dir(folder.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let flags = name
                .split_once(":2,")
                .or_else(|| name.split_once("!2,"))
                .map(|(_, f)| f.to_string())
                .unwrap_or_default();
            let uid = name.split(',').find_map(|part| {
                part.strip_prefix("U=")
                    .and_then(|u| u.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|u| u.parse().ok())
            });
            out.push(LocalMessage {
                path: e.path(),
                flags,
                uid,
                bytes: fs::read(e.path()).expect("read message"),
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// IMAP wire form of a Maildir file: LF line ends become CRLF.
pub fn to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 40);
    let mut prev = 0u8;
    for &b in bytes {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// Counts of each distinct body, to detect duplicates and losses.
pub fn multiset<'a>(bodies: impl IntoIterator<Item = &'a [u8]>) -> BTreeMap<Vec<u8>, usize> {
    let mut m = BTreeMap::new();
    for b in bodies {
        *m.entry(b.to_vec()).or_insert(0) += 1;
    }
    m
}

/// A finished run of the binary.
#[derive(Debug)]
pub struct Run {
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout and stderr together, for searching and assertion messages.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Maildir form of an IMAP message: every CR LF pair becomes LF
/// (docs/formats.md, "Line ends").
pub fn crlf_to_lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Lowercase hex MD5, as in a file name's `FMD5=`.
pub fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One message as the server holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerMessage {
    pub uid: u32,
    /// Maildir letters of its system flags (`\Seen` -> `S`), sorted.
    pub flags: String,
    pub bytes: Vec<u8>,
}

/// Every message of a server folder (wire name), read with the raw client
/// (EXAMINE, so that reading changes nothing), by UID.
pub fn server_messages(d: &Dovecot, user: &User, wire_folder: &str) -> Vec<ServerMessage> {
    let mut c = d.imap(user);
    c.ok(&format!("EXAMINE \"{wire_folder}\""));
    let uids = c.uids();
    let out = uids
        .into_iter()
        .map(|uid| ServerMessage {
            uid,
            flags: maildir_letters(&c.flags(uid)),
            bytes: c.body(uid),
        })
        .collect();
    c.logout();
    out
}

/// UIDs and flags only (cheap, for "nothing changed" checks).
pub fn server_flags(d: &Dovecot, user: &User, wire_folder: &str) -> Vec<(u32, String)> {
    let mut c = d.imap(user);
    c.ok(&format!("EXAMINE \"{wire_folder}\""));
    let uids = c.uids();
    let out = uids
        .into_iter()
        .map(|uid| (uid, maildir_letters(&c.flags(uid))))
        .collect();
    c.logout();
    out
}

/// IMAP system flags to sorted Maildir letters; keywords are ignored.
pub fn maildir_letters(flags: &[String]) -> String {
    let mut letters: Vec<char> = flags
        .iter()
        .filter_map(|f| match f.as_str() {
            "\\Draft" => Some('D'),
            "\\Flagged" => Some('F'),
            "\\Answered" => Some('R'),
            "\\Seen" => Some('S'),
            "\\Deleted" => Some('T'),
            _ => None,
        })
        .collect();
    letters.sort_unstable();
    letters.into_iter().collect()
}

/// Every regular file under `root`, relative paths, sorted.
pub fn all_files(root: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).expect("prefix").to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// The `-d imap` trace's client commands and server answers, in the order
/// this program sent and read them: ("C" or "S", tag, rest of the line).
pub fn trace_lines(log: &str) -> Vec<(char, String, String)> {
    log.lines()
        .filter_map(|l| {
            let rest = l.split("[imap]: ").nth(1)?;
            let (side, rest) = rest.split_once(": ")?;
            let side = match side {
                "C" => 'C',
                "S" => 'S',
                _ => return None,
            };
            let (tag, text) = rest.split_once(' ')?;
            Some((side, tag.to_owned(), text.to_owned()))
        })
        .collect()
}

/// The tags of the commands containing `what`, and whether each was sent
/// before the answer to the first of them was read: a group sent in one
/// round trip.
pub fn one_round_trip(trace: &[(char, String, String)], what: &[&str]) -> bool {
    let mut tags = Vec::new();
    let mut first_answer = None;
    for (i, (side, tag, text)) in trace.iter().enumerate() {
        if *side == 'C' && what.iter().any(|w| text.contains(w)) {
            tags.push((i, tag.clone()));
        }
        if *side == 'S' && first_answer.is_none() && tags.first().is_some_and(|(_, t)| t == tag) {
            first_answer = Some(i);
        }
    }
    tags.len() == what.len()
        && tags
            .iter()
            .all(|(i, _)| first_answer.is_none_or(|a| *i < a))
}
