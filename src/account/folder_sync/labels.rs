//! The Gmail label pass of one folder (`synclabels`), after its messages
//! and flags are synced: server labels into the Maildir files' header,
//! then labels edited in the Maildir onto the server, with the status
//! cache's `labels` and `mtime` columns recording what both agree on.
//! What to change is decided by `sync::labels`; this only gathers the
//! label sets and carries the changes out.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::time::UNIX_EPOCH;

use super::{FolderError, Shared};
use crate::account::folders::FolderPair;
use crate::config::LabelSync;
use crate::event::{Level, WorkerId};
use crate::imap::ImapFolder;
use crate::maildir::labels as files;
use crate::status;
use crate::sync::labels::{self, LabelSet};
use crate::sync::model::Uid;
use crate::sync::store::StatusCache;

fn mtime_of(path: &std::path::Path) -> Result<i64, String> {
    let meta = fs::metadata(path).map_err(|e| format!("{}: cannot stat: {e}", path.display()))?;
    Ok(meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
}

fn shown(labels: &LabelSet) -> String {
    labels.iter().cloned().collect::<Vec<_>>().join(", ")
}

pub(super) async fn sync_labels(
    shared: &Shared,
    remote: &mut ImapFolder,
    pair: &FolderPair,
    me: WorkerId,
    rules: &LabelSync,
) -> Result<(), FolderError> {
    let rep = &shared.rep;
    let folder_err = |e: crate::maildir::Error| FolderError::from(e.to_string());
    let mut maildir = shared
        .local_repo
        .open_folder_as(&pair.local, &pair.local_visible)
        .map_err(folder_err)?;
    let local_uids: BTreeSet<Uid> = maildir
        .scan()
        .map_err(folder_err)?
        .uids
        .into_keys()
        .collect();
    let db_path =
        status::paths::status_db_path(&shared.metadata, &shared.account_name, &pair.status);
    let mut db = status::SqliteStatus::open(&db_path, shared.fsync).map_err(|e| e.to_string())?;
    let known = db.labels().map_err(|e| e.to_string())?;
    let on_server = remote.gmail_labels().await?;
    let server_uids: BTreeSet<Uid> = on_server.keys().copied().collect();
    let local_name = &shared.local_cfg.common.name;
    let remote_name = &shared.remote_cfg.common.name;

    // Server to Maildir.
    let mut rewritten = BTreeSet::new();
    if !shared.local_cfg.common.readonly {
        let changes = labels::remote_changes(&on_server, &local_uids, &known, &rules.ignore);
        for (uid, wanted) in changes {
            if shared.cancel.is_cancelled() {
                break;
            }
            let Some(path) = maildir.file_of(uid).map_err(folder_err)? else {
                continue;
            };
            rep.log(
                Some(me),
                Level::Info,
                format!(
                    "Setting labels [{}] on message UID {uid} in {local_name}:{}",
                    shown(&wanted),
                    pair.local
                ),
            );
            let done = files::rewrite(
                maildir.root(),
                &path,
                &rules.header,
                &wanted,
                &rules.ignore,
                shared.local_cfg.utime_from_header,
                shared.fsync,
            )
            .map_err(folder_err)?;
            db.set_labels(uid, &wanted, Some(done.mtime))
                .map_err(|e| e.to_string())?;
            rewritten.insert(uid);
        }
    }

    // Maildir to server: only files changed since their labels were last
    // synced are read.
    let mut mtimes = BTreeMap::new();
    let mut paths = BTreeMap::new();
    for &uid in local_uids.intersection(&server_uids) {
        if let Some(path) = maildir.file_of(uid).map_err(folder_err)? {
            mtimes.insert(uid, mtime_of(&path)?);
            paths.insert(uid, path);
        }
    }
    let candidates = labels::local_candidates(&mtimes, &server_uids, &known, &rewritten);
    let mut read = BTreeMap::new();
    for uid in &candidates {
        if let Some(path) = paths.get(uid) {
            let bytes =
                fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
            read.insert(*uid, files::labels_of(&bytes, &rules.header));
        }
    }
    let stores = labels::local_changes(&read, &known, &rules.ignore);
    if !stores.is_empty() && shared.remote_cfg.common.readonly {
        rep.log(
            Some(me),
            Level::Warning,
            format!(
                "labels changed in {local_name}:{} are not stored: {remote_name} is read-only",
                pair.local
            ),
        );
        db.commit()?;
        return Ok(());
    }
    for (label, uids) in &stores.add {
        rep.log(
            Some(me),
            Level::Info,
            format!(
                "Adding label {label} to {} message(s) on {remote_name}:{}",
                uids.len(),
                pair.remote_name
            ),
        );
        remote.store_gmail_label(uids, true, label).await?;
    }
    for (label, uids) in &stores.remove {
        rep.log(
            Some(me),
            Level::Info,
            format!(
                "Deleting label {label} from {} message(s) on {remote_name}:{}",
                uids.len(),
                pair.remote_name
            ),
        );
        remote.store_gmail_label(uids, false, label).await?;
    }
    let empty = LabelSet::new();
    for uid in &candidates {
        let before = known.get(uid).map_or(&empty, |s| &s.labels);
        let after = labels::after_stores(before, *uid, &stores);
        let mtime = mtimes.get(uid).copied();
        db.set_labels(*uid, &after, mtime)
            .map_err(|e| e.to_string())?;
    }
    db.commit()?;
    Ok(())
}
