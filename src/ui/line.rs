//! Line UIs: `basic`, `quiet` and `ttyui`, as pure event-to-text
//! formatters plus the one writer loop that drives any of them.
//!
//! The texts are OfflineIMAP's own (`ui/UIBase.py`), so scripts that grep an
//! OfflineIMAP log keep working. Which events OfflineIMAP logs at INFO and
//! which only at DEBUG is kept too: Basic shows the first, never the second.
//! Formatters do no I/O and read no clock except through an injected one.

use std::collections::HashMap;
use std::io::{self, Write};
use std::time::Instant;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::event::{AccountId, Event, Level, WorkerId};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests;

/// A line UI: turns one event into at most one piece of text (which may span
/// several lines, without the final newline).
pub trait LineUi {
    fn line(&mut self, ev: &Event) -> Option<String>;

    /// Text written once before any event (machineui's protocol line, the
    /// log file's start blurb); none by default.
    fn header(&mut self) -> Option<String> {
        None
    }

    /// The line announcing a password question for `user` of `account`
    /// (machineui's `getpass`), for UIs that ask on their own output; none
    /// by default.
    fn getpass(&mut self, _account: AccountId, _user: &str) -> Option<String> {
        None
    }
}

impl<T: LineUi + ?Sized> LineUi for Box<T> {
    fn line(&mut self, ev: &Event) -> Option<String> {
        (**self).line(ev)
    }

    fn getpass(&mut self, account: AccountId, user: &str) -> Option<String> {
        (**self).getpass(account, user)
    }

    fn header(&mut self) -> Option<String> {
        (**self).header()
    }
}

/// Drains `events` until every sender is gone, writing what `ui` makes of
/// each one to `out`, a newline after each, and flushing after each batch.
///
/// The channel is unbounded, so a slow terminal delays the lines, never a
/// worker. Writes are plain blocking writes: line output is small and
/// batched, and a terminal that blocks for long would stall only this task.
/// A write error (say, a closed pipe) ends the loop and is returned.
pub async fn run_line_ui(
    mut ui: impl LineUi,
    mut events: UnboundedReceiver<Event>,
    mut out: impl Write,
) -> io::Result<()> {
    let mut batch = Vec::with_capacity(BATCH);
    let mut text = String::new();
    write_header(&mut ui, &mut out)?;
    while events.recv_many(&mut batch, BATCH).await > 0 {
        write_batch(&mut ui, &mut batch, &mut text, &mut out)?;
    }
    out.flush()
}

/// How many events a line UI takes from its channel at once.
pub(crate) const BATCH: usize = 256;

/// The UI's header line(s), if it has any (machineui's protocol line).
pub(crate) fn write_header(ui: &mut impl LineUi, out: &mut impl Write) -> io::Result<()> {
    if let Some(header) = ui.header() {
        out.write_all(header.as_bytes())?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    Ok(())
}

/// Formats a batch of events (draining it) and writes the lines with one
/// write and one flush; `text` is a reusable buffer.
pub(crate) fn write_batch(
    ui: &mut impl LineUi,
    batch: &mut Vec<Event>,
    text: &mut String,
    out: &mut impl Write,
) -> io::Result<()> {
    text.clear();
    for ev in batch.drain(..) {
        if let Some(line) = ui.line(&ev) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    if !text.is_empty() {
        out.write_all(text.as_bytes())?;
        out.flush()?;
    }
    Ok(())
}

/// OfflineIMAP's `Noninteractive.Basic`: every INFO, warning and error
/// message, plain, no thread names. Meant for stdout.
#[derive(Clone, Debug, Default)]
pub struct Basic {
    dry_run: bool,
    debug: bool,
}

impl Basic {
    /// `dry_run` adds OfflineIMAP's `[DRYRUN] ` prefix to the lines of
    /// actions that a dry run only pretends to do.
    pub fn new(dry_run: bool) -> Self {
        Basic {
            dry_run,
            debug: false,
        }
    }

    /// With `-d`: debug lines too, as OfflineIMAP's logger at DEBUG.
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }
}

impl LineUi for Basic {
    fn line(&mut self, ev: &Event) -> Option<String> {
        record(ev, self.dry_run)
            .filter(|r| r.level >= threshold(Level::Info, self.debug))
            .map(|r| r.text)
    }
}

/// The lowest level a UI shows: its own, or every level under `-d`
/// (OfflineIMAP lowers its logger, not its handlers, so even Quiet shows
/// everything then).
pub fn threshold(normal: Level, debug: bool) -> Level {
    if debug { Level::Debug } else { normal }
}

/// OfflineIMAP's `Noninteractive.Quiet`: warnings and errors only.
#[derive(Clone, Debug, Default)]
pub struct Quiet {
    dry_run: bool,
    debug: bool,
}

impl Quiet {
    pub fn new(dry_run: bool) -> Self {
        Quiet {
            dry_run,
            debug: false,
        }
    }

    /// With `-d`: every line, as OfflineIMAP's Quiet under `-d`.
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }
}

impl LineUi for Quiet {
    fn line(&mut self, ev: &Event) -> Option<String> {
        record(ev, self.dry_run)
            .filter(|r| r.level >= threshold(Level::Warning, self.debug))
            .map(|r| r.text)
    }
}

/// OfflineIMAP's `TTY.TTYUI` (its default UI): Basic's messages, meant for
/// stderr, grouped by the worker that logged them. A message from another
/// worker than the previous one is preceded by that worker's name and a
/// colon on a line of its own; every worker message is indented by one
/// space; messages not tied to a worker are printed bare. While an account
/// sleeps it tells when the next refresh is due.
pub struct TtyUi {
    dry_run: bool,
    debug: bool,
    clock: Box<dyn Fn() -> Instant + Send>,
    workers: HashMap<WorkerId, String>,
    accounts: HashMap<AccountId, String>,
    last_thread: Option<String>,
}

impl TtyUi {
    pub fn new(dry_run: bool) -> Self {
        Self::with_clock(dry_run, Instant::now)
    }

    /// As [`TtyUi::new`], reading the time (for sleep countdowns) from
    /// `clock`, so tests are deterministic.
    pub fn with_clock(dry_run: bool, clock: impl Fn() -> Instant + Send + 'static) -> Self {
        TtyUi {
            dry_run,
            debug: false,
            clock: Box::new(clock),
            workers: HashMap::new(),
            accounts: HashMap::new(),
            last_thread: None,
        }
    }

    /// With `-d`: debug lines too.
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    fn account_thread(&self, account: AccountId) -> Option<String> {
        self.accounts
            .get(&account)
            .map(|name| format!("Account sync {name}"))
    }

    fn worker_thread(&self, worker: WorkerId) -> Option<String> {
        self.workers
            .get(&worker)
            .cloned()
            .or_else(|| self.account_thread(worker.account))
    }

    /// The name of the thread OfflineIMAP would have logged `ev` from;
    /// `None` for its main thread.
    fn thread_of(&self, ev: &Event) -> Option<String> {
        match ev {
            Event::AccountStarted { account, .. }
            | Event::AccountFinished { account, .. }
            | Event::Sleeping { account, .. } => self.account_thread(*account),
            Event::Logged { worker, .. } => worker.and_then(|w| self.worker_thread(w)),
            Event::WorkerStarted { worker, .. }
            | Event::Connecting { worker, .. }
            | Event::SyncingFolders { worker, .. }
            | Event::FolderCreating { worker, .. }
            | Event::FolderStarted { worker, .. }
            | Event::FolderSkipped { worker, .. }
            | Event::ValidityProblem { worker, .. }
            | Event::MessageListLoading { worker, .. }
            | Event::MessageListLoaded { worker, .. }
            | Event::MessageCopying { worker, .. }
            | Event::MessageCopied { worker, .. }
            | Event::MessagesDeleting { worker, .. }
            | Event::FlagsAdding { worker, .. }
            | Event::FlagsRemoving { worker, .. }
            | Event::HookStarted { worker, .. }
            | Event::HookFinished { worker, .. }
            | Event::WorkerFinished { worker } => self.worker_thread(*worker),
        }
    }

    fn message(&self, ev: &Event) -> Option<String> {
        if let Event::Sleeping { until, .. } = ev {
            return next_refresh(until.saturating_duration_since((self.clock)()));
        }
        record(ev, self.dry_run)
            .filter(|r| r.level >= threshold(Level::Info, self.debug))
            .map(|r| r.text)
    }
}

impl LineUi for TtyUi {
    fn line(&mut self, ev: &Event) -> Option<String> {
        // Learn names first: the account's own "*** Processing" line already
        // belongs to its thread.
        match ev {
            Event::AccountStarted { account, name } => {
                self.accounts.insert(*account, name.clone());
            }
            Event::WorkerStarted { worker, name } => {
                self.workers.insert(*worker, name.clone());
            }
            _ => {}
        }
        let thread = self.thread_of(ev);
        let text = self.message(ev);
        // A finished worker's slot may be reused under another name.
        if let Event::WorkerFinished { worker } = ev {
            self.workers.remove(worker);
        }
        let text = text?;
        let Some(thread) = thread else {
            return Some(text);
        };
        if self.last_thread.as_deref() == Some(thread.as_str()) {
            Some(format!(" {text}"))
        } else {
            let line = format!("{thread}:\n {text}");
            self.last_thread = Some(thread);
            Some(line)
        }
    }
}

/// TTYUI's sleep notice. OfflineIMAP sleeps in 10 s steps and speaks only
/// when a step crosses a whole minute; the first step is the one we see.
fn next_refresh(remaining: std::time::Duration) -> Option<String> {
    let secs = i64::try_from((remaining.as_millis() + 500) / 1000).unwrap_or(i64::MAX);
    if secs <= 0 || secs.div_euclid(60) == (secs - 10).div_euclid(60) {
        return None;
    }
    let minutes = secs as f64 / 60.0;
    Some(format!("Next refresh in {minutes:.1} minutes"))
}

/// The level and plain text OfflineIMAP's UIBase logs for `ev` (what Basic
/// prints, before filtering by level); `None` for events it does not log.
/// The log file and syslog outputs format these.
pub fn log_record(ev: &Event, dry_run: bool) -> Option<(Level, String)> {
    record(ev, dry_run).map(|r| (r.level, r.text))
}

/// What OfflineIMAP's UIBase would log for one event.
struct Record {
    level: Level,
    text: String,
}

fn info(text: String) -> Option<Record> {
    Some(Record {
        level: Level::Info,
        text,
    })
}

fn debug(text: String) -> Option<Record> {
    Some(Record {
        level: Level::Debug,
        text,
    })
}

fn record(ev: &Event, dry_run: bool) -> Option<Record> {
    let dry = if dry_run { "[DRYRUN] " } else { "" };
    match ev {
        Event::AccountStarted { name, .. } => info(format!("*** Processing account {name}")),
        Event::Connecting {
            repo, host, port, ..
        } => {
            let to = if host.is_empty() {
                String::new()
            } else if *port == 0 {
                format!(" to {host}:")
            } else {
                format!(" to {host}:{port}")
            };
            info(format!("Establishing connection{to} ({repo})"))
        }
        Event::SyncingFolders {
            from_type, to_type, ..
        } => debug(format!(
            "Copying folder structure from {from_type} to {to_type}"
        )),
        Event::FolderCreating { folder, repo, .. } => {
            info(format!("{dry}Creating folder {folder}[{repo}]"))
        }
        Event::FolderStarted {
            folder,
            from_type,
            to_type,
            ..
        } => info(format!("Syncing {folder}: {from_type} -> {to_type}")),
        Event::FolderSkipped { folder, reason, .. } => {
            info(format!("Skipping {folder} ({reason})"))
        }
        Event::MessageListLoading { repo, folder, .. } => {
            debug(format!("Loading message list for {repo}[{folder}]"))
        }
        Event::MessageListLoaded {
            repo,
            folder,
            count,
            ..
        } => debug(format!(
            "Message list for {repo}[{folder}] loaded: {count} messages"
        )),
        Event::MessageCopying {
            uid,
            n,
            total,
            from_repo,
            to_repo,
            folder,
            ..
        } => info(format!(
            "{dry}Copy message UID {uid} ({n}/{total}) {from_repo}:{folder} -> {to_repo}:{folder}"
        )),
        Event::MessagesDeleting {
            uids, repo, folder, ..
        } => info(format!(
            "{dry}Deleting {} messages ({}) in {repo}[{folder}]",
            uids.len(),
            uid_sequence(uids)
        )),
        Event::FlagsAdding {
            uids,
            flags,
            folder,
            ..
        } => info(format!(
            "{dry}Adding flag {} to {} messages on {folder}",
            flag_list(flags),
            uids.len()
        )),
        Event::FlagsRemoving {
            uids,
            flags,
            folder,
            ..
        } => info(format!(
            "{dry}Deleting flag {} from {} messages on {folder}",
            flag_list(flags),
            uids.len()
        )),
        Event::Sleeping { .. } => None,
        Event::AccountFinished {
            name, elapsed_secs, ..
        } => info(format!(
            "*** Finished account '{name}' in {}:{:02}",
            elapsed_secs / 60,
            elapsed_secs % 60
        )),
        Event::ValidityProblem {
            folder,
            repo,
            saved,
            current,
            ..
        } => Some(Record {
            level: Level::Warning,
            text: format!(
                "UID validity problem for folder {folder} (repo {repo}) (saved {saved}; got {current}); skipping it. Please see FAQ and manual on how to handle this."
            ),
        }),
        // OfflineIMAP does not run hooks in a dry run, but says it would.
        Event::HookStarted { command, .. } => info(format!("{dry}Calling hook: {command}")),
        Event::HookFinished { code, .. } => info(format!("Hook return code: {code}")),
        Event::Logged { level, text, .. } => Some(Record {
            level: *level,
            text: match level {
                Level::Error => format!("ERROR: {text}"),
                Level::Debug | Level::Info | Level::Warning => text.clone(),
            },
        }),
        Event::WorkerStarted { .. }
        | Event::MessageCopied { .. }
        | Event::WorkerFinished { .. } => None,
    }
}

/// OfflineIMAP joins the flag letters it reports with ", ".
fn flag_list(flags: &str) -> String {
    let letters: Vec<String> = flags.chars().map(String::from).collect();
    letters.join(", ")
}

/// Collapses UIDs into an IMAP-style sequence set, sorted: `[6, 1, 2, 3, 9]`
/// gives `1:3,6,9`. This is how OfflineIMAP lists deleted messages.
pub fn uid_sequence(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    let mut parts: Vec<String> = Vec::new();
    let mut iter = sorted.into_iter();
    let Some(first) = iter.next() else {
        return String::new();
    };
    let (mut start, mut end) = (first, first);
    let range = |s: u32, e: u32| {
        if s == e {
            s.to_string()
        } else {
            format!("{s}:{e}")
        }
    };
    for uid in iter {
        if end.checked_add(1) == Some(uid) {
            end = uid;
        } else {
            parts.push(range(start, end));
            (start, end) = (uid, uid);
        }
    }
    parts.push(range(start, end));
    parts.join(",")
}
