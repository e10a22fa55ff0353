//! The local side: Maildir folders as OfflineIMAP lays them out.
//!
//! `filename` is the pure name codec, `folder` implements
//! [`crate::sync::store::Store`] over one Maildir folder, `repository`
//! lists and creates folders under `localfolders`. This module never reads
//! the status cache and never talks to IMAP; it renames, writes and unlinks
//! only the message files the engine asks about.

use std::io;
use std::path::PathBuf;

use crate::sync::model::Uid;
use crate::sync::store::{ErrorKind as StoreErrorKind, StoreError};

pub mod debug;
pub mod filename;
pub mod folder;
pub mod labels;
pub mod repository;
pub mod watch;

pub use folder::{Census, MaildirFolder, Proof};
pub use repository::MaildirRepository;

/// A Maildir error: the file or directory it concerns, and what went wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct Error {
    pub path: PathBuf,
    pub kind: ErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// I/O on one message file (read, write, rename, unlink).
    #[error("cannot {op} message file: {source}")]
    MessageIo {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// I/O on the folder itself (listing, creating, syncing a directory).
    #[error("cannot {op}: {source}")]
    FolderIo {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// Two files carry the same trusted UID: usually a mail client or a
    /// user copied a file inside the folder. Uploading either would make a
    /// duplicate, and picking one could lose the other's flags, so the
    /// folder is left alone until a human removes or renames one.
    #[error(
        "UID {uid} is claimed by two files, {} and {}; remove one of them, or strip ',U=' from one name to upload it as a new message",
        first.display(),
        second.display()
    )]
    DuplicateUid {
        uid: Uid,
        first: PathBuf,
        second: PathBuf,
    },
    /// The directory lacks `cur/`, `new/` or `tmp/`.
    #[error("not a Maildir folder (needs cur/, new/ and tmp/)")]
    NotAMaildir,
    /// The engine named a message this folder's snapshot does not have.
    #[error("message {0} is not in this folder's snapshot")]
    UnknownMessage(String),
    /// The engine asked for a UID that another file in the folder already
    /// carries.
    #[error("UID {0} is already used by another file in this folder")]
    UidInUse(Uid),
    /// A rename target already exists; renaming would overwrite a message.
    #[error("refusing to overwrite existing file {}", .0.display())]
    TargetExists(PathBuf),
    /// A folder name that would escape `localfolders` or clash with the
    /// Maildir layout.
    #[error("invalid folder name {name:?}: {why}")]
    BadFolderName { name: String, why: &'static str },
}

impl Error {
    pub(crate) fn message_io(
        path: impl Into<PathBuf>,
        op: &'static str,
        source: io::Error,
    ) -> Self {
        Error {
            path: path.into(),
            kind: ErrorKind::MessageIo { op, source },
        }
    }

    pub(crate) fn folder_io(path: impl Into<PathBuf>, op: &'static str, source: io::Error) -> Self {
        Error {
            path: path.into(),
            kind: ErrorKind::FolderIo { op, source },
        }
    }

    /// The underlying I/O error, if any.
    pub fn io_error(&self) -> Option<&io::Error> {
        match &self.kind {
            ErrorKind::MessageIo { source, .. } | ErrorKind::FolderIo { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

/// A full disk or exhausted quota stops every folder, not just this one.
fn is_out_of_space(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        let kind = match &e.kind {
            ErrorKind::MessageIo { source, .. } | ErrorKind::FolderIo { source, .. }
                if is_out_of_space(source) =>
            {
                StoreErrorKind::Repository
            }
            ErrorKind::MessageIo { .. } | ErrorKind::UidInUse(_) | ErrorKind::TargetExists(_) => {
                StoreErrorKind::Message
            }
            ErrorKind::UnknownMessage(_) => StoreErrorKind::Message,
            ErrorKind::FolderIo { .. }
            | ErrorKind::DuplicateUid { .. }
            | ErrorKind::NotAMaildir
            | ErrorKind::BadFolderName { .. } => StoreErrorKind::Folder,
        };
        let message = e.to_string();
        StoreError::with_source(kind, message, e)
    }
}
