//! `-d TYPE[,TYPE...]`: which kinds of debug output were asked for, and
//! the wiring that turns the backends' debug hooks into
//! `Event::Logged { level: Debug, .. }` lines, prefixed `[imap]: `,
//! `[maildir]: ` or `[thread]: ` as OfflineIMAP prefixes them.
//!
//! Debugging is decided once per process, so the switches are global:
//! [`install`] sets them. With `-d` off nothing is installed and the
//! hooks cost a flag check.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use thiserror::Error;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender, WeakUnboundedSender};

use crate::event::{AccountId, Event, Level, WorkerId};

/// The debug types of `-d`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DebugTypes {
    /// `imap`: the IMAP conversation, secrets hidden.
    pub imap: bool,
    /// `maildir`: Maildir files written, renamed, deleted; scans.
    pub maildir: bool,
    /// `thread`: workers starting and stopping.
    pub thread: bool,
}

/// `-d` named a type that does not exist.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("Invalid debug type: {0} (choose from imap, maildir, thread or ALL)")]
pub struct InvalidDebugType(pub String);

impl DebugTypes {
    /// The types of `-d a,b,c` (already split at commas). `ALL` means all
    /// three; names are matched case-insensitively and empty ones ignored.
    pub fn parse(list: &[String]) -> Result<DebugTypes, InvalidDebugType> {
        let mut types = DebugTypes::default();
        for name in list {
            let name = name.trim();
            match name.to_ascii_lowercase().as_str() {
                "" => {}
                "imap" => types.imap = true,
                "maildir" => types.maildir = true,
                "thread" => types.thread = true,
                "all" => {
                    types = DebugTypes {
                        imap: true,
                        maildir: true,
                        thread: true,
                    };
                }
                _ => return Err(InvalidDebugType(name.to_owned())),
            }
        }
        Ok(types)
    }

    /// Whether any debugging is on (UIs then show debug lines).
    pub fn any(&self) -> bool {
        self.imap || self.maildir || self.thread
    }

    /// Whether OfflineIMAP would force single-threading (`-1`), given
    /// whether `-1` was asked for anyway: it does so unless `thread` is
    /// being debugged, which would be pointless with one thread.
    pub fn forces_single_thread(&self, single_thread: bool) -> bool {
        self.any() && (!self.thread || single_thread)
    }

    /// OfflineIMAP's "Now debugging for ..." lines, one per type.
    pub fn announcements(&self) -> Vec<String> {
        [
            (self.imap, "imap", "IMAP protocol debugging"),
            (self.maildir, "maildir", "Maildir repository debugging"),
            (self.thread, "thread", "Threading debugging"),
        ]
        .into_iter()
        .filter(|(on, _, _)| *on)
        .map(|(_, name, what)| format!("Now debugging for {name}: {what}"))
        .collect()
    }
}

static IMAP: AtomicBool = AtomicBool::new(false);
/// The event channel, weakly: debug output must not keep the UI waiting
/// for a sender after the accounts are done.
static EVENTS: Mutex<Option<WeakUnboundedSender<Event>>> = Mutex::new(None);

fn events() -> Option<WeakUnboundedSender<Event>> {
    match EVENTS.lock() {
        Ok(g) => g.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

fn send(events: &WeakUnboundedSender<Event>, worker: Option<WorkerId>, kind: &str, line: &str) {
    if let Some(tx) = events.upgrade() {
        let _ = tx.send(Event::Logged {
            worker,
            level: Level::Debug,
            text: format!("[{kind}]: {line}"),
        });
    }
}

/// Turns on the debug output of `types`, sent as events on `events`.
/// Call once, before any account starts.
pub fn install(types: DebugTypes, events: &UnboundedSender<Event>) {
    let weak = events.downgrade();
    match EVENTS.lock() {
        Ok(mut g) => *g = Some(weak.clone()),
        Err(poisoned) => *poisoned.into_inner() = Some(weak.clone()),
    }
    IMAP.store(types.imap, Ordering::Relaxed);
    crate::maildir::debug::set_sink(types.maildir.then(|| {
        Box::new(move |line: &str| send(&weak, None, "maildir", line))
            as crate::maildir::debug::DebugSink
    }));
}

/// The trace sink for a new IMAP connection of `worker`, when `-d imap`
/// is on.
pub fn imap_trace(worker: WorkerId) -> Option<crate::imap::TraceSink> {
    if !IMAP.load(Ordering::Relaxed) {
        return None;
    }
    let events = events()?;
    Some(Box::new(move |line: &str| {
        send(&events, Some(worker), "imap", line)
    }))
}

/// `-d thread`: passes every event on and adds a `[thread]:` line when a
/// worker (a tokio task with a light of its own) starts or stops, in
/// OfflineIMAP's words for its threads.
pub fn thread_tap(mut events: UnboundedReceiver<Event>) -> UnboundedReceiver<Event> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut accounts: HashMap<AccountId, String> = HashMap::new();
        let mut workers: HashMap<WorkerId, String> = HashMap::new();
        while let Some(ev) = events.recv().await {
            let note = thread_note(&ev, &mut accounts, &mut workers);
            if tx.send(ev).is_err() {
                break;
            }
            if let Some((worker, text)) = note {
                let _ = tx.send(Event::Logged {
                    worker,
                    level: Level::Debug,
                    text: format!("[thread]: {text}"),
                });
            }
        }
    });
    rx
}

/// The `[thread]` line for `ev`, if it starts or stops a worker.
fn thread_note(
    ev: &Event,
    accounts: &mut HashMap<AccountId, String>,
    workers: &mut HashMap<WorkerId, String>,
) -> Option<(Option<WorkerId>, String)> {
    match ev {
        Event::AccountStarted { account, name } => {
            accounts.insert(*account, name.clone());
            None
        }
        Event::WorkerStarted { worker, name } => {
            workers.insert(*worker, name.clone());
            let account = accounts.get(&worker.account).map_or("?", String::as_str);
            Some((
                Some(*worker),
                format!("Register new thread '{name}' (account '{account}')"),
            ))
        }
        Event::WorkerFinished { worker } => {
            let name = workers.remove(worker)?;
            Some((Some(*worker), format!("Unregister thread '{name}'")))
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_types_all_and_rejects_unknown_ones() {
        assert_eq!(
            DebugTypes::parse(&list(&["imap", " Maildir"])),
            Ok(DebugTypes {
                imap: true,
                maildir: true,
                thread: false
            })
        );
        let all = DebugTypes::parse(&list(&["ALL"])).unwrap();
        assert!(all.imap && all.maildir && all.thread);
        assert_eq!(DebugTypes::parse(&list(&[""])), Ok(DebugTypes::default()));
        let err = DebugTypes::parse(&list(&["imap", "imapp"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid debug type: imapp (choose from imap, maildir, thread or ALL)"
        );
    }

    #[test]
    fn single_threading_is_forced_as_offlineimap_does() {
        let imap = DebugTypes::parse(&list(&["imap"])).unwrap();
        let thread = DebugTypes::parse(&list(&["thread"])).unwrap();
        assert!(imap.forces_single_thread(false));
        assert!(!thread.forces_single_thread(false));
        assert!(thread.forces_single_thread(true));
        assert!(!DebugTypes::default().forces_single_thread(false));
    }

    #[test]
    fn announcements_name_each_type() {
        let t = DebugTypes::parse(&list(&["maildir", "imap"])).unwrap();
        assert_eq!(
            t.announcements(),
            [
                "Now debugging for imap: IMAP protocol debugging",
                "Now debugging for maildir: Maildir repository debugging"
            ]
        );
    }

    #[tokio::test]
    async fn thread_tap_adds_worker_lines() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut out = thread_tap(rx);
        let w = WorkerId {
            account: AccountId(0),
            slot: 1,
        };
        tx.send(Event::AccountStarted {
            account: AccountId(0),
            name: "Work".into(),
        })
        .unwrap();
        tx.send(Event::WorkerStarted {
            worker: w,
            name: "Folder INBOX [acc: Work]".into(),
        })
        .unwrap();
        tx.send(Event::WorkerFinished { worker: w }).unwrap();
        drop(tx);
        let mut texts = Vec::new();
        while let Some(ev) = out.recv().await {
            if let Event::Logged { text, level, .. } = ev {
                assert_eq!(level, Level::Debug);
                texts.push(text);
            }
        }
        assert_eq!(
            texts,
            [
                "[thread]: Register new thread 'Folder INBOX [acc: Work]' (account 'Work')",
                "[thread]: Unregister thread 'Folder INBOX [acc: Work]'"
            ]
        );
    }
}
