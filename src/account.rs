//! Orchestration of one account: the autorefresh loop, the folder-structure
//! sync, and the fan-out of folder syncs over `maxconnections` IMAP
//! connections. The only module that knows every backend.
//!
//! It reports what it does as [`Event`]s and obeys [`Command`]s; it never
//! draws and never waits on a UI.

pub mod admin;
mod copyrules;
pub mod debuglog;
mod folder_sync;
pub mod folders;
mod heap;
mod hooks;
mod idle;
pub mod info;
mod window;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

use crate::config;
use crate::event::{AccountId, Command, Event, Level, PasswordAnswer, PasswordRequest, WorkerId};

pub use folder_sync::FolderOutcome;

/// How an account's runs ended, for the process exit code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// At least one error was reported.
    pub errors: bool,
    /// At least one folder was skipped because its UIDVALIDITY changed.
    pub validity_problems: bool,
}

impl Outcome {
    pub fn merge(&mut self, other: Outcome) {
        self.errors |= other.errors;
        self.validity_problems |= other.validity_problems;
    }
}

/// Everything an account task needs.
pub struct AccountTask {
    pub id: AccountId,
    pub account: config::Account,
    pub general: config::General,
    pub events: mpsc::UnboundedSender<Event>,
    pub commands: mpsc::Receiver<Command>,
    /// Graceful shutdown: finish the current folder, skip the rest.
    pub cancel: CancellationToken,
    /// Where to ask for a password the configuration does not give; `None`
    /// when nothing can ask (the account then fails with a clear line).
    pub passwords: Option<mpsc::UnboundedSender<PasswordRequest>>,
}

/// Whether the account asked for its password: asked passwords are kept
/// for the account's other connections and later runs, and forgotten when
/// the server refuses them (so the next run asks again).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Asked {
    #[default]
    No,
    Yes,
}

/// Sends events, ignoring a UI that has gone away.
#[derive(Clone)]
pub(crate) struct Reporter {
    pub(crate) account: AccountId,
    events: Arc<Held>,
}

/// How long, and how many, per-message progress events may be held back.
const HOLD_FOR: Duration = Duration::from_millis(20);
const HOLD_MAX: usize = 64;

/// The sending end of the event channel, holding back per-message progress
/// events while they stream. The UI runs on a thread of its own, and every
/// send to a receiver that waits wakes that thread: an initial sync sends
/// two events a message, and those wake-ups (20,000 context switches for
/// the medium bench corpus) were 7 % of its CPU time (perf: eventfd writes
/// under `Reporter::send`). Held events go out, in order, before any other
/// event, once `HOLD_MAX` wait, once `HOLD_FOR` has passed since the last
/// send, and when the last reporter is dropped; so a slow download shows at
/// once, and nothing is left behind at the end of a sync.
struct Held {
    tx: mpsc::UnboundedSender<Event>,
    /// `HOLD_FOR`, but for tests.
    hold_for: Duration,
    held: std::sync::Mutex<(Vec<Event>, Instant)>,
}

impl Held {
    fn send(&self, ev: Event) {
        let progress = matches!(
            ev,
            Event::MessageCopying { .. } | Event::MessageCopied { .. }
        );
        let Ok(mut guard) = self.held.lock() else {
            let _ = self.tx.send(ev);
            return;
        };
        let (held, sent) = &mut *guard;
        let now = Instant::now();
        if progress && held.len() < HOLD_MAX && now.saturating_duration_since(*sent) < self.hold_for
        {
            held.push(ev);
            return;
        }
        for e in held.drain(..) {
            let _ = self.tx.send(e);
        }
        // A closed channel means the UI has shut down; the sync goes on.
        let _ = self.tx.send(ev);
        *sent = now;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(held) = self.held.get_mut() {
            for e in held.0.drain(..) {
                let _ = self.tx.send(e);
            }
        }
    }
}

impl Reporter {
    pub(crate) fn new(account: AccountId, events: mpsc::UnboundedSender<Event>) -> Reporter {
        Self::holding(account, events, HOLD_FOR)
    }

    fn holding(
        account: AccountId,
        events: mpsc::UnboundedSender<Event>,
        hold_for: Duration,
    ) -> Reporter {
        Reporter {
            account,
            events: Arc::new(Held {
                tx: events,
                hold_for,
                held: std::sync::Mutex::new((Vec::new(), Instant::now())),
            }),
        }
    }

    pub(crate) fn send(&self, ev: Event) {
        self.events.send(ev);
    }

    pub(crate) fn log(&self, worker: Option<WorkerId>, level: Level, text: impl Into<String>) {
        self.send(Event::Logged {
            worker,
            level,
            text: text.into(),
        });
    }

    pub(crate) fn worker(&self, slot: u16) -> WorkerId {
        WorkerId {
            account: self.account,
            slot,
        }
    }
}

impl AccountTask {
    /// Sync, then sleep and sync again while `autorefresh` is set, until
    /// cancelled or told to stop.
    pub async fn run(mut self) -> Outcome {
        let rep = Reporter::new(self.id, self.events.clone());
        let mut total = Outcome::default();
        let mut asked = Asked::No;
        // `holdconnectionopen`: logged-in connections kept for the next
        // sync (and, with `idlefolders`, for the watchers).
        let mut held = Vec::new();
        loop {
            let outcome = self.sync_once(&rep, &mut asked, &mut held, None).await;
            total.merge(outcome);
            let Some(period) = self.account.autorefresh else {
                break;
            };
            if self.cancel.is_cancelled() {
                break;
            }
            let until = Instant::now() + period;
            rep.send(Event::Sleeping {
                account: self.id,
                until,
            });
            let (stop, outcome) = self.sleep(&rep, &mut asked, &mut held, until).await;
            total.merge(outcome);
            if stop {
                break;
            }
        }
        idle::logout_all(held, self.general.socktimeout).await;
        total
    }

    /// The wait between two autorefresh syncs, until `until`, a stop or a
    /// `SyncNow`: held connections get their NOOPs and `idlefolders` are
    /// watched, each change synced at once. True when the account is to
    /// stop; the outcome of the syncs IDLE started.
    async fn sleep(
        &mut self,
        rep: &Reporter,
        asked: &mut Asked,
        held: &mut Vec<crate::imap::ImapSession>,
        until: Instant,
    ) -> (bool, Outcome) {
        let between = self.account.between.clone();
        let socktimeout = self.general.socktimeout;
        let mut outcome = Outcome::default();
        // Names as the server spells them; with utf8foldernames they are
        // written in UTF-8, like `folderincludes`.
        let folders: Vec<String> = if self.account.folders.utf8foldernames {
            let encode = |f: &String| crate::imap::utf7::encode(f);
            between.idlefolders.iter().map(encode).collect()
        } else {
            between.idlefolders.clone()
        };
        let mut watchers = idle::Watchers::start(
            &folders,
            held,
            &self.account.remote,
            socktimeout,
            between.keepalive,
            rep,
            &self.cancel,
        );
        let mut keepalive = between.keepalive.map(|every| {
            let mut t = tokio::time::interval_at((Instant::now() + every).into(), every);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        let stop = loop {
            let tick = async {
                match keepalive.as_mut() {
                    Some(t) => t.tick().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep_until(until.into()) => break false,
                _ = self.cancel.cancelled() => break true,
                cmd = self.commands.recv() => match cmd {
                    Some(Command::SyncNow) => break false,
                    Some(Command::StopAfterSync) | None => break true,
                },
                _ = tick => idle::keepalive(held, socktimeout, rep).await,
                change = watchers.next() => {
                    held.push(change.session);
                    let o = self
                        .sync_once(rep, asked, held, Some(change.folder.as_str()))
                        .await;
                    outcome.merge(o);
                    // The watcher idles on a connection of the pool again.
                    let _ = change.back.send(held.pop());
                    if self.cancel.is_cancelled() {
                        break true;
                    }
                    // Back to waiting for the same scheduled sync: UIs show
                    // their countdown again.
                    rep.send(Event::Sleeping {
                        account: self.id,
                        until,
                    });
                }
            }
        };
        // On a stop the caller logs out what is left.
        held.extend(watchers.stop().await);
        (stop, outcome)
    }

    /// One sync of the account; of folder `only` alone (named as the
    /// server spells it) when an IDLE watcher saw it change.
    async fn sync_once(
        &mut self,
        rep: &Reporter,
        asked: &mut Asked,
        held: &mut Vec<crate::imap::ImapSession>,
        only: Option<&str>,
    ) -> Outcome {
        let started = Instant::now();
        let name = self.account.name.clone();
        rep.send(Event::AccountStarted {
            account: self.id,
            name: name.clone(),
        });
        let main_worker = rep.worker(0);
        rep.send(Event::WorkerStarted {
            worker: main_worker,
            name: format!("Account sync {name}"),
        });
        let outcome = match self.sync_account(rep, asked, held, only).await {
            Ok(o) => o,
            Err(e) => {
                rep.log(Some(main_worker), Level::Error, e);
                Outcome {
                    errors: true,
                    validity_problems: false,
                }
            }
        };
        rep.send(Event::WorkerFinished {
            worker: main_worker,
        });
        rep.send(Event::AccountFinished {
            account: self.id,
            name,
            elapsed_secs: started.elapsed().as_secs(),
        });
        outcome
    }

    async fn sync_account(
        &mut self,
        rep: &Reporter,
        asked: &mut Asked,
        held: &mut Vec<crate::imap::ImapSession>,
        only: Option<&str>,
    ) -> Result<Outcome, String> {
        let metadata = self.general.metadata.clone();
        let dry_run = self.general.dry_run;
        if !dry_run {
            std::fs::create_dir_all(&metadata).map_err(|e| {
                format!(
                    "cannot create metadata directory {}: {e}",
                    metadata.display()
                )
            })?;
        }
        // A dry run still keeps a real run of this account out while it
        // reads (the lock file goes again afterwards), but creates no
        // metadata directory for it.
        let _lock = if dry_run && !metadata.is_dir() {
            None
        } else {
            Some(AccountLock::acquire(&metadata, &self.account.name)?)
        };

        // As in OfflineIMAP: both hooks run while the account is locked;
        // the post hook only after a sync that got through (folder errors
        // included) and neither after an abort-now.
        let worker = rep.worker(0);
        let hooks = self.account.hooks.clone();
        let mode = if only.is_some() {
            hooks::IDLE_MODE
        } else {
            hooks::SYNC_MODE
        };
        let pre_ran = hooks::call(
            rep,
            worker,
            hooks::Hook::Pre,
            hooks.presynchook.as_deref(),
            &self.cancel,
            dry_run,
            mode,
        )
        .await;
        let mut outcome = self.sync_locked(rep, asked, held, only, metadata).await?;
        let post_ran = hooks::call(
            rep,
            worker,
            hooks::Hook::Post,
            hooks.postsynchook.as_deref(),
            &self.cancel,
            dry_run,
            mode,
        )
        .await;
        outcome.errors |= !(pre_ran && post_ran);
        Ok(outcome)
    }

    /// The sync itself, with the account locked.
    async fn sync_locked(
        &mut self,
        rep: &Reporter,
        asked: &mut Asked,
        held: &mut Vec<crate::imap::ImapSession>,
        only: Option<&str>,
        metadata: PathBuf,
    ) -> Result<Outcome, String> {
        // With OAuth2 the token logs in; OfflineIMAP too asks for a
        // password only when a mechanism needs one.
        if self.account.remote.password.is_none()
            && self.account.remote.oauth2.is_none()
            && let Some(user) = self.account.remote.user.clone()
        {
            match self.ask_password(&user).await? {
                Some(secret) => {
                    self.account.remote.password = Some(secret);
                    *asked = Asked::Yes;
                }
                // Shut down while asking: nothing to sync, nothing failed.
                None => return Ok(Outcome::default()),
            }
        }

        let main_worker = rep.worker(0);
        // A connection held since the last sync is used first; one the
        // server closed meanwhile is dropped without a word.
        let reused = idle::take_live(held, self.general.socktimeout).await;
        let remote_cfg = &self.account.remote;
        let mut session = match reused {
            Some(s) => s,
            None => {
                rep.send(Event::Connecting {
                    worker: main_worker,
                    repo: remote_cfg.common.name.clone(),
                    host: remote_cfg.host.clone(),
                    port: remote_cfg.port,
                });
                let tr = debuglog::imap_trace(main_worker); // -d imap
                match crate::imap::ImapSession::connect(remote_cfg, self.general.socktimeout, tr)
                    .await
                {
                    Ok(s) => s,
                    Err(e) => {
                        if *asked == Asked::Yes
                            && matches!(e.kind, crate::imap::ErrorKind::Login { .. })
                        {
                            // A typo: ask again on the next run instead of
                            // failing with the same password forever.
                            self.account.remote.password = None;
                            *asked = Asked::No;
                        }
                        return Err(e.to_string());
                    }
                }
            }
        };

        if remote_cfg.compression && !session.compressed() {
            // Once: from now on this account's connections do not ask.
            self.account.remote.compression = false;
            rep.log(
                Some(main_worker),
                Level::Warning,
                format!(
                    "{}: usecompression: the server does not offer COMPRESS=DEFLATE; going on uncompressed",
                    self.account.remote.common.name
                ),
            );
        }
        for w in session.take_login_warnings() {
            rep.log(Some(main_worker), Level::Warning, w);
        }
        let remote_cfg = &self.account.remote;

        if self.general.update_keyring {
            // Once per run: the password just logged in.
            self.general.update_keyring = false;
            let (level, text) = if self.general.dry_run {
                (
                    Level::Info,
                    "[DRYRUN] Would store the password in the keyring".to_owned(),
                )
            } else {
                store_in_keyring(&self.account.remote)
            };
            rep.log(Some(main_worker), level, text);
        }

        let local_repo =
            crate::maildir::MaildirRepository::new(&self.account.local, self.general.fsync);
        rep.send(Event::SyncingFolders {
            worker: main_worker,
            from_type: "IMAP".into(),
            to_type: "Maildir".into(),
        });
        let selection = &self.account.folders;
        let dry_run = self.general.dry_run;
        // The Maildir's folders are listed while the server answers LIST.
        let listing = {
            let local_repo = local_repo.clone();
            tokio::task::spawn_blocking(move || {
                // A dry run does not create `localfolders`: missing, it is
                // empty.
                if dry_run && !local_repo.root().is_dir() {
                    return Ok(Vec::new());
                }
                if !dry_run {
                    local_repo.ensure_root()?;
                }
                local_repo.list_folders()
            })
        };
        let (remote_list, local_list) = tokio::join!(
            session.list_folders_with(selection.subscribedonly, selection.reference.as_deref()),
            listing
        );
        let remote_list = remote_list.map_err(|e| e.to_string());
        let local_list =
            local_list.map_err(|e| format!("listing the local folders failed: {e}"))?;
        let remote_list = remote_list?;
        let local_list = local_list.map_err(|e| e.to_string())?;
        let delimiter = remote_list.iter().find_map(|f| f.delimiter).unwrap_or('/');
        let mut remote_names: Vec<folders::RemoteName> = remote_list
            .iter()
            .filter(|f| !f.noselect)
            .map(|f| folders::RemoteName {
                name: f.raw_name.clone(),
                delimiter: f.delimiter,
            })
            .collect();
        let mut errors = false;
        // `folderincludes`: extra names, each checked with a read-only
        // SELECT; not prefixed by the reference (as in OfflineIMAP). With
        // utf8foldernames they are written in UTF-8, like every name the
        // rules see.
        for include in &selection.remote.folderincludes {
            let spelled = if selection.utf8foldernames {
                crate::imap::utf7::encode(include)
            } else {
                include.clone()
            };
            if remote_names.iter().any(|r| r.name == spelled) {
                continue;
            }
            match session.check_folder(&spelled).await {
                Ok(()) => remote_names.push(folders::RemoteName {
                    name: spelled,
                    delimiter: Some(delimiter),
                }),
                Err(e) => {
                    errors = true;
                    rep.log(
                        Some(main_worker),
                        Level::Error,
                        format!("Invalid folderinclude '{include}' (not synced): {e}"),
                    );
                }
            }
        }
        let local_cfg = &self.account.local;
        let plan = {
            let (local_sep, remote_sep) = (local_cfg.sep, delimiter);
            let create_local = local_cfg.common.createfolders && !local_cfg.common.readonly;
            let create_remote = remote_cfg.common.createfolders && !remote_cfg.common.readonly;
            move |selection: &config::Folders, remote: &[folders::RemoteName], local: &[String]| {
                folders::plan_folders(
                    remote,
                    local,
                    &folders::FolderOptions {
                        local_sep,
                        remote_sep,
                        create_local,
                        create_remote,
                        utf8_names: selection.utf8foldernames,
                        local: &selection.local,
                        remote: &selection.remote,
                        reference: selection.reference.as_deref(),
                        python: selection.python.as_deref(),
                    },
                )
            }
        };
        let fplan = if selection.python.is_some() {
            // Rules may wait on python3 (a blocking pipe): plan on a
            // blocking thread, not on the runtime's worker.
            let selection = selection.clone();
            let local_list = local_list.clone();
            let remote_names = remote_names.clone();
            tokio::task::spawn_blocking(move || plan(&selection, &remote_names, &local_list))
                .await
                .map_err(|e| format!("planning folders failed: {e}"))?
        } else {
            plan(selection, &remote_names, &local_list)
        };
        for msg in &fplan.skipped {
            rep.log(Some(main_worker), Level::Warning, msg.clone());
        }
        for msg in &fplan.errors {
            errors = true;
            rep.log(Some(main_worker), Level::Error, msg.clone());
        }
        // A first sync into an empty Maildir needs a connection per folder
        // (up to maxconnections): the others log in while the local folders
        // are created, not after.
        let mut early = EarlyLogins::default();
        if only.is_none() && held.is_empty() && local_list.is_empty() {
            let wanted = remote_cfg.maxconnections.min(fplan.pairs.len());
            early.start(rep, remote_cfg, self.general.socktimeout, wanted);
        }
        for name in &fplan.create_local {
            rep.send(Event::FolderCreating {
                worker: main_worker,
                folder: name.clone(),
                repo: local_cfg.common.name.clone(),
            });
            // The UI says `[DRYRUN] Creating folder ...` in a dry run.
            if !dry_run {
                local_repo.create_folder(name).map_err(|e| e.to_string())?;
            }
        }
        for (remote_name, _) in &fplan.create_remote {
            rep.send(Event::FolderCreating {
                worker: main_worker,
                folder: if selection.utf8foldernames {
                    crate::imap::utf7::decode(remote_name).unwrap_or_else(|_| remote_name.clone())
                } else {
                    remote_name.clone()
                },
                repo: remote_cfg.common.name.clone(),
            });
            if !dry_run {
                session
                    .create_folder_raw(remote_name)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        if fplan.pairs.is_empty() {
            return Err(format!(
                "Account {}: no folder to sync (folderfilter issue?)",
                self.account.name
            ));
        }

        let mut pairs = fplan.pairs;
        if let Some(only) = only {
            pairs.retain(|p| p.remote == only);
            if pairs.is_empty() {
                rep.log(
                    Some(main_worker),
                    Level::Warning,
                    format!(
                        "idlefolders: folder {only} is not among the folders this account syncs"
                    ),
                );
                held.push(session);
                return Ok(Outcome::default());
            }
        }
        if dry_run {
            // A server folder a dry run did not create cannot be opened;
            // what a real run would upload into it is not listed.
            pairs.retain(|p| {
                let missing = fplan.create_remote.iter().any(|(r, _)| *r == p.remote);
                if missing {
                    rep.log(
                        Some(main_worker),
                        Level::Info,
                        format!(
                            "[DRYRUN] Folder {} is not on {} yet: a real run creates it and \
                             uploads every message of {}[{}]",
                            p.remote_name, remote_cfg.common.name, p.local, local_cfg.common.name
                        ),
                    );
                }
                !missing
            });
        }
        let shared = Arc::new(folder_sync::Shared {
            account_name: self.account.name.clone(),
            local_repo,
            remote_cfg: remote_cfg.clone(),
            local_cfg: local_cfg.clone(),
            metadata,
            fsync: self.general.fsync,
            socktimeout: self.general.socktimeout,
            cancel: self.cancel.clone(),
            rep: rep.clone(),
            failed: AtomicBool::new(false),
            stamp_jobs: std::sync::Mutex::new(Vec::new()),
            stamp_tasks: std::sync::Mutex::new(Vec::new()),
            window: self.account.window,
            copy: self.account.copy.clone(),
            python: self.account.folders.python.clone(),
            dry_run,
            ignore_readonly: self.general.ignore_readonly,
        });
        // What `[mbnames]` lists: every local folder this sync takes up,
        // unchanged ones included (OfflineIMAP adds each when it starts it).
        let synced_local: Vec<String> = pairs.iter().map(|p| p.local.clone()).collect();
        let mut pairs = folder_sync::skip_unchanged(&shared, &mut session, pairs).await?;
        if self.account.folders.remote.foldersort.is_none() {
            inbox_first(&mut pairs);
        }
        // No more workers than folders: a worker without a connection logs
        // in before it takes a folder, and would otherwise log in to find
        // none left.
        let connections = remote_cfg.maxconnections.min(pairs.len()).max(1);
        let queue = Arc::new(Mutex::new(pairs.into_iter()));
        let mut tasks = tokio::task::JoinSet::new();
        let mut first = Some(session);
        for slot in 0..connections {
            let queue = queue.clone();
            let shared = shared.clone();
            let slot = slot as u16 + 1;
            let session = match first.take() {
                Some(s) => Some(s),
                None => idle::take_live(held, self.general.socktimeout).await,
            };
            let pending = if session.is_none() {
                early.take(slot)
            } else {
                None
            };
            tasks.spawn(async move {
                // An early login that failed is tried again by the worker,
                // which reports it if it fails again.
                let session = match pending {
                    Some(login) => login.await.ok().and_then(Result::ok),
                    None => session,
                };
                folder_sync::worker(shared, queue, session, slot).await
            });
        }
        // Early logins beyond the folders to sync log out.
        drop(early);
        let mut outcome = Outcome {
            errors,
            ..Outcome::default()
        };
        let hold = self.account.between.hold && self.account.autorefresh.is_some();
        let mut done_with = Vec::new();
        // A connection done with its last folder logs out at once, while
        // the others still work: the server closes its folder then (Dovecot
        // writes the folder's index before it answers, 14 ms for the
        // bench's INBOX), which no longer waits for the end of the sync.
        let mut logouts = tokio::task::JoinSet::new();
        while let Some(res) = tasks.join_next().await {
            match res {
                Ok((o, session)) => {
                    outcome.merge(o);
                    match session {
                        Some(s) if !hold => {
                            logouts.spawn(s.logout());
                        }
                        Some(s) => done_with.push(s),
                        None => {}
                    }
                }
                Err(e) => {
                    rep.log(
                        Some(main_worker),
                        Level::Error,
                        format!("folder worker failed: {e}"),
                    );
                    outcome.errors = true;
                }
            }
        }
        if hold && !self.cancel.is_cancelled() {
            held.extend(done_with);
        } else {
            for s in done_with {
                logouts.spawn(s.logout());
            }
        }
        if shared.failed.load(Ordering::Relaxed) {
            outcome.errors = true;
        }
        let logged_out = async { while logouts.join_next().await.is_some() {} };
        tokio::join!(logged_out, folder_sync::stamp_local(shared));
        // A sync of one folder does not speak for the account's list.
        if only.is_none() && !self.mbnames(rep, synced_local).await {
            outcome.errors = true;
        }
        Ok(outcome)
    }

    /// `[mbnames]`: writes the account's list of synced local folders
    /// (and, with `incremental`, the mailbox list file). False when that
    /// failed; the reason is logged.
    async fn mbnames(&self, rep: &Reporter, folders: Vec<String>) -> bool {
        let Some(cfg) = self.general.mbnames.clone() else {
            return true;
        };
        let worker = Some(rep.worker(0));
        if self.general.dry_run {
            let path =
                crate::mbnames::intermediate_path(&self.general.metadata, &self.account.name);
            rep.log(
                worker,
                Level::Info,
                format!("[DRYRUN] mbnames would write {}", path.display()),
            );
            return true;
        }
        let metadata = self.general.metadata.clone();
        let account = self.account.name.clone();
        let localfolders = self
            .account
            .local
            .localfolders
            .to_string_lossy()
            .into_owned();
        // Expressions may wait on python3 (a blocking pipe).
        let result = tokio::task::spawn_blocking(move || {
            crate::mbnames::account_synced(&cfg, &metadata, &account, &localfolders, &folders)
        })
        .await;
        match result {
            Ok(Ok(skipped)) => {
                let ok = skipped.is_empty();
                for e in skipped {
                    rep.log(worker, Level::Error, e.to_string());
                }
                ok
            }
            Ok(Err(e)) => {
                rep.log(worker, Level::Error, e.to_string());
                false
            }
            Err(e) => {
                rep.log(worker, Level::Error, format!("mbnames failed: {e}"));
                false
            }
        }
    }
}

impl AccountTask {
    /// Asks the UI for the password of `user`. `Ok(None)` when a shutdown
    /// came first; an error line (without the password, which it never
    /// sees) when the UI cannot ask or the user declined.
    async fn ask_password(&mut self, user: &str) -> Result<Option<config::Secret>, String> {
        if self.cancel.is_cancelled() {
            return Ok(None);
        }
        let host = self.account.remote.host.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let request = PasswordRequest::new(
            self.id,
            self.account.name.clone(),
            user,
            host.clone(),
            move |answer| {
                // The account may have stopped waiting; nothing to do then.
                let _ = tx.send(answer);
            },
        );
        let sent = match &self.passwords {
            Some(ui) => ui.send(request).is_ok(),
            None => false,
        };
        let answer = if sent {
            tokio::select! {
                answer = rx => answer.ok(),
                _ = self.cancel.cancelled() => return Ok(None),
            }
        } else {
            None
        };
        match answer {
            Some(PasswordAnswer::Given(p)) => Ok(Some(config::Secret::new(p))),
            Some(PasswordAnswer::Cancelled) if self.cancel.is_cancelled() => Ok(None),
            Some(PasswordAnswer::Cancelled) => Err(format!(
                "no password configured for user {user} at {host}, and none was entered"
            )),
            Some(PasswordAnswer::CannotPrompt { reason }) => {
                Err(cannot_prompt(user, &host, &reason))
            }
            // The UI went away (or never could take requests).
            None => Err(cannot_prompt(user, &host, "the UI cannot prompt for one")),
        }
    }
}

/// Without a `foldersort`, INBOX is synced first, as mbsync does: it is
/// where new mail arrives, and usually the biggest folder, which, taken
/// up last, would keep its connection busy after the others are done.
/// The rest keep their order.
fn inbox_first(pairs: &mut [folders::FolderPair]) {
    if let Some(i) = pairs
        .iter()
        .position(|p| p.remote.eq_ignore_ascii_case("INBOX"))
    {
        pairs[..=i].rotate_right(1);
    }
}

/// `--update-keyring`: stores the password that logged in, and says how
/// that went (never showing the password).
fn store_in_keyring(remote: &config::ImapRepository) -> (Level, String) {
    use config::keyring::{Keyring, SECRET_TOOL, SecretTool};
    let (Some(user), Some(password)) = (&remote.user, &remote.password) else {
        return (
            Level::Warning,
            "--update-keyring: no user name, so nothing was stored in the keyring".to_owned(),
        );
    };
    let path = std::env::var("PATH").ok();
    let Some(keyring) = SecretTool::find(path.as_deref()) else {
        return (
            Level::Warning,
            format!(
                "--update-keyring: {SECRET_TOOL} is not installed; the password was not stored"
            ),
        );
    };
    match keyring.set(&remote.host, user, password) {
        Ok(()) => (
            Level::Info,
            format!(
                "Stored the password of {user} at {} in the keyring",
                remote.host
            ),
        ),
        Err(why) => (
            Level::Warning,
            format!("--update-keyring: the password was not stored: {why}"),
        ),
    }
}

/// The one line an account fails with when its UI cannot ask for a
/// password; `reason` says why (`the basic UI cannot prompt for one`).
fn cannot_prompt(user: &str, host: &str, reason: &str) -> String {
    format!(
        "no password configured for user {user} at {host}, and {reason} \
         (set remotepass or remotepassfile, or use -u blinkenlights or -u ttyui)"
    )
}

/// `<metadata>/<Account>.lock`, held while the account syncs so that two
/// instances never sync the same account at once.
struct AccountLock {
    path: PathBuf,
    _file: std::fs::File,
}

impl AccountLock {
    fn acquire(metadata: &std::path::Path, account: &str) -> Result<Self, String> {
        let path = metadata.join(format!("{account}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot open lock file {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(AccountLock { path, _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(format!(
                "Could not lock account {account}. Is another instance using this account? ({})",
                path.display()
            )),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(format!("cannot lock {}: {e}", path.display()))
            }
        }
    }
}

impl Drop for AccountLock {
    fn drop(&mut self) {
        // OfflineIMAP removes the lock file after the sync; do the same so
        // the metadata directory looks the way its users expect.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Connections logged in ahead of need (see `AccountTask::sync_locked`), by
/// worker slot: handed to the workers, and logged out when the sync ends
/// without needing them.
#[derive(Default)]
struct EarlyLogins(Vec<(u16, EarlyLogin)>);

type EarlyLogin = tokio::task::JoinHandle<Result<crate::imap::ImapSession, crate::imap::Error>>;

impl EarlyLogins {
    /// Log in the connections of slots 2 to `connections` (1 is the
    /// account's own).
    fn start(
        &mut self,
        rep: &Reporter,
        remote: &config::ImapRepository,
        socktimeout: Option<Duration>,
        connections: usize,
    ) {
        for slot in 2..=connections.min(usize::from(u16::MAX)) as u16 {
            let worker = rep.worker(slot);
            rep.send(Event::Connecting {
                worker,
                repo: remote.common.name.clone(),
                host: remote.host.clone(),
                port: remote.port,
            });
            let cfg = remote.clone();
            let trace = debuglog::imap_trace(worker); // -d imap
            let login = tokio::spawn(async move {
                crate::imap::ImapSession::connect(&cfg, socktimeout, trace).await
            });
            self.0.push((slot, login));
        }
    }

    fn take(&mut self, slot: u16) -> Option<EarlyLogin> {
        let i = self.0.iter().position(|(s, _)| *s == slot)?;
        Some(self.0.swap_remove(i).1)
    }
}

impl Drop for EarlyLogins {
    fn drop(&mut self) {
        for (_, login) in self.0.drain(..) {
            tokio::spawn(async move {
                if let Ok(Ok(s)) = login.await {
                    s.logout().await;
                }
            });
        }
    }
}

/// A sleep period from `autorefresh` minutes.
pub fn minutes(m: f64) -> Duration {
    Duration::from_secs_f64((m * 60.0).max(0.0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod reporter_tests {
    use super::*;

    fn copied(rep: &Reporter, bytes: u64) {
        rep.send(Event::MessageCopied {
            worker: rep.worker(1),
            bytes,
        });
    }

    fn sizes(rx: &mut mpsc::UnboundedReceiver<Event>) -> Vec<u64> {
        let mut out = Vec::new();
        while let Ok(ev) = rx.try_recv() {
            match ev {
                Event::MessageCopied { bytes, .. } => out.push(bytes),
                Event::Logged { .. } => out.push(0),
                _ => {}
            }
        }
        out
    }

    /// Progress events in a stream are held back, and go out in order
    /// before the next other event.
    #[test]
    fn progress_is_held_until_another_event() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let rep = Reporter::holding(AccountId(0), tx, Duration::from_secs(600));
        copied(&rep, 1);
        copied(&rep, 2);
        assert!(sizes(&mut rx).is_empty(), "held");
        rep.log(None, Level::Info, "done");
        assert_eq!(sizes(&mut rx), [1, 2, 0]);
    }

    /// No more than HOLD_MAX wait, and nothing is lost when the last
    /// reporter goes.
    #[test]
    fn progress_goes_out_in_bounded_batches_and_on_drop() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let rep = Reporter::holding(AccountId(0), tx, Duration::from_secs(600));
        let other = rep.clone();
        for i in 0..=HOLD_MAX as u64 {
            copied(&rep, i + 1);
        }
        assert_eq!(sizes(&mut rx).len(), HOLD_MAX + 1);
        copied(&rep, 7);
        drop(rep);
        assert!(sizes(&mut rx).is_empty(), "a clone still holds it");
        drop(other);
        assert_eq!(sizes(&mut rx), [7]);
    }

    /// A progress event after a quiet spell goes out at once: a slow
    /// download shows.
    #[test]
    fn progress_after_a_pause_is_sent_at_once() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let rep = Reporter::holding(AccountId(0), tx, Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(5));
        copied(&rep, 3);
        assert_eq!(sizes(&mut rx), [3]);
    }
}
