//! Where a message of the snapshot is on disk now, for code that works on
//! the files themselves (the Gmail labels header, `maildir::labels`).

use std::path::PathBuf;

use super::{Error, MaildirFolder};
use crate::sync::model::{MsgRef, Uid};

impl MaildirFolder {
    /// The file of `uid`, found again if a mail client renamed it since
    /// the snapshot; `None` when it is gone or not in the snapshot.
    pub fn file_of(&mut self, uid: Uid) -> Result<Option<PathBuf>, Error> {
        let id = MsgRef::Uid(uid);
        if !self.uids.contains_key(&uid) || !self.locate(id)? {
            return Ok(None);
        }
        Ok(self.uids.get(&uid).map(|e| self.path_of(e)))
    }
}
