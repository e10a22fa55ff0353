//! Where one folder pair's sync window comes from: the account's `maxage`
//! and `maxsize`, a repository's `startdate` and its `StartUID` file, the
//! server's `UID SEARCH` and the Maildir's file names and sizes. What the
//! window then hides from the planner is `sync::window`'s business.
//!
//! The rules are OfflineIMAP's (docs/sync.md, "Sync window"): `maxage`
//! becomes a UID threshold common to both sides, `startdate` a UID
//! threshold on its own repository, saved at the first sync; `maxsize`
//! is each side's own size test.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::folder_sync::Shared;
use super::folders::FolderPair;
use crate::config::{MaxAge, SyncWindow};
use crate::imap::ImapFolder;
use crate::maildir::MaildirFolder;
use crate::status;
use crate::sync::model::{MsgRef, Snapshot, Uid};
use crate::sync::store::{ErrorKind, StoreError};
use crate::sync::window::{Inside, restrict};

const DAY: i64 = 24 * 60 * 60;

/// The snapshots the planner may see: unchanged without a window, else
/// without what the window leaves out.
pub(crate) async fn restrict_to_window(
    shared: &Shared,
    pair: &FolderPair,
    remote: &mut ImapFolder,
    local: Option<&MaildirFolder>,
    remote_snap: Snapshot,
    local_snap: Snapshot,
) -> Result<(Snapshot, Snapshot), StoreError> {
    if shared.window == SyncWindow::default() {
        return Ok((remote_snap, local_snap));
    }
    let inside = inside(shared, pair, remote, local, &remote_snap, &local_snap).await?;
    // The status is not restricted, so it need not be passed around.
    let r = restrict(&remote_snap, &local_snap, &Default::default(), &inside);
    Ok((r.remote, r.local))
}

/// Which messages of each side are inside the window.
async fn inside(
    shared: &Shared,
    pair: &FolderPair,
    remote: &mut ImapFolder,
    local: Option<&MaildirFolder>,
    remote_snap: &Snapshot,
    local_snap: &Snapshot,
) -> Result<Inside, StoreError> {
    // A folder a dry run did not create holds nothing.
    let select = |since, max| -> Result<BTreeSet<MsgRef>, crate::maildir::Error> {
        match local {
            Some(f) => f.select(since, max),
            None => Ok(BTreeSet::new()),
        }
    };
    let w = &shared.window;
    // maxsize is each side's own test: the server's SMALLER (RFC822.SIZE,
    // CRLF) and the Maildir's file size (often LF). Where they disagree the
    // message is outside for both (see `sync::window::restrict`).
    let remote_small = match w.maxsize {
        Some(n) => Some(remote.search_window(None, Some(n)).await?),
        None => None,
    };
    let local_small = match w.maxsize {
        Some(n) => Some(select(None, Some(n))?),
        None => None,
    };
    let remote_ok = |uid: &Uid| remote_small.as_ref().is_none_or(|s| s.contains(uid));
    let local_ok = |id: &MsgRef| local_small.as_ref().is_none_or(|s| s.contains(id));
    let all_remote = |from: Uid| -> BTreeSet<Uid> {
        remote_snap
            .uids
            .keys()
            .filter(|u| **u >= from && remote_ok(u))
            .copied()
            .collect()
    };
    let local_uids = |from: Option<Uid>| {
        local_snap
            .uids
            .keys()
            .filter(move |u| from.is_some_and(|m| **u >= m))
            .map(|u| MsgRef::Uid(*u))
            .filter(|id| local_ok(id))
    };
    let all_new = || {
        local_snap
            .new
            .iter()
            .map(|n| MsgRef::New(n.id))
            .filter(|id| local_ok(id))
    };

    if let Some(maxage) = w.maxage {
        let cutoff = match maxage {
            MaxAge::Days(n) => chrono::Utc::now().timestamp() - i64::from(n) * DAY,
            MaxAge::Since(d) => local_midnight(d),
        };
        // OfflineIMAP asks the server for one day less than maxage: SINCE
        // only compares days, in the server's time zone.
        let since_day = chrono::DateTime::from_timestamp(cutoff.saturating_add(DAY), 0)
            .map(|t| t.date_naive())
            .unwrap_or_default();
        let recent = remote.search_window(Some(since_day), w.maxsize).await?;
        // The threshold: the lowest UID the server finds within the date.
        // With none, OfflineIMAP falls back to the Maildir's file-name
        // times, but those are the download times of the messages it
        // wrote: every old message would count as recent, and one deleted
        // on the server would be deleted locally. Here nothing with a UID
        // is inside then.
        let min_uid = recent.first().copied();
        let remote_inside = min_uid.map(all_remote).unwrap_or_default();
        let mut local_inside: BTreeSet<MsgRef> = local_uids(min_uid).collect();
        if min_uid.is_some() {
            local_inside.extend(all_new());
        } else {
            // As OfflineIMAP does, messages without a UID are then judged
            // by the time in their name.
            let local_recent = select(Some(cutoff), w.maxsize)?;
            local_inside.extend(
                local_recent
                    .iter()
                    .filter(|id| matches!(id, MsgRef::New(_)))
                    .copied(),
            );
        }
        return Ok(Inside {
            remote: remote_inside,
            local: local_inside,
        });
    }

    if let Some(date) = w.remote_startdate {
        let path = start_uid_path(shared, &shared.remote_cfg.common.name, &pair.remote_name);
        let min_uid = match read_start_uid(&path)? {
            Some(m) => m,
            None => {
                if !local_snap.uids.is_empty() || !local_snap.new.is_empty() {
                    return Err(must_be_empty(
                        &shared.remote_cfg.common.name,
                        &shared.local_cfg.common.name,
                        &pair.local,
                    ));
                }
                let recent = remote.search_window(Some(date), w.maxsize).await?;
                // With nothing since the date, OfflineIMAP saves 1 and so
                // takes in the whole folder at the next sync; UIDNEXT keeps
                // to the date.
                let m = recent.first().copied().unwrap_or_else(|| {
                    remote
                        .uidnext()
                        .or_else(|| remote_snap.uids.keys().last().map(|u| u + 1))
                        .unwrap_or(1)
                });
                write_start_uid(&path, m, shared.fsync)?;
                m
            }
        };
        return Ok(Inside {
            remote: all_remote(min_uid),
            local: local_uids(Some(1)).chain(all_new()).collect(),
        });
    }

    if let Some(date) = w.local_startdate {
        let cutoff = local_midnight(date);
        let path = start_uid_path(shared, &shared.local_cfg.common.name, &pair.local);
        let recent = select(Some(cutoff), w.maxsize)?;
        let min_uid = match read_start_uid(&path)? {
            Some(m) => m,
            None => {
                if !remote_snap.uids.is_empty() {
                    return Err(must_be_empty(
                        &shared.local_cfg.common.name,
                        &shared.remote_cfg.common.name,
                        &pair.remote_name,
                    ));
                }
                let m = recent
                    .iter()
                    .filter_map(|id| match id {
                        MsgRef::Uid(u) => Some(*u),
                        MsgRef::New(_) => None,
                    })
                    .min()
                    .unwrap_or(1);
                write_start_uid(&path, m, shared.fsync)?;
                m
            }
        };
        // Messages without a UID are always judged by their date: with
        // OfflineIMAP, the old ones would go up at the second sync.
        let local_inside = local_uids(Some(min_uid))
            .chain(
                recent
                    .iter()
                    .filter(|id| matches!(id, MsgRef::New(_)))
                    .copied(),
            )
            .collect();
        return Ok(Inside {
            remote: all_remote(1),
            local: local_inside,
        });
    }

    // maxsize alone.
    Ok(Inside {
        remote: all_remote(1),
        local: local_uids(Some(1)).chain(all_new()).collect(),
    })
}

/// Seconds since the epoch of midnight, local time, starting `date`.
fn local_midnight(date: chrono::NaiveDate) -> i64 {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    midnight
        .and_local_timezone(chrono::Local)
        .earliest()
        .map_or_else(|| midnight.and_utc().timestamp(), |t| t.timestamp())
}

/// `<metadata>/Repository-<R>/StartUID/<folder basename>`.
fn start_uid_path(shared: &Shared, repository: &str, folder: &str) -> PathBuf {
    status::paths::repository_dir(&shared.metadata, repository)
        .join("StartUID")
        .join(status::paths::folder_basename(folder))
}

/// The saved threshold: a decimal UID and a newline, like FolderValidity.
fn read_start_uid(path: &std::path::Path) -> Result<Option<Uid>, StoreError> {
    status::validity::read_validity(path)
        .map_err(|e| StoreError::with_source(ErrorKind::Folder, format!("StartUID: {e}"), e))
}

fn write_start_uid(path: &std::path::Path, uid: Uid, fsync: bool) -> Result<(), StoreError> {
    status::validity::write_validity(path, uid, fsync)
        .map_err(|e| StoreError::with_source(ErrorKind::Folder, format!("StartUID: {e}"), e))
}

fn must_be_empty(partial: &str, other: &str, folder: &str) -> StoreError {
    StoreError::new(
        ErrorKind::Folder,
        format!(
            "To use startdate on Repository {partial}, Repository {other} must be empty \
             (its folder '{folder}' has messages; remove startdate or empty the folder)"
        ),
    )
}
