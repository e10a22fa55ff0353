//! One folder pair, synced end to end: UIDVALIDITY check, the three
//! snapshots, pairing, the plan, and its application. A worker owns one
//! IMAP connection and takes folder pairs from the account's queue until
//! it is empty, so `maxconnections` folders sync at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::folders::FolderPair;
use super::{Outcome, Reporter};
use crate::config;
use crate::event::{Event, Level, WorkerId};
use crate::imap::ImapSession;
use crate::maildir::MaildirRepository;
use crate::status;
use crate::sync::apply::{self, Progress};
use crate::sync::dryrun;
use crate::sync::model::Side;
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
    /// `--dry-run`: plan and report, change nothing (see `sync::dryrun`).
    pub(crate) dry_run: bool,
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
) -> Outcome {
    let rep = &shared.rep;
    let me = rep.worker(slot);
    let mut outcome = Outcome::default();
    loop {
        if shared.cancel.is_cancelled() {
            break;
        }
        let Some(pair) = queue.lock().await.next() else {
            break;
        };
        if session.is_none() {
            rep.send(Event::Connecting {
                worker: me,
                repo: shared.remote_cfg.common.name.clone(),
                host: shared.remote_cfg.host.clone(),
                port: shared.remote_cfg.port,
            });
            match ImapSession::connect(&shared.remote_cfg, shared.socktimeout).await {
                Ok(s) => session = Some(s),
                Err(e) => {
                    rep.log(Some(me), Level::Error, e.to_string());
                    outcome.errors = true;
                    break;
                }
            }
        }
        let Some(s) = session.take() else { break };
        rep.send(Event::WorkerStarted {
            worker: me,
            name: format!("Folder {} [acc: {}]", pair.local, shared.account_name),
        });
        let (back, result) = sync_folder(&shared, s, &pair, me).await;
        session = back;
        rep.send(Event::WorkerFinished { worker: me });
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
    }
    if let Some(s) = session {
        s.logout().await;
    }
    outcome
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
    let mut remote = match session.select_folder_raw(&pair.remote, options).await {
        Ok(f) => f,
        Err(e) => return (Some(e.session), Err(e.error.to_string())),
    };
    let result = sync_selected(shared, &mut remote, pair, me, remote_name, local_name).await;
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

async fn sync_selected(
    shared: &Shared,
    remote: &mut crate::imap::ImapFolder,
    pair: &FolderPair,
    me: WorkerId,
    remote_repo_name: &str,
    local_repo_name: &str,
) -> Result<FolderOutcome, FolderError> {
    let rep = &shared.rep;
    let mut local: Box<dyn Store> = match shared
        .local_repo
        .open_folder_as(&pair.local, &pair.local_visible)
    {
        Ok(f) => Box::new(f),
        // Not created by a dry run: synced as the empty folder it would be.
        Err(e) if shared.dry_run && matches!(e.kind, crate::maildir::ErrorKind::NotAMaildir) => {
            Box::new(dryrun::EmptyFolder::new(&pair.local))
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
    let mut status_snap = status_db.load()?;

    rep.send(Event::MessageListLoading {
        worker: me,
        repo: local_repo_name.to_string(),
        folder: pair.local.clone(),
    });
    let mut local_snap = local.snapshot().await?;
    rep.send(Event::MessageListLoaded {
        worker: me,
        repo: local_repo_name.to_string(),
        folder: pair.local.clone(),
        count: local_snap.uids.len() + local_snap.new.len(),
    });

    // UIDVALIDITY: OfflineIMAP checks only when the local folder or the
    // status has messages (an empty pair just records the current value).
    let remote_validity_path =
        status::paths::validity_path(&shared.metadata, remote_repo_name, &pair.remote_name);
    let local_validity_path =
        status::paths::validity_path(&shared.metadata, local_repo_name, &pair.local);
    let current = remote.uidvalidity();
    let saved =
        status::validity::read_validity(&remote_validity_path).map_err(|e| e.to_string())?;
    let has_messages =
        !local_snap.uids.is_empty() || !local_snap.new.is_empty() || !status_snap.is_empty();
    if has_messages && saved.is_some_and(|s| s != current) {
        rep.send(Event::ValidityProblem {
            worker: me,
            folder: pair.remote_name.clone(),
            repo: remote_repo_name.to_string(),
            saved: saved.unwrap_or_default(),
            current,
        });
        return Ok(FolderOutcome::ValidityProblem);
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
            });
    let unchanged = select_state.is_some_and(|now| {
        status::modseq::read_modseq(&modseq_path) == Some(now)
            && usize::try_from(now.exists).is_ok_and(|n| n == status_snap.len())
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
    } else {
        remote.snapshot().await?
    };
    rep.send(Event::MessageListLoaded {
        worker: me,
        repo: remote_repo_name.to_string(),
        folder: pair.remote_name.clone(),
        count: remote_snap.uids.len(),
    });

    let mut stores = dryrun::Stores::new(shared.dry_run, remote, &mut *local, &mut status_db);
    let (remote_s, local_s, status_s) = stores.reading();
    let paired = apply::pair_new_messages(
        &remote_snap,
        &mut local_snap,
        &mut status_snap,
        remote_s,
        local_s,
        status_s,
    )
    .await?;
    if paired > 0 {
        rep.log(
            Some(me),
            Level::Info,
            format!("Matched {paired} local message(s) to their copies already on the server"),
        );
    }

    let opts = PlanOptions {
        local_readonly: shared.local_cfg.common.readonly,
        remote_readonly: shared.remote_cfg.common.readonly,
        remote_sync_deletes: shared.remote_cfg.common.sync_deletes,
        local_sync_deletes: shared.local_cfg.common.sync_deletes,
    };
    let the_plan = plan(&remote_snap, &local_snap, &status_snap, &opts);
    if the_plan.is_empty() {
        // Save the server's state only when it provably equals the status
        // cache: same UIDs and flags, nothing the listing missed, and no
        // pairing that rewrote the status after its digest was taken.
        if let Some(state) = select_state.filter(|_| !unchanged && paired == 0 && !shared.dry_run)
            && usize::try_from(state.exists).is_ok_and(|n| n == remote_snap.uids.len())
            && remote_snap.uids.len() == status_snap.len()
            && remote_snap
                .uids
                .iter()
                .all(|(uid, m)| status_snap.get(uid) == Some(&m.flags))
            && let Err(e) = status::modseq::write_modseq(&modseq_path, &state, shared.fsync)
        {
            // Only a missed shortcut: the next sync lists the folder.
            rep.log(Some(me), Level::Warning, e.to_string());
        }
        return Ok(FolderOutcome::Synced);
    }
    // Changes are coming: a saved state must not outlive them.
    if !shared.dry_run {
        status::modseq::remove_modseq(&modseq_path).map_err(|e| e.to_string())?;
    }
    let folder = shown(&pair.local);
    let repo_of = |side: Side| match side {
        Side::Remote => remote_repo_name.to_string(),
        Side::Local => local_repo_name.to_string(),
    };
    let type_of = |side: Side| match side {
        Side::Remote => "IMAP".to_string(),
        Side::Local => "Maildir".to_string(),
    };
    let mut progress = |p: Progress| {
        match p {
        Progress::Copying { id, n, total, from } => rep.send(Event::MessageCopying {
            worker: me,
            uid: id.to_string(),
            n,
            total,
            from_repo: repo_of(from),
            to_repo: repo_of(from.other()),
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
            repo: repo_of(on),
            folder: folder.clone(),
        }),
        Progress::FlagsRemoving { on, uids, flags } => rep.send(Event::FlagsRemoving {
            worker: me,
            uids,
            flags: flags.to_string(),
            repo: repo_of(on),
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
                    repo_of(on)
                ),
            );
        }
        Progress::UidUnknown { local } => rep.log(
            Some(me),
            Level::Warning,
            format!(
                "message {local} was uploaded to {} but the server did not say its UID; it will be matched on the next sync",
                repo_of(Side::Remote)
            ),
        ),
    }
    };
    if shared.dry_run {
        for line in dryrun::copy_announcements(&the_plan, &folder, &repo_of) {
            rep.log(Some(me), Level::Info, line);
        }
    }
    let cancel = shared.cancel.clone();
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
    if summary.skipped > 0 {
        return Err(format!("{} message(s) could not be copied", summary.skipped).into());
    }
    if !summary.cancelled
        && summary.uid_unknown == 0
        && !shared.cancel.is_cancelled()
        && !shared.dry_run
    {
        // Our own changes moved HIGHESTMODSEQ: prove the server now equals
        // the status cache, so that the next sync need not list it.
        let status_after = status_db.load()?;
        if let Some(s) = remote.settled_state().await?
            && s.uids == status_after
        {
            let state = status::modseq::ModSeqState {
                uidvalidity: current,
                uidnext: s.uidnext,
                highest_modseq: s.highest_modseq,
                exists: s.exists,
                status_digest: status::modseq::status_digest(&status_after),
            };
            if let Err(e) = status::modseq::write_modseq(&modseq_path, &state, shared.fsync) {
                rep.log(Some(me), Level::Warning, e.to_string());
            }
        }
    }
    Ok(FolderOutcome::Synced)
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
