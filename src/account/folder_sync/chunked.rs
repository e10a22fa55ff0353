//! A large folder's sync, one UID range at a time (see `sync::chunk`):
//! the status rows, the server's listing and the Maildir's messages of one
//! range are read, planned and applied before the next range is read, so
//! the sync holds one range's metadata (plus 4 bytes a message for the
//! UID lists the ranges are cut from) instead of the whole folder's.
//!
//! A resync whose server side is known, unchanged since a proven state or
//! changed as the QRESYNC SELECT reported (`sync::delta`), lists no range:
//! each range's listing is derived from its status rows, and the result
//! is proven with one CHANGEDSINCE round trip at the end
//! ([`settle_after`]). Otherwise each range is listed, and proven by a
//! listing per range ([`settle`]).
//!
//! What cannot be done range by range safely takes the whole-folder path
//! ([`wanted`] says `None`): a sync window, `copy_ignore_eval`, Gmail
//! labels, a dry run, a folder the server opened read-only; and more local
//! messages to pair or upload than one range holds.

use std::borrow::Cow;

use super::{
    FolderError, FolderOutcome, Reporting, Shared, check_validity, newmail_hook, status_as_remote,
};
use crate::account::folders::FolderPair;
use crate::event::{Event, Level, WorkerId};
use crate::imap::ImapFolder;
use crate::imap::keywords::{self, KeywordMap};
use crate::maildir::MaildirFolder;
use crate::status::{self, SqliteStatus};
use crate::sync::apply::{self, Progress};
use crate::sync::chunk;
use crate::sync::model::{Flags, Side, StatusSnapshot, Uid};
use crate::sync::plan::{Action, plan};

/// The range size when `remote`'s folder is to be synced in ranges: more
/// messages on the server (at SELECT) or in the status cache than
/// [`chunk::chunk_threshold`], and nothing that needs the whole folder at
/// once.
pub(super) fn wanted(
    shared: &Shared,
    remote: &ImapFolder,
    status_db: &mut SqliteStatus,
) -> Result<Option<usize>, FolderError> {
    if shared.whole_folders_only() || remote.is_read_only() {
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
    let census = maildir.census().map_err(maildir_error)?;
    let new_count = census.new;
    rep.send(Event::MessageListLoaded {
        worker: me,
        repo: local_repo_name.to_string(),
        folder: pair.local.clone(),
        count: census.len() + new_count,
    });
    let status_uids = status_db.uids().map_err(status_error)?;
    let has_messages = !census.is_empty() || new_count > 0 || !status_uids.is_empty();
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
    // The server equalled this very status cache at the saved state, and
    // the QRESYNC SELECT said what changed since: each range's listing is
    // its status rows with that applied (see `sync::delta`).
    let delta = match (saved, select_state) {
        (Some(saved), Some(now))
            if !unchanged
                && saved.uidvalidity == now.uidvalidity
                && saved.status_digest == now.status_digest =>
        {
            remote
                .take_delta(saved.highest_modseq, saved.uidnext)
                .filter(|d| delta_fits(d, &status_uids, now.exists))
        }
        _ => None,
    };

    rep.send(Event::MessageListLoading {
        worker: me,
        repo: remote_repo_name.to_string(),
        folder: pair.remote_name.clone(),
    });
    // Unchanged, the server's UIDs are the status cache's: borrowed, not
    // copied (4 bytes a message of the peak, per large folder in flight).
    let server_uids: Cow<'_, [Uid]> = if unchanged {
        rep.log(
            Some(me),
            Level::Debug,
            format!(
                "{} unchanged on the server since the last sync (CONDSTORE); not listing it",
                pair.remote_name
            ),
        );
        Cow::Borrowed(&status_uids[..])
    } else if let Some(d) = &delta {
        let mut uids: Vec<Uid> = status_uids
            .iter()
            .copied()
            .filter(|u| !d.is_vanished(*u))
            .chain(d.new_uids())
            .collect();
        uids.sort_unstable();
        // A filtered collect grows by doubling: up to twice the UIDs.
        uids.shrink_to_fit();
        Cow::Owned(uids)
    } else {
        Cow::Owned(remote.all_uids().await?)
    };
    rep.send(Event::MessageListLoaded {
        worker: me,
        repo: remote_repo_name.to_string(),
        folder: pair.remote_name.clone(),
        count: server_uids.len(),
    });
    let orphans = chunk::orphans(census.uids(), &status_uids, &server_uids);
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
    // No local message to pair or upload: each range's local side is the
    // census's, and what needs a file's name waits (`chunk::hold_local`).
    // Otherwise each range's messages are listed, names and all, with the
    // messages that travel with every range.
    let census = (new_count == 0 && orphans.is_empty() && census.exact()).then_some(census);
    drop(server_uids);
    drop(status_uids);
    rep.log(
        Some(me),
        Level::Debug,
        format!("{}: syncing in {} UID range(s)", pair.local, ranges.len()),
    );

    let carried = keywords::carried(&KeywordMap::new(&shared.local_cfg.customflags));
    let opts = shared.plan_options();
    // Whether anything changed anywhere (the saved CONDSTORE state goes
    // before the first change), and whether every range's listing equalled
    // its status rows.
    let (mut changed, mut equal, mut listed) = (false, true, 0usize);
    // With a delta: where the status cache after each range differs from
    // the listing the range was planned from (our own changes to the
    // server, mostly), for the proof at the end; the status's flags, or
    // `None` for a message the status no longer has.
    let mut differs: Vec<(Uid, Option<Flags>)> = Vec::new();
    // Whether every range's listing is the server's state at the SELECT
    // without asking it (unchanged, or the delta applied): then the result
    // is proven from what changed after the SELECT.
    let derived = unchanged || delta.is_some();
    let (mut skipped, mut uid_unknown, mut cancelled, mut newmail) = (0, 0, false, false);
    // The ranges' deletions and flag changes on the server, done after
    // the last range.
    let mut remote_later: Vec<Action> = Vec::new();
    // Held back until their files' names are read (census ranges only).
    let mut held = Held::default();
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
        } else if let Some(d) = &delta {
            d.listing(&status_snap, lo, hi)
        } else {
            remote.snapshot_range(lo, hi).await?
        };
        keywords::keep_uncarried(&mut remote_snap, &status_snap, carried);
        let mut local_snap = match &census {
            Some(census) => {
                // What the last range wrote is not needed again.
                maildir.clear_index();
                census.range(lo, hi)
            }
            None => maildir
                .scan_range(lo, hi, &orphans)
                .map_err(maildir_error)?,
        };
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
        let mut the_plan = plan(&remote_snap, &local_snap, &status_snap, &opts);
        drop(status_snap);
        let held_from = held.uids.len();
        if census.is_some() {
            let (now, later) = chunk::hold_local(std::mem::take(&mut the_plan.actions));
            the_plan.actions = now;
            held.add(later, &remote_snap);
        }
        // Changes to the server wait for the end of the folder, to go out
        // together: each UID EXPUNGE makes Dovecot read the whole folder's
        // directory (one per range made the large bench corpus's (d) cost
        // it 3 s of CPU), and flag changes went out as two STOREs per
        // range (112 STOREs in one large (d) against 30). Their status
        // rows stay until then, so a crash before leaves them for the
        // next sync to redo. A held message's flag changes stay with its
        // other actions.
        let (later, now): (Vec<Action>, Vec<Action>) = std::mem::take(&mut the_plan.actions)
            .into_iter()
            .partition(|a| {
                matches!(
                    a,
                    Action::Delete {
                        on: Side::Remote,
                        ..
                    } | Action::SetFlags {
                        on: Side::Remote,
                        ..
                    }
                )
            });
        the_plan.actions = now;
        remote_later.extend(later);
        let ran = !the_plan.is_empty();
        if ran {
            if !changed {
                // Changes are coming: a saved state must not outlive them.
                status::modseq::remove_modseq(&modseq_path).map_err(|e| e.to_string())?;
                changed = true;
            }
            let (summary, new) = run_plan(
                shared,
                (me, pair, remote_repo_name, local_repo_name),
                &the_plan,
                &remote_snap,
                remote,
                maildir,
                status_db,
            )
            .await?;
            newmail |= new;
            skipped += summary.skipped;
            uid_unknown += summary.uid_unknown;
            if summary.cancelled {
                cancelled = true;
                break;
            }
        }
        if derived {
            let held_here = &held.uids[held_from..];
            note_differences(status_db, &remote_snap, lo, hi, held_here, &mut differs)?;
        }
        drop((the_plan, remote_snap, local_snap));
        // Held actions run once a range's worth waits, and after the last
        // range.
        if held.uids.len() >= size || (last && !held.uids.is_empty()) {
            cancelled |= held
                .run(
                    shared,
                    (me, pair, remote_repo_name, local_repo_name),
                    remote,
                    maildir,
                    status_db,
                    &modseq_path,
                    (&mut changed, &mut skipped, &mut uid_unknown),
                    derived.then_some(&mut differs),
                )
                .await?;
            if cancelled {
                break;
            }
        }
        if ran {
            crate::account::heap::trim();
        }
    }
    if !cancelled && !remote_later.is_empty() {
        if !changed {
            status::modseq::remove_modseq(&modseq_path).map_err(|e| e.to_string())?;
            changed = true;
        }
        // The listings had these as they were; the status now has them
        // deleted or with new flags (the proof only asks that each be
        // among the server's changes, or gone).
        let noted: Vec<(Uid, Option<Flags>)> = remote_later
            .iter()
            .filter_map(|a| match a {
                Action::Delete { uid, .. } => Some((*uid, None)),
                Action::SetFlags { uid, status, .. } => Some((*uid, Some(*status))),
                _ => None,
            })
            .collect();
        // Each kind in one run, so that each flag change goes out as one
        // STORE and the deletions as one expunge (a UID has one of them);
        // the deletions first, so that the executor hands both runs to the
        // server in one round trip (`Store::delete_and_change_flags`).
        let (mut actions, flags): (Vec<Action>, Vec<Action>) = remote_later
            .into_iter()
            .partition(|a| matches!(a, Action::Delete { .. }));
        actions.extend(flags);
        let later = crate::sync::plan::Plan { actions };
        let (summary, _) = run_plan(
            shared,
            (me, pair, remote_repo_name, local_repo_name),
            &later,
            &crate::sync::model::Snapshot::default(),
            remote,
            maildir,
            status_db,
        )
        .await?;
        skipped += summary.skipped;
        uid_unknown += summary.uid_unknown;
        cancelled |= summary.cancelled;
        differs.extend(noted);
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
    let settled = match remote.highest_modseq().filter(|_| derived) {
        Some(listed_at) => {
            settle_after(remote, status_db, listed_at, &differs, carried, current).await?
        }
        _ => settle(remote, status_db, &ranges, carried, current).await?,
    };
    if let Some(state) = settled {
        save_state(shared, pair, me, &modseq_path, state);
    }
    Ok(Some(FolderOutcome::Synced))
}

/// Actions held back until the names of the local files they rename or
/// delete are read (`chunk::hold_local`), from ranges planned from the
/// Maildir's census; with what each message's range listed. Until they run
/// their status rows stay as they were, so a crash leaves them for the
/// next sync to plan again.
#[derive(Default)]
struct Held {
    actions: Vec<Action>,
    /// The held messages' UIDs, ascending (ranges come in order).
    uids: Vec<Uid>,
    /// The server's flags for each, as its range's listing had them
    /// (`None`: not listed).
    listed: Vec<Option<Flags>>,
}

impl Held {
    fn add(&mut self, actions: Vec<Action>, listed: &crate::sync::model::Snapshot) {
        let mut uids: Vec<Uid> = actions.iter().filter_map(chunk::uid_of).collect();
        uids.sort_unstable();
        uids.dedup();
        self.listed
            .extend(uids.iter().map(|u| listed.uids.get(u).map(|m| m.flags)));
        self.uids.extend(uids);
        self.actions.extend(actions);
    }

    /// Read the held messages' file names (one listing of the folder for
    /// all of them), run their actions, and note where the status cache
    /// now differs from the listings (`differs`, for the proof at the end).
    /// True when the run was cancelled.
    #[allow(clippy::too_many_arguments)]
    async fn run(
        &mut self,
        shared: &Shared,
        ids: (WorkerId, &FolderPair, &str, &str),
        remote: &mut ImapFolder,
        maildir: &mut MaildirFolder,
        status_db: &mut SqliteStatus,
        modseq_path: &std::path::Path,
        (changed, skipped, uid_unknown): (&mut bool, &mut usize, &mut usize),
        differs: Option<&mut Vec<(Uid, Option<Flags>)>>,
    ) -> Result<bool, FolderError> {
        let actions = std::mem::take(&mut self.actions);
        let uids = std::mem::take(&mut self.uids);
        let listed = std::mem::take(&mut self.listed);
        if !*changed {
            status::modseq::remove_modseq(modseq_path).map_err(|e| e.to_string())?;
            *changed = true;
        }
        let found = maildir
            .scan_uids(&uids)
            .map_err(|e| FolderError::from(e.to_string()))?;
        // A file gone since the census (a mail client deleted it) is left
        // alone, and so is its status row: the next sync sees the deletion.
        let actions: Vec<Action> = actions
            .into_iter()
            .filter(|a| chunk::uid_of(a).is_some_and(|u| found.uids.contains_key(&u)))
            .collect();
        drop(found);
        let plan = crate::sync::plan::Plan { actions };
        let (summary, _) = run_plan(
            shared,
            ids,
            &plan,
            &crate::sync::model::Snapshot::default(),
            remote,
            maildir,
            status_db,
        )
        .await?;
        *skipped += summary.skipped;
        *uid_unknown += summary.uid_unknown;
        if let Some(differs) = differs {
            for (uid, listed) in uids.iter().zip(listed) {
                let now = status_db
                    .load_range(*uid, *uid)
                    .map_err(|e| FolderError::from(e.to_string()))?
                    .get(uid)
                    .copied();
                if now != listed {
                    differs.push((*uid, now));
                }
            }
        }
        maildir.clear_index();
        Ok(summary.cancelled)
    }
}

/// Apply `the_plan` (planned from the server's listing `listed`) with the
/// UI's progress events; also whether new mail reached INBOX.
async fn run_plan(
    shared: &Shared,
    (me, pair, remote_repo_name, local_repo_name): (WorkerId, &FolderPair, &str, &str),
    the_plan: &crate::sync::plan::Plan,
    listed: &crate::sync::model::Snapshot,
    remote: &mut ImapFolder,
    maildir: &mut MaildirFolder,
    status_db: &mut SqliteStatus,
) -> Result<(apply::Summary, bool), FolderError> {
    let mut reporting = Reporting::new(shared, me, pair, remote_repo_name, local_repo_name);
    let mut progress = |p: Progress| reporting.on(p, listed);
    let cancel = shared.cancel.clone();
    let summary = apply::apply(
        the_plan,
        remote,
        maildir,
        status_db,
        &mut progress,
        &move || cancel.is_cancelled(),
    )
    .await?;
    Ok((summary, reporting.newmail))
}

/// Whether `delta` can be the server's changes to the status cache whose
/// UIDs are `status_uids` (ascending), given the SELECT's count `exists`:
/// no status row at or above the old UIDNEXT, every changed old message
/// one the status knows, every new one with its size, and the status
/// less the expunged plus the new adding up to `exists`.
fn delta_fits(delta: &crate::sync::delta::Delta, status_uids: &[Uid], exists: u32) -> bool {
    if status_uids.last().is_some_and(|u| *u >= delta.old_uidnext)
        || !delta.sizes_known()
        || delta
            .old_changed()
            .any(|u| status_uids.binary_search(&u).is_err())
    {
        return false;
    }
    let vanished: usize = delta
        .vanished()
        .iter()
        .map(|(lo, hi)| {
            status_uids.partition_point(|u| u <= hi) - status_uids.partition_point(|u| u < lo)
        })
        .sum();
    let now = status_uids.len() - vanished + delta.new_uids().len();
    usize::try_from(exists).is_ok_and(|n| n == now)
}

/// Adds to `differs` every message of `lo..=hi` where the status cache now
/// differs from `listed`, the listing the range was planned from.
fn note_differences(
    status_db: &mut SqliteStatus,
    listed: &crate::sync::model::Snapshot,
    lo: Uid,
    hi: Uid,
    held: &[Uid],
    differs: &mut Vec<(Uid, Option<Flags>)>,
) -> Result<(), FolderError> {
    let mut rows = status_db
        .load_range(lo, hi)
        .map_err(|e| FolderError::from(e.to_string()))?;
    // Held-back messages are compared once their actions have run.
    for uid in held {
        rows.remove(uid);
    }
    for (uid, m) in &listed.uids {
        if held.binary_search(uid).is_ok() {
            continue;
        }
        match rows.get(uid) {
            Some(f) if *f == m.flags => {}
            other => differs.push((*uid, other.copied())),
        }
    }
    for (uid, f) in &rows {
        if !listed.uids.contains_key(uid) {
            differs.push((*uid, Some(*f)));
        }
    }
    Ok(())
}

/// [`settle`] for a folder whose ranges were listed from a delta, in one
/// round trip instead of a listing of every range: `differs` holds where
/// the status cache came to differ from the listings (taken at the
/// SELECT, HIGHESTMODSEQ `listed_at`). Everywhere else the server still
/// holds what it listed, which was the status's, unless it changed after
/// the SELECT, and then the CHANGEDSINCE FETCH shows it. So the server
/// equals the status cache when every message changed after the SELECT
/// is as the status has it (and changed no later than the STATUS, below
/// its UIDNEXT), every message whose status differs from the listing is
/// among those, the ones the status dropped are gone, and the counts
/// agree.
async fn settle_after(
    remote: &mut ImapFolder,
    status_db: &mut SqliteStatus,
    listed_at: u64,
    differs: &[(Uid, Option<Flags>)],
    carried: Flags,
    uidvalidity: u32,
) -> Result<Option<status::modseq::ModSeqState>, FolderError> {
    let status_error = |e: status::Error| FolderError::from(e.to_string());
    let gone: Vec<Uid> = differs
        .iter()
        .filter(|(_, f)| f.is_none())
        .map(|(u, _)| *u)
        .collect();
    let Some(after) = remote.changes_after(listed_at, &gone).await? else {
        return Ok(None);
    };
    let mut seen = std::collections::HashSet::with_capacity(after.changed.len());
    for (uid, flags, modseq) in &after.changed {
        if *uid >= after.uidnext || modseq.is_none_or(|m| m > after.highest_modseq) {
            return Ok(None);
        }
        let row = status_db
            .load_range(*uid, *uid)
            .map_err(status_error)?
            .get(uid)
            .copied();
        // As the listings: letters the server does not carry are the
        // status's.
        let same = row
            .is_some_and(|row| row == flags.intersection(carried).union(row.difference(carried)));
        if !same {
            return Ok(None);
        }
        seen.insert(*uid);
    }
    if differs
        .iter()
        .any(|(u, f)| f.is_some() && !seen.contains(u))
    {
        return Ok(None);
    }
    let rows = status_db.count().map_err(status_error)?;
    let below = status_db
        .max_uid()
        .map_err(status_error)?
        .is_none_or(|u| u < after.uidnext);
    if usize::try_from(after.messages).ok() != Some(rows) || !below {
        return Ok(None);
    }
    Ok(Some(status::modseq::ModSeqState {
        uidvalidity,
        uidnext: after.uidnext,
        highest_modseq: after.highest_modseq,
        exists: after.messages,
        status_digest: status_db.digest().map_err(status_error)?,
        local: 0,
    }))
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
    let mut same = true;
    let mut status_error = None;
    // The ranges' listings come pipelined, each FETCH sent after the
    // STATUS was answered, so each still lists the server after it.
    remote
        .flags_ranges(ranges, &mut |i, listed| {
            let Some((lo, hi)) = ranges.get(i).copied() else {
                same = false;
                return false;
            };
            let rows: StatusSnapshot = match status_db.load_range(lo, hi) {
                Ok(rows) => rows,
                Err(e) => {
                    status_error = Some(e.to_string());
                    return false;
                }
            };
            same = listed.len() == rows.len()
                && listed.iter().all(|(uid, (flags, modseq))| {
                    // As the listing the sync planned from: letters the
                    // server does not carry are the status's.
                    rows.get(uid).is_some_and(|row| {
                        *row == flags.intersection(carried).union(row.difference(carried))
                    }) && *uid < uidnext
                        && modseq.is_some_and(|m| m <= highest)
                });
            count += listed.len();
            same
        })
        .await?;
    if let Some(e) = status_error {
        return Err(FolderError::from(e));
    }
    if !same || usize::try_from(messages).ok() != Some(count) {
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
