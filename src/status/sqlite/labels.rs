//! The status cache's Gmail columns (`synclabels`): each message's labels
//! and the mtime its Maildir file had when they were last synced, in
//! offlineimap3's spelling (`labels` sorted and `", "`-joined, `mtime` in
//! seconds), so that either program reads the other's rows.

use std::collections::BTreeMap;

use rusqlite::params;

use super::{Error, SqliteStatus};
use crate::sync::labels::{self, LabelSet, StatusLabels};
use crate::sync::model::Uid;

impl SqliteStatus {
    /// Every row's labels and mtime (rows whose id is no UID are left out,
    /// as [`crate::sync::store::StatusCache::load`] leaves them out).
    pub fn labels(&mut self) -> Result<BTreeMap<Uid, StatusLabels>, Error> {
        let mut out = BTreeMap::new();
        let mut st = self
            .conn
            .prepare("SELECT id, mtime, labels FROM status")
            .map_err(|e| Error::sqlite(&self.path, "read", e))?;
        let mut rows = st
            .query([])
            .map_err(|e| Error::sqlite(&self.path, "read", e))?;
        while let Some(row) = rows
            .next()
            .map_err(|e| Error::sqlite(&self.path, "read", e))?
        {
            let read = |e| Error::sqlite(&self.path, "read", e);
            let id: i64 = row.get(0).map_err(read)?;
            let mtime: Option<i64> = row.get(1).map_err(read)?;
            let column: Option<String> = row.get(2).map_err(read)?;
            if let Ok(uid) = Uid::try_from(id) {
                out.insert(
                    uid,
                    StatusLabels {
                        labels: labels::parse_status(column.as_deref().unwrap_or("")),
                        mtime: mtime.unwrap_or(0),
                    },
                );
            }
        }
        Ok(out)
    }

    /// Records the labels of an existing row, and its file's mtime when
    /// given (offlineimap3 updates them together or the labels alone). A
    /// UID with no row is left alone: a row is made by the flag pass.
    pub fn set_labels(
        &mut self,
        uid: Uid,
        labels: &LabelSet,
        mtime: Option<i64>,
    ) -> Result<(), Error> {
        self.begin_if_batching()?;
        let column = labels::status_string(labels);
        let done = match mtime {
            Some(m) => self
                .conn
                .prepare_cached("UPDATE status SET labels=?1, mtime=?2 WHERE id=?3")
                .and_then(|mut st| st.execute(params![column, m, uid])),
            None => self
                .conn
                .prepare_cached("UPDATE status SET labels=?1 WHERE id=?2")
                .and_then(|mut st| st.execute(params![column, uid])),
        };
        done.map_err(|e| Error::sqlite(&self.path, "write", e))?;
        Ok(())
    }

    /// Records a file's mtime alone (after the Maildir-to-server step).
    pub fn set_label_mtime(&mut self, uid: Uid, mtime: i64) -> Result<(), Error> {
        self.begin_if_batching()?;
        self.conn
            .prepare_cached("UPDATE status SET mtime=?1 WHERE id=?2")
            .and_then(|mut st| st.execute(params![mtime, uid]))
            .map_err(|e| Error::sqlite(&self.path, "write", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Tests may unwrap (house rules).

    use rusqlite::Connection;

    use super::*;
    use crate::sync::model::Flags;
    use crate::sync::store::StatusCache;

    fn set(labels: &[&str]) -> LabelSet {
        labels.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn labels_round_trip_in_offlineimap3s_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("INBOX");
        let mut db = SqliteStatus::open(&path, true).unwrap();
        db.set(5, Flags::from_letters("S")).unwrap();
        db.set(6, Flags::EMPTY).unwrap();
        db.set_labels(5, &set(&["work", "\\Inbox", "a b"]), Some(1234))
            .unwrap();
        db.set_labels(6, &set(&["x"]), None).unwrap();
        db.set_labels(99, &set(&["nowhere"]), Some(1)).unwrap();
        db.set_label_mtime(6, 77).unwrap();
        db.commit().unwrap();
        // A flag change keeps the labels and the mtime.
        db.set(5, Flags::from_letters("FS")).unwrap();
        db.commit().unwrap();
        drop(db);

        let c = Connection::open(&path).unwrap();
        let row: (String, i64, String) = c
            .query_row(
                "SELECT flags, mtime, labels FROM status WHERE id=5",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            row,
            ("FS".to_owned(), 1234, "\\Inbox, a b, work".to_owned())
        );
        let n: i64 = c
            .query_row("SELECT count(*) FROM status", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2, "no row is made for a UID without one");
        // A row written the way offlineimap3 writes it reads back.
        c.execute(
            "INSERT INTO status (id,flags,mtime,labels) VALUES (7,'S',5,'b, \\Starred')",
            [],
        )
        .unwrap();
        drop(c);

        let mut db = SqliteStatus::open(&path, true).unwrap();
        let all = db.labels().unwrap();
        assert_eq!(all[&5].labels, set(&["work", "\\Inbox", "a b"]));
        assert_eq!(
            all[&6],
            StatusLabels {
                labels: set(&["x"]),
                mtime: 77
            }
        );
        assert_eq!(
            all[&7],
            StatusLabels {
                labels: set(&["\\Starred", "b"]),
                mtime: 5
            }
        );
    }
}
