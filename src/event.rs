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
    /// `Calling hook: <command>`; `which` is the option (`presynchook`,
    /// `postsynchook`). Its output follows as `Logged` lines.
    HookStarted {
        worker: WorkerId,
        which: String,
        command: String,
    },
    /// `Hook return code: N` (a signal's number negated, as Python says).
    HookFinished {
        worker: WorkerId,
        which: String,
        code: i32,
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

/// An account needs a password its configuration does not give (no
/// `remotepass`, no `remotepassfile`). Requests travel on a channel of
/// their own, from the account to the UI, because they carry a reply and
/// are neither `Clone` nor comparable like [`Event`]s.
pub struct PasswordRequest {
    pub account: AccountId,
    /// The account's name, for prompts that name it.
    pub account_name: String,
    pub user: String,
    pub host: String,
    reply: Box<dyn FnOnce(PasswordAnswer) + Send>,
}

impl PasswordRequest {
    /// `reply` is called once with the answer; a request dropped without an
    /// answer never calls it (the asker sees its reply channel close).
    pub fn new(
        account: AccountId,
        account_name: impl Into<String>,
        user: impl Into<String>,
        host: impl Into<String>,
        reply: impl FnOnce(PasswordAnswer) + Send + 'static,
    ) -> PasswordRequest {
        PasswordRequest {
            account,
            account_name: account_name.into(),
            user: user.into(),
            host: host.into(),
            reply: Box::new(reply),
        }
    }

    /// Answers the request, consuming it.
    pub fn answer(self, answer: PasswordAnswer) {
        (self.reply)(answer);
    }
}

impl std::fmt::Debug for PasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordRequest")
            .field("account", &self.account)
            .field("user", &self.user)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

/// What a UI answers to a [`PasswordRequest`].
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordAnswer {
    /// The password the user typed. The asker wraps it in a
    /// `config::Secret` at once; it is never logged.
    Given(String),
    /// The user declined (Esc, Ctrl-C, end of input).
    Cancelled,
    /// This UI cannot prompt (`basic`, `quiet`, `syslog`, or a ttyui
    /// without a terminal). `reason` completes the sentence "no password
    /// configured for user X at HOST, and ...", e.g. `the basic UI cannot
    /// prompt for one`.
    CannotPrompt { reason: String },
}

impl std::fmt::Debug for PasswordAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordAnswer::Given(_) => f.write_str("Given(<redacted>)"),
            PasswordAnswer::Cancelled => f.write_str("Cancelled"),
            PasswordAnswer::CannotPrompt { reason } => f
                .debug_struct("CannotPrompt")
                .field("reason", reason)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_answers_never_show_the_password() {
        let given = PasswordAnswer::Given("hunter2".into());
        assert_eq!(format!("{given:?}"), "Given(<redacted>)");
        let (tx, rx) = std::sync::mpsc::channel();
        let req = PasswordRequest::new(AccountId(0), "Work", "joe", "imap.example.org", move |a| {
            let _ = tx.send(a);
        });
        assert!(!format!("{req:?}").contains("hunter2"));
        req.answer(given.clone());
        assert_eq!(rx.recv().ok(), Some(given));
    }
}
