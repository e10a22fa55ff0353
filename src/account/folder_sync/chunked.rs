//! A large folder's sync, one UID range at a time (see `sync::chunk`):
//! the status rows, the server's listing and the Maildir's messages of one
//! range are read, planned and applied before the next range is read, so
//! the sync holds one range's metadata (plus 4 bytes a message for the
//! UID lists the ranges are cut from) instead of the whole folder's.
//!
//! What cannot be done range by range safely takes the whole-folder path
//! ([`wanted`] says `None`): a sync window, `copy_ignore_eval`, Gmail
//! labels, a dry run, a folder the server opened read-only; and more local
//! messages to pair or upload than one range holds.

use super::{
    FolderError, FolderOutcome, Reporting, Shared, check_validity, newmail_hook, status_as_remote,
};
use crate::account::folders::FolderPair;
use crate::config;
use crate::event::{Event, Level, WorkerId};
use crate::imap::ImapFolder;
use crate::imap::keywords::{self, KeywordMap};
use crate::maildir::MaildirFolder;
use crate::status::{self, SqliteStatus};
use crate::sync::apply::{self, Progress};
use crate::sync::chunk;
use crate::sync::model::{Flags, StatusSnapshot, Uid};
use crate::sync::plan::{PlanOptions, plan};

/// The range size when `remote`'s folder is to be synced in ranges: more
/// messages on the server (at SELECT) or in the status cache than
/// [`chunk::chunk_threshold`], and nothing that needs the whole folder at
/// once.
pub(super) fn wanted(
    shared: &Shared,
    remote: &ImapFolder,
    status_db: &mut SqliteStatus,
) -> Result<Option<usize>, FolderError> {
    let whole = shared.dry_run
        || shared.copy.labels.is_some()
        || shared.copy.copy_ignore_eval.is_some()
        || shared.window != config::SyncWindow::default()
        || remote.is_read_only();
    if whole {
        return Ok(None);
    }
    let (size, above) = (chunk::chunk_size(), chunk::chunk_threshold());
    let exists = usize::try_from(remote.exists_at_select()).unwrap_or(usize::MAX);
    if exists > above {
        return Ok(Some(size));
    }
    let rows = status_db.count().map_err(|e| e.to_string())?;
    Ok((rows > above).then_some(size))
}

/// Sync the folder range by range. `None` when it turns out to need the
/// whole-folder path (more local messages to pair or upload than a range
/// holds); nothing has been changed then.
#[allow(clippy::too_many_arguments)]
pub(super) async fn sync(
    shared: &Shared,
    remote: &mut ImapFolder,
    maildir: &mut MaildirFolder,
    status_db: &mut SqliteStatus,
    pair: &FolderPair,
    me: WorkerId,
    remote_repo_name: &str,
    local_repo_name: &str,
    size: usize,
) -> Result<Option<FolderOutcome>, FolderError> {
    let rep = &shared.rep;
    let maildir_error = |e: crate::maildir::Error| FolderError::from(e.to_string());
    let status_error = |e: status::Error| FolderError::from(e.to_string());

    rep.send(Event::MessageListLoading {
        worker: me,
        repo: local_repo_name.to_string(),
        folder: pair.local.clone(),
    });
    let (local_uids, new_count) = maildir.uid_census().map_err(maildir_error)?;
    rep.send(Event::MessageListLoaded {
        worker: me,
        repo: local_repo_name.to_string(),
        folder: pair.local.clone(),
        count: local_uids.len() + new_count,
    });
    let status_uids = status_db.uids().map_err(status_error)?;
    let has_messages = !local_uids.is_empty() || new_count > 0 || !status_uids.is_empty();
    if !check_validity(
        shared,
        remote,
        pair,
        me,
        remote_repo_name,
        local_repo_name,
        has_messages,
    )? {
        return Ok(Some(FolderOutcome::ValidityProblem));
    }
    let current = remote.uidvalidity();

    // CONDSTORE, as in the whole-folder path: a server exactly as a past
    // sync left it, equal to this very status cache, need not be listed.
    let modseq_path =
        status::modseq::modseq_path(&shared.metadata, remote_repo_name, &pair.remote_name);
    let select_state = match remote.highest_modseq().zip(remote.uidnext()) {
        Some((m, n)) => Some(status::modseq::ModSeqState {
            uidvalidity: current,
            uidnext: n,
            highest_modseq: m,
            exists: remote.exists_at_select(),
            status_digest: status_db.digest().map_err(status_error)?,
            local: 0,
        }),
        None => None,
    };
    let saved = status::modseq::read_modseq(&modseq_path);
    let unchanged = select_state.is_some_and(|now| {
        saved.is_some_and(|saved| saved.same_server(&now))
            && usize::try_from(now.exists).is_ok_and(|n| n == status_uids.len())
    });

    rep.send(Event::MessageListLoading {
        worker: me,
        repo: remote_repo_name.to_string(),
        folder: pair.remote_name.clone(),
    });
    let server_uids = if unchanged {
        rep.log(
            Some(me),
            Level::Debug,
            format!(
                "{} unchanged on the server since the last sync (CONDSTORE); not listing it",
                pair.remote_name
            ),
        );
        status_uids.clone()
    } else {
        remote.all_uids().await?
    };
    rep.send(Event::MessageListLoaded {
        worker: me,
        repo: remote_repo_name.to_string(),
        folder: pair.remote_name.clone(),
        count: server_uids.len(),
    });
    let orphans = chunk::orphans(&local_uids, &status_uids, &server_uids);
    if new_count + orphans.len() > size {
        rep.log(
            Some(me),
            Level::Debug,
            format!(
                "{}: {} local message(s) to pair or upload, more than one range ({size}); \
                 syncing the folder whole",
                pair.local,
                new_count + orphans.len()
            ),
        );
        return Ok(None);
    }
    let ranges = chunk::ranges(&server_uids, &status_uids, size);
    drop((local_uids, status_uids, server_uids));
    rep.log(
        Some(me),
        Level::Debug,
        format!("{}: syncing in {} UID range(s)", pair.local, ranges.len()),
    );

    let carried = keywords::carried(&KeywordMap::new(&shared.local_cfg.customflags));
    let opts = PlanOptions {
        local_readonly: shared.local_cfg.common.readonly,
        remote_readonly: shared.remote_cfg.common.readonly,
        remote_sync_deletes: shared.remote_cfg.common.sync_deletes,
        local_sync_deletes: shared.local_cfg.common.sync_deletes,
    };
    // Whether anything changed anywhere (the saved CONDSTORE state goes
    // before the first change), and whether every range's listing equalled
    // its status rows.
    let (mut changed, mut equal, mut listed) = (false, true, 0usize);
    let (mut skipped, mut uid_unknown, mut cancelled, mut newmail) = (0, 0, false, false);
    let mut paired = 0;
    for (i, (lo, hi)) in ranges.iter().copied().enumerate() {
        if shared.cancel.is_cancelled() {
            cancelled = true;
            break;
        }
        let last = i + 1 == ranges.len();
        let mut status_snap = status_db.load_range(lo, hi).map_err(status_error)?;
        let mut remote_snap = if unchanged {
            status_as_remote(&status_snap)
        } else {
            remote.snapshot_range(lo, hi).await?
        };
        keywords::keep_uncarried(&mut remote_snap, &status_snap, carried);
        let mut local_snap = maildir
            .scan_range(lo, hi, &orphans)
            .map_err(maildir_error)?;
        if !local_snap.new.is_empty() || !orphans.is_empty() {
            let n = apply::pair_new_messages_filtered(
                &remote_snap,
                &mut local_snap,
                &mut status_snap,
                remote,
                maildir,
                status_db,
                &shared.copy.filterheaders,
            )
            .await?;
            if n > 0 && !changed {
                // The status cache changed: the saved state no longer
                // describes it.
                status::modseq::remove_modseq(&modseq_path).map_err(|e| e.to_string())?;
                changed = true;
            }
            paired += n;
        }
        chunk::for_plan(&mut local_snap, &orphans, last);
        listed += remote_snap.uids.len();
        equal &= remote_snap.uids.len() == status_snap.len()
            && remote_snap
                .uids
                .iter()
                .all(|(uid, m)| status_snap.get(uid) == Some(&m.flags));
        let the_plan = plan(&remote_snap, &local_snap, &status_snap, &opts);
        drop(status_snap);
        if the_plan.is_empty() {
            continue;
        }
        if !changed {
            // Changes are coming: a saved state must not outlive them.
            status::modseq::remove_modseq(&modseq_path).map_err(|e| e.to_string())?;
            changed = true;
        }
        let mut reporting = Reporting::new(shared, me, pair, remote_repo_name, local_repo_name);
        let mut progress = |p: Progress| reporting.on(p, &remote_snap);
        let cancel = shared.cancel.clone();
        let summary = apply::apply(
            &the_plan,
            remote,
            maildir,
            status_db,
            &mut progress,
            &move || cancel.is_cancelled(),
        )
        .await?;
        newmail |= reporting.newmail;
        skipped += summary.skipped;
        uid_unknown += summary.uid_unknown;
        if summary.cancelled {
            cancelled = true;
            break;
        }
    }
    if paired > 0 {
        rep.log(
            Some(me),
            Level::Info,
            format!("Matched {paired} local message(s) to their copies already on the server"),
        );
    }
    if newmail && pair.remote_name == "INBOX" {
        newmail_hook(shared, me).await;
    }
    if skipped > 0 {
        return Err(format!("{skipped} message(s) could not be copied").into());
    }
    if cancelled || uid_unknown > 0 || shared.cancel.is_cancelled() {
        return Ok(Some(FolderOutcome::Synced));
    }
    if !changed {
        if unchanged {
            // The saved state still holds; the local side may need a new
            // stamp.
            if let Some(saved) = saved {
                shared.push_stamp_job(pair, saved, None);
            }
        } else if let Some(state) = select_state
            && equal
            && usize::try_from(state.exists).is_ok_and(|n| n == listed)
        {
            // Every range's listing was its status rows, and together
            // they are the SELECT's count: the server equalled the status
            // cache at the SELECT's state.
            save_state(shared, pair, me, &modseq_path, state);
        }
        return Ok(Some(FolderOutcome::Synced));
    }
    if let Some(state) = settle(remote, status_db, &ranges, carried, current).await? {
        save_state(shared, pair, me, &modseq_path, state);
    }
    Ok(Some(FolderOutcome::Synced))
}

/// Records `state` (a server proven to equal the status cache) for the
/// next sync's shortcut, and queues the local stamp.
fn save_state(
    shared: &Shared,
    pair: &FolderPair,
    me: WorkerId,
    path: &std::path::Path,
    state: status::modseq::ModSeqState,
) {
    match status::modseq::write_modseq(path, &state, shared.fsync) {
        Ok(()) => shared.push_stamp_job(pair, state, None),
        // Only a missed shortcut: the next sync lists the folder.
        Err(e) => shared.rep.log(Some(me), Level::Warning, e.to_string()),
    }
}

/// The server's state after a sync that changed things, when it is proven
/// to equal the status cache, range by range: STATUS first (UIDNEXT,
/// MESSAGES, HIGHESTMODSEQ), then each range's `UID FETCH (UID FLAGS
/// MODSEQ)` must be exactly that range's status rows, with no message
/// changed after the STATUS (a MODSEQ above its HIGHESTMODSEQ) or newer
/// than its UIDNEXT, and the ranges together must hold MESSAGES messages.
/// An expunge after the STATUS shows as a missing message, so a change by
/// anyone between the STATUS and the last range fails the proof: `None`,
/// and the next sync lists the folder. Also `None` without CONDSTORE.
async fn settle(
    remote: &mut ImapFolder,
    status_db: &mut SqliteStatus,
    ranges: &[(Uid, Uid)],
    carried: Flags,
    uidvalidity: u32,
) -> Result<Option<status::modseq::ModSeqState>, FolderError> {
    let Some((uidnext, messages, highest)) = remote.status_now().await? else {
        return Ok(None);
    };
    let mut count = 0usize;
    for (lo, hi) in ranges.iter().copied() {
        let listed = remote.flags_range(lo, hi).await?;
        let rows: StatusSnapshot = status_db
            .load_range(lo, hi)
            .map_err(|e| FolderError::from(e.to_string()))?;
        let same = listed.len() == rows.len()
            && listed.iter().all(|(uid, (flags, modseq))| {
                // As the listing the sync planned from: letters the
                // server does not carry are the status's.
                rows.get(uid).is_some_and(|row| {
                    *row == flags.intersection(carried).union(row.difference(carried))
                }) && *uid < uidnext
                    && modseq.is_some_and(|m| m <= highest)
            });
        if !same {
            return Ok(None);
        }
        count += listed.len();
    }
    if usize::try_from(messages).ok() != Some(count) {
        return Ok(None);
    }
    Ok(Some(status::modseq::ModSeqState {
        uidvalidity,
        uidnext,
        highest_modseq: highest,
        exists: messages,
        status_digest: status_db
            .digest()
            .map_err(|e| FolderError::from(e.to_string()))?,
        local: 0,
    }))
}
