//! A resync that reads only what changed: for a folder whose local side
//! is as its stamp says (the Maildir untouched since it was proven to hold
//! exactly the status cache, see `status::modseq`), on a server whose
//! QRESYNC SELECT reported what changed since the saved state, the three
//! lists of every message the server did not touch are known to agree, so
//! only the touched ones are planned (`sync::delta::touched`). The Maildir
//! is read for their file names alone, the status cache for their rows,
//! and the result is proven without listing the folder again: the watch
//! set up before the stamp was checked shows whether anyone but this sync
//! changed the Maildir since.
//!
//! Whatever does not fit (no usable delta, counts that do not add up, a
//! file the stamp promised but the directory lacks) gives the folder back
//! to the full path before anything was changed.

use super::{FolderError, FolderOutcome, Reporting, Shared, check_validity, newmail_hook};
use crate::account::folders::FolderPair;
use crate::event::{Event, Level, WorkerId};
use crate::imap::ImapFolder;
use crate::imap::keywords::{self, KeywordMap};
use crate::status::{self, SqliteStatus};
use crate::sync::apply::{self, Progress};
use crate::sync::model::{Side, StatusSnapshot};
use crate::sync::plan::{Action, plan};

/// Whether `pair` may take this path, before its SELECT: its saved state
/// when its local side is as stamped and nothing needs the whole folder
/// (the cases `chunked::wanted` sends down the whole-folder path, and a
/// server without QRESYNC).
pub(super) fn eligible(
    shared: &Shared,
    pair: &FolderPair,
    qresync: bool,
) -> Option<status::modseq::ModSeqState> {
    if !qresync || shared.whole_folders_only() {
        return None;
    }
    super::stamped(shared, pair, shared.settings_seed())
}

/// Sync `pair` from what the server changed since `saved` (see the module
/// documentation). `None` when the folder needs the full path; nothing has
/// been changed then.
#[allow(clippy::too_many_arguments)]
pub(super) async fn sync(
    shared: &Shared,
    remote: &mut ImapFolder,
    pair: &FolderPair,
    me: WorkerId,
    remote_repo_name: &str,
    local_repo_name: &str,
    saved: status::modseq::ModSeqState,
) -> Result<Option<FolderOutcome>, FolderError> {
    let rep = &shared.rep;
    let current = remote.uidvalidity();
    let (Some(highest_modseq), Some(uidnext)) = (remote.highest_modseq(), remote.uidnext()) else {
        return Ok(None);
    };
    if remote.is_read_only() || current != saved.uidvalidity {
        return Ok(None);
    }
    let exists = remote.exists_at_select();
    let Some(delta) = remote.take_delta(saved.highest_modseq, saved.uidnext) else {
        return Ok(None);
    };
    if !delta.sizes_known() {
        return Ok(None);
    }
    let mut maildir = shared
        .local_repo
        .open_folder_as(&pair.local, &pair.local_visible)
        .map_err(|e| e.to_string())?;
    // Armed before the stamp is checked again: a change after the check
    // shows in the watch, one before it in the stamp.
    maildir.arm_watch();
    if super::stamped(shared, pair, shared.settings_seed()) != Some(saved) {
        return Ok(None);
    }
    let db_path =
        status::paths::status_db_path(&shared.metadata, &shared.account_name, &pair.status);
    let mut status_db = SqliteStatus::open(&db_path, shared.fsync).map_err(|e| e.to_string())?;
    for w in status_db.take_warnings() {
        rep.log(Some(me), Level::Warning, w);
    }
    let Some(status_snap) = touched_rows(&mut status_db, &delta, exists)? else {
        return Ok(None);
    };
    let rows = status_db.count().map_err(|e| e.to_string())?;
    if !check_validity(
        shared,
        remote,
        pair,
        me,
        remote_repo_name,
        local_repo_name,
        rows > 0,
    )? {
        return Ok(Some(FolderOutcome::ValidityProblem));
    }
    // The Maildir holds exactly the status cache: its touched files are
    // looked up by name, the rest is not read.
    let wanted: Vec<u32> = status_snap.keys().copied().collect();
    rep.send(Event::MessageListLoading {
        worker: me,
        repo: local_repo_name.to_string(),
        folder: pair.local.clone(),
    });
    let found = maildir.scan_touched(&wanted).map_err(|e| e.to_string())?;
    if found.uids.len() != wanted.len() || !found.new.is_empty() {
        rep.log(
            Some(me),
            Level::Debug,
            format!(
                "{}: the Maildir is not as its stamp says (a file the server's changes \
                 need is missing); listing the folder",
                pair.local
            ),
        );
        return Ok(None);
    }
    drop(found);
    rep.send(Event::MessageListLoaded {
        worker: me,
        repo: local_repo_name.to_string(),
        folder: pair.local.clone(),
        count: rows,
    });
    rep.log(
        Some(me),
        Level::Debug,
        format!(
            "{}: Maildir as last synced; planning the {} message(s) the server changed",
            pair.local,
            delta.changed.len() + wanted.len().saturating_sub(delta.old_changed().count())
        ),
    );
    rep.send(Event::MessageListLoading {
        worker: me,
        repo: remote_repo_name.to_string(),
        folder: pair.remote_name.clone(),
    });
    let (mut remote_snap, local_snap, status_snap) =
        crate::sync::delta::touched(&delta, status_snap);
    drop(delta);
    rep.send(Event::MessageListLoaded {
        worker: me,
        repo: remote_repo_name.to_string(),
        folder: pair.remote_name.clone(),
        count: usize::try_from(exists).unwrap_or(usize::MAX),
    });
    let carried = keywords::carried(&KeywordMap::new(&shared.local_cfg.customflags));
    keywords::keep_uncarried(&mut remote_snap, &status_snap, carried);
    let opts = shared.plan_options();
    let the_plan = plan(&remote_snap, &local_snap, &status_snap, &opts);
    let modseq_path =
        status::modseq::modseq_path(&shared.metadata, remote_repo_name, &pair.remote_name);
    // Changes are coming: a saved state must not outlive them.
    if !the_plan.is_empty() {
        status::modseq::remove_modseq(&modseq_path).map_err(|e| e.to_string())?;
    }
    let mut reporting = Reporting::new(shared, me, pair, remote_repo_name, local_repo_name);
    let mut progress = |p: Progress| reporting.on(p, &remote_snap);
    let cancel = shared.cancel.clone();
    let summary = apply::apply(
        &the_plan,
        remote,
        &mut maildir,
        &mut status_db,
        &mut progress,
        &move || cancel.is_cancelled(),
    )
    .await?;
    if reporting.newmail && pair.remote_name == "INBOX" {
        newmail_hook(shared, me).await;
    }
    if summary.skipped > 0 {
        return Err(format!("{} message(s) could not be copied", summary.skipped).into());
    }
    // The server's state at the SELECT describes the status cache only
    // when this sync changed nothing there and the cache now holds what
    // the server listed.
    let server_untouched = the_plan.actions.iter().all(|a| {
        !matches!(
            a,
            Action::Upload { .. }
                | Action::Delete {
                    on: Side::Remote,
                    ..
                }
                | Action::SetFlags {
                    on: Side::Remote,
                    ..
                }
        )
    });
    if summary.cancelled
        || summary.uid_unknown > 0
        || shared.cancel.is_cancelled()
        || !server_untouched
    {
        return Ok(Some(FolderOutcome::Synced));
    }
    let after = status_db.rows().map_err(|e| e.to_string())?;
    let holds = |uid: u32| {
        after
            .binary_search_by_key(&uid, |(u, _)| *u)
            .ok()
            .map(|i| after[i].1)
    };
    let listed = usize::try_from(exists).is_ok_and(|n| n == after.len())
        && after.last().is_none_or(|(u, _)| *u < uidnext)
        && remote_snap
            .uids
            .iter()
            .all(|(u, m)| holds(*u) == Some(m.flags))
        && status_snap
            .keys()
            .all(|u| remote_snap.uids.contains_key(u) || holds(*u).is_none());
    if !listed {
        return Ok(Some(FolderOutcome::Synced));
    }
    let state = status::modseq::ModSeqState {
        uidvalidity: current,
        uidnext,
        highest_modseq,
        exists,
        status_digest: status::modseq::listing_digest(&after),
        local: 0,
    };
    match status::modseq::write_modseq(&modseq_path, &state, shared.fsync) {
        Ok(()) => {
            // What the Maildir holds is the status cache, if the watch
            // shows no change but ours.
            let proof = maildir.take_watch().map(|watch| crate::maildir::Proof {
                watch,
                listing: after,
            });
            shared.push_stamp_job(pair, state, proof);
        }
        Err(e) => rep.log(Some(me), Level::Warning, e.to_string()),
    }
    Ok(Some(FolderOutcome::Synced))
}

/// The status rows `delta` touches (every changed old message, which the
/// cache must hold, and every expunged one it holds), or `None` when the
/// delta cannot be the server's changes to this cache: a row at or above
/// the old UIDNEXT, a changed old message the cache lacks, counts that do
/// not add up to the SELECT's `exists`, or more rows than one range of a
/// folder synced in ranges (`sync::chunk`) holds.
fn touched_rows(
    status_db: &mut SqliteStatus,
    delta: &crate::sync::delta::Delta,
    exists: u32,
) -> Result<Option<StatusSnapshot>, FolderError> {
    let err = |e: status::Error| FolderError::from(e.to_string());
    if status_db
        .max_uid()
        .map_err(err)?
        .is_some_and(|u| u >= delta.old_uidnext)
    {
        return Ok(None);
    }
    let limit = crate::sync::chunk::chunk_size();
    let mut rows = StatusSnapshot::new();
    for uid in delta.old_changed() {
        match status_db.load_range(uid, uid).map_err(err)?.pop_first() {
            Some(row) => rows.insert(row.0, row.1),
            None => return Ok(None),
        };
        if rows.len() > limit {
            return Ok(None);
        }
    }
    let mut vanished = 0;
    for (lo, hi) in delta.vanished() {
        let gone = status_db.load_range(*lo, *hi).map_err(err)?;
        vanished += gone.len();
        rows.extend(gone);
        if rows.len() > limit {
            return Ok(None);
        }
    }
    let count = status_db.count().map_err(err)?;
    let now = count
        .checked_sub(vanished)
        .map(|n| n + delta.new_uids().len());
    Ok((now == usize::try_from(exists).ok()).then_some(rows))
}
