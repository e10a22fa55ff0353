//! `machineui`: OfflineIMAP's machine-readable line protocol (7.2.0), for
//! scripts and front ends that drive OfflineIMAP through a pipe.
//!
//! Every line is `SEVERITY:COMMAND:THREAD:PAYLOAD`. SEVERITY is `msg`,
//! `warn`, `error` or `debug`; COMMAND names the UI call (`acct`,
//! `copyingmessage`, ...) or is empty for a plain log message; THREAD and
//! PAYLOAD are encoded like Python's `urllib.parse.quote_plus`, so a line
//! never contains a newline or an unencoded colon. Payloads with several
//! fields join them with `\n` (lists inside a field with `\f`) before
//! encoding, exactly as OfflineIMAP's `ui/Machine.py` does, so existing
//! parsers keep working. The formatter is pure; the clock is injected.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use crate::event::{AccountId, Event, Level, WorkerId};
use crate::ui::line::{LineUi, log_record};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

/// The protocol version OfflineIMAP 7.2.0 introduced and still announces.
pub const PROTOCOL: &str = "7.2.0";

/// OfflineIMAP's name for the thread that is not a worker.
const MAIN_THREAD: &str = "MainThread";

/// The banner sent with the `initbanner` command.
pub fn banner() -> String {
    format!(
        "offlineimap {}\n  Licensed under the GNU GPL v2 or any later version",
        env!("CARGO_PKG_VERSION")
    )
}

/// Encodes `s` as Python's `urllib.parse.quote_plus(s, safe='')` does:
/// ASCII letters, digits and `_.-~` stay, a space becomes `+`, every other
/// byte of the UTF-8 form becomes `%XX` (upper-case hex).
pub fn quote_plus(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
    out
}

/// The `machineui` formatter. It learns thread and account names from the
/// events as they pass, the way OfflineIMAP's threads carry theirs.
pub struct MachineUi {
    dry_run: bool,
    debug: bool,
    clock: Box<dyn Fn() -> Instant + Send>,
    accounts: HashMap<AccountId, String>,
    workers: HashMap<WorkerId, String>,
    /// Threads announced with `registerthread` and not yet unregistered.
    registered: HashSet<String>,
    /// Repositories we saw a connection to: the IMAP side.
    remote_repos: HashSet<String>,
    /// Accounts in an autorefresh sleep, owed the final `sleeping 0 0`.
    sleeping: HashSet<AccountId>,
}

impl MachineUi {
    pub fn new(dry_run: bool) -> Self {
        Self::with_clock(dry_run, Instant::now)
    }

    /// As [`MachineUi::new`], reading the time (for the seconds left in a
    /// sleep) from `clock`, so tests are deterministic.
    pub fn with_clock(dry_run: bool, clock: impl Fn() -> Instant + Send + 'static) -> Self {
        MachineUi {
            dry_run,
            debug: false,
            clock: Box::new(clock),
            accounts: HashMap::new(),
            workers: HashMap::new(),
            registered: HashSet::new(),
            remote_repos: HashSet::new(),
            sleeping: HashSet::new(),
        }
    }

    /// With `-d`: debug messages too, as `debug::THREAD:TEXT` lines.
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    fn account_thread(&self, account: AccountId) -> String {
        match self.accounts.get(&account) {
            Some(name) => format!("Account sync {name}"),
            None => MAIN_THREAD.to_owned(),
        }
    }

    fn worker_thread(&self, worker: WorkerId) -> String {
        self.workers
            .get(&worker)
            .cloned()
            .unwrap_or_else(|| self.account_thread(worker.account))
    }

    /// OfflineIMAP names repositories in these payloads by their type
    /// (`getnicename`). Events carry a repository's name or its type; a
    /// repository we connected to is the IMAP one, any other the Maildir.
    fn nice(&self, repo: &str) -> String {
        match repo {
            "IMAP" | "Gmail" | "Maildir" | "GmailMaildir" => repo.to_owned(),
            _ if self.remote_repos.contains(repo) => "IMAP".to_owned(),
            _ => "Maildir".to_owned(),
        }
    }

    /// `registerthread` for `thread` unless it is already registered.
    fn register(&mut self, thread: &str, account: &str, out: &mut Vec<String>) {
        if self.registered.insert(thread.to_owned()) {
            out.push(line("msg", "registerthread", thread, account));
        }
    }

    /// OfflineIMAP's main thread notices an exited thread and
    /// unregisters it.
    fn exited(&mut self, thread: &str, out: &mut Vec<String>) {
        if self.registered.remove(thread) {
            out.push(line("msg", "threadExited", MAIN_THREAD, thread));
            out.push(line("msg", "unregisterthread", MAIN_THREAD, thread));
        }
    }

    fn lines(&mut self, ev: &Event) -> Vec<String> {
        let mut out = Vec::new();
        match ev {
            Event::AccountStarted { account, name } => {
                self.accounts.insert(*account, name.clone());
                let thread = self.account_thread(*account);
                if self.sleeping.remove(account) {
                    out.push(line("msg", "sleeping", &thread, "0\n0"));
                }
                self.register(&thread, name, &mut out);
                out.push(line("msg", "acct", &thread, name));
            }
            Event::WorkerStarted { worker, name } => {
                self.workers.insert(*worker, name.clone());
                let account = self
                    .accounts
                    .get(&worker.account)
                    .cloned()
                    .unwrap_or_default();
                self.register(name, &account, &mut out);
            }
            Event::WorkerFinished { worker } => {
                // The account's own thread ends after its `acctdone`, as
                // in OfflineIMAP, not when its worker light goes out.
                if let Some(name) = self.workers.remove(worker)
                    && name != self.account_thread(worker.account)
                {
                    self.exited(&name, &mut out);
                }
            }
            Event::Connecting {
                worker,
                repo,
                host,
                port,
            } => {
                self.remote_repos.insert(repo.clone());
                // Python prints a missing host or port as `None`.
                let host = if host.is_empty() { "None" } else { host };
                let port = if *port == 0 {
                    "None".to_owned()
                } else {
                    port.to_string()
                };
                let payload = format!("{host}\n{port}\n{repo}");
                out.push(line(
                    "msg",
                    "connecting",
                    &self.worker_thread(*worker),
                    &payload,
                ));
            }
            Event::SyncingFolders {
                worker,
                from_type,
                to_type,
            } => out.push(line(
                "msg",
                "syncfolders",
                &self.worker_thread(*worker),
                &format!("{from_type}\n{to_type}"),
            )),
            Event::FolderStarted {
                worker,
                folder,
                from_type,
                to_type,
            } => out.push(line(
                "msg",
                "syncingfolder",
                &self.worker_thread(*worker),
                &format!("{from_type}\n{folder}\n{to_type}\n{folder}\n"),
            )),
            Event::MessageListLoading {
                worker,
                repo,
                folder,
            } => out.push(line(
                "msg",
                "loadmessagelist",
                &self.worker_thread(*worker),
                &format!("{}\n{folder}", self.nice(repo)),
            )),
            Event::MessageListLoaded {
                worker,
                repo,
                folder,
                count,
            } => out.push(line(
                "msg",
                "messagelistloaded",
                &self.worker_thread(*worker),
                &format!("{}\n{folder}\n{count}", self.nice(repo)),
            )),
            Event::MessageCopying {
                worker,
                uid,
                from_repo,
                to_repo,
                folder,
                ..
            } => out.push(line(
                "msg",
                "copyingmessage",
                &self.worker_thread(*worker),
                &format!(
                    "{uid}\n{}\n{folder}\n{}[{folder}]",
                    self.nice(from_repo),
                    self.nice(to_repo)
                ),
            )),
            Event::MessagesDeleting {
                worker,
                uids,
                repo,
                folder,
            } => out.push(line(
                "msg",
                "deletingmessages",
                &self.worker_thread(*worker),
                &format!("{}\n{}\t{folder}", uid_list(uids), self.nice(repo)),
            )),
            Event::FlagsAdding {
                worker,
                uids,
                flags,
                folder,
                ..
            } => out.push(line(
                "msg",
                "addingflags",
                &self.worker_thread(*worker),
                &format!("{}\n{}\n{folder}", uid_list(uids), flag_list(flags)),
            )),
            Event::FlagsRemoving {
                worker,
                uids,
                flags,
                folder,
                ..
            } => out.push(line(
                "msg",
                "deletingflags",
                &self.worker_thread(*worker),
                &format!("{}\n{}\n{folder}", uid_list(uids), flag_list(flags)),
            )),
            Event::Sleeping { account, until } => {
                self.sleeping.insert(*account);
                let left = until.saturating_duration_since((self.clock)());
                let secs = (left.as_millis() + 500) / 1000;
                // OfflineIMAP reports each 10-second step of the sleep; the
                // first step is the one an event marks.
                if secs > 0 {
                    out.push(line(
                        "msg",
                        "sleeping",
                        &self.account_thread(*account),
                        &format!("10\n{secs}"),
                    ));
                }
            }
            Event::AccountFinished { account, name, .. } => {
                let thread = self.account_thread(*account);
                out.push(line("msg", "acctdone", &thread, name));
                self.exited(&thread, &mut out);
            }
            Event::Logged {
                worker,
                level,
                text,
            } => {
                let thread = match worker {
                    Some(w) => self.worker_thread(*w),
                    None => MAIN_THREAD.to_owned(),
                };
                match level {
                    Level::Debug if self.debug => out.push(line("debug", "", &thread, text)),
                    Level::Debug => {}
                    Level::Info => out.push(line("msg", "_display", &thread, text)),
                    Level::Warning => out.push(line("warn", "", &thread, text)),
                    Level::Error => out.push(line("error", "", &thread, &format!("ERROR: {text}"))),
                }
            }
            // Messages OfflineIMAP's MachineUI inherits from UIBase: plain
            // log lines with an empty command.
            Event::FolderCreating { worker, .. } | Event::FolderSkipped { worker, .. } => {
                if let Some((_, text)) = log_record(ev, self.dry_run) {
                    out.push(line("msg", "", &self.worker_thread(*worker), &text));
                }
            }
            Event::ValidityProblem {
                worker,
                folder,
                repo,
                saved,
                current,
            } => {
                let thread = self.worker_thread(*worker);
                out.push(line(
                    "warn",
                    "validityproblem",
                    &thread,
                    &format!("{folder}\n{repo}\n{saved}\n{current}"),
                ));
            }
            Event::HookStarted {
                worker, command, ..
            } => out.push(line(
                "msg",
                "callhook",
                &self.worker_thread(*worker),
                &format!(
                    "{}Calling hook: {command}",
                    if self.dry_run { "[DRYRUN] " } else { "" }
                ),
            )),
            Event::HookFinished { worker, code, .. } => out.push(line(
                "msg",
                "callhook",
                &self.worker_thread(*worker),
                &format!("Hook return code: {code}"),
            )),
            Event::MessageCopied { .. } => {}
        }
        out
    }
}

impl LineUi for MachineUi {
    fn line(&mut self, ev: &Event) -> Option<String> {
        let lines = self.lines(ev);
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    fn getpass(&mut self, account: AccountId, user: &str) -> Option<String> {
        Some(line("msg", "getpass", &self.account_thread(account), user))
    }

    fn header(&mut self) -> Option<String> {
        Some(format!(
            "{}\n{}",
            line("msg", "protocol", MAIN_THREAD, PROTOCOL),
            line("msg", "initbanner", MAIN_THREAD, &banner())
        ))
    }
}

fn line(severity: &str, command: &str, thread: &str, payload: &str) -> String {
    format!(
        "{severity}:{command}:{}:{}",
        quote_plus(thread),
        quote_plus(payload)
    )
}

/// UID lists are joined with form feeds.
fn uid_list(uids: &[u32]) -> String {
    let parts: Vec<String> = uids.iter().map(u32::to_string).collect();
    parts.join("\x0c")
}

/// Flag letters are joined with form feeds too.
fn flag_list(flags: &str) -> String {
    let parts: Vec<String> = flags.chars().map(String::from).collect();
    parts.join("\x0c")
}
