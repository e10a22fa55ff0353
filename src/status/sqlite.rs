//! The per-folder status cache in OfflineIMAP's `LocalStatus-sqlite`
//! format (schema version 2), as a [`StatusCache`].
//!
//! Compatibility: the schema text, the `db_version` row, the flags column
//! (sorted Maildir letters) and the v1 -> v2 upgrade are OfflineIMAP's, so
//! its databases are used in place and ours are readable by it. Two things
//! differ on purpose: an unreadable database is renamed aside rather than
//! silently replaced, and a v1 upgrade runs in one transaction.
//!
//! Durability: with `fsync` on, every write is its own committed
//! transaction with `PRAGMA synchronous = FULL`, as OfflineIMAP commits
//! every statement. With `fsync` off, writes collect in one open
//! transaction that [`StatusCache::commit`] (or dropping the cache)
//! commits, under `synchronous = OFF`: `fsync = no` asks for no syncs, and
//! NORMAL would still sync the journal, the directory and the database on
//! every commit (two to three `fsync` calls per folder and pass). A process
//! crash loses nothing either way (the OS keeps the written pages); only a
//! power loss can tear the database, which is then moved aside (above).

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};

use super::{Error, ErrorKind};
use crate::sync::model::{Flags, StatusSnapshot, Uid};
use crate::sync::store::{StatusCache, StoreError};

/// The schema version OfflineIMAP 7/8 write and we write.
pub const DB_VERSION: i64 = 2;

/// OfflineIMAP's `__create_db` script, statement for statement. SQLite
/// keeps each CREATE text verbatim in `sqlite_master`, which is how the
/// tests prove the schema identical.
pub const CREATE_SCHEMA: &str = "\
CREATE TABLE metadata (key VARCHAR(50) PRIMARY KEY, value VARCHAR(128));
INSERT INTO metadata VALUES('db_version', '2');
CREATE TABLE status (id INTEGER PRIMARY KEY, flags VARCHAR(50), mtime INTEGER, labels VARCHAR(256));";

/// OfflineIMAP's upgrade from version 1 (which had only `id, flags`).
const UPGRADE_V1: &str = "\
ALTER TABLE status ADD mtime INTEGER DEFAULT 0;
ALTER TABLE status ADD labels VARCHAR(256) DEFAULT '';
UPDATE metadata SET value='2' WHERE key='db_version';";

/// How long a statement waits for another process's lock before failing.
/// OfflineIMAP retries forever; we give up with an error naming the file.
const BUSY_TIMEOUT: Duration = if cfg!(test) {
    Duration::from_millis(300)
} else {
    Duration::from_secs(10)
};

const LEGACY_MAGIC: &str = "OFFLINEIMAP LocalStatus CACHE DATA - DO NOT MODIFY - FORMAT ";

/// Each database's page cache, in SQLite's negative-means-KiB form.
const CACHE_KIB: i64 = -64;

/// One folder's status database.
pub struct SqliteStatus {
    conn: Connection,
    path: PathBuf,
    fsync: bool,
    in_tx: bool,
    created: bool,
    warnings: Vec<String>,
}

/// What probing an existing file found.
enum Probe {
    /// A valid database at this version.
    Version(i64),
    /// A database with no tables at all (e.g. an interrupted creation).
    Empty,
    /// Not a status database we can use; the reason for the warning.
    Unusable(String),
}

/// Errors that mean "this file is not a usable status DB", as opposed to
/// "we cannot read it right now" (permissions, locks, I/O), which must not
/// lead to moving the file.
fn is_content_error(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt | ErrorCode::Unknown)
    ) || matches!(
        e,
        rusqlite::Error::InvalidColumnType(..) | rusqlite::Error::FromSqlConversionFailure(..)
    )
}

fn probe(conn: &Connection, path: &Path) -> Result<Probe, Error> {
    let count: Result<i64, _> =
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0));
    match count {
        Ok(0) => return Ok(Probe::Empty),
        Ok(_) => {}
        Err(e) if is_content_error(&e) => return Ok(Probe::Unusable(e.to_string())),
        Err(e) => return Err(Error::sqlite(path, "read", e)),
    }
    let v = conn
        .query_row(
            "SELECT value from metadata WHERE key='db_version'",
            [],
            |r| r.get::<_, Value>(0),
        )
        .optional();
    let v = match v {
        Ok(Some(v)) => v,
        Ok(None) => return Ok(Probe::Unusable("no db_version in metadata".into())),
        Err(e) if is_content_error(&e) => return Ok(Probe::Unusable(e.to_string())),
        Err(e) => return Err(Error::sqlite(path, "read", e)),
    };
    // Python wrote the string '2'; accept an integer too.
    let n = match v {
        Value::Integer(n) => Some(n),
        Value::Text(t) => t.trim().parse::<i64>().ok(),
        _ => None,
    };
    Ok(match n {
        Some(n) => Probe::Version(n),
        None => Probe::Unusable("db_version is not a number".into()),
    })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Rename an unusable database (and its rollback journal, which belongs
/// to it) to `<name>.corrupt-<secs>`, never overwriting an earlier one.
fn move_aside(path: &Path) -> Result<PathBuf, Error> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut aside = with_suffix(path, &format!(".corrupt-{secs}"));
    let mut n = 1;
    while fs::symlink_metadata(&aside).is_ok() {
        aside = with_suffix(path, &format!(".corrupt-{secs}-{n}"));
        n += 1;
    }
    fs::rename(path, &aside).map_err(|e| Error::io(path, "move aside unreadable database", e))?;
    let journal = with_suffix(path, "-journal");
    if fs::symlink_metadata(&journal).is_ok() {
        let to = with_suffix(&aside, "-journal");
        fs::rename(&journal, &to).map_err(|e| Error::io(&journal, "move aside", e))?;
    }
    Ok(aside)
}

/// One row of a plain-text LocalStatus file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainRow {
    pub uid: Uid,
    pub flags: Flags,
    pub mtime: i64,
    /// Labels joined as OfflineIMAP stores them: sorted, `", "`-separated.
    pub labels: String,
}

/// Parse a plain-text LocalStatus file (format 1 `uid:flags` or format 2
/// `uid|flags|mtime|labels` after the magic header line). An empty file
/// has no rows. Blank lines are skipped; any other bad line is an error
/// `(line number, reason)`.
pub fn parse_plain(text: &str) -> Result<Vec<PlainRow>, (usize, String)> {
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let header = header.trim();
    if header.is_empty() {
        return Ok(Vec::new());
    }
    let format = match header.strip_prefix(LEGACY_MAGIC) {
        Some("1") => 1,
        Some("2") => 2,
        _ => return Err((1, format!("unrecognised header {header:?}"))),
    };
    let mut rows = Vec::new();
    for (i, line) in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |why: &str| (i + 1, format!("{why}: {line:?}"));
        let parts: Vec<&str> = if format == 1 {
            line.split(':').collect()
        } else {
            line.split('|').collect()
        };
        let want = if format == 1 { 2 } else { 4 };
        if parts.len() != want {
            return Err(bad("wrong number of fields"));
        }
        let uid = parts[0].parse::<Uid>().map_err(|_| bad("bad UID"))?;
        let flags = Flags::from_letters(parts[1]);
        let (mtime, labels) = if format == 1 {
            (0, String::new())
        } else {
            let mtime = parts[2].parse::<i64>().map_err(|_| bad("bad mtime"))?;
            let mut labels: Vec<&str> = parts[3]
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            labels.sort_unstable();
            labels.dedup();
            (mtime, labels.join(", "))
        };
        rows.push(PlainRow {
            uid,
            flags,
            mtime,
            labels,
        });
    }
    Ok(rows)
}

impl SqliteStatus {
    /// Open (or create) the database at `path`, creating parent
    /// directories (mode 0700). A version 1 database is upgraded. A file
    /// that is not a usable status database is renamed aside and a new one
    /// started; [`SqliteStatus::take_warnings`] then says so.
    pub fn open(path: &Path, fsync: bool) -> Result<Self, Error> {
        if let Some(dir) = path.parent() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Error::io(dir, "create directory", e))?;
        }
        let existed = match fs::metadata(path) {
            Ok(m) => m.len() > 0,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(Error::io(path, "open", e)),
        };
        let mut warnings = Vec::new();
        let mut conn = Self::connect(path)?;
        let mut create = !existed;
        if existed {
            match probe(&conn, path)? {
                Probe::Version(DB_VERSION) => {}
                Probe::Version(v) if v < DB_VERSION => {
                    conn.execute_batch(&format!("BEGIN IMMEDIATE;\n{UPGRADE_V1}\nCOMMIT;"))
                        .map_err(|e| Error::sqlite(path, "upgrade from version 1", e))?;
                    warnings.push(format!(
                        "{}: upgraded LocalStatus cache from version {v} to version 2",
                        path.display()
                    ));
                }
                Probe::Version(v) => {
                    return Err(Error {
                        path: path.to_path_buf(),
                        kind: ErrorKind::NewerVersion(v),
                    });
                }
                Probe::Empty => create = true,
                Probe::Unusable(why) => {
                    drop(conn);
                    let aside = move_aside(path)?;
                    warnings.push(format!(
                        "{}: not a usable status database ({why}); kept it as {} and started a new one, \
                         so this folder's next sync has no memory of earlier syncs \
                         (messages deleted on one side since then will be copied back)",
                        path.display(),
                        aside.display()
                    ));
                    conn = Self::connect(path)?;
                    create = true;
                }
            }
        }
        // Only now: on a file that is not a database, even a pragma fails.
        conn.pragma_update(None, "synchronous", if fsync { "FULL" } else { "OFF" })
            .map_err(|e| Error::sqlite(path, "configure", e))?;
        // SQLite's default page cache (2 MB) fills with the whole database
        // on the sync's full read: 1.7 MB of the peak heap (heaptrack) with
        // four databases of the large bench corpus open. The rows are read
        // once and written once per sync; the OS cache serves rereads.
        // At 256 KiB a large folder's full reads (its row count, its UIDs)
        // still filled the cache: 64 KiB cut the peak heap of a large-corpus
        // (d) resync from 4.38 to 3.81 MB, with no CPU change measured in an
        // initial sync (docs/performance.md).
        conn.pragma_update(None, "cache_size", CACHE_KIB)
            .map_err(|e| Error::sqlite(path, "configure", e))?;
        if create {
            conn.execute_batch(&format!("BEGIN IMMEDIATE;\n{CREATE_SCHEMA}\nCOMMIT;"))
                .map_err(|e| Error::sqlite(path, "create", e))?;
        }
        Ok(SqliteStatus {
            conn,
            path: path.to_path_buf(),
            fsync,
            in_tx: false,
            created: create,
            warnings,
        })
    }

    /// For a dry run: the database at `path` copied into memory, without
    /// writing anything to disk (no directory, file, journal, upgrade or
    /// moving aside). Later writes change only the copy. A missing or empty
    /// file gives an empty cache that [`SqliteStatus::is_new`] reports, as
    /// `open` would have created it; an unusable one gives an empty cache
    /// and a warning saying what a real run would do.
    pub fn open_scratch(path: &Path) -> Result<Self, Error> {
        let existed = match fs::metadata(path) {
            Ok(m) => m.len() > 0,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(Error::io(path, "open", e)),
        };
        let mut warnings = Vec::new();
        let mut rows = StatusSnapshot::new();
        let mut created = true;
        if existed {
            let disk = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| Error::sqlite(path, "open", e))?;
            disk.busy_timeout(BUSY_TIMEOUT)
                .map_err(|e| Error::sqlite(path, "configure", e))?;
            match probe(&disk, path)? {
                Probe::Version(v) if v > DB_VERSION => {
                    return Err(Error {
                        path: path.to_path_buf(),
                        kind: ErrorKind::NewerVersion(v),
                    });
                }
                // Versions 1 and 2 both have `id` and `flags`.
                Probe::Version(_) => {
                    let mut on_disk = SqliteStatus {
                        conn: disk,
                        path: path.to_path_buf(),
                        fsync: false,
                        in_tx: false,
                        created: false,
                        warnings: Vec::new(),
                    };
                    rows = on_disk.load_rows()?;
                    warnings.append(&mut on_disk.warnings);
                    created = false;
                }
                Probe::Empty => {}
                Probe::Unusable(why) => warnings.push(format!(
                    "{}: not a usable status database ({why}); a real run would keep it aside \
                     and start a new one",
                    path.display()
                )),
            }
        }
        let conn = Connection::open_in_memory().map_err(|e| Error::sqlite(path, "open", e))?;
        let mut scratch = SqliteStatus {
            conn,
            path: path.to_path_buf(),
            fsync: false,
            in_tx: false,
            created,
            warnings,
        };
        scratch
            .conn
            .execute_batch(CREATE_SCHEMA)
            .map_err(|e| Error::sqlite(path, "create", e))?;
        for (uid, flags) in rows {
            scratch.write_row(uid, flags)?;
        }
        scratch.commit_pending()?;
        Ok(scratch)
    }

    fn connect(path: &Path) -> Result<Connection, Error> {
        let conn = Connection::open(path).map_err(|e| Error::sqlite(path, "open", e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| Error::sqlite(path, "configure", e))?;
        Ok(conn)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when this `open` created the database (no file, an empty
    /// file, or an unusable file moved aside): the caller may then import
    /// a legacy plain-text cache with [`SqliteStatus::import_plain`].
    pub fn is_new(&self) -> bool {
        self.created
    }

    /// Messages for the user from `open` (upgrade done, file moved aside).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    fn begin_if_batching(&mut self) -> Result<(), Error> {
        if !self.fsync && !self.in_tx {
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(|e| Error::sqlite(&self.path, "begin transaction", e))?;
            self.in_tx = true;
        }
        Ok(())
    }

    fn commit_pending(&mut self) -> Result<(), Error> {
        if self.in_tx {
            self.conn
                .execute_batch("COMMIT")
                .map_err(|e| Error::sqlite(&self.path, "commit", e))?;
            self.in_tx = false;
        }
        Ok(())
    }

    /// Import OfflineIMAP's plain-text cache at `legacy` (see
    /// [`super::legacy_status_path`]) into this database, in one
    /// transaction, replacing rows with the same UID. `Ok(None)` when there
    /// is no such file; otherwise the number of rows imported. The plain
    /// file is left in place, as OfflineIMAP leaves it.
    pub fn import_plain(&mut self, legacy: &Path) -> Result<Option<usize>, Error> {
        let text = match fs::read(legacy) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(legacy, "read", e)),
        };
        let rows = parse_plain(&text).map_err(|(line, why)| Error {
            path: legacy.to_path_buf(),
            kind: ErrorKind::BadLegacy { line, why },
        })?;
        self.commit_pending()?;
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|e| Error::sqlite(&path, "begin transaction", e))?;
        {
            let mut st = tx
                .prepare("INSERT OR REPLACE INTO status (id,flags,mtime,labels) VALUES (?,?,?,?)")
                .map_err(|e| Error::sqlite(&path, "import", e))?;
            for r in &rows {
                st.execute(params![r.uid, r.flags.to_string(), r.mtime, r.labels])
                    .map_err(|e| Error::sqlite(&path, "import", e))?;
            }
        }
        tx.commit().map_err(|e| Error::sqlite(&path, "commit", e))?;
        Ok(Some(rows.len()))
    }

    fn load_rows(&mut self) -> Result<StatusSnapshot, Error> {
        let mut out = StatusSnapshot::new();
        let mut skipped = Vec::new();
        {
            let mut st = self
                .conn
                .prepare("SELECT id, flags FROM status")
                .map_err(|e| Error::sqlite(&self.path, "read", e))?;
            let mut rows = st
                .query([])
                .map_err(|e| Error::sqlite(&self.path, "read", e))?;
            while let Some(row) = rows
                .next()
                .map_err(|e| Error::sqlite(&self.path, "read", e))?
            {
                let id: i64 = row
                    .get(0)
                    .map_err(|e| Error::sqlite(&self.path, "read", e))?;
                let flags: Option<String> = row
                    .get::<_, Option<String>>(1)
                    .map_err(|e| Error::sqlite(&self.path, "read", e))?;
                match Uid::try_from(id) {
                    Ok(uid) => {
                        out.insert(uid, Flags::from_letters(flags.as_deref().unwrap_or("")));
                    }
                    Err(_) => skipped.push(id),
                }
            }
        }
        if !skipped.is_empty() {
            self.warnings.push(format!(
                "{}: ignored {} row(s) whose id is not a valid UID (e.g. {})",
                self.path.display(),
                skipped.len(),
                skipped[0]
            ));
        }
        Ok(out)
    }
}

/// Reads for a folder synced one UID range at a time (see
/// `sync::chunk`): none of them holds more than one range's rows.
impl SqliteStatus {
    /// How many rows the cache holds.
    pub fn count(&mut self) -> Result<usize, Error> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM status", [], |r| r.get(0))
            .map_err(|e| Error::sqlite(&self.path, "read", e))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Every row's UID, ascending (rows whose id is no UID are left out,
    /// as `load` leaves them out).
    pub fn uids(&mut self) -> Result<Vec<Uid>, Error> {
        let mut out = Vec::new();
        self.each_row(0, i64::from(Uid::MAX), &mut |uid, _| out.push(uid))?;
        // Grown by doubling: a 38,000-message folder's list held 65,536.
        out.shrink_to_fit();
        Ok(out)
    }

    /// The rows whose UID is in `lo..=hi`.
    pub fn load_range(&mut self, lo: Uid, hi: Uid) -> Result<StatusSnapshot, Error> {
        let mut out = StatusSnapshot::new();
        self.each_row(i64::from(lo), i64::from(hi), &mut |uid, flags| {
            out.insert(uid, flags);
        })?;
        Ok(out)
    }

    /// Every row, ascending by UID (rows whose id is no UID are left out).
    pub fn rows(&mut self) -> Result<Vec<(Uid, Flags)>, Error> {
        let mut out = Vec::with_capacity(self.count()?);
        self.each_row(0, i64::from(Uid::MAX), &mut |uid, flags| {
            out.push((uid, flags))
        })?;
        Ok(out)
    }

    /// The highest UID a row has, if any.
    pub fn max_uid(&mut self) -> Result<Option<Uid>, Error> {
        let n: Option<i64> = self
            .conn
            .query_row(
                "SELECT max(id) FROM status WHERE id BETWEEN 0 AND ?1",
                params![i64::from(Uid::MAX)],
                |r| r.get(0),
            )
            .map_err(|e| Error::sqlite(&self.path, "read", e))?;
        Ok(n.and_then(|n| Uid::try_from(n).ok()))
    }

    /// `modseq::status_digest` of the whole cache, computed row by row
    /// without loading it.
    pub fn digest(&mut self) -> Result<u64, Error> {
        let mut d = super::modseq::StatusDigest::new(self.count()?);
        self.each_row(0, i64::from(Uid::MAX), &mut |uid, flags| d.eat(uid, flags))?;
        Ok(d.finish())
    }

    /// Calls `f` for each row with a UID in `lo..=hi`, in UID order.
    fn each_row(&mut self, lo: i64, hi: i64, f: &mut dyn FnMut(Uid, Flags)) -> Result<(), Error> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, flags FROM status WHERE id BETWEEN ?1 AND ?2 ORDER BY id")
            .map_err(|e| Error::sqlite(&self.path, "read", e))?;
        let mut rows = st
            .query(params![lo, hi])
            .map_err(|e| Error::sqlite(&self.path, "read", e))?;
        while let Some(row) = rows
            .next()
            .map_err(|e| Error::sqlite(&self.path, "read", e))?
        {
            let id: i64 = row
                .get(0)
                .map_err(|e| Error::sqlite(&self.path, "read", e))?;
            let flags: Option<String> = row
                .get::<_, Option<String>>(1)
                .map_err(|e| Error::sqlite(&self.path, "read", e))?;
            if let Ok(uid) = Uid::try_from(id) {
                f(uid, Flags::from_letters(flags.as_deref().unwrap_or("")));
            }
        }
        Ok(())
    }
}

impl StatusCache for SqliteStatus {
    fn load(&mut self) -> Result<StatusSnapshot, StoreError> {
        Ok(self.load_rows()?)
    }

    fn set(&mut self, uid: Uid, flags: Flags) -> Result<(), StoreError> {
        Ok(self.write_row(uid, flags)?)
    }

    fn remove(&mut self, uid: Uid) -> Result<(), StoreError> {
        Ok(self.delete_row(uid)?)
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        Ok(self.commit_pending()?)
    }
}

impl SqliteStatus {
    /// Insert or update a row. Only `flags` changes on an existing row;
    /// `mtime` and `labels` (GmailMaildir's) are kept, new rows get 0 and `''`.
    fn write_row(&mut self, uid: Uid, flags: Flags) -> Result<(), Error> {
        self.begin_if_batching()?;
        let mut st = self
            .conn
            .prepare_cached(
                "INSERT INTO status (id,flags,mtime,labels) VALUES (?1,?2,0,'') \
                 ON CONFLICT(id) DO UPDATE SET flags=excluded.flags",
            )
            .map_err(|e| Error::sqlite(&self.path, "write", e))?;
        st.execute(params![uid, flags.to_string()])
            .map_err(|e| Error::sqlite(&self.path, "write", e))?;
        Ok(())
    }

    fn delete_row(&mut self, uid: Uid) -> Result<(), Error> {
        self.begin_if_batching()?;
        let mut st = self
            .conn
            .prepare_cached("DELETE FROM status WHERE id=?1")
            .map_err(|e| Error::sqlite(&self.path, "write", e))?;
        st.execute(params![uid])
            .map_err(|e| Error::sqlite(&self.path, "write", e))?;
        Ok(())
    }
}

impl Drop for SqliteStatus {
    /// Rows are only written after the action they record succeeded, so
    /// keeping them is always right, even when the sync stopped on an error.
    fn drop(&mut self) {
        let _ = self.commit_pending();
    }
}

mod labels;

#[cfg(test)]
mod tests;
