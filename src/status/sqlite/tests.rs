//! Tests for the status database; fixtures in tests/fixtures/status were
//! written by Python's sqlite3 with OfflineIMAP's own statements
//! (`make_fixtures.py`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/status")
        .join(name)
}

/// `(type, name, sql)` of every schema object, in creation order.
fn schema(path: &Path) -> Vec<(String, String, Option<String>)> {
    let c = Connection::open(path).unwrap();
    let mut st = c
        .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY rowid")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// `(id, flags, mtime, labels)` as stored.
type Row = (i64, Option<String>, Option<i64>, Option<String>);

fn rows(path: &Path) -> Vec<Row> {
    let c = Connection::open(path).unwrap();
    let mut st = c
        .prepare("SELECT id, flags, mtime, labels FROM status ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn db_version(path: &Path) -> String {
    let c = Connection::open(path).unwrap();
    c.query_row(
        "SELECT value FROM metadata WHERE key='db_version'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

fn copy_fixture(name: &str, dir: &Path) -> PathBuf {
    let p = dir.join(name);
    fs::copy(fixture(name), &p).unwrap();
    p
}

#[test]
fn new_db_has_offlineimaps_exact_schema() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("Account-A/LocalStatus-sqlite/INBOX");
    let mut s = SqliteStatus::open(&p, true).unwrap();
    assert!(s.is_new());
    assert!(s.take_warnings().is_empty());
    drop(s);
    // Same objects and CREATE texts as a database OfflineIMAP created.
    assert_eq!(schema(&p), schema(&fixture("v2.sqlite")));
    assert_eq!(
        schema(&p),
        vec![
            (
                "table".into(),
                "metadata".into(),
                Some("CREATE TABLE metadata (key VARCHAR(50) PRIMARY KEY, value VARCHAR(128))".into())
            ),
            ("index".into(), "sqlite_autoindex_metadata_1".into(), None),
            (
                "table".into(),
                "status".into(),
                Some(
                    "CREATE TABLE status (id INTEGER PRIMARY KEY, flags VARCHAR(50), mtime INTEGER, labels VARCHAR(256))"
                        .into()
                )
            ),
        ]
    );
    assert_eq!(db_version(&p), "2");
}

#[test]
fn set_remove_commit_round_trip_and_reopen() {
    for fsync in [true, false] {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("db");
        let mut s = SqliteStatus::open(&p, fsync).unwrap();
        assert!(s.load().unwrap().is_empty());
        s.set(5, Flags::from_letters("SF")).unwrap();
        s.set(6, Flags::EMPTY).unwrap();
        s.set(7, Flags::from_letters("T")).unwrap();
        s.remove(7).unwrap();
        s.set(5, Flags::from_letters("SFR")).unwrap();
        s.commit().unwrap();
        let loaded = s.load().unwrap();
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[&5].to_string(), "FRS");
        drop(s);

        assert_eq!(
            rows(&p),
            vec![
                (5, Some("FRS".into()), Some(0), Some(String::new())),
                (6, Some(String::new()), Some(0), Some(String::new())),
            ]
        );
        let mut s = SqliteStatus::open(&p, fsync).unwrap();
        assert!(!s.is_new());
        assert_eq!(s.load().unwrap()[&6], Flags::EMPTY);
    }
}

#[test]
fn uncommitted_batch_is_invisible_to_others_until_commit() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("db");
    let mut s = SqliteStatus::open(&p, false).unwrap();
    s.set(1, Flags::from_letters("S")).unwrap();
    // Another reader sees the last committed state.
    let other = Connection::open(&p).unwrap();
    other.busy_timeout(Duration::from_millis(10)).unwrap();
    let n: Result<i64, _> = other.query_row("SELECT count(*) FROM status", [], |r| r.get(0));
    assert_eq!(n.unwrap(), 0);
    s.commit().unwrap();
    let n: i64 = other
        .query_row("SELECT count(*) FROM status", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn set_keeps_mtime_and_labels() {
    let t = tempfile::tempdir().unwrap();
    let p = copy_fixture("v2.sqlite", t.path());
    let mut s = SqliteStatus::open(&p, true).unwrap();
    assert!(!s.is_new());
    let loaded = s.load().unwrap();
    assert_eq!(loaded.len(), 3);
    assert_eq!(loaded[&2].to_string(), "FRS");
    assert_eq!(loaded[&7], Flags::EMPTY);
    s.set(7, Flags::from_letters("S")).unwrap();
    drop(s);
    assert_eq!(
        rows(&p)[2],
        (
            7,
            Some("S".into()),
            Some(1_700_000_000),
            Some("Work, \\Inbox".into())
        )
    );
}

#[test]
fn v1_is_upgraded_like_offlineimap() {
    let t = tempfile::tempdir().unwrap();
    let p = copy_fixture("v1.sqlite", t.path());
    let mut s = SqliteStatus::open(&p, true).unwrap();
    assert!(!s.is_new());
    let w = s.take_warnings();
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("version 1 to version 2"), "{w:?}");
    let loaded = s.load().unwrap();
    assert_eq!(loaded.keys().copied().collect::<Vec<_>>(), vec![3, 4]);
    drop(s);
    assert_eq!(db_version(&p), "2");
    // The texts Python's OfflineIMAP upgrade leaves behind.
    assert_eq!(
        schema(&p)[2].2.as_deref(),
        Some(
            "CREATE TABLE status (id INTEGER PRIMARY KEY, flags VARCHAR(50), mtime INTEGER DEFAULT 0, labels VARCHAR(256) DEFAULT '')"
        )
    );
    assert_eq!(
        rows(&p),
        vec![
            (3, Some("S".into()), Some(0), Some(String::new())),
            (4, Some("DT".into()), Some(0), Some(String::new())),
        ]
    );
    // Opening again does nothing more.
    let mut s = SqliteStatus::open(&p, true).unwrap();
    assert!(s.take_warnings().is_empty());
}

#[test]
fn corrupt_file_is_moved_aside_not_deleted() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("INBOX");
    let junk = b"this is not an sqlite database, but it is somebody's data".repeat(100);
    fs::write(&p, &junk).unwrap();
    let mut s = SqliteStatus::open(&p, true).unwrap();
    assert!(s.is_new());
    let w = s.take_warnings();
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("corrupt-"), "{w:?}");
    assert!(s.load().unwrap().is_empty());
    drop(s);
    let mut aside: Vec<_> = fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("INBOX.corrupt-"))
        .collect();
    aside.sort();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(fs::read(t.path().join(&aside[0])).unwrap(), junk);
    assert_eq!(schema(&p), schema(&fixture("v2.sqlite")));

    // A second corrupt file in the same second does not replace the first.
    fs::write(&p, b"more junk".repeat(100)).unwrap();
    drop(SqliteStatus::open(&p, true).unwrap());
    let n = fs::read_dir(t.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("INBOX.corrupt-")
        })
        .count();
    assert_eq!(n, 2);
}

#[test]
fn foreign_sqlite_db_is_moved_aside() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("db");
    Connection::open(&p)
        .unwrap()
        .execute_batch("CREATE TABLE other (x); INSERT INTO other VALUES (1);")
        .unwrap();
    let mut s = SqliteStatus::open(&p, false).unwrap();
    assert!(s.is_new());
    assert_eq!(s.take_warnings().len(), 1);
}

#[test]
fn empty_file_is_just_new() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("db");
    fs::write(&p, b"").unwrap();
    let mut s = SqliteStatus::open(&p, false).unwrap();
    assert!(s.is_new());
    assert!(s.take_warnings().is_empty());
    assert_eq!(fs::read_dir(t.path()).unwrap().count(), 1);
}

#[test]
fn newer_version_is_refused_untouched() {
    let t = tempfile::tempdir().unwrap();
    let p = copy_fixture("v2.sqlite", t.path());
    Connection::open(&p)
        .unwrap()
        .execute_batch("UPDATE metadata SET value='3' WHERE key='db_version'")
        .unwrap();
    let Err(e) = SqliteStatus::open(&p, true) else {
        panic!("opened a version 3 database")
    };
    assert!(matches!(e.kind, ErrorKind::NewerVersion(3)));
    assert_eq!(db_version(&p), "3");
}

#[test]
fn locked_database_is_an_error_naming_the_file() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("db");
    drop(SqliteStatus::open(&p, true).unwrap());
    let holder = Connection::open(&p).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    // BUSY_TIMEOUT is short under cfg(test).
    let mut s = SqliteStatus::open(&p, true);
    let e = match s.as_mut() {
        Ok(s) => {
            let err = s.set(1, Flags::EMPTY).unwrap_err();
            err.message
        }
        Err(e) => e.to_string(),
    };
    assert!(e.contains("locked"), "{e}");
    assert!(e.contains(&p.display().to_string()), "{e}");
}

#[test]
fn plain_text_migration_both_formats() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("db");
    let mut s = SqliteStatus::open(&p, true).unwrap();
    assert_eq!(s.import_plain(&t.path().join("missing")).unwrap(), None);
    assert_eq!(s.import_plain(&fixture("plain-v1")).unwrap(), Some(2));
    assert_eq!(s.import_plain(&fixture("plain-v2")).unwrap(), Some(2));
    let loaded = s.load().unwrap();
    assert_eq!(loaded.keys().copied().collect::<Vec<_>>(), vec![5, 6, 8, 9]);
    assert_eq!(loaded[&5].to_string(), "RS");
    drop(s);
    assert_eq!(
        rows(&p)[3],
        (
            9,
            Some("S".into()),
            Some(1_700_000_001),
            Some("a, b".into())
        )
    );
}

#[test]
fn plain_parser_edges() {
    assert_eq!(parse_plain("").unwrap(), vec![]);
    let rows = parse_plain(&format!("{LEGACY_MAGIC}2\n3|SF|5| b ,a,, b\n\n")).unwrap();
    assert_eq!(
        rows,
        vec![PlainRow {
            uid: 3,
            flags: Flags::from_letters("FS"),
            mtime: 5,
            labels: "a, b".into()
        }]
    );
    assert_eq!(parse_plain("garbage\n").unwrap_err().0, 1);
    assert_eq!(
        parse_plain(&format!("{LEGACY_MAGIC}1\n1:S\nx:S\n"))
            .unwrap_err()
            .0,
        3
    );
    assert_eq!(
        parse_plain(&format!("{LEGACY_MAGIC}2\n1:S\n"))
            .unwrap_err()
            .0,
        2
    );
}

#[test]
fn bad_legacy_file_error_names_file_and_line() {
    let t = tempfile::tempdir().unwrap();
    let legacy = t.path().join("INBOX");
    fs::write(&legacy, format!("{LEGACY_MAGIC}1\n1:S\nbroken\n")).unwrap();
    let mut s = SqliteStatus::open(&t.path().join("db"), false).unwrap();
    let e = s.import_plain(&legacy).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&legacy.display().to_string()) && msg.contains("line 3"),
        "{msg}"
    );
    assert!(s.load().unwrap().is_empty());
}

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(tree(&p));
        } else {
            out.push((p.clone(), fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn a_scratch_copy_reads_the_database_and_writes_nothing_to_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Account-A/LocalStatus-sqlite/INBOX");
    {
        let mut db = SqliteStatus::open(&path, true).unwrap();
        db.set(1, Flags::from_letters("S")).unwrap();
        db.set(2, Flags::from_letters("FS")).unwrap();
        db.commit().unwrap();
    }
    let before = tree(dir.path());
    let mut scratch = SqliteStatus::open_scratch(&path).unwrap();
    assert!(!scratch.is_new());
    let loaded = scratch.load().unwrap();
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded[&2], Flags::from_letters("FS"));
    scratch.set(3, Flags::from_letters("R")).unwrap();
    scratch.remove(1).unwrap();
    scratch.commit().unwrap();
    assert_eq!(scratch.load().unwrap().len(), 2);
    drop(scratch);
    assert_eq!(tree(dir.path()), before);

    // A version 1 fixture is read without being upgraded.
    let v1 = dir.path().join("v1");
    fs::copy(fixture("v1.sqlite"), &v1).unwrap();
    let v1_before = fs::read(&v1).unwrap();
    let mut scratch = SqliteStatus::open_scratch(&v1).unwrap();
    assert!(!scratch.load().unwrap().is_empty());
    drop(scratch);
    assert_eq!(fs::read(&v1).unwrap(), v1_before);
}

#[test]
fn a_scratch_copy_of_nothing_is_new_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Account-A/LocalStatus-sqlite/INBOX");
    let mut scratch = SqliteStatus::open_scratch(&path).unwrap();
    assert!(scratch.is_new());
    assert!(scratch.load().unwrap().is_empty());
    // A legacy plain-text cache is imported into the copy only.
    let legacy = dir.path().join("legacy");
    fs::write(&legacy, format!("{LEGACY_MAGIC}1\n4:S\n")).unwrap();
    assert_eq!(scratch.import_plain(&legacy).unwrap(), Some(1));
    assert_eq!(scratch.load().unwrap().len(), 1);
    drop(scratch);
    assert!(!dir.path().join("Account-A").exists());

    // A file that is not a database is left where it is.
    let junk = dir.path().join("junk");
    fs::write(&junk, b"not a database at all, not even close....").unwrap();
    let mut scratch = SqliteStatus::open_scratch(&junk).unwrap();
    assert!(scratch.is_new());
    assert_eq!(scratch.take_warnings().len(), 1);
    drop(scratch);
    assert_eq!(
        fs::read(&junk).unwrap(),
        b"not a database at all, not even close...."
    );
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn max_uid_is_the_highest_row_or_none() {
    let t = tempfile::tempdir().unwrap();
    let mut db = SqliteStatus::open(&t.path().join("INBOX"), false).unwrap();
    assert_eq!(db.max_uid().unwrap(), None);
    for u in [3, 17, 9] {
        db.set(u, Flags::from_letters("S")).unwrap();
    }
    db.commit().unwrap();
    assert_eq!(db.max_uid().unwrap(), Some(17));
}

/// The page cache is bounded (`CACHE_KIB`), not SQLite's 2 MB default that
/// a large folder's full read fills.
#[test]
fn page_cache_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteStatus::open(&dir.path().join("INBOX"), false).unwrap();
    let size: i64 = db
        .conn
        .pragma_query_value(None, "cache_size", |r| r.get(0))
        .unwrap();
    assert_eq!(size, CACHE_KIB);
    assert!(size < 0 && -size <= 256, "{size}");
}
