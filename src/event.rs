//! The vocabulary between sync workers and user interfaces.
//!
//! Workers send [`Event`]s (facts, in the present progressive or past) up an
//! unbounded channel, so a worker never waits on a UI; UIs send
//! [`Command`]s down a bounded per-account channel with `try_send`, so a UI
//! never waits on a worker. std only: every UI and every test can name it.

use std::time::Instant;

/// An account's position in `accounts =` (0-based). The Blinkenlights
/// hotkey of an account is derived from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub u16);

/// One light: a task working for an account (the account task itself, a
/// folder task, ...). Slots are reused once a worker has finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerId {
    pub account: AccountId,
    pub slot: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
}

/// What happened. One variant per thing OfflineIMAP's UIs react to.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `*** Processing account X`
    AccountStarted { account: AccountId, name: String },
    /// A worker light came on (its slot is now in use).
    WorkerStarted { worker: WorkerId, name: String },
    /// `Establishing connection to host:port (Repo)`
    Connecting {
        worker: WorkerId,
        repo: String,
        host: String,
        port: u16,
    },
    /// Folder lists compared: `Copying folder structure from IMAP to Maildir`
    SyncingFolders {
        worker: WorkerId,
        from_type: String,
        to_type: String,
    },
    /// `Creating folder X[Repo]`
    FolderCreating {
        worker: WorkerId,
        folder: String,
        repo: String,
    },
    /// `Syncing INBOX: IMAP -> Maildir`
    FolderStarted {
        worker: WorkerId,
        folder: String,
        from_type: String,
        to_type: String,
    },
    /// `Skipping INBOX (not changed)` and the like.
    FolderSkipped {
        worker: WorkerId,
        folder: String,
        reason: String,
    },
    /// `Loading message list for Remote:INBOX` (before)
    MessageListLoading {
        worker: WorkerId,
        repo: String,
        folder: String,
    },
    /// `Message list for Remote:INBOX loaded: 42 messages` (after)
    MessageListLoaded {
        worker: WorkerId,
        repo: String,
        folder: String,
        count: usize,
    },
    /// `Copy message UID 123 (4/10) Remote:INBOX -> Local:INBOX`
    MessageCopying {
        worker: WorkerId,
        uid: String,
        n: usize,
        total: usize,
        from_repo: String,
        to_repo: String,
        folder: String,
    },
    /// A message finished copying; `bytes` is its size, for progress rates.
    MessageCopied { worker: WorkerId, bytes: u64 },
    /// `Deleting 2 messages (5, 6) in Maildir[INBOX]`
    MessagesDeleting {
        worker: WorkerId,
        uids: Vec<u32>,
        repo: String,
        folder: String,
    },
    /// `Adding flag S to 3 messages on INBOX`
    FlagsAdding {
        worker: WorkerId,
        uids: Vec<u32>,
        flags: String,
        repo: String,
        folder: String,
    },
    /// `Deleting flag F from 1 messages on INBOX`
    FlagsRemoving {
        worker: WorkerId,
        uids: Vec<u32>,
        flags: String,
        repo: String,
        folder: String,
    },
    /// A folder's UIDVALIDITY differs from the one saved: the folder is
    /// skipped (exit code 2) and nothing in it is touched.
    ValidityProblem {
        worker: WorkerId,
        folder: String,
        repo: String,
        saved: u32,
        current: u32,
    },
    /// A worker light went out.
    WorkerFinished { worker: WorkerId },
    /// The account sleeps until `until` (autorefresh); UIs derive the countdown.
    Sleeping { account: AccountId, until: Instant },
    /// `*** Finished account 'X' in M:SS`
    AccountFinished {
        account: AccountId,
        name: String,
        elapsed_secs: u64,
    },
    /// Free-form message; warnings and errors are shown by every UI.
    Logged {
        worker: Option<WorkerId>,
        level: Level,
        text: String,
    },
}

/// What a key or a signal asks of an account. Imperative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Digit key or SIGUSR1: end the autorefresh sleep now.
    SyncNow,
    /// SIGUSR2: finish this sync, then stop instead of sleeping.
    StopAfterSync,
}
