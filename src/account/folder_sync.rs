//! One folder pair, synced end to end: UIDVALIDITY check, the three
//! snapshots, pairing, the plan, and its application. A worker owns one
//! IMAP connection and takes folder pairs from the account's queue until
//! it is empty, so `maxconnections` folders sync at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

mod chunked;
mod delta;
mod labels;

use super::folders::FolderPair;
use super::{Outcome, Reporter};
use crate::config;
use crate::event::{Event, Level, WorkerId};
use crate::imap::ImapSession;
use crate::imap::keywords::{self, KeywordMap};
use crate::maildir::MaildirRepository;
use crate::status;
use crate::sync::apply::{self, Progress};
use crate::sync::dryrun;
use crate::sync::model::{MsgRef, Side};
use crate::sync::plan::{PlanOptions, plan};
use crate::sync::store::{StatusCache, Store};

pub(crate) struct Shared {
    pub(crate) account_name: String,
    pub(crate) local_repo: MaildirRepository,
    pub(crate) remote_cfg: config::ImapRepository,
    pub(crate) local_cfg: config::MaildirRepository,
    pub(crate) metadata: std::path::PathBuf,
    pub(crate) fsync: bool,
    pub(crate) socktimeout: Option<Duration>,
    pub(crate) cancel: CancellationToken,
    pub(crate) rep: Reporter,
    pub(crate) failed: AtomicBool,
    /// `maxage`, `maxsize`, `startdate`: see `super::window`.
    pub(crate) window: config::SyncWindow,
    /// `--dry-run`: plan and report, change nothing (see `sync::dryrun`).
    pub(crate) dry_run: bool,
    /// `[general] ignore-readonly`.
    pub(crate) ignore_readonly: bool,
    /// `newmail_hook` and friends: see `super::copyrules`.
    pub(crate) copy: config::CopyRules,
    /// The run's `python3`, for `copy` (started only when asked).
    pub(crate) python: Option<Arc<crate::pyeval::Python>>,
    /// Folders whose local side may be stamped once their sync is over
    /// (see [`stamp_local`]).
    pub(crate) stamp_jobs: std::sync::Mutex<Vec<StampJob>>,
    /// Stamps under way, started as each folder finished (see
    /// [`start_stamps`]); [`stamp_local`] waits for them.
    pub(crate) stamp_tasks: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// A folder left with server, status cache and Maildir in agreement, as
/// `state` records; its local stamp is taken at the end of the account's
/// sync.
pub(crate) struct StampJob {
    local: String,
    local_visible: String,
    status_db: std::path::PathBuf,
    modseq_path: std::path::PathBuf,
    state: status::modseq::ModSeqState,
    /// What the sync left in the Maildir and the watch that can prove
    /// nobody else changed it; without it the stamp lists the folder.
    proof: Option<crate::maildir::Proof>,
}

impl Shared {
    /// A digest of the settings a folder's sync depends on beyond the
    /// folder's contents; part of every local stamp.
    fn settings_seed(&self) -> u64 {
        let text = format!(
            "{:?} {} {} {} {}",
            self.window,
            self.local_cfg.common.readonly,
            self.remote_cfg.common.readonly,
            self.local_cfg.common.sync_deletes,
            self.remote_cfg.common.sync_deletes,
        );
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }

    /// Whether this sync's settings need every folder read whole: a dry
    /// run, Gmail labels, `copy_ignore_eval`, a sync window. Neither UID
    /// ranges (`chunked`) nor a plan of the server's changes alone
    /// (`delta`) can serve them.
    fn whole_folders_only(&self) -> bool {
        self.dry_run
            || self.copy.labels.is_some()
            || self.copy.copy_ignore_eval.is_some()
            || self.window != config::SyncWindow::default()
    }

    /// What the configuration lets a folder's plan change.
    fn plan_options(&self) -> PlanOptions {
        PlanOptions {
            local_readonly: self.local_cfg.common.readonly,
            remote_readonly: self.remote_cfg.common.readonly,
            remote_sync_deletes: self.remote_cfg.common.sync_deletes,
            local_sync_deletes: self.local_cfg.common.sync_deletes,
        }
    }

    fn stamp_paths(&self, local: &str, status_db: &std::path::Path) -> [std::path::PathBuf; 3] {
        let root = self.local_repo.folder_path(local);
        [root.join("cur"), root.join("new"), status_db.to_path_buf()]
    }

    fn push_stamp_job(
        &self,
        pair: &FolderPair,
        state: status::modseq::ModSeqState,
        proof: Option<crate::maildir::Proof>,
    ) {
        if self.dry_run {
            return;
        }
        let job = StampJob {
            local: pair.local.clone(),
            local_visible: pair.local_visible.clone(),
            status_db: status::paths::status_db_path(
                &self.metadata,
                &self.account_name,
                &pair.status,
            ),
            modseq_path: status::modseq::modseq_path(
                &self.metadata,
                &self.remote_cfg.common.name,
                &pair.remote_name,
            ),
            state,
            proof,
        };
        if let Ok(mut jobs) = self.stamp_jobs.lock() {
            jobs.push(job);
        }
    }
}

/// The folders of `pairs` that need a sync: every other one is unchanged
/// on both sides since a past sync left it in agreement. The local side is
/// checked first, with a stat of `cur/`, `new/` and the status database
/// against the stamp in the FolderModSeq file; only folders that pass are
/// asked about on the server, with one pipelined STATUS per folder
/// (CONDSTORE's HIGHESTMODSEQ, UIDNEXT, MESSAGES, UIDVALIDITY against the
/// same file). Neither the Maildir nor
/// the status cache is read for a skipped folder, so a no-change resync
/// costs one round trip and three stats per folder, whatever the number
/// of messages.
pub(crate) async fn skip_unchanged(
    shared: &Shared,
    session: &mut ImapSession,
    pairs: Vec<FolderPair>,
) -> Result<Vec<FolderPair>, String> {
    // Labels are synced by every folder sync: none is skipped.
    if shared.copy.labels.is_some() {
        return Ok(pairs);
    }
    let seed = shared.settings_seed();
    // Only folders whose local side is as stamped can be skipped: the
    // stats come first, and only those folders are asked about.
    let candidates: Vec<(usize, status::modseq::ModSeqState)> = pairs
        .iter()
        .enumerate()
        .filter_map(|(i, p)| stamped(shared, p, seed).map(|saved| (i, saved)))
        .collect();
    if candidates.is_empty() {
        return Ok(pairs);
    }
    let names: Vec<&str> = candidates
        .iter()
        .map(|(i, _)| pairs[*i].remote.as_str())
        .collect();
    let statuses = session
        .status_many(&names)
        .await
        .map_err(|e| e.to_string())?;
    let mut skip = vec![false; pairs.len()];
    for ((i, saved), st) in candidates.iter().zip(statuses) {
        skip[*i] = st.is_some_and(|st| {
            st.uidvalidity == saved.uidvalidity
                && st.uidnext == saved.uidnext
                && st.highest_modseq == saved.highest_modseq
                && st.messages == saved.exists
        });
    }
    let me = shared.rep.worker(0);
    let mut rest = Vec::with_capacity(pairs.len());
    for (pair, skipped) in pairs.into_iter().zip(skip) {
        if !skipped {
            rest.push(pair);
            continue;
        }
        // What a sync that found nothing to do shows.
        shared.rep.send(Event::FolderStarted {
            worker: me,
            folder: shown(&pair.local),
            from_type: "IMAP".into(),
            to_type: "Maildir".into(),
        });
        shared.rep.log(
            Some(me),
            Level::Debug,
            format!(
                "{} unchanged on both sides since the last sync; not listed",
                shown(&pair.local)
            ),
        );
    }
    Ok(rest)
}

/// The saved state of `pair` when its local side is as its stamp says:
/// the Maildir folder and the status database untouched since the
/// Maildir was proven to hold exactly the status cache. `seed` is
/// [`Shared::settings_seed`].
fn stamped(shared: &Shared, pair: &FolderPair, seed: u64) -> Option<status::modseq::ModSeqState> {
    let remote_name = &shared.remote_cfg.common.name;
    let path = status::modseq::modseq_path(&shared.metadata, remote_name, &pair.remote_name);
    let saved = status::modseq::read_modseq(&path).filter(|s| s.local != 0)?;
    let db = status::paths::status_db_path(&shared.metadata, &shared.account_name, &pair.status);
    let paths = shared.stamp_paths(&pair.local, &db);
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    status::modseq::local_stamp(&refs, seed)
        .filter(|now| !now.coarse && now.digest == saved.local)
        .map(|_| saved)
}

/// How long after a file's last change its mtime can be trusted to move
/// on the next change: a change within the same clock tick may leave it
/// as it is. The coarse clock's tick (what the kernel stamps files with),
/// plus a margin, bounded to [2 ms, 25 ms].
fn tick() -> Duration {
    let res = rustix::time::clock_getres(rustix::time::ClockId::RealtimeCoarse);
    let nanos = u64::try_from(res.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(res.tv_nsec).unwrap_or(0));
    Duration::from_nanos(nanos)
        .saturating_add(Duration::from_millis(1))
        .clamp(Duration::from_millis(2), Duration::from_millis(25))
}

/// Start stamping the local side of `local` (see [`stamp_local`]) once
/// its sync is over and its status database closed, on a blocking thread,
/// so that the directory listing the stamp needs overlaps with the other
/// folders' syncs instead of adding to the end of the account's.
pub(crate) fn start_stamps(shared: &Arc<Shared>, local: &str) {
    let jobs: Vec<StampJob> = match shared.stamp_jobs.lock() {
        Ok(mut jobs) => {
            let (mine, rest) = std::mem::take(&mut *jobs)
                .into_iter()
                .partition(|j| j.local == local);
            *jobs = rest;
            mine
        }
        Err(_) => return,
    };
    for job in jobs {
        let me = shared.clone();
        let task = tokio::task::spawn_blocking(move || stamp_one(&me, job));
        if let Ok(mut tasks) = shared.stamp_tasks.lock() {
            tasks.push(task);
        }
    }
}

/// Stamp the local side of every folder left in agreement, so that the
/// next sync can skip it unread: the folders not started yet by
/// [`start_stamps`], then wait for all.
pub(crate) async fn stamp_local(shared: Arc<Shared>) {
    let locals: Vec<String> = match shared.stamp_jobs.lock() {
        Ok(jobs) => jobs.iter().map(|j| j.local.clone()).collect(),
        Err(_) => Vec::new(),
    };
    for local in locals {
        start_stamps(&shared, &local);
    }
    let tasks = match shared.stamp_tasks.lock() {
        Ok(mut tasks) => std::mem::take(&mut *tasks),
        Err(_) => return,
    };
    for task in tasks {
        // A stamp is only a shortcut for the next sync; a failed one is
        // no error.
        let _ = task.await;
    }
}

/// Stamp one folder (see [`StampJob`]). The stamp is only written when it
/// is proven to describe the state the status cache holds: taken at least
/// a clock tick after the last change (waiting out the rest of the tick
/// once, if needed), the Maildir then shown to hold exactly the status
/// cache's UIDs and flags, and a second stamp equal to the first. A change
/// after that moves some mtime past the stamped one. The Maildir is shown
/// to hold them by what the sync left there, when the folder's inotify
/// watch proves nobody else changed it since the scan
/// (`maildir::watch`), else by listing its file names again.
fn stamp_one(shared: &Shared, job: StampJob) {
    if shared.cancel.is_cancelled() {
        return;
    }
    let tick = tick();
    let stamp = |job: &StampJob| {
        let paths = shared.stamp_paths(&job.local, &job.status_db);
        let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
        status::modseq::local_stamp(&refs, shared.settings_seed())
    };
    if let Some(wait) = stamp(&job).and_then(|s| {
        (s.newest + tick)
            .duration_since(std::time::SystemTime::now())
            .ok()
    }) {
        std::thread::sleep(wait.min(tick));
    }
    let Some(first) = stamp(&job).filter(|s| !s.coarse) else {
        return;
    };
    if std::time::SystemTime::now() < first.newest + tick {
        return;
    }
    let proven = match &job.proof {
        Some(proof) => {
            if status::modseq::listing_digest(&proof.listing) != job.state.status_digest {
                return;
            }
            let root = shared.local_repo.folder_path(&job.local);
            let atimes = shared.local_repo.save_atimes(&job.local);
            crate::maildir::watch::barrier(&root.join("new"));
            crate::maildir::watch::barrier(&root.join("cur"));
            let _ = atimes.map(|a| a.restore());
            match proof.watch.verify() {
                crate::maildir::watch::Verdict::OnlyOurs => true,
                crate::maildir::watch::Verdict::Changed => return,
                crate::maildir::watch::Verdict::Unknown => false,
            }
        }
        None => false,
    };
    // Without a proof from the watch, the folder is listed again.
    if !proven {
        let Ok(folder) = shared
            .local_repo
            .open_folder_as(&job.local, &job.local_visible)
        else {
            return;
        };
        let atimes = shared.local_repo.save_atimes(&job.local);
        let listing = folder.listing();
        // Only a folder's access times; nothing to report here.
        let _ = atimes.map(|a| a.restore());
        let Ok(Some(listing)) = listing else {
            return;
        };
        if status::modseq::status_digest(&listing) != job.state.status_digest {
            return;
        }
    }
    if stamp(&job) != Some(first)
        || status::modseq::read_modseq(&job.modseq_path)
            .is_none_or(|saved| !saved.same_server(&job.state))
    {
        return;
    }
    let state = status::modseq::ModSeqState {
        local: first.digest,
        ..job.state
    };
    if let Err(e) = status::modseq::write_modseq(&job.modseq_path, &state, shared.fsync) {
        // Only a missed shortcut.
        shared.rep.log(None, Level::Warning, e.to_string());
    }
}

/// Why a folder sync stopped: the one-line text, and whether the
/// connection broke (then it is not reused).
struct FolderError {
    text: String,
    transient: bool,
}

impl From<String> for FolderError {
    fn from(text: String) -> Self {
        FolderError {
            text,
            transient: false,
        }
    }
}

impl From<crate::sync::store::StoreError> for FolderError {
    fn from(e: crate::sync::store::StoreError) -> Self {
        FolderError {
            transient: e.is_transient(),
            text: e.to_string(),
        }
    }
}

/// What happened to one folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FolderOutcome {
    Synced,
    /// Skipped because UIDVALIDITY changed (exit code 2).
    ValidityProblem,
}

pub(crate) async fn worker(
    shared: Arc<Shared>,
    queue: Arc<Mutex<std::vec::IntoIter<FolderPair>>>,
    mut session: Option<ImapSession>,
    slot: u16,
) -> (Outcome, Option<ImapSession>) {
    let rep = &shared.rep;
    let me = rep.worker(slot);
    let mut outcome = Outcome::default();
    'folders: loop {
        if shared.cancel.is_cancelled() {
            break;
        }
        // Log in before taking a folder: the folder at the head of the
        // queue (INBOX, unless foldersort says otherwise) goes to whichever
        // connection is ready first, not to one still logging in.
        if !logged_in(&shared, me, &mut session, &mut outcome).await {
            break;
        }
        let Some(pair) = queue.lock().await.next() else {
            break;
        };
        // A folder whose connection broke is tried again (`retrycount`
        // times, OfflineIMAP's option for retried downloads) on a new
        // one: a sync can be interrupted at any point and run again (what
        // the crash tests check), and a server or network that drops one
        // connection should not fail the folder.
        let mut retries = 0;
        loop {
            if !logged_in(&shared, me, &mut session, &mut outcome).await {
                break 'folders;
            }
            let Some(s) = session.take() else {
                break 'folders;
            };
            rep.send(Event::WorkerStarted {
                worker: me,
                name: format!("Folder {} [acc: {}]", pair.local, shared.account_name),
            });
            let (back, result) = sync_folder(&shared, s, &pair, me).await;
            // The folder's status database is closed now.
            start_stamps(&shared, &pair.local);
            super::heap::trim();
            let broken = back.is_none();
            session = back;
            rep.send(Event::WorkerFinished { worker: me });
            if let Err(e) = &result
                && broken
                && retries < shared.remote_cfg.retrycount
                && !shared.cancel.is_cancelled()
            {
                rep.log(
                    Some(me),
                    Level::Warning,
                    format!(
                        "Connection lost while syncing folder '{}' [acc: '{}'] ({e}); \
                         trying it again on a new connection (retry {} of {})",
                        pair.local,
                        shared.account_name,
                        retries + 1,
                        shared.remote_cfg.retrycount
                    ),
                );
                retries += 1;
                continue;
            }
            match result {
                Ok(FolderOutcome::Synced) => {}
                Ok(FolderOutcome::ValidityProblem) => outcome.validity_problems = true,
                Err(e) => {
                    rep.log(
                        Some(me),
                        Level::Error,
                        format!(
                            "Aborting sync, folder '{}' [acc: '{}']: {e}",
                            pair.local, shared.account_name
                        ),
                    );
                    outcome.errors = true;
                    shared.failed.store(true, Ordering::Relaxed);
                }
            }
            break;
        }
    }
    // The caller logs it out, or holds it for the next sync
    // (`holdconnectionopen`).
    (outcome, session)
}

/// Whether worker `me` holds a logged-in `session`, connecting one if it
/// has none; a failed login is reported, as an error of the account.
async fn logged_in(
    shared: &Shared,
    me: WorkerId,
    session: &mut Option<ImapSession>,
    outcome: &mut Outcome,
) -> bool {
    if session.is_some() {
        return true;
    }
    shared.rep.send(Event::Connecting {
        worker: me,
        repo: shared.remote_cfg.common.name.clone(),
        host: shared.remote_cfg.host.clone(),
        port: shared.remote_cfg.port,
    });
    let trace = super::debuglog::imap_trace(me); // -d imap
    match ImapSession::connect(&shared.remote_cfg, shared.socktimeout, trace).await {
        Ok(s) => {
            *session = Some(s);
            true
        }
        Err(e) => {
            shared.rep.log(Some(me), Level::Error, e.to_string());
            outcome.errors = true;
            false
        }
    }
}

/// Sync one pair. Gives the session back when it is still usable.
async fn sync_folder(
    shared: &Shared,
    session: ImapSession,
    pair: &FolderPair,
    me: WorkerId,
) -> (Option<ImapSession>, Result<FolderOutcome, String>) {
    let rep = &shared.rep;
    let remote_name = &shared.remote_cfg.common.name;
    let local_name = &shared.local_cfg.common.name;
    rep.send(Event::FolderStarted {
        worker: me,
        folder: shown(&pair.local),
        from_type: "IMAP".into(),
        to_type: "Maildir".into(),
    });

    let options = crate::imap::FolderOptions {
        // A dry run EXAMINEs: the server refuses any change it might send.
        readonly: shared.remote_cfg.common.readonly || shared.dry_run,
        expunge: shared.remote_cfg.expunge,
    };
    // QRESYNC: the SELECT itself reports what changed since the state a
    // past sync saved; whether that state still fits the status cache is
    // checked later (`snapshot_since` ignores the answer otherwise).
    let known = session
        .has_capability("QRESYNC")
        .then(|| {
            let path =
                status::modseq::modseq_path(&shared.metadata, remote_name, &pair.remote_name);
            status::modseq::read_modseq(&path)
        })
        .flatten()
        .map(|s| crate::imap::Known {
            uidvalidity: s.uidvalidity,
            highest_modseq: s.highest_modseq,
            uidnext: s.uidnext,
        });
    // restoreatime: what the sync's reads of new/ and cur/ changed.
    let atimes = shared.local_repo.save_atimes(&pair.local);
    // A folder whose local side is as stamped may need none of it read
    // (`delta`); any other's local side is read while the server works on
    // the SELECT: the command goes out on the first poll, then the Maildir
    // is scanned and the status cache loaded before its answer is read.
    let stamped = known
        .is_some()
        .then(|| delta::eligible(shared, pair, session.has_capability("QRESYNC")))
        .flatten();
    let (selected, local) = if stamped.is_some() {
        (
            session
                .select_folder_known(&pair.remote, options, known)
                .await,
            None,
        )
    } else {
        let (selected, local) = futures::join!(
            session.select_folder_known(&pair.remote, options, known),
            async { open_local(shared, pair, me, local_name) }
        );
        (selected, Some(local))
    };
    let mut remote = match selected {
        Ok(f) => f,
        // A connection that broke during SELECT is not reused either.
        Err(e) => {
            if let Some(Err(e)) = atimes.map(|a| a.restore()) {
                rep.log(Some(me), Level::Warning, e.to_string());
            }
            let session = (!e.error.is_transient()).then_some(e.session);
            return (session, Err(e.error.to_string()));
        }
    };
    remote.set_filterheaders(shared.copy.filterheaders.clone());
    remote.set_keywords(KeywordMap::new(&shared.local_cfg.customflags));
    let by_delta = match stamped {
        Some(saved) => {
            delta::sync(
                shared,
                &mut remote,
                pair,
                me,
                remote_name,
                local_name,
                saved,
            )
            .await
        }
        None => Ok(None),
    };
    let mut result = match (by_delta, local) {
        (Ok(Some(outcome)), _) => Ok(outcome),
        (Err(e), _) => Err(e),
        (Ok(None), local) => {
            match local.unwrap_or_else(|| open_local(shared, pair, me, local_name)) {
                Ok(local) => {
                    sync_selected(
                        shared,
                        &mut remote,
                        pair,
                        me,
                        remote_name,
                        local_name,
                        local,
                    )
                    .await
                }
                Err(e) => Err(e),
            }
        }
    };
    if let (Ok(FolderOutcome::Synced), Some(rules)) = (&result, &shared.copy.labels)
        && !shared.dry_run
        && !shared.cancel.is_cancelled()
        && let Err(e) = labels::sync_labels(shared, &mut remote, pair, me, rules).await
    {
        result = Err(e);
    }
    let unknown = remote.take_unknown_keywords();
    if !unknown.is_empty() {
        // As OfflineIMAP: such keywords stay on the server, untouched.
        rep.log(
            Some(me),
            Level::Warning,
            format!(
                "Unknown keywords skipped in {}: {}; you may want to map them with customflag_a ... customflag_z",
                pair.remote_name,
                unknown.join(", ")
            ),
        );
    }
    if let Some(Err(e)) = atimes.map(|a| a.restore()) {
        rep.log(Some(me), Level::Warning, e.to_string());
    }
    if !matches!(result, Ok(FolderOutcome::Synced)) && !shared.dry_run {
        // A failed or refused sync leaves no CONDSTORE state to trust; a
        // file we cannot remove here was already removed before any
        // change, or never written.
        let path = status::modseq::modseq_path(&shared.metadata, remote_name, &pair.remote_name);
        let _ = status::modseq::remove_modseq(&path);
    }
    // A connection that broke mid-folder is not reused: the next folder
    // reconnects.
    let transient = matches!(&result, Err(e) if e.transient);
    let session = remote.into_session();
    (
        if transient { None } else { Some(session) },
        result.map_err(|e| e.text),
    )
}

/// A folder's local side as a sync starts: the Maildir folder (`None`
/// for one a dry run did not create), its status database and, unless
/// the folder is large enough to be synced in UID ranges, the status
/// cache and the Maildir's snapshot.
struct LocalSide {
    maildir: Option<crate::maildir::MaildirFolder>,
    status_db: status::SqliteStatus,
    listed: Option<(
        crate::sync::model::StatusSnapshot,
        crate::sync::model::Snapshot,
    )>,
}

/// Open and read the local side of `pair` (see [`LocalSide`]).
fn open_local(
    shared: &Shared,
    pair: &FolderPair,
    me: WorkerId,
    local_repo_name: &str,
) -> Result<LocalSide, FolderError> {
    let rep = &shared.rep;
    let mut maildir = match shared
        .local_repo
        .open_folder_as(&pair.local, &pair.local_visible)
    {
        Ok(f) => Some(f),
        // Not created by a dry run: synced as the empty folder it would be.
        Err(e) if shared.dry_run && matches!(e.kind, crate::maildir::ErrorKind::NotAMaildir) => {
            None
        }
        Err(e) => return Err(e.to_string().into()),
    };
    let db_path =
        status::paths::status_db_path(&shared.metadata, &shared.account_name, &pair.status);
    let mut status_db = if shared.dry_run {
        status::SqliteStatus::open_scratch(&db_path)
    } else {
        status::SqliteStatus::open(&db_path, shared.fsync)
    }
    .map_err(|e| e.to_string())?;
    if status_db.is_new() {
        // A first run after OfflineIMAP's plain-text status: carry it over.
        let legacy =
            status::paths::legacy_status_path(&shared.metadata, &shared.account_name, &pair.status);
        if let Some(n) = status_db.import_plain(&legacy).map_err(|e| e.to_string())? {
            rep.log(
                Some(me),
                Level::Info,
                format!("Migrated {n} entries from {}", legacy.display()),
            );
        }
    }
    for w in status_db.take_warnings() {
        rep.log(Some(me), Level::Warning, w);
    }
    // A folder that may go range by range is read range by range; whether
    // it does depends on the server's answer too (`chunked::wanted`).
    let rows = status_db.count().map_err(|e| e.to_string())?;
    if rows > crate::sync::chunk::chunk_threshold() {
        return Ok(LocalSide {
            maildir,
            status_db,
            listed: None,
        });
    }
    let status_snap = status_db.load()?;
    let local_snap = list_local(shared, maildir.as_mut(), pair, me, local_repo_name)?;
    Ok(LocalSide {
        maildir,
        status_db,
        listed: Some((status_snap, local_snap)),
    })
}

/// The Maildir folder's snapshot (an empty one for a folder a dry run did
/// not create), with the UI's events around it.
fn list_local(
    shared: &Shared,
    maildir: Option<&mut crate::maildir::MaildirFolder>,
    pair: &FolderPair,
    me: WorkerId,
    local_repo_name: &str,
) -> Result<crate::sync::model::Snapshot, FolderError> {
    shared.rep.send(Event::MessageListLoading {
        worker: me,
        repo: local_repo_name.to_string(),
        folder: pair.local.clone(),
    });
    let snap = match maildir {
        Some(f) => f.scan().map_err(crate::sync::store::StoreError::from)?,
        None => crate::sync::model::Snapshot::default(),
    };
    shared.rep.send(Event::MessageListLoaded {
        worker: me,
        repo: local_repo_name.to_string(),
        folder: pair.local.clone(),
        count: snap.uids.len() + snap.new.len(),
    });
    Ok(snap)
}

async fn sync_selected(
    shared: &Shared,
    remote: &mut crate::imap::ImapFolder,
    pair: &FolderPair,
    me: WorkerId,
    remote_repo_name: &str,
    local_repo_name: &str,
    local: LocalSide,
) -> Result<FolderOutcome, FolderError> {
    let rep = &shared.rep;
    let LocalSide {
        mut maildir,
        mut status_db,
        mut listed,
    } = local;
    let mut empty = dryrun::EmptyFolder::new(&pair.local);
    // The local side as a Store, borrowed anew where needed, so that the
    // Maildir itself stays at hand for the sync window in between.
    macro_rules! local {
        () => {
            match maildir.as_mut() {
                Some(f) => f as &mut dyn Store,
                None => &mut empty as &mut dyn Store,
            }
        };
    }
    // A large folder is synced one UID range at a time, so that memory
    // follows the range size, not the folder size (see `sync::chunk`).
    if let Some(md) = maildir.as_mut()
        && let Some(chunk) = chunked::wanted(shared, remote, &mut status_db)?
    {
        // What was read up front goes first: a range sync holds one range.
        listed = None;
        if let Some(outcome) = chunked::sync(
            shared,
            remote,
            md,
            &mut status_db,
            pair,
            me,
            remote_repo_name,
            local_repo_name,
            chunk,
        )
        .await?
        {
            return Ok(outcome);
        }
    }
    let (mut status_snap, mut local_snap) = match listed {
        Some(listed) => listed,
        None => {
            let status_snap = status_db.load()?;
            let local_snap = list_local(shared, maildir.as_mut(), pair, me, local_repo_name)?;
            (status_snap, local_snap)
        }
    };

    let has_messages =
        !local_snap.uids.is_empty() || !local_snap.new.is_empty() || !status_snap.is_empty();
    let current = remote.uidvalidity();
    if !check_validity(
        shared,
        remote,
        pair,
        me,
        remote_repo_name,
        local_repo_name,
        has_messages,
    )? {
        return Ok(FolderOutcome::ValidityProblem);
    }

    // CONDSTORE: if the server's folder is exactly as it was when a past
    // sync left it equal to the status cache, and the status cache is
    // unchanged too, the status cache *is* the server's listing.
    let modseq_path =
        status::modseq::modseq_path(&shared.metadata, remote_repo_name, &pair.remote_name);
    let select_state =
        remote
            .highest_modseq()
            .zip(remote.uidnext())
            .map(|(m, n)| status::modseq::ModSeqState {
                uidvalidity: current,
                uidnext: n,
                highest_modseq: m,
                exists: remote.exists_at_select(),
                status_digest: status::modseq::status_digest(&status_snap),
                local: 0,
            });
    let saved = status::modseq::read_modseq(&modseq_path);
    let unchanged = select_state.is_some_and(|now| {
        saved.is_some_and(|saved| saved.same_server(&now))
            && usize::try_from(now.exists).is_ok_and(|n| n == status_snap.len())
    });
    // The server equalled this very status cache at the saved
    // HIGHESTMODSEQ: only what changed since needs listing.
    let since = saved.filter(|saved| {
        select_state.is_some_and(|now| {
            saved.uidvalidity == now.uidvalidity && saved.status_digest == now.status_digest
        })
    });

    rep.send(Event::MessageListLoading {
        worker: me,
        repo: remote_repo_name.to_string(),
        folder: pair.remote_name.clone(),
    });
    let remote_snap = if unchanged {
        rep.log(
            Some(me),
            Level::Debug,
            format!(
                "{} unchanged on the server since the last sync (CONDSTORE); not listing it",
                pair.remote_name
            ),
        );
        status_as_remote(&status_snap)
    } else if let Some(saved) = since
        && let Some(snap) = remote
            .snapshot_since(&status_snap, saved.highest_modseq, saved.uidnext)
            .await?
    {
        snap
    } else {
        remote.snapshot().await?
    };
    let mut remote_snap = remote_snap;
    keywords::keep_uncarried(
        &mut remote_snap,
        &status_snap,
        keywords::carried(&KeywordMap::new(&shared.local_cfg.customflags)),
    );
    rep.send(Event::MessageListLoaded {
        worker: me,
        repo: remote_repo_name.to_string(),
        folder: pair.remote_name.clone(),
        count: remote_snap.uids.len(),
    });

    let paired = {
        let mut stores = dryrun::Stores::new(shared.dry_run, remote, local!(), &mut status_db);
        let (remote_s, local_s, status_s) = stores.reading();
        apply::pair_new_messages_filtered(
            &remote_snap,
            &mut local_snap,
            &mut status_snap,
            remote_s,
            local_s,
            status_s,
            &shared.copy.filterheaders,
        )
        .await?
    };
    if paired > 0 {
        rep.log(
            Some(me),
            Level::Info,
            format!("Matched {paired} local message(s) to their copies already on the server"),
        );
    }

    // maxage, maxsize, startdate: the planner sees only the window.
    let (remote_snap, local_snap) = super::window::restrict_to_window(
        shared,
        pair,
        remote,
        maildir.as_ref(),
        remote_snap,
        local_snap,
    )
    .await?;
    let (remote_snap, ignored) =
        ignore_copies(shared, pair, me, remote_snap, &local_snap, &status_snap).await?;
    let mut opts = shared.plan_options();
    // A folder the server opened read-only (an ACL, a shared folder) is
    // synced one way, as OfflineIMAP does, instead of failing: what would
    // have gone up stays pending in the status cache for a later sync.
    if remote.is_read_only() && !opts.remote_readonly && !shared.dry_run {
        opts.remote_readonly = true;
        if !shared.ignore_readonly {
            let writable = PlanOptions {
                remote_readonly: false,
                ..opts
            };
            let held = plan(&remote_snap, &local_snap, &status_snap, &writable);
            if let Some(line) = readonly_warning(&pair.remote_name, &held) {
                rep.log(Some(me), Level::Warning, line);
            }
        }
    }
    let the_plan = plan(&remote_snap, &local_snap, &status_snap, &opts);
    if the_plan.is_empty() {
        if paired > 0 {
            return Ok(FolderOutcome::Synced);
        }
        if unchanged {
            // The saved state still holds; the local side may need a new
            // stamp.
            if let Some(saved) = status::modseq::read_modseq(&modseq_path) {
                shared.push_stamp_job(pair, saved, maildir.as_mut().and_then(|f| f.take_proof()));
            }
            return Ok(FolderOutcome::Synced);
        }
        // Save the server's state only when it provably equals the status
        // cache: same UIDs and flags, nothing the listing missed, and no
        // pairing that rewrote the status after its digest was taken.
        if let Some(state) = select_state.filter(|_| !shared.dry_run)
            && usize::try_from(state.exists).is_ok_and(|n| n == remote_snap.uids.len())
            && remote_snap.uids.len() == status_snap.len()
            && remote_snap
                .uids
                .iter()
                .all(|(uid, m)| status_snap.get(uid) == Some(&m.flags))
        {
            match status::modseq::write_modseq(&modseq_path, &state, shared.fsync) {
                Ok(()) => shared.push_stamp_job(
                    pair,
                    state,
                    maildir.as_mut().and_then(|f| f.take_proof()),
                ),
                // Only a missed shortcut: the next sync lists the folder.
                Err(e) => rep.log(Some(me), Level::Warning, e.to_string()),
            }
        }
        return Ok(FolderOutcome::Synced);
    }
    // Changes are coming: a saved state must not outlive them.
    if !shared.dry_run {
        status::modseq::remove_modseq(&modseq_path).map_err(|e| e.to_string())?;
    }
    let mut reporting = Reporting::new(shared, me, pair, remote_repo_name, local_repo_name);
    let folder = reporting.folder.clone();
    let (remote_repo, local_repo) = (remote_repo_name.to_string(), local_repo_name.to_string());
    let repo_of = |side: Side| match side {
        Side::Remote => remote_repo.clone(),
        Side::Local => local_repo.clone(),
    };
    let mut progress = |p: Progress| reporting.on(p, &remote_snap);
    if shared.dry_run {
        for line in dryrun::copy_announcements(&the_plan, &folder, &repo_of) {
            rep.log(Some(me), Level::Info, line);
        }
    }
    let cancel = shared.cancel.clone();
    let mut stores = dryrun::Stores::new(shared.dry_run, remote, local!(), &mut status_db);
    let (remote_s, local_s, status_s) = stores.applying();
    let summary = apply::apply(
        &the_plan,
        remote_s,
        local_s,
        status_s,
        &mut progress,
        &move || cancel.is_cancelled(),
    )
    .await?;
    if reporting.newmail && pair.remote_name == "INBOX" && !shared.dry_run {
        newmail_hook(shared, me).await;
    }
    if summary.skipped > 0 {
        return Err(format!("{} message(s) could not be copied", summary.skipped).into());
    }
    if !summary.cancelled
        && summary.uid_unknown == 0
        // The server holds what the status does not: the next sync must
        // list it again (copy_ignore_eval may say otherwise then).
        && ignored == 0
        && !shared.cancel.is_cancelled()
        && !shared.dry_run
    {
        // Record the server state the status cache equals, so that the next
        // sync need not list it: the SELECT's when this sync changed nothing
        // on the server, else proven after our own changes moved it.
        let status_after = status_db.load()?;
        let base: crate::sync::model::StatusSnapshot = remote_snap
            .uids
            .iter()
            .map(|(u, m)| (*u, m.flags))
            .collect();
        let settled = match remote.settled_at_select(&base, &status_after) {
            Some(s) => Some(s),
            None => match remote.highest_modseq() {
                Some(listed_at) => remote.settle_since(&base, listed_at, &status_after).await?,
                None => None,
            },
        };
        if let Some(s) = settled {
            let state = status::modseq::ModSeqState {
                uidvalidity: current,
                uidnext: s.uidnext,
                highest_modseq: s.highest_modseq,
                exists: s.exists,
                status_digest: status::modseq::status_digest(&status_after),
                local: 0,
            };
            match status::modseq::write_modseq(&modseq_path, &state, shared.fsync) {
                Ok(()) => shared.push_stamp_job(
                    pair,
                    state,
                    maildir.as_mut().and_then(|f| f.take_proof()),
                ),
                Err(e) => rep.log(Some(me), Level::Warning, e.to_string()),
            }
        }
    }
    Ok(FolderOutcome::Synced)
}

/// UIDVALIDITY: false (after telling the UI) when the server's changed
/// since a past sync of a folder that holds messages (`has_messages`, on
/// either side or in the status cache); else records it as needed.
fn check_validity(
    shared: &Shared,
    remote: &crate::imap::ImapFolder,
    pair: &FolderPair,
    me: WorkerId,
    remote_repo_name: &str,
    local_repo_name: &str,
    has_messages: bool,
) -> Result<bool, FolderError> {
    let rep = &shared.rep;
    // UIDVALIDITY: OfflineIMAP checks only when the local folder or the
    // status has messages (an empty pair just records the current value).
    let remote_validity_path =
        status::paths::validity_path(&shared.metadata, remote_repo_name, &pair.remote_name);
    let local_validity_path =
        status::paths::validity_path(&shared.metadata, local_repo_name, &pair.local);
    let current = remote.uidvalidity();
    let saved =
        status::validity::read_validity(&remote_validity_path).map_err(|e| e.to_string())?;
    if has_messages && saved.is_some_and(|s| s != current) {
        rep.send(Event::ValidityProblem {
            worker: me,
            folder: pair.remote_name.clone(),
            repo: remote_repo_name.to_string(),
            saved: saved.unwrap_or_default(),
            current,
        });
        return Ok(false);
    }
    if saved != Some(current) && !shared.dry_run {
        status::validity::write_validity(&remote_validity_path, current, shared.fsync)
            .map_err(|e| e.to_string())?;
    }
    if !shared.dry_run
        && status::validity::read_validity(&local_validity_path)
            .map_err(|e| e.to_string())?
            .is_none()
    {
        status::validity::write_validity(
            &local_validity_path,
            status::validity::MAILDIR_UIDVALIDITY,
            shared.fsync,
        )
        .map_err(|e| e.to_string())?;
    }

    Ok(true)
}

/// What `apply` reports, turned into events and log lines; remembers
/// whether an unseen message arrived (for `newmail_hook`).
struct Reporting<'a> {
    shared: &'a Shared,
    me: WorkerId,
    folder: String,
    remote_repo: String,
    local_repo: String,
    unseen: bool,
    newmail: bool,
}

impl<'a> Reporting<'a> {
    fn new(
        shared: &'a Shared,
        me: WorkerId,
        pair: &FolderPair,
        remote_repo_name: &str,
        local_repo_name: &str,
    ) -> Self {
        Reporting {
            shared,
            me,
            folder: shown(&pair.local),
            remote_repo: remote_repo_name.to_string(),
            local_repo: local_repo_name.to_string(),
            unseen: false,
            newmail: false,
        }
    }

    fn repo_of(&self, side: Side) -> String {
        match side {
            Side::Remote => self.remote_repo.clone(),
            Side::Local => self.local_repo.clone(),
        }
    }

    /// `remote_snap`: the server listing the plan came from.
    fn on(&mut self, p: Progress, remote_snap: &crate::sync::model::Snapshot) {
        let (rep, me, folder) = (&self.shared.rep, self.me, self.folder.clone());
        let type_of = |side: Side| match side {
            Side::Remote => "IMAP".to_string(),
            Side::Local => "Maildir".to_string(),
        };
        match &p {
            Progress::Copying {
                id: MsgRef::Uid(u),
                from: Side::Remote,
                ..
            } => {
                self.unseen = remote_snap
                    .uids
                    .get(u)
                    .is_some_and(|m| !m.flags.contains('S'))
            }
            Progress::Copied {
                from: Side::Remote, ..
            } => self.newmail |= self.unseen,
            _ => {}
        }
        match p {
        Progress::Copying { id, n, total, from } => rep.send(Event::MessageCopying {
            worker: me,
            uid: id.to_string(),
            n,
            total,
            from_repo: self.repo_of(from),
            to_repo: self.repo_of(from.other()),
            folder: folder.clone(),
        }),
        Progress::Copied { bytes, .. } => rep.send(Event::MessageCopied { worker: me, bytes }),
        Progress::Deleting { on, uids } => rep.send(Event::MessagesDeleting {
            worker: me,
            uids,
            repo: type_of(on),
            folder: folder.clone(),
        }),
        Progress::FlagsAdding { on, uids, flags } => rep.send(Event::FlagsAdding {
            worker: me,
            uids,
            flags: flags.to_string(),
            repo: self.repo_of(on),
            folder: folder.clone(),
        }),
        Progress::FlagsRemoving { on, uids, flags } => rep.send(Event::FlagsRemoving {
            worker: me,
            uids,
            flags: flags.to_string(),
            repo: self.repo_of(on),
            folder: folder.clone(),
        }),
        Progress::Skipped { on, ids, error } => {
            let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
            rep.log(
                Some(me),
                Level::Error,
                format!(
                    "could not copy message(s) {} to {}: {error}",
                    ids.join(", "),
                    self.repo_of(on)
                ),
            );
        }
        Progress::UidUnknown { local } => rep.log(
            Some(me),
            Level::Warning,
            format!(
                "message {local} was uploaded to {} but the server did not say its UID; it will be matched on the next sync",
                self.repo_of(Side::Remote)
            ),
        ),
    }
    }
}

/// `copy_ignore_eval`: the server messages it lists are not downloaded,
/// each logged as OfflineIMAP does. Returns the snapshot the planner may
/// see and how many were left out. An error stops the folder: copying
/// what the user wanted left alone is not undone easily.
async fn ignore_copies(
    shared: &Shared,
    pair: &FolderPair,
    me: WorkerId,
    mut remote_snap: crate::sync::model::Snapshot,
    local_snap: &crate::sync::model::Snapshot,
    status_snap: &crate::sync::model::StatusSnapshot,
) -> Result<(crate::sync::model::Snapshot, usize), String> {
    let Some(expr) = &shared.copy.copy_ignore_eval else {
        return Ok((remote_snap, 0));
    };
    let repo = &shared.remote_cfg.common.name;
    let section = format!("Repository {repo}");
    let uids = super::copyrules::copy_ignore_uids(
        &section,
        expr,
        shared.python.clone(),
        &pair.remote_visible,
    )
    .await
    .map_err(|e| e.to_string())?;
    let gone =
        crate::sync::filter::ignore_downloads(&mut remote_snap, local_snap, status_snap, &uids);
    for uid in &gone {
        shared.rep.log(
            Some(me),
            Level::Info,
            format!(
                "IGNORED: Copy message UID {uid} {repo}:{} -> {}",
                pair.remote_name, shared.local_cfg.common.name
            ),
        );
    }
    Ok((remote_snap, gone.len()))
}

/// Calls the remote repository's `newmail_hook`; what goes wrong is a
/// warning, as the mail itself is safely in.
async fn newmail_hook(shared: &Shared, me: WorkerId) {
    let Some(hook) = &shared.copy.newmail_hook else {
        return;
    };
    let section = format!("Repository {}", shared.remote_cfg.common.name);
    shared
        .rep
        .log(Some(me), Level::Debug, format!("Calling {}", hook.option));
    if let Err(e) = super::copyrules::newmail_hook(&section, hook, shared.python.clone()).await {
        shared.rep.log(Some(me), Level::Warning, e.to_string());
    }
}

/// The status cache standing in for an unchanged server's listing. Sizes
/// only serve pairing, which considers server messages missing from the
/// status, and there are none here; the largest size still rules out any
/// accidental match.
fn status_as_remote(status: &crate::sync::model::StatusSnapshot) -> crate::sync::model::Snapshot {
    use crate::sync::model::{MessageMeta, Snapshot};
    Snapshot {
        uids: status
            .iter()
            .map(|(uid, flags)| {
                (
                    *uid,
                    MessageMeta {
                        flags: *flags,
                        size: u64::MAX,
                    },
                )
            })
            .collect(),
        new: Vec::new(),
    }
}

/// A folder name as people read it: modified UTF-7 decoded to UTF-8.
fn shown(name: &str) -> String {
    crate::imap::utf7::decode(name).unwrap_or_else(|_| name.to_string())
}

/// The warning for changes a read-only server folder cannot take, counted
/// from the plan as if it were writable; `None` when there are none.
fn readonly_warning(folder: &str, writable: &crate::sync::plan::Plan) -> Option<String> {
    use crate::sync::plan::Action;
    let (mut copies, mut flags, mut deletes) = (0, 0, 0);
    for a in writable {
        match a {
            Action::Upload { .. } => copies += 1,
            Action::SetFlags {
                on: Side::Remote, ..
            } => flags += 1,
            Action::Delete {
                on: Side::Remote, ..
            } => deletes += 1,
            _ => {}
        }
    }
    (copies + flags + deletes > 0).then(|| {
        format!(
            "folder {folder} is read-only on the server: {copies} message(s) not copied, \
             flags of {flags} message(s) not changed and {deletes} message(s) not deleted there \
             (they stay pending; ignore-readonly = yes hides this warning)"
        )
    })
}
