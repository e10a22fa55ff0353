//! What the Blinkenlights screen shows, as plain data: the account lines
//! with their lights, the countdowns and progress, and the log.
//!
//! [`State::apply`] folds one [`Event`] in and [`State::input`] one key's
//! [`Input`]; both are pure (the time is an argument) so that an event
//! script can be replayed in a test. Nothing here draws or sends.

use std::collections::VecDeque;
use std::time::Instant;

use crate::event::{AccountId, Event, Level, WorkerId};
use crate::ui::line::{Basic, LineUi};
use crate::ui::theme::Light;

use super::keys::{Input, PromptKey};

/// How many log lines are kept for scroll-back.
pub const LOG_CAPACITY: usize = 5000;

/// Where an account is in its autorefresh cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for its first sync (for a `maxsyncaccounts` slot).
    Queued,
    /// Syncing now.
    Active,
    /// Sleeping until the next autorefresh.
    Sleeping { until: Instant },
    /// Finished, and not refreshing again.
    Done,
}

/// Messages and bytes moved during the current (or last) sync of an
/// account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub messages_done: usize,
    /// Sum of the `total`s of every copy pass begun so far.
    pub messages_total: usize,
    pub bytes_done: u64,
    pub started: Option<Instant>,
    pub finished: Option<Instant>,
}

impl Progress {
    /// Bytes per second over the sync so far (or over the whole last sync).
    pub fn rate(&self, now: Instant) -> Option<f64> {
        let start = self.started?;
        let end = self.finished.unwrap_or(now);
        let secs = end.saturating_duration_since(start).as_secs_f64();
        (secs >= 0.5 && self.messages_done > 0).then(|| self.bytes_done as f64 / secs)
    }
}

/// One worker slot's copy pass, to tell a new pass from the next message
/// of the same one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Pass {
    n: usize,
    total: usize,
}

/// One account line.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub name: String,
    pub phase: Phase,
    /// One light per worker slot; slots are never removed, as in OfflineIMAP.
    pub lights: Vec<Light>,
    pub progress: Progress,
    passes: Vec<Pass>,
}

impl Account {
    fn new(name: String) -> Account {
        Account {
            name,
            phase: Phase::Queued,
            lights: Vec::new(),
            progress: Progress::default(),
            passes: Vec::new(),
        }
    }

    fn set_light(&mut self, slot: u16, light: Light) {
        let slot = usize::from(slot);
        if self.lights.len() <= slot {
            self.lights.resize(slot + 1, Light::Finished);
            self.passes.resize(slot + 1, Pass::default());
        }
        self.lights[slot] = light;
    }

    fn light(&self, slot: u16) -> Option<Light> {
        self.lights.get(usize::from(slot)).copied()
    }

    pub fn is_syncing(&self) -> bool {
        self.phase == Phase::Active
    }
}

/// One log line and the light it is drawn in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub text: String,
    pub light: Light,
    pub level: Level,
}

/// What the runner must do after a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Ask this account to sync now (`try_send(Command::SyncNow)`).
    SyncNow(AccountId),
    /// Shut down gracefully (cancel the shutdown token).
    Quit,
    /// A second `q`: stop every account now, mid-folder.
    Abort,
}

/// Characters typed into the password prompt. Never drawn; `Debug` hides
/// them so a dump of the [`State`] cannot leak a password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Hidden(String);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<hidden>")
    }
}

/// The password prompt that is up: whose password, and what was typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub account: AccountId,
    pub user: String,
    typed: Hidden,
}

/// How a password prompt ended.
#[derive(Clone, PartialEq, Eq)]
pub enum PromptDone {
    Submitted(String),
    Cancelled,
}

impl std::fmt::Debug for PromptDone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PromptDone::Submitted(_) => f.write_str("Submitted(<hidden>)"),
            PromptDone::Cancelled => f.write_str("Cancelled"),
        }
    }
}

/// Everything on the screen.
#[derive(Clone, Debug)]
pub struct State {
    pub accounts: Vec<Account>,
    pub control: Light,
    pub log: VecDeque<LogLine>,
    /// Lines scrolled back from the newest; 0 follows the log.
    pub scroll: usize,
    pub help: bool,
    pub quitting: bool,
    /// A second `q` asked to stop at once.
    pub aborting: bool,
    /// The password prompt, while one is up: keys type into it.
    pub prompt: Option<Prompt>,
    /// Errors and warnings, printed again once the terminal is restored.
    pub problems: Vec<String>,
    /// Something changed since the last draw.
    pub dirty: bool,
    formatter: Basic,
    /// `-d` and `--dry-run`, kept so that either builder keeps the other.
    debug: bool,
    dry_run: bool,
}

impl State {
    /// The account lines exist from the start, named as in `accounts =`.
    pub fn new(account_names: impl IntoIterator<Item = String>) -> State {
        State {
            accounts: account_names.into_iter().map(Account::new).collect(),
            control: Light::Main,
            log: VecDeque::new(),
            scroll: 0,
            help: false,
            quitting: false,
            aborting: false,
            prompt: None,
            problems: Vec::new(),
            dirty: true,
            formatter: Basic::new(false),
            debug: false,
            dry_run: false,
        }
    }

    /// With `-d`: debug lines go to the log pane too.
    pub fn with_debug(mut self, debug: bool) -> State {
        self.debug = debug;
        self.formatter = Basic::new(self.dry_run).with_debug(debug);
        self
    }

    /// In a dry run the log says `[DRYRUN] ` where OfflineIMAP does.
    pub fn dry_run(mut self, on: bool) -> State {
        self.dry_run = on;
        self.formatter = Basic::new(on).with_debug(self.debug);
        self
    }

    fn account_mut(&mut self, id: AccountId) -> &mut Account {
        let i = usize::from(id.0);
        while self.accounts.len() <= i {
            let n = self.accounts.len();
            self.accounts.push(Account::new(format!("account {n}")));
        }
        &mut self.accounts[i]
    }

    fn set(&mut self, worker: WorkerId, light: Light) {
        self.account_mut(worker.account)
            .set_light(worker.slot, light);
    }

    /// The light a log line is drawn in: the one of the worker that caused
    /// it, as it is after the event.
    fn light_of(&self, ev: &Event) -> Light {
        let worker = match ev {
            Event::Logged {
                level: Level::Warning | Level::Error,
                ..
            }
            | Event::ValidityProblem { .. } => return Light::Warning,
            Event::Logged { worker: None, .. } => return self.control,
            Event::AccountStarted { .. } => return Light::Account,
            Event::AccountFinished { .. } => return Light::Finished,
            Event::Sleeping { .. } => return Light::Sleeping,
            Event::Logged {
                worker: Some(w), ..
            }
            | Event::WorkerStarted { worker: w, .. }
            | Event::Connecting { worker: w, .. }
            | Event::SyncingFolders { worker: w, .. }
            | Event::FolderCreating { worker: w, .. }
            | Event::FolderStarted { worker: w, .. }
            | Event::FolderSkipped { worker: w, .. }
            | Event::MessageListLoading { worker: w, .. }
            | Event::MessageListLoaded { worker: w, .. }
            | Event::MessageCopying { worker: w, .. }
            | Event::MessageCopied { worker: w, .. }
            | Event::MessagesDeleting { worker: w, .. }
            | Event::FlagsAdding { worker: w, .. }
            | Event::FlagsRemoving { worker: w, .. }
            | Event::HookStarted { worker: w, .. }
            | Event::HookFinished { worker: w, .. }
            | Event::WorkerFinished { worker: w } => *w,
        };
        self.accounts
            .get(usize::from(worker.account.0))
            .and_then(|a| a.light(worker.slot))
            .unwrap_or(Light::Finished)
    }

    /// Folds one event in. `now` is only used to time the progress rate.
    pub fn apply(&mut self, ev: &Event, now: Instant) {
        self.dirty = true;
        match ev {
            Event::AccountStarted { account, name } => {
                let a = self.account_mut(*account);
                a.name.clone_from(name);
                a.phase = Phase::Active;
                a.progress = Progress {
                    started: Some(now),
                    ..Progress::default()
                };
                a.set_light(0, Light::Account);
            }
            Event::WorkerStarted { worker, .. } => {
                // A new folder worker starts on a folder; the account's own
                // worker keeps the colour of its start.
                let a = self.account_mut(worker.account);
                if worker.slot != 0 || a.light(0) != Some(Light::Account) {
                    a.set_light(worker.slot, Light::Folder);
                }
            }
            Event::Connecting { worker, .. } => self.set(*worker, Light::Connecting),
            Event::SyncingFolders { worker, .. } | Event::FolderCreating { worker, .. } => {
                self.set(*worker, Light::Folders);
            }
            Event::FolderStarted { worker, .. } | Event::FolderSkipped { worker, .. } => {
                self.set(*worker, Light::Folder);
            }
            Event::ValidityProblem { worker, .. } => self.set(*worker, Light::Warning),
            Event::MessageListLoading { worker, .. } | Event::MessageListLoaded { worker, .. } => {
                self.set(*worker, Light::MessageList);
            }
            Event::MessageCopying {
                worker, n, total, ..
            } => {
                self.set(*worker, Light::Copying);
                let a = self.account_mut(worker.account);
                let pass = &mut a.passes[usize::from(worker.slot)];
                // A numbering that starts again (or a different total) is
                // the next folder or direction: its messages add up.
                if *n <= pass.n || *total != pass.total {
                    a.progress.messages_total += *total;
                }
                *pass = Pass {
                    n: *n,
                    total: *total,
                };
            }
            Event::MessageCopied { worker, bytes } => {
                let a = self.account_mut(worker.account);
                a.progress.messages_done += 1;
                a.progress.bytes_done += *bytes;
            }
            Event::MessagesDeleting { worker, .. } => self.set(*worker, Light::Deleting),
            Event::FlagsAdding { worker, .. } | Event::FlagsRemoving { worker, .. } => {
                self.set(*worker, Light::Flags);
            }
            Event::HookStarted { worker, .. } => self.set(*worker, Light::Hook),
            // The account's next step (connecting, finishing) recolours it.
            Event::HookFinished { .. } => {}
            Event::WorkerFinished { worker } => {
                self.set(*worker, Light::Finished);
                let a = self.account_mut(worker.account);
                a.passes[usize::from(worker.slot)] = Pass::default();
            }
            Event::Sleeping { account, until } => {
                let a = self.account_mut(*account);
                a.phase = Phase::Sleeping { until: *until };
                a.set_light(0, Light::Sleeping);
            }
            Event::AccountFinished { account, .. } => {
                let a = self.account_mut(*account);
                a.phase = Phase::Done;
                a.progress.finished = Some(now);
                for l in &mut a.lights {
                    *l = Light::Finished;
                }
            }
            Event::Logged { worker, level, .. } => {
                if *level >= Level::Warning {
                    match worker {
                        Some(w) => self.set(*w, Light::Warning),
                        None => self.control = Light::Warning,
                    }
                }
            }
        }
        let light = self.light_of(ev);
        if let Some(text) = self.formatter.line(ev) {
            let level = match ev {
                Event::Logged { level, .. } => *level,
                _ => Level::Info,
            };
            if level >= Level::Warning {
                self.problems.push(text.clone());
            }
            for line in text.lines() {
                self.push_log(LogLine {
                    text: line.to_string(),
                    light,
                    level,
                });
            }
        }
    }

    fn push_log(&mut self, line: LogLine) {
        if self.log.len() >= LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(line);
        // Someone reading old lines keeps seeing the same lines.
        if self.scroll > 0 {
            self.scroll = (self.scroll + 1).min(self.log.len());
        }
    }

    fn note(&mut self, text: String, light: Light, level: Level) {
        self.dirty = true;
        self.push_log(LogLine { text, light, level });
    }

    /// Handles one key. `page` is the height of the log pane, for paging.
    /// Returns what the runner must do, if anything.
    pub fn input(&mut self, input: Input, page: usize) -> Option<Effect> {
        self.dirty = true;
        let max_scroll = self.log.len().saturating_sub(1);
        match input {
            Input::Digit(d) => return self.sync_request(d),
            Input::Quit if self.aborting => return None,
            Input::Quit if self.quitting => {
                self.aborting = true;
                self.note(
                    "Requested immediate shutdown via a second 'q': stopping every account now"
                        .into(),
                    Light::Warning,
                    Level::Warning,
                );
                return Some(Effect::Abort);
            }
            Input::Quit => {
                self.quitting = true;
                self.control = Light::Warning;
                self.note(
                    "Requested shutdown via 'q': finishing the current folders".into(),
                    Light::Warning,
                    Level::Warning,
                );
                return Some(Effect::Quit);
            }
            Input::Help => self.help = !self.help,
            Input::Close => self.help = false,
            Input::PageUp => self.scroll = (self.scroll + page.max(1)).min(max_scroll),
            Input::PageDown => self.scroll = self.scroll.saturating_sub(page.max(1)),
            Input::LineUp => self.scroll = (self.scroll + 1).min(max_scroll),
            Input::LineDown => self.scroll = self.scroll.saturating_sub(1),
            Input::Top => self.scroll = max_scroll,
            Input::Bottom => self.scroll = 0,
        }
        None
    }

    /// Puts up the password prompt for `user` of `account`, with
    /// OfflineIMAP's two lines in the log, and follows the log so they are
    /// seen. Keys go to [`State::prompt_key`] until it ends.
    pub fn begin_prompt(&mut self, account: AccountId, user: &str) {
        self.help = false;
        self.scroll = 0;
        self.note(" *** Input Required".into(), Light::Warning, Level::Warning);
        self.note(
            format!(" *** Please enter password for user '{user}': "),
            Light::Warning,
            Level::Warning,
        );
        self.prompt = Some(Prompt {
            account,
            user: user.to_owned(),
            typed: Hidden::default(),
        });
    }

    /// One key typed into the prompt. Nothing is echoed, not even a `*`
    /// (OfflineIMAP echoes nothing either). Returns how the prompt ended,
    /// once it has; without a prompt up, `None`.
    pub fn prompt_key(&mut self, key: PromptKey) -> Option<PromptDone> {
        let prompt = self.prompt.as_mut()?;
        match key {
            PromptKey::Char(c) => {
                prompt.typed.0.push(c);
                None
            }
            PromptKey::Backspace => {
                prompt.typed.0.pop();
                None
            }
            PromptKey::Submit => {
                let typed = std::mem::take(&mut prompt.typed.0);
                self.prompt = None;
                self.dirty = true;
                Some(PromptDone::Submitted(typed))
            }
            PromptKey::Cancel | PromptKey::Interrupt => {
                let user = std::mem::take(&mut prompt.user);
                self.prompt = None;
                self.note(
                    format!("No password entered for user '{user}'"),
                    Light::Warning,
                    Level::Warning,
                );
                Some(PromptDone::Cancelled)
            }
        }
    }

    /// Digit `d`: 0 is `*Control`, 1 the first account, and so on.
    fn sync_request(&mut self, d: u8) -> Option<Effect> {
        if d == 0 {
            return None;
        }
        let i = usize::from(d - 1);
        let a = self.accounts.get(i)?;
        let name = a.name.clone();
        match a.phase {
            Phase::Active => {
                self.note(
                    format!("Account {name} is already syncing"),
                    Light::Main,
                    Level::Info,
                );
                None
            }
            Phase::Queued => {
                self.note(
                    format!("Account {name} has not started its first sync yet"),
                    Light::Main,
                    Level::Info,
                );
                None
            }
            Phase::Done => {
                self.note(
                    format!("Account {name} has finished and does not refresh"),
                    Light::Main,
                    Level::Info,
                );
                None
            }
            Phase::Sleeping { .. } if self.quitting => None,
            Phase::Sleeping { .. } => {
                self.note(
                    format!("Requested synchronization for acc: {name}"),
                    Light::Main,
                    Level::Info,
                );
                Some(Effect::SyncNow(AccountId(u16::from(d - 1))))
            }
        }
    }

    /// Logs that a sync request could not be queued.
    pub fn request_failed(&mut self, account: AccountId, why: &str) {
        let name = self
            .accounts
            .get(usize::from(account.0))
            .map_or_else(String::new, |a| a.name.clone());
        self.note(
            format!("Account {name}: {why}"),
            Light::Warning,
            Level::Warning,
        );
    }
}

/// The account line's middle field: `active`, the countdown `  4:50`, or
/// `queued` / ` done `.
pub fn phase_field(phase: Phase, now: Instant) -> String {
    match phase {
        Phase::Queued => "queued".into(),
        Phase::Active => "active".into(),
        Phase::Done => " done ".into(),
        Phase::Sleeping { until } => {
            let left = until.saturating_duration_since(now);
            // Round up: the field shows 0:00 only when the sleep is over.
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            format!("{:3}:{:02}", secs / 60, secs % 60)
        }
    }
}

/// The countdown changes once a second; the runner redraws when it does.
pub fn countdown_key(state: &State, now: Instant) -> Vec<u64> {
    state
        .accounts
        .iter()
        .filter_map(|a| match a.phase {
            Phase::Sleeping { until } => Some(until.saturating_duration_since(now).as_secs() + 1),
            _ => None,
        })
        .collect()
}

/// `1.2 MiB`: bytes in binary units, one decimal.
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `12/40 msgs  1.2 MiB  340.0 KiB/s`, or nothing before the first copy.
pub fn progress_text(p: &Progress, now: Instant) -> Option<String> {
    if p.messages_total == 0 && p.messages_done == 0 {
        return None;
    }
    let mut s = format!(
        "{}/{} msgs  {}",
        p.messages_done,
        p.messages_total,
        human_bytes(p.bytes_done as f64)
    );
    if let Some(rate) = p.rate(now) {
        s.push_str(&format!("  {}/s", human_bytes(rate)));
    }
    Some(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
