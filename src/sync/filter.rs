//! `copy_ignore_eval`: server messages the user never wants downloaded,
//! hidden from the planner before it runs.
//!
//! As in OfflineIMAP, only copies are concerned: a UID is left out only
//! while it is a candidate for download (the status does not know it).
//! A message already synced keeps its flag and deletion passes. A UID the
//! Maildir already holds is not left out either: the planner records it
//! (hiding it would make it look like a new local message to upload).

use super::model::{Snapshot, StatusSnapshot, Uid};

/// Removes from `remote` the UIDs of `ignore` that would otherwise be
/// downloaded; returns them, in UID order.
pub fn ignore_downloads(
    remote: &mut Snapshot,
    local: &Snapshot,
    status: &StatusSnapshot,
    ignore: &[Uid],
) -> Vec<Uid> {
    let mut gone: Vec<Uid> = ignore
        .iter()
        .copied()
        .filter(|u| {
            remote.uids.contains_key(u) && !status.contains_key(u) && !local.uids.contains_key(u)
        })
        .collect();
    gone.sort_unstable();
    gone.dedup();
    for u in &gone {
        remote.uids.remove(u);
    }
    gone
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::model::{Flags, MessageMeta};
    use crate::sync::plan::{Action, PlanOptions, plan};

    fn snap(uids: &[Uid]) -> Snapshot {
        Snapshot {
            uids: uids
                .iter()
                .map(|u| {
                    (
                        *u,
                        MessageMeta {
                            flags: Flags::EMPTY,
                            size: 10,
                        },
                    )
                })
                .collect(),
            new: Vec::new(),
        }
    }

    fn status(uids: &[Uid], flags: &str) -> StatusSnapshot {
        uids.iter()
            .map(|u| (*u, Flags::from_letters(flags)))
            .collect()
    }

    #[test]
    fn only_new_server_messages_are_left_out() {
        // 1, 2 synced; 3 new on the server; 4 also in the Maildir (status
        // lost); 9 not on the server at all.
        let mut remote = snap(&[1, 2, 3, 4, 5]);
        let local = snap(&[1, 2, 4]);
        let st = status(&[1, 2], "");
        let gone = ignore_downloads(&mut remote, &local, &st, &[9, 3, 1, 4, 3]);
        assert_eq!(gone, vec![3]);
        assert_eq!(
            remote.uids.keys().copied().collect::<Vec<_>>(),
            vec![1, 2, 4, 5]
        );
    }

    #[test]
    fn synced_messages_keep_their_deletions_and_flags() {
        // 1 was synced and deleted locally; 2 was synced and flagged on
        // the server. Ignoring both changes nothing of the plan.
        let mut remote = snap(&[1, 2, 3]);
        remote
            .uids
            .entry(2)
            .and_modify(|m| m.flags = Flags::from_letters("F"));
        let local = snap(&[2]);
        let st = status(&[1, 2], "");
        let before = plan(&remote, &local, &st, &PlanOptions::default());
        let gone = ignore_downloads(&mut remote, &local, &st, &[1, 2]);
        assert!(gone.is_empty());
        assert_eq!(plan(&remote, &local, &st, &PlanOptions::default()), before);

        // Ignoring 3 drops exactly its download.
        let gone = ignore_downloads(&mut remote, &local, &st, &[3]);
        assert_eq!(gone, vec![3]);
        let after = plan(&remote, &local, &st, &PlanOptions::default());
        let downloads = |p: &crate::sync::plan::Plan| {
            p.iter()
                .filter(|a| matches!(a, Action::Download { .. }))
                .count()
        };
        assert_eq!(downloads(&before), 1);
        assert_eq!(downloads(&after), 0);
        assert_eq!(after.len(), before.len() - 1);
    }
}
