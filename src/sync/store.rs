//! The seam between the engine and the backends: one small trait that both
//! the IMAP folder and the Maildir folder implement (and `MemStore` in
//! tests), plus the status cache's trait.
//!
//! Backends convert their own errors into [`StoreError`] so that `sync`
//! never names a backend.

use async_trait::async_trait;

use super::model::{Flags, Message, MsgRef, Snapshot, StatusSnapshot, Uid};

/// One change of [`Store::change_flags`]: `flags` added to (or, with
/// `add` false, removed from) the messages `uids`.
#[derive(Clone, Copy, Debug)]
pub struct FlagChange<'a> {
    pub add: bool,
    pub uids: &'a [Uid],
    pub flags: Flags,
}

/// Receives fetched messages one at a time, so a store can stream a whole
/// batch from one command without holding more than one body in memory.
#[async_trait]
pub trait MessageSink: Send {
    async fn accept(&mut self, msg: Message) -> Result<(), StoreError>;

    /// A message too big to hold whole: `head` carries its first piece,
    /// `rest` hands over the others in order. A sink that stores it may
    /// write each piece as it comes (see [`Store::append_in_pieces`]);
    /// one that needs it whole gets it so from this default. A sink may
    /// stop before the last piece; the fetching store reads the rest.
    async fn accept_in_pieces(
        &mut self,
        head: Message,
        rest: &mut dyn Pieces,
    ) -> Result<(), StoreError> {
        let msg = collect(head, rest).await?;
        self.accept(msg).await
    }
}

/// The pieces of a message after its first ([`MessageSink::accept_in_pieces`]).
#[async_trait]
pub trait Pieces: Send {
    /// The next piece (the message's bytes that follow the last piece),
    /// `None` after the last. An error is the fetching store's (the
    /// connection dropped, the message vanished meanwhile).
    async fn next(&mut self) -> Result<Option<bytes::Bytes>, StoreError>;

    /// The whole message's length (the first piece and every other),
    /// when the source knows it exactly before the pieces are read (a
    /// Maildir file: yes; an IMAP listing's size: not to be trusted).
    /// A store that must announce the length first (an IMAP APPEND) can
    /// then send the pieces as they come.
    fn total(&self) -> Option<u64> {
        None
    }
}

/// `head` with every piece of `rest` appended: the message whole.
pub async fn collect(head: Message, rest: &mut dyn Pieces) -> Result<Message, StoreError> {
    let mut all = bytes::BytesMut::from(&head.bytes[..]);
    while let Some(piece) = rest.next().await? {
        all.extend_from_slice(&piece);
    }
    Ok(Message {
        bytes: all.freeze(),
        ..head
    })
}

/// One folder on one side.
#[async_trait]
pub trait Store: Send {
    /// Every message's UID, flags and size (and, for a Maildir, the
    /// messages without a UID).
    async fn snapshot(&mut self) -> Result<Snapshot, StoreError>;

    /// Hand the messages `ids` to `sink`, one at a time, in any order.
    /// A message that vanished meanwhile is skipped, not an error.
    async fn fetch(&mut self, ids: &[MsgRef], sink: &mut dyn MessageSink)
    -> Result<(), StoreError>;

    /// Store a new message. `uid` is the UID the other side already gave it
    /// (a download into a Maildir keeps the server's UID); `None` asks the
    /// store to assign one (an IMAP APPEND). Returns the message's UID, or
    /// `None` when it was stored but the store cannot tell its UID (no
    /// UIDPLUS and the header search failed); the next sync pairs it up.
    async fn append(&mut self, msg: &Message, uid: Option<Uid>) -> Result<Option<Uid>, StoreError>;

    /// [`Store::append`] of a message that arrives in pieces: `head` with
    /// its first piece, then those of `rest`. A store that can write
    /// pieces as they come (a Maildir) holds one piece at a time; this
    /// default collects the message first. An error from `rest` is
    /// returned as it is, with nothing stored.
    async fn append_in_pieces(
        &mut self,
        head: &Message,
        rest: &mut dyn Pieces,
        uid: Option<Uid>,
    ) -> Result<Option<Uid>, StoreError> {
        let msg = collect(head.clone(), rest).await?;
        self.append(&msg, uid).await
    }

    /// Give a local message the UID the other side assigned to its copy (a
    /// Maildir renames the file to carry `,U=<uid>`). `id` is a message
    /// without a UID, or `MsgRef::Uid(old)` when a message whose UID the
    /// server does not know was uploaded again and is relabelled.
    async fn assign_uid(&mut self, id: MsgRef, uid: Uid) -> Result<(), StoreError>;

    async fn add_flags(&mut self, uids: &[Uid], flags: Flags) -> Result<(), StoreError>;
    async fn remove_flags(&mut self, uids: &[Uid], flags: Flags) -> Result<(), StoreError>;

    /// Several flag changes, in order, as [`Store::add_flags`] and
    /// [`Store::remove_flags`] would make them one after the other; a store
    /// may send them together (IMAP: pipelined, one round trip for all).
    /// One outcome per change: a message error (`ErrorKind::Message`)
    /// refuses that change alone; any other error is returned, and the
    /// changes after it may or may not have been made.
    async fn change_flags(
        &mut self,
        changes: &[FlagChange<'_>],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let mut outcomes = Vec::with_capacity(changes.len());
        for c in changes {
            let res = if c.add {
                self.add_flags(c.uids, c.flags).await
            } else {
                self.remove_flags(c.uids, c.flags).await
            };
            match res {
                Err(e) if e.kind != ErrorKind::Message => return Err(e),
                res => outcomes.push(res),
            }
        }
        Ok(outcomes)
    }

    /// Remove these messages for good (IMAP: `\Deleted` then expunge as
    /// configured).
    async fn delete(&mut self, uids: &[Uid]) -> Result<(), StoreError>;

    /// [`Store::delete`] of `uids`, then [`Store::change_flags`] of
    /// `changes` (other messages), as if called one after the other; a
    /// store may send them together (IMAP: one round trip for both). The
    /// deletion's outcome comes first (a message error refuses it alone),
    /// then one per change; any other error is returned, and what came
    /// before or after it may or may not have been made.
    async fn delete_and_change_flags(
        &mut self,
        uids: &[Uid],
        changes: &[FlagChange<'_>],
    ) -> Result<WriteOutcomes, StoreError> {
        let deleted = match self.delete(uids).await {
            Err(e) if e.kind != ErrorKind::Message => return Err(e),
            res => res,
        };
        let flags = self.change_flags(changes).await?;
        Ok(WriteOutcomes { deleted, flags })
    }
}

/// What [`Store::delete_and_change_flags`] did: the deletion's outcome and
/// one per flag change.
#[derive(Debug)]
pub struct WriteOutcomes {
    pub deleted: Result<(), StoreError>,
    pub flags: Vec<Result<(), StoreError>>,
}

/// The per-folder status cache (OfflineIMAP's LocalStatus). Writes may be
/// buffered; `commit` makes them durable. Synchronous: SQLite writes are
/// short and local.
pub trait StatusCache: Send {
    fn load(&mut self) -> Result<StatusSnapshot, StoreError>;
    fn set(&mut self, uid: Uid, flags: Flags) -> Result<(), StoreError>;
    fn remove(&mut self, uid: Uid) -> Result<(), StoreError>;
    fn commit(&mut self) -> Result<(), StoreError>;
}

/// How bad a store error is, which decides what the caller retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The connection dropped or timed out: retry the folder later.
    Transient,
    /// This one message could not be handled (e.g. the server refused it).
    Message,
    /// The folder cannot be synced (missing, unreadable, no permission).
    Folder,
    /// The whole repository is unusable (login failed, disk full).
    Repository,
}

/// A backend error as the engine sees it: a kind, a one-line message that
/// already names the server/folder/file, and the underlying cause.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    pub kind: ErrorKind,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        StoreError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError {
            kind,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }
}
