//! One Maildir folder as a [`Store`]: scanning `cur/` and `new/`, reading
//! and writing message files, and renaming them to carry UIDs and flags.
//!
//! The folder remembers, from its last snapshot, only the path and flags
//! of each message, never a body. It touches only the files the engine
//! names: a new message goes to `tmp/` first and is renamed into place;
//! renames never overwrite; a file that a mail client removed or renamed
//! meanwhile is looked up again by its unique part, or skipped.
//!
//! File I/O here is blocking `std::fs`: each call is short and local, and
//! keeping it synchronous keeps the rename/fsync order obvious.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::debug::maildir_debug;
use super::filename::{self, crlf_to_lf_into, lf_to_crlf};
use super::watch::{self, ChangeWatch, Kind};
use super::{Error, ErrorKind};
use crate::sync::model::{Flags, Message, MessageMeta, MsgRef, NewId, NewMessage, Snapshot, Uid};
use crate::sync::store::{MessageSink, Pieces, Store, StoreError};

/// Where a message file lives. OfflineIMAP's rule, applied on every write:
/// `cur/` when the message has `S`, `new/` otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sub {
    New,
    Cur,
}

impl Sub {
    fn dir(self) -> &'static str {
        match self {
            Sub::New => "new",
            Sub::Cur => "cur",
        }
    }

    fn for_flags(flags: Flags) -> Sub {
        if flags.contains('S') {
            Sub::Cur
        } else {
            Sub::New
        }
    }

    /// The directory's index in a [`ChangeWatch`].
    fn watched(self) -> usize {
        match self {
            Sub::New => watch::NEW,
            Sub::Cur => watch::CUR,
        }
    }
}

/// A message file as last seen.
#[derive(Clone, Debug)]
struct Entry {
    sub: Sub,
    name: Name,
    flags: Flags,
}

/// A file name as the index keeps it: without the folder's own
/// `,FMD5=<md5>` part, which every name we wrote repeats (38 of its about
/// 65 bytes), put back by [`Name::full`]. The index holds one name per
/// message of every folder in flight, and these bytes were its largest part
/// (docs/performance.md, "Peak RSS with four large folders in flight").
/// The rest stays an `OsStr` so that a non-UTF-8 name written by some other
/// program can still be read and renamed.
#[derive(Clone, Debug)]
struct Name {
    rest: Box<OsStr>,
    /// Where the cut `,FMD5=<md5>` was; `None` when the name has none.
    fmd5_at: Option<u16>,
}

impl Name {
    fn new(name: OsString, md5: &str) -> Name {
        const KEY: &str = ",FMD5=";
        if let Some(text) = name.to_str() {
            let cut = text
                .match_indices(KEY)
                .map(|(i, _)| i)
                .find(|&i| text[i + KEY.len()..].starts_with(md5));
            if let Some(at) = cut
                && let Ok(at16) = u16::try_from(at)
            {
                let end = at + KEY.len() + md5.len();
                let mut rest = String::with_capacity(text.len() - (end - at));
                rest.push_str(&text[..at]);
                rest.push_str(&text[end..]);
                return Name {
                    rest: OsString::from(rest).into_boxed_os_str(),
                    fmd5_at: Some(at16),
                };
            }
        }
        Name {
            rest: name.into_boxed_os_str(),
            fmd5_at: None,
        }
    }

    /// The file name as it is on disk.
    fn full(&self, md5: &str) -> std::borrow::Cow<'_, OsStr> {
        let (Some(at), Some(text)) = (self.fmd5_at, self.rest.to_str()) else {
            return std::borrow::Cow::Borrowed(&self.rest);
        };
        let at = usize::from(at);
        let mut name = String::with_capacity(text.len() + 6 + md5.len());
        name.push_str(&text[..at]);
        name.push_str(",FMD5=");
        name.push_str(md5);
        name.push_str(&text[at..]);
        std::borrow::Cow::Owned(name.into())
    }
}

/// A folder's trusted UIDs with their flags, as [`MaildirFolder::census`]
/// read them from the file names: 5 bytes a message once finished (flags
/// are an index into the few distinct flag sets a folder has), so that a
/// folder of 100,000 messages costs about half a MiB where its index of
/// names would cost ten.
#[derive(Debug, Default)]
pub struct Census {
    /// While the census is read: UID << 8 | palette index, in the order
    /// the directory gave them (one vector, so one sort orders both).
    reading: Vec<u64>,
    /// By UID once [`Census::finish`]ed, with `flags` beside them.
    uids: Vec<Uid>,
    flags: Vec<u8>,
    palette: Vec<Flags>,
    /// Where each flag set is in `palette`, while the census is read.
    lookup: HashMap<Flags, u8>,
    /// More distinct flag sets than an index holds: the flags are not
    /// known (the UIDs still are).
    overflow: bool,
    /// A UID two files claim (the folder's scan reports the pair).
    duplicate: Option<Uid>,
    /// Messages without a UID this folder trusts.
    pub new: usize,
}

impl Census {
    fn push(&mut self, uid: Uid, flags: Flags) {
        let at = match self.lookup.get(&flags) {
            Some(i) => Some(*i),
            None => {
                let i = u8::try_from(self.palette.len()).ok();
                if let Some(i) = i {
                    self.palette.push(flags);
                    self.lookup.insert(flags, i);
                }
                i
            }
        };
        if at.is_none() {
            self.overflow = true;
        }
        self.reading
            .push(u64::from(uid) << 8 | u64::from(at.unwrap_or(0)));
    }

    fn finish(&mut self) {
        let mut reading = std::mem::take(&mut self.reading);
        reading.sort_unstable();
        let uid_of = |e: u64| Uid::try_from(e >> 8).unwrap_or(Uid::MAX);
        self.duplicate = reading
            .windows(2)
            .find(|w| uid_of(w[0]) == uid_of(w[1]))
            .map(|w| uid_of(w[0]));
        reading.dedup_by_key(|e| *e >> 8);
        self.uids = reading.iter().map(|e| uid_of(*e)).collect();
        self.flags = reading.iter().map(|e| (*e & 0xff) as u8).collect();
        self.lookup = HashMap::new();
    }

    /// Every UID, ascending.
    pub fn uids(&self) -> impl Iterator<Item = Uid> + '_ {
        self.uids.iter().copied()
    }

    /// How many messages have a UID.
    pub fn len(&self) -> usize {
        self.uids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.uids.is_empty()
    }

    /// Whether every message's flags are known and no UID is claimed twice:
    /// then [`Census::range`] is the folder's listing of a range.
    pub fn exact(&self) -> bool {
        !self.overflow && self.duplicate.is_none()
    }

    /// The messages with a UID in `lo..=hi`, as a scan of that range lists
    /// them (sizes unknown: 0, as a scan gives messages with a UID).
    pub fn range(&self, lo: Uid, hi: Uid) -> Snapshot {
        let from = self.uids.partition_point(|u| *u < lo);
        let to = self.uids.partition_point(|u| *u <= hi).max(from);
        Snapshot {
            uids: self.uids[from..to]
                .iter()
                .zip(&self.flags[from..to])
                .map(|(u, i)| {
                    let flags = self
                        .palette
                        .get(usize::from(*i))
                        .copied()
                        .unwrap_or_default();
                    (*u, MessageMeta { flags, size: 0 })
                })
                .collect(),
            new: Vec::new(),
        }
    }
}

/// One Maildir folder (the directory holding `cur/`, `new/`, `tmp/`).
#[derive(Debug)]
pub struct MaildirFolder {
    root: PathBuf,
    md5: String,
    windows_compatible: bool,
    fsync: bool,
    /// `utime_from_header`: a written file's mtime is its `Date:`.
    utime_from_header: bool,
    /// `filename_use_mail_timestamp`: a written file's name starts with
    /// its `Date:` (else `Delivery-date:`).
    name_from_header: bool,
    uids: HashMap<Uid, Entry>,
    /// Indexed by [`NewId`]; `None` once the message got a UID.
    new: Vec<Option<Entry>>,
    /// Messages of the snapshot whose file vanished or that we deleted:
    /// later requests for them are skipped, not errors.
    gone: HashSet<MsgRef>,
    /// The LF form of a piece of the message being written, kept between
    /// messages so that each write does not fault in a fresh buffer (see
    /// `fill`).
    lf: Vec<u8>,
    /// Set up by a whole-folder scan: whether anybody else changed `new/`
    /// or `cur/` since (see [`Proof`]).
    watch: Option<ChangeWatch>,
}

/// What a folder's sync left in the Maildir, and the means to prove that
/// nobody else changed it since the scan: the file names' UIDs and flags
/// (ascending UIDs), as a new listing of the directories would give them,
/// provided [`ChangeWatch::verify`] says only our own changes happened.
#[derive(Debug)]
pub struct Proof {
    pub watch: ChangeWatch,
    pub listing: Vec<(Uid, Flags)>,
}

/// How much of a message is turned into LF form and written at a time:
/// a message up to this size takes one write(2); a larger one is converted
/// piece by piece, so its LF form never sits in memory whole beside the
/// fetched copy (four folders in flight could otherwise each hold two
/// copies of a 1 MB attachment). Each open folder keeps its buffer for
/// the next message: 64 KiB, not 256, took the peak heap of a large-corpus
/// resync with 2,000 new messages from 5.8 to 4.2 MB (heaptrack), for
/// 16 instead of 4 write(2)s per 1 MB message.
const LF_CHUNK: usize = 64 * 1024;

/// Writes a message given in CRLF form to its file with LF line ends,
/// `LF_CHUNK` at a time through `buf` (kept by the folder for the next
/// message). The message may come in pieces: a CR that ends one piece
/// waits to see whether the next one starts with its LF.
struct LfWriter {
    file: File,
    buf: Vec<u8>,
    /// The last piece ended with a CR, not yet written.
    cr: bool,
    written: usize,
}

impl LfWriter {
    fn new(file: File, buf: Vec<u8>) -> Self {
        LfWriter {
            file,
            buf,
            cr: false,
            written: 0,
        }
    }

    /// The next `crlf` bytes of the message.
    fn write(&mut self, crlf: &[u8], path: &Path) -> Result<(), Error> {
        for chunk in crlf.chunks(LF_CHUNK) {
            self.convert(chunk)
                .map_err(|e| Error::message_io(path, "write", e))?;
        }
        Ok(())
    }

    fn convert(&mut self, mut chunk: &[u8]) -> io::Result<()> {
        if std::mem::take(&mut self.cr) && chunk.first() != Some(&b'\n') {
            // A lone CR: kept, as the one-piece conversion keeps it.
            self.file.write_all(b"\r")?;
            self.written += 1;
        }
        if let [body @ .., b'\r'] = chunk {
            self.cr = true;
            chunk = body;
        }
        crlf_to_lf_into(chunk, &mut self.buf);
        self.file.write_all(&self.buf)?;
        self.written += self.buf.len();
        Ok(())
    }

    /// The end of the message: its mtime set and the file fsynced if
    /// asked. Returns the bytes written and the buffer.
    fn finish(
        mut self,
        fsync: bool,
        date: Option<i64>,
        path: &Path,
    ) -> Result<(usize, Vec<u8>), Error> {
        if self.cr {
            self.file
                .write_all(b"\r")
                .map_err(|e| Error::message_io(path, "write", e))?;
            self.written += 1;
        }
        if let Some(t) = date.and_then(time_from_secs) {
            self.file
                .set_modified(t)
                .map_err(|e| Error::message_io(path, "set mtime of", e))?;
        }
        if fsync {
            self.file
                .sync_all()
                .map_err(|e| Error::message_io(path, "fsync", e))?;
        }
        Ok((self.written, self.buf))
    }
}

/// How much of a message file is read at a time when it is handed over
/// in pieces (see [`MaildirFolder::hand_over`]); a file up to this size
/// is read whole.
const READ_PIECE: usize = 1024 * 1024;

/// The length of the file `f` in CRLF form: its bytes plus one CR for
/// each LF without one before it. Read from where `f` stands to its end.
fn crlf_len(f: &mut File, path: &Path) -> Result<u64, Error> {
    let mut buf = vec![0; 64 * 1024];
    let (mut total, mut after_cr) = (0u64, false);
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::message_io(path, "read", e)),
        };
        let chunk = &buf[..n];
        let bare = memchr::memchr_iter(b'\n', chunk)
            .filter(|&i| {
                if i == 0 {
                    !after_cr
                } else {
                    chunk[i - 1] != b'\r'
                }
            })
            .count();
        total += (n + bare) as u64;
        after_cr = chunk.last() == Some(&b'\r');
    }
}

/// A message file read [`READ_PIECE`] at a time, each piece in CRLF form.
struct FilePieces {
    file: File,
    path: PathBuf,
    /// The last byte read was a CR: an LF starting the next piece has it.
    after_cr: bool,
    /// CRLF bytes handed on so far.
    handed: u64,
    /// The message's CRLF length, counted before the first piece: a file
    /// that changes meanwhile is an error, never a message cut short.
    total: u64,
}

impl FilePieces {
    fn read_piece(&mut self) -> Result<Option<bytes::Bytes>, Error> {
        let mut raw = Vec::with_capacity(READ_PIECE);
        (&mut self.file)
            .take(READ_PIECE as u64)
            .read_to_end(&mut raw)
            .map_err(|e| Error::message_io(&self.path, "read", e))?;
        if raw.is_empty() {
            if self.handed != self.total {
                return Err(self.changed());
            }
            return Ok(None);
        }
        let mut piece = bytes::Bytes::from(lf_to_crlf(&raw));
        if self.after_cr && raw.first() == Some(&b'\n') {
            // lf_to_crlf put a CR before this LF; the last piece has it.
            piece = piece.slice(1..);
        }
        self.after_cr = raw.last() == Some(&b'\r');
        self.handed += piece.len() as u64;
        if self.handed > self.total {
            return Err(self.changed());
        }
        Ok(Some(piece))
    }

    fn changed(&self) -> Error {
        Error::message_io(
            &self.path,
            "read",
            io::Error::other("the file changed while it was read"),
        )
    }
}

#[async_trait]
impl Pieces for FilePieces {
    async fn next(&mut self) -> Result<Option<bytes::Bytes>, StoreError> {
        Ok(self.read_piece()?)
    }

    fn total(&self) -> Option<u64> {
        Some(self.total)
    }
}

/// rename(2) that never replaces: a file already at `to` is another
/// message (or a client's copy) and must survive, so `to` existing is an
/// `AlreadyExists` error. One `renameat2(RENAME_NOREPLACE)` where the
/// file system has it (atomic, and one path walk fewer than a check
/// first); elsewhere a check, then rename(2), whose window is only open to
/// a client creating that exact unique name.
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => return Ok(()),
        Err(e)
            if e == rustix::io::Errno::INVAL
                || e == rustix::io::Errno::NOSYS
                || e == rustix::io::Errno::OPNOTSUPP => {}
        Err(e) => return Err(e.into()),
    }
    match fs::symlink_metadata(to) {
        Ok(_) => return Err(io::Error::from(io::ErrorKind::AlreadyExists)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::rename(from, to)
}

/// Seconds since the epoch of a file's mtime (negative before 1970).
fn mtime_secs(meta: &fs::Metadata) -> Option<i64> {
    let t = meta.modified().ok()?;
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok(),
        Err(e) => i64::try_from(e.duration().as_secs()).ok().map(|s| -s),
    }
}

fn time_from_secs(secs: i64) -> Option<SystemTime> {
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    }
}

fn lossy(name: &OsStr) -> std::borrow::Cow<'_, str> {
    name.to_string_lossy()
}

impl MaildirFolder {
    /// Open the folder at `root`. `visible_name` is the folder's
    /// nametrans'd name, whose MD5 goes into `,FMD5=`.
    pub fn open(
        root: impl Into<PathBuf>,
        visible_name: &str,
        windows_compatible: bool,
        fsync: bool,
    ) -> Result<Self, Error> {
        let root = root.into();
        for sub in ["cur", "new", "tmp"] {
            let p = root.join(sub);
            match fs::metadata(&p) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(Error {
                        path: root,
                        kind: ErrorKind::NotAMaildir,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(Error {
                        path: root,
                        kind: ErrorKind::NotAMaildir,
                    });
                }
                Err(e) => return Err(Error::folder_io(p, "open folder", e)),
            }
        }
        Ok(MaildirFolder {
            root,
            md5: filename::fmd5(visible_name),
            windows_compatible,
            fsync,
            utime_from_header: false,
            name_from_header: false,
            uids: HashMap::new(),
            new: Vec::new(),
            gone: HashSet::new(),
            lf: Vec::new(),
            watch: None,
        })
    }

    /// Take new files' times from their headers, as the Maildir options
    /// `utime_from_header` (the mtime) and `filename_use_mail_timestamp`
    /// (the time at the start of the name) ask; both off by default.
    pub fn with_header_times(mut self, utime_from_header: bool, name_from_header: bool) -> Self {
        self.utime_from_header = utime_from_header;
        self.name_from_header = name_from_header;
        self
    }

    /// The folder's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The `FMD5` this folder writes and trusts.
    pub fn fmd5(&self) -> &str {
        &self.md5
    }

    fn path_of(&self, e: &Entry) -> PathBuf {
        self.root.join(e.sub.dir()).join(e.name.full(&self.md5))
    }

    fn sync_dir(&self, dir: &Path) -> Result<(), Error> {
        if self.fsync {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| Error::folder_io(dir, "fsync directory", e))?;
        }
        Ok(())
    }

    /// Scan `new/` then `cur/` (each in name order) and remember every
    /// message's location. Dot files are skipped and `tmp/` is never read,
    /// as OfflineIMAP does.
    pub fn scan(&mut self) -> Result<Snapshot, Error> {
        self.scan_where(None)
    }

    /// [`Self::scan`] of only the messages whose UID is in `lo..=hi` or in
    /// `also` (sorted), plus every message without a UID: what one range
    /// of a folder synced in UID ranges needs (see `sync::chunk`). The
    /// index then holds only those, so its size follows the range, not
    /// the folder; the directory is read entry by entry and the other
    /// names are never kept.
    pub fn scan_range(&mut self, lo: Uid, hi: Uid, also: &[Uid]) -> Result<Snapshot, Error> {
        let keep = |uid: Option<Uid>| {
            uid.is_none_or(|u| (lo..=hi).contains(&u) || also.binary_search(&u).is_ok())
        };
        self.scan_where(Some(&keep))
    }

    /// Every trusted UID of the folder with its flags, from one listing of
    /// the directories and the file names alone: what a folder synced in
    /// UID ranges plans its ranges from, and, when no message lacks a UID,
    /// each range's local side (see [`Census`]). Nothing is remembered in
    /// the index and no name kept. A symlink counts only when it leads to
    /// a file, as in [`Self::scan`].
    pub fn census(&self) -> Result<Census, Error> {
        let mut census = Census::default();
        for sub in [Sub::New, Sub::Cur] {
            let dir = self.root.join(sub.dir());
            let mut failed = None;
            for_each_entry(&dir, &mut |name, symlink| {
                if failed.is_some() {
                    return;
                }
                if symlink {
                    match fs::metadata(dir.join(&name)) {
                        Ok(m) if m.is_file() => {}
                        Ok(_) => return,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
                        Err(e) => {
                            failed =
                                Some(Error::folder_io(dir.join(&name), "stat message file", e));
                            return;
                        }
                    }
                }
                match name.to_str().map(filename::parse) {
                    Some(p) => match p.trusted_uid(&self.md5) {
                        Some(uid) => census.push(uid, p.flags),
                        None => census.new += 1,
                    },
                    None => census.new += 1,
                }
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
        }
        census.finish();
        Ok(census)
    }

    /// [`Self::scan`] of only the messages whose UID is in `uids`
    /// (ascending): the files a range's held-back local changes touch.
    /// Messages without a UID are left out.
    pub fn scan_uids(&mut self, uids: &[Uid]) -> Result<Snapshot, Error> {
        let keep = |uid: Option<Uid>| uid.is_some_and(|u| uids.binary_search(&u).is_ok());
        self.scan_where(Some(&keep))
    }

    /// Start watching `new/` and `cur/` for changes (see [`ChangeWatch`])
    /// without listing them: for a folder whose content is already known
    /// (its local stamp proved it equal to the status cache), the stamp is
    /// checked again after this, and the watch then covers every later
    /// change. [`Self::scan_touched`] keeps it.
    pub fn arm_watch(&mut self) {
        self.watch = ChangeWatch::start(&self.root);
    }

    /// [`Self::scan_uids`], keeping the watch [`Self::arm_watch`] set up:
    /// the folder's other messages are known from elsewhere.
    pub fn scan_touched(&mut self, uids: &[Uid]) -> Result<Snapshot, Error> {
        let watch = self.watch.take();
        let snap = self.scan_uids(uids);
        self.watch = watch;
        snap
    }

    /// The watch, for a proof whose listing the caller knows (see
    /// [`Self::arm_watch`]).
    pub fn take_watch(&mut self) -> Option<ChangeWatch> {
        self.watch.take()
    }

    /// Forget every message the index holds (the last range's, and what
    /// was written since), so that it does not grow over a folder synced
    /// in UID ranges from a [`Census`].
    pub fn clear_index(&mut self) {
        self.uids = HashMap::new();
        self.new = Vec::new();
        self.gone.clear();
    }

    /// The UID a file name gives a message of this folder, if trusted.
    fn uid_of_name(&self, name: &OsStr) -> Option<Uid> {
        name.to_str()
            .and_then(|t| filename::parse(t).trusted_uid(&self.md5))
    }

    fn scan_where(
        &mut self,
        keep: Option<&dyn Fn(Option<Uid>) -> bool>,
    ) -> Result<Snapshot, Error> {
        // The old index goes first, so a range scan never holds two.
        self.uids = HashMap::new();
        self.new = Vec::new();
        // Before the directories are read, so that any change made while
        // they are is seen. A range scan keeps only part of the folder in
        // its index, so it proves nothing about the rest.
        self.watch = match keep {
            None => ChangeWatch::start(&self.root),
            Some(_) => None,
        };
        let mut uids: HashMap<Uid, Entry> = HashMap::new();
        let mut new: Vec<Option<Entry>> = Vec::new();
        let mut snap = Snapshot {
            uids: BTreeMap::new(),
            new: Vec::new(),
        };
        for sub in [Sub::New, Sub::Cur] {
            let dir = self.root.join(sub.dir());
            let mut names = match keep {
                None => message_entries(&dir)?,
                Some(keep) => {
                    let mut names = Vec::new();
                    for_each_entry(&dir, &mut |name, symlink| {
                        if keep(self.uid_of_name(&name)) {
                            names.push((name, symlink));
                        }
                    })?;
                    names
                }
            };
            names.sort();
            // Sized once: growing by doubling allocates every smaller table
            // on the way (heaptrack's largest peak consumer in a resync of
            // four folders of 20,000 messages: 4.8 MB of rehashes).
            uids.reserve(names.len());
            for (name, symlink) in names {
                let path = dir.join(&name);
                if symlink {
                    match fs::metadata(&path) {
                        Ok(m) if m.is_file() => {}
                        Ok(_) => continue,
                        // Dangling, or removed by a mail client while we listed.
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(Error::folder_io(path, "stat message file", e)),
                    }
                }
                let text = lossy(&name);
                let parsed = filename::parse(&text);
                // A non-UTF-8 name is never trusted: the lossy text is not
                // the name, so we could not rebuild it when renaming.
                let uid = if name.to_str().is_some() {
                    parsed.trusted_uid(&self.md5)
                } else {
                    None
                };
                // Sizes only narrow the content comparison that pairs
                // messages without a UID (see `pair_new_messages`); a
                // message with a UID needs none, so it is not stat'ed and
                // its size is given as 0 ("could be anything").
                let size = if uid.is_some() {
                    0
                } else {
                    match fs::metadata(&path) {
                        Ok(m) => m.len(),
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(Error::folder_io(path, "stat message file", e)),
                    }
                };
                let flags = parsed.flags;
                // The listing's name is moved, not copied: one allocation
                // per message instead of two.
                let name = Name::new(name, &self.md5);
                let entry = Entry { sub, name, flags };
                let meta_out = MessageMeta { flags, size };
                match uid {
                    Some(uid) => {
                        if let Some(first) = uids.get(&uid) {
                            return Err(Error {
                                path: self.root.clone(),
                                kind: ErrorKind::DuplicateUid {
                                    uid,
                                    first: self.path_of(first),
                                    second: path,
                                },
                            });
                        }
                        uids.insert(uid, entry);
                        snap.uids.insert(uid, meta_out);
                    }
                    None => {
                        let id = NewId(u32::try_from(new.len()).unwrap_or(u32::MAX));
                        new.push(Some(entry));
                        snap.new.push(NewMessage { id, meta: meta_out });
                    }
                }
            }
        }
        maildir_debug!(
            "Scanned {}: {} messages with a UID, {} new",
            self.root.display(),
            uids.len(),
            new.len()
        );
        self.uids = uids;
        self.new = new;
        self.gone.clear();
        Ok(snap)
    }

    /// Every message's UID and flags from the file names alone (no stat,
    /// nothing remembered), or `None` when some message has no UID this
    /// folder trusts or two share one: then the folder is not simply the
    /// status cache's list, and only a real sync can say what it is.
    pub fn listing(&self) -> Result<Option<crate::sync::model::StatusSnapshot>, Error> {
        let mut out = crate::sync::model::StatusSnapshot::new();
        // Name by name: a large folder's names are never all held at once.
        let mut plain = true;
        for sub in [Sub::New, Sub::Cur] {
            let dir = self.root.join(sub.dir());
            for_each_entry(&dir, &mut |name, _| {
                if !plain {
                    return;
                }
                let parsed = name.to_str().map(filename::parse);
                match parsed
                    .as_ref()
                    .and_then(|p| Some((p.trusted_uid(&self.md5)?, p.flags)))
                {
                    Some((uid, flags)) => plain &= out.insert(uid, flags).is_none(),
                    None => plain = false,
                }
            })?;
            if !plain {
                return Ok(None);
            }
        }
        Ok(Some(out))
    }

    fn entry(&self, id: MsgRef) -> Result<&Entry, Error> {
        let found = match id {
            MsgRef::Uid(u) => self.uids.get(&u),
            MsgRef::New(NewId(n)) => self.new.get(n as usize).and_then(Option::as_ref),
        };
        found.ok_or_else(|| Error {
            path: self.root.clone(),
            kind: ErrorKind::UnknownMessage(id.to_string()),
        })
    }

    fn entry_mut(&mut self, id: MsgRef) -> Option<&mut Entry> {
        match id {
            MsgRef::Uid(u) => self.uids.get_mut(&u),
            MsgRef::New(NewId(n)) => self.new.get_mut(n as usize).and_then(Option::as_mut),
        }
    }

    fn forget(&mut self, id: MsgRef) -> Option<Entry> {
        self.gone.insert(id);
        match id {
            MsgRef::Uid(u) => self.uids.remove(&u),
            MsgRef::New(NewId(n)) => self.new.get_mut(n as usize).and_then(Option::take),
        }
    }

    /// Make sure `id`'s entry names an existing file. A mail client may
    /// have renamed it (flag change, new/ -> cur/) since the snapshot: then
    /// it is found again by its unique part and the entry updated, flags
    /// included. Returns false (and forgets the entry) when it is gone.
    fn locate(&mut self, id: MsgRef) -> Result<bool, Error> {
        if self.gone.contains(&id) {
            return Ok(false);
        }
        let entry = self.entry(id)?.clone();
        let path = self.path_of(&entry);
        match fs::symlink_metadata(&path) {
            Ok(_) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::message_io(path, "stat", e)),
        }
        let full = entry.name.full(&self.md5);
        let Some(name) = full.to_str() else {
            self.forget(id);
            return Ok(false);
        };
        let base = filename::parse(name).base.to_owned();
        for sub in [Sub::New, Sub::Cur] {
            let dir = self.root.join(sub.dir());
            let rd = fs::read_dir(&dir).map_err(|e| Error::folder_io(&dir, "list directory", e))?;
            for ent in rd {
                let ent = ent.map_err(|e| Error::folder_io(&dir, "list directory", e))?;
                let cand = ent.file_name();
                let Some(c) = cand.to_str() else { continue };
                let parsed = filename::parse(c);
                if parsed.base == base {
                    let flags = parsed.flags;
                    let cand = Name::new(cand, &self.md5);
                    if let Some(e) = self.entry_mut(id) {
                        e.sub = sub;
                        e.name = cand;
                        e.flags = flags;
                    }
                    return Ok(true);
                }
            }
        }
        self.forget(id);
        Ok(false)
    }

    /// Rename `id`'s file to `sub/name` without ever replacing another
    /// file. Returns false when the file vanished just now.
    fn rename(
        &mut self,
        id: MsgRef,
        sub: Sub,
        name: OsString,
        flags: Flags,
    ) -> Result<bool, Error> {
        let entry = self.entry(id)?.clone();
        if entry.sub == sub && *entry.name.full(&self.md5) == *name {
            if let Some(e) = self.entry_mut(id) {
                e.flags = flags;
            }
            return Ok(true);
        }
        let from = self.path_of(&entry);
        let to = self.root.join(sub.dir()).join(&name);
        match rename_noreplace(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(Error {
                    path: from,
                    kind: ErrorKind::TargetExists(to),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && !from.exists() => {
                self.forget(id);
                return Ok(false);
            }
            Err(e) => return Err(Error::message_io(from, "rename", e)),
        }
        maildir_debug!("Renamed {} -> {}", from.display(), to.display());
        if let Some(w) = self.watch.as_mut() {
            w.ours(entry.sub.watched(), Kind::MovedFrom);
            w.ours(sub.watched(), Kind::MovedTo);
        }
        let name = Name::new(name, &self.md5);
        if let Some(e) = self.entry_mut(id) {
            e.sub = sub;
            e.name = name;
            e.flags = flags;
        }
        self.sync_dir(&self.root.join(sub.dir()))?;
        if entry.sub != sub {
            self.sync_dir(&self.root.join(entry.sub.dir()))?;
        }
        Ok(true)
    }

    /// A message's file opened for reading, its path, its length, and the
    /// message without its bytes. `None` when it vanished.
    fn open_message(&mut self, id: MsgRef) -> Result<Option<(File, PathBuf, u64, Message)>, Error> {
        if !self.locate(id)? {
            return Ok(None);
        }
        let entry = self.entry(id)?.clone();
        let path = self.path_of(&entry);
        let f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.forget(id);
                return Ok(None);
            }
            Err(e) => return Err(Error::message_io(path, "open", e)),
        };
        let meta = f
            .metadata()
            .map_err(|e| Error::message_io(&path, "stat", e))?;
        let msg = Message {
            id,
            flags: entry.flags,
            internal_date: mtime_secs(&meta),
            bytes: bytes::Bytes::new(),
        };
        Ok(Some((f, path, meta.len(), msg)))
    }

    /// Hand message `id` to `sink`: whole when its file is at most
    /// [`READ_PIECE`], otherwise in pieces of that much of the file, with
    /// the message's exact CRLF length known first (one read of the file
    /// to count its bare LFs), so that an IMAP APPEND can announce it and
    /// send the pieces as they are read.
    async fn hand_over(
        &mut self,
        id: MsgRef,
        sink: &mut dyn MessageSink,
    ) -> Result<(), StoreError> {
        let Some((mut f, path, len, head)) = self.open_message(id)? else {
            return Ok(());
        };
        if len <= READ_PIECE as u64 {
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes)
                .map_err(|e| Error::message_io(&path, "read", e))?;
            let msg = Message {
                bytes: lf_to_crlf(&bytes).into(),
                ..head
            };
            return sink.accept(msg).await;
        }
        let total = crlf_len(&mut f, &path)?;
        f.seek(io::SeekFrom::Start(0))
            .map_err(|e| Error::message_io(&path, "read", e))?;
        let mut pieces = FilePieces {
            file: f,
            path,
            after_cr: false,
            handed: 0,
            total,
        };
        let first = pieces.read_piece()?.unwrap_or_default();
        let head = Message {
            bytes: first,
            ..head
        };
        sink.accept_in_pieces(head, &mut pieces).await
    }

    /// Write `msg` (CRLF) as a new file with LF line ends: `tmp/` first,
    /// fsync if asked, mtime from `internal_date` (or `Date:`, see
    /// [`with_header_times`](Self::with_header_times)), then rename into
    /// `cur/` or `new/`. `uid = None` writes a name without `,U=`, i.e. a message
    /// the next scan sees as new.
    pub fn write(&mut self, msg: &Message, uid: Option<Uid>) -> Result<Option<Uid>, Error> {
        if let Some(u) = uid
            && self.already_here(u, msg.flags)?
        {
            return Ok(Some(u));
        }
        let (name, tmp_path, file, mtime) = self.create_tmp(msg, uid)?;
        let mut w = LfWriter::new(file, std::mem::take(&mut self.lf));
        let filled = match w.write(&msg.bytes, &tmp_path) {
            Ok(()) => w.finish(self.fsync, mtime, &tmp_path),
            Err(e) => Err(e),
        };
        let written = self.filled(filled, &tmp_path)?;
        self.publish(name, tmp_path, msg.flags, uid, written)
    }

    /// [`write`](Self::write) of a message that comes in pieces: `head`
    /// with the first, then those of `rest`, each written as it arrives.
    /// An error from `rest` comes back as it is, with nothing stored.
    pub async fn write_in_pieces(
        &mut self,
        head: &Message,
        rest: &mut dyn Pieces,
        uid: Option<Uid>,
    ) -> Result<Option<Uid>, StoreError> {
        if let Some(u) = uid
            && self.already_here(u, head.flags)?
        {
            return Ok(Some(u));
        }
        let (name, tmp_path, file, mtime) = self.create_tmp(head, uid)?;
        let mut w = LfWriter::new(file, std::mem::take(&mut self.lf));
        let fed = async {
            w.write(&head.bytes, &tmp_path)?;
            while let Some(piece) = rest.next().await? {
                w.write(&piece, &tmp_path)?;
            }
            Ok::<(), StoreError>(())
        }
        .await;
        if let Err(e) = fed {
            // Our own partial copy; the message is still safe at its source.
            let _ = fs::remove_file(&tmp_path);
            return Err(e);
        }
        let written = self.filled(w.finish(self.fsync, mtime, &tmp_path), &tmp_path)?;
        Ok(self.publish(name, tmp_path, head.flags, uid, written)?)
    }

    /// Whether the message `uid` is already here (an earlier run stored it
    /// but did not record it); if so only its flags are set, as
    /// OfflineIMAP does.
    fn already_here(&mut self, uid: Uid, flags: Flags) -> Result<bool, Error> {
        if self.uids.contains_key(&uid) && self.locate(MsgRef::Uid(uid))? {
            self.set_flags(uid, |_| flags)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// A new, empty file in `tmp/` for `msg`: its name, path, the file,
    /// and the mtime it is to get.
    fn create_tmp(
        &self,
        msg: &Message,
        uid: Option<Uid>,
    ) -> Result<(String, PathBuf, File, Option<i64>), Error> {
        let (name_time, mtime) = self.header_times(msg, uid);
        let tmp_dir = self.root.join("tmp");
        let mut attempt = 0;
        loop {
            let name = filename::new_name_at(
                name_time,
                uid,
                &self.md5,
                msg.flags,
                self.windows_compatible,
            );
            let tmp_path = tmp_dir.join(&name);
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp_path)
            {
                Ok(f) => return Ok((name, tmp_path, f, mtime)),
                // A fresh name is unique per process and second; a clash
                // means another program used it. Take the next one.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 5 => {
                    attempt += 1;
                }
                Err(e) => return Err(Error::message_io(tmp_path, "create", e)),
            }
        }
    }

    /// The outcome of writing a file in `tmp/`: the bytes written, the
    /// LF buffer back for the next message; on an error the partial file
    /// is removed.
    fn filled(
        &mut self,
        filled: Result<(usize, Vec<u8>), Error>,
        tmp_path: &Path,
    ) -> Result<usize, Error> {
        match filled {
            Ok((n, lf)) => {
                self.lf = lf;
                Ok(n)
            }
            Err(e) => {
                // Our own partial copy; the message is still safe at its
                // source.
                let _ = fs::remove_file(tmp_path);
                Err(e)
            }
        }
    }

    /// Move a written file from `tmp/` into place and remember it.
    fn publish(
        &mut self,
        name: String,
        tmp_path: PathBuf,
        flags: Flags,
        uid: Option<Uid>,
        written: usize,
    ) -> Result<Option<Uid>, Error> {
        let sub = Sub::for_flags(flags);
        let dest = self.root.join(sub.dir()).join(&name);
        match rename_noreplace(&tmp_path, &dest) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let _ = fs::remove_file(&tmp_path);
                return Err(Error {
                    path: tmp_path,
                    kind: ErrorKind::TargetExists(dest),
                });
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp_path);
                return Err(Error::message_io(tmp_path, "rename", e));
            }
        }
        maildir_debug!("Wrote {} ({} bytes) via tmp/", dest.display(), written);
        if let Some(w) = self.watch.as_mut() {
            w.ours(sub.watched(), Kind::MovedTo);
        }
        self.sync_dir(&self.root.join(sub.dir()))?;
        let entry = Entry {
            sub,
            name: Name::new(name.into(), &self.md5),
            flags,
        };
        match uid {
            Some(u) => {
                self.gone.remove(&MsgRef::Uid(u));
                self.uids.insert(u, entry);
            }
            None => self.new.push(Some(entry)),
        }
        Ok(uid)
    }

    /// The time for a new file's name (`None`: now) and its mtime (`None`:
    /// left as written). A message without a usable `Date:` keeps what it
    /// would get without the options: OfflineIMAP too leaves the time
    /// alone then.
    fn header_times(&self, msg: &Message, uid: Option<Uid>) -> (Option<i64>, Option<i64>) {
        let date = if self.utime_from_header || self.name_from_header {
            filename::header_date(&msg.bytes, "Date")
        } else {
            None
        };
        let who = || uid.map_or_else(|| "a new message".to_owned(), |u| format!("UID {u}"));
        let name_time = if self.name_from_header {
            let t = date.or_else(|| filename::header_date(&msg.bytes, "Delivery-date"));
            if t.is_none() {
                maildir_debug!(
                    "{} has no usable Date: or Delivery-date:; its file name gets the time now",
                    who()
                );
            }
            t
        } else {
            None
        };
        let mtime = if self.utime_from_header {
            if date.is_none() {
                maildir_debug!(
                    "{} has no usable Date:; its file keeps the server's date",
                    who()
                );
            }
            date.or(msg.internal_date)
        } else {
            msg.internal_date
        };
        (name_time, mtime)
    }

    /// Rename `id`'s file to carry `,U=<uid>,FMD5=<this folder>`, keeping
    /// its unique part, other fields, flags and directory.
    pub fn set_uid(&mut self, id: MsgRef, uid: Uid) -> Result<(), Error> {
        if id == MsgRef::Uid(uid) {
            return Ok(());
        }
        // Make sure the engine's target is known before refusing: it may
        // be a stale snapshot entry whose file is gone.
        if self.uids.contains_key(&uid) && self.locate(MsgRef::Uid(uid))? {
            return Err(Error {
                path: self.path_of(self.entry(MsgRef::Uid(uid))?),
                kind: ErrorKind::UidInUse(uid),
            });
        }
        if !self.locate(id)? {
            return Ok(());
        }
        let entry = self.entry(id)?.clone();
        let name = match entry.name.full(&self.md5).to_str() {
            Some(n) => filename::with_uid(n, uid, &self.md5, self.windows_compatible),
            None => filename::new_name(Some(uid), &self.md5, entry.flags, self.windows_compatible),
        };
        if self.rename(id, entry.sub, name.into(), entry.flags)?
            && let Some(e) = self.forget(id)
        {
            {
                self.gone.remove(&MsgRef::Uid(uid));
                self.uids.insert(uid, e);
            }
        }
        Ok(())
    }

    /// Give message `uid` the flags `change(current flags)`, renaming the
    /// file and moving it by the `S` rule.
    fn set_flags(&mut self, uid: Uid, change: impl Fn(Flags) -> Flags) -> Result<(), Error> {
        let id = MsgRef::Uid(uid);
        if !self.locate(id)? {
            return Ok(());
        }
        let entry = self.entry(id)?.clone();
        let flags = change(entry.flags);
        let name: OsString = if flags == entry.flags {
            entry.name.full(&self.md5).into_owned()
        } else {
            match entry.name.full(&self.md5).to_str() {
                Some(n) => filename::with_flags(n, flags, self.windows_compatible).into(),
                // Unreachable for trusted UIDs (their names are UTF-8), but
                // a fresh name is always a safe answer.
                None => {
                    filename::new_name(Some(uid), &self.md5, flags, self.windows_compatible).into()
                }
            }
        };
        self.rename(id, Sub::for_flags(flags), name, flags)?;
        Ok(())
    }

    pub fn add(&mut self, uids: &[Uid], flags: Flags) -> Result<(), Error> {
        for &u in uids {
            self.set_flags(u, |f| f.union(flags))?;
        }
        Ok(())
    }

    pub fn remove(&mut self, uids: &[Uid], flags: Flags) -> Result<(), Error> {
        for &u in uids {
            self.set_flags(u, |f| f.difference(flags))?;
        }
        Ok(())
    }

    fn deleted(&mut self, sub: Sub) {
        if let Some(w) = self.watch.as_mut() {
            w.ours(sub.watched(), Kind::Delete);
        }
    }

    /// What this sync left in `new/` and `cur/`, with the watch that can
    /// prove nobody else changed them since the scan (see [`Proof`]).
    /// `None` without a watch (a range scan, a file system or system
    /// without a usable inotify) or when some message has no UID: such a
    /// folder is not simply the status cache's list.
    pub fn take_proof(&mut self) -> Option<Proof> {
        let watch = self.watch.take()?;
        if self.new.iter().any(Option::is_some) {
            return None;
        }
        let mut listing: Vec<(Uid, Flags)> = self.uids.iter().map(|(u, e)| (*u, e.flags)).collect();
        listing.sort_unstable_by_key(|(u, _)| *u);
        Some(Proof { watch, listing })
    }

    /// Unlink these messages' files. Already gone is fine.
    pub fn unlink(&mut self, uids: &[Uid]) -> Result<(), Error> {
        for &u in uids {
            let id = MsgRef::Uid(u);
            if self.gone.contains(&id) {
                continue;
            }
            // Straight at the known path; only a file a client renamed
            // meanwhile (its flags) is looked for, by its unique part.
            let entry = self.entry(id)?;
            let (path, sub) = (self.path_of(entry), entry.sub);
            match fs::remove_file(&path) {
                Ok(()) => {
                    maildir_debug!("Deleted {}", path.display());
                    self.deleted(sub);
                    self.forget(id);
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::message_io(path, "delete", e)),
            }
            if !self.locate(id)? {
                continue;
            }
            let entry = self.entry(id)?;
            let (path, sub) = (self.path_of(entry), entry.sub);
            match fs::remove_file(&path) {
                Ok(()) => {
                    maildir_debug!("Deleted {}", path.display());
                    self.deleted(sub);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::message_io(path, "delete", e)),
            }
            self.forget(id);
        }
        Ok(())
    }
}

#[async_trait]
impl Store for MaildirFolder {
    async fn snapshot(&mut self) -> Result<Snapshot, StoreError> {
        Ok(self.scan()?)
    }

    async fn fetch(
        &mut self,
        ids: &[MsgRef],
        sink: &mut dyn MessageSink,
    ) -> Result<(), StoreError> {
        for &id in ids {
            self.hand_over(id, sink).await?;
        }
        Ok(())
    }

    async fn append(&mut self, msg: &Message, uid: Option<Uid>) -> Result<Option<Uid>, StoreError> {
        Ok(self.write(msg, uid)?)
    }

    async fn append_in_pieces(
        &mut self,
        head: &Message,
        rest: &mut dyn Pieces,
        uid: Option<Uid>,
    ) -> Result<Option<Uid>, StoreError> {
        self.write_in_pieces(head, rest, uid).await
    }

    async fn assign_uid(&mut self, id: MsgRef, uid: Uid) -> Result<(), StoreError> {
        Ok(self.set_uid(id, uid)?)
    }

    async fn add_flags(&mut self, uids: &[Uid], flags: Flags) -> Result<(), StoreError> {
        Ok(self.add(uids, flags)?)
    }

    async fn remove_flags(&mut self, uids: &[Uid], flags: Flags) -> Result<(), StoreError> {
        Ok(self.remove(uids, flags)?)
    }

    async fn delete(&mut self, uids: &[Uid]) -> Result<(), StoreError> {
        Ok(self.unlink(uids)?)
    }
}

mod paths;

#[cfg(test)]
mod tests;

/// The sync window (`maxage`, `maxsize`, `startdate`) on the Maildir side.
impl MaildirFolder {
    /// The messages of the last [`scan`](Self::scan) whose file name's time
    /// is `since` or later and whose file is at most `max_size` bytes, both
    /// when given. As OfflineIMAP does, the time is the first run of digits
    /// in the name (the delivery time in seconds for names written by
    /// OfflineIMAP, us and most mail programs); a name without one counts
    /// as recent. A file that vanished since the scan counts as inside, so
    /// that a deletion by a mail client is seen as one.
    pub fn select(
        &self,
        since: Option<i64>,
        max_size: Option<u64>,
    ) -> Result<std::collections::BTreeSet<MsgRef>, Error> {
        let entries = self
            .uids
            .iter()
            .map(|(uid, e)| (MsgRef::Uid(*uid), e))
            .chain(self.new.iter().enumerate().filter_map(|(i, e)| {
                let e = e.as_ref()?;
                Some((MsgRef::New(NewId(u32::try_from(i).ok()?)), e))
            }));
        let mut inside = std::collections::BTreeSet::new();
        for (id, e) in entries {
            if let Some(since) = since
                && name_time(&e.name.full(&self.md5)).is_some_and(|t| t < since)
            {
                continue;
            }
            if let Some(max) = max_size {
                let path = self.path_of(e);
                match fs::metadata(&path) {
                    Ok(m) if m.len() > max => continue,
                    Ok(_) => {}
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => return Err(Error::folder_io(path, "stat message file", err)),
                }
            }
            inside.insert(id);
        }
        Ok(inside)
    }
}

/// The message entries of `new/` or `cur/`: every name but dot files and
/// directories, with whether it is a symlink. Directory entries carry
/// their type, so this costs no stat per message; a symlink is the
/// caller's to follow.
fn message_entries(dir: &Path) -> Result<Vec<(OsString, bool)>, Error> {
    let mut names = Vec::new();
    for_each_entry(dir, &mut |name, symlink| names.push((name, symlink)))?;
    Ok(names)
}

/// Calls `f` with each message file's name in `dir` (and whether it is a
/// symlink), as [`message_entries`] lists them, without collecting them.
fn for_each_entry(dir: &Path, f: &mut dyn FnMut(OsString, bool)) -> Result<(), Error> {
    let rd = fs::read_dir(dir).map_err(|e| Error::folder_io(dir, "list directory", e))?;
    for ent in rd {
        let ent = ent.map_err(|e| Error::folder_io(dir, "list directory", e))?;
        let name = ent.file_name();
        if name.as_encoded_bytes().first() == Some(&b'.') {
            continue;
        }
        let kind = ent
            .file_type()
            .map_err(|e| Error::folder_io(dir.join(&name), "stat message file", e))?;
        if kind.is_dir() {
            continue;
        }
        f(name, kind.is_symlink());
    }
    Ok(())
}

/// The first run of ASCII digits in a file name, as a number of seconds;
/// one too long for an `i64` is far in the future.
fn name_time(name: &OsStr) -> Option<i64> {
    let bytes = name.as_encoded_bytes();
    let start = bytes.iter().position(u8::is_ascii_digit)?;
    let digits = bytes[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .try_fold(0i64, |n, b| {
            n.checked_mul(10)?.checked_add(i64::from(b - b'0'))
        });
    Some(digits.unwrap_or(i64::MAX))
}
