//! OfflineIMAP's metadata on disk: the per-folder status cache
//! (`LocalStatus-sqlite`, with import of the old plain-text `LocalStatus`),
//! the saved UIDVALIDITY files (`FolderValidity`), our own CONDSTORE
//! state beside them (`FolderModSeq`), and where each lives
//! under `metadata`.
//!
//! Formats are OfflineIMAP's, byte for byte, so either program can take
//! over from the other. This module never touches mail.

use std::io;
use std::path::PathBuf;

use crate::sync::store::{ErrorKind as StoreErrorKind, StoreError};

pub mod modseq;
pub mod paths;
pub mod sqlite;
pub mod validity;

pub use paths::{folder_basename, legacy_status_path, status_db_path, validity_path};
pub use sqlite::SqliteStatus;
pub use validity::{MAILDIR_UIDVALIDITY, read_validity, write_validity};

/// A metadata error: the file it concerns and what went wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct Error {
    pub path: PathBuf,
    pub kind: ErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("cannot {op}: {source}")]
    Io {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("status database: cannot {op}: {source}")]
    Sqlite {
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// Another process held the database past our retry time.
    #[error("status database is locked by another process (is another offlineimap running?)")]
    Locked,
    /// Written by a newer program; we must not guess at its meaning.
    #[error("status database has version {0}, newer than the version 2 this program understands")]
    NewerVersion(i64),
    /// A line of a plain-text LocalStatus file we cannot read.
    #[error("line {line}: {why}")]
    BadLegacy { line: usize, why: String },
    /// A FolderValidity file that does not hold a number.
    #[error(
        "does not hold a UIDVALIDITY number ({0:?}); remove it only if you know the folder's UIDs are unchanged"
    )]
    BadValidity(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: io::Error) -> Self {
        Error {
            path: path.into(),
            kind: ErrorKind::Io { op, source },
        }
    }

    pub(crate) fn sqlite(
        path: impl Into<PathBuf>,
        op: &'static str,
        source: rusqlite::Error,
    ) -> Self {
        let path = path.into();
        let kind = match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                ErrorKind::Locked
            }
            _ => ErrorKind::Sqlite { op, source },
        };
        Error { path, kind }
    }

    fn out_of_space(&self) -> bool {
        match &self.kind {
            ErrorKind::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
            ),
            ErrorKind::Sqlite { source, .. } => {
                source.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
            }
            _ => false,
        }
    }
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        // The status cache is per folder, so most failures stop only that
        // folder; a full disk stops everything.
        let kind = if e.out_of_space() {
            StoreErrorKind::Repository
        } else {
            StoreErrorKind::Folder
        };
        let message = e.to_string();
        StoreError::with_source(kind, message, e)
    }
}
