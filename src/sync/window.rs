//! The sync window (`maxage`, `maxsize`, `startdate`): which messages a
//! folder sync considers at all, and the snapshots the planner then sees.
//!
//! Pure, like the planner: the stores say which of their messages are
//! inside the window ([`Inside`]); [`restrict`] hides from the planner every
//! UID that either side holds outside its window, so `plan` never copies,
//! deletes or reflags it. The status keeps such a UID, and the planner
//! forgets it (both lists lack it), as OfflineIMAP forgets rows of
//! messages it no longer tracks: if the window later widens, the message
//! is matched or copied again, never deleted because of a row left from
//! long ago.

use std::collections::BTreeSet;

use super::model::{MsgRef, Snapshot, StatusSnapshot, Uid};

/// Which messages of one folder pair are inside the window, per side.
/// Only messages a snapshot lists are looked up; anything else may be in
/// the sets or not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inside {
    /// Server UIDs inside the window.
    pub remote: BTreeSet<Uid>,
    /// Maildir messages inside the window: by UID, and by [`MsgRef::New`]
    /// for those without one.
    pub local: BTreeSet<MsgRef>,
}

/// The three lists the planner is given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restricted {
    pub remote: Snapshot,
    pub local: Snapshot,
    pub status: StatusSnapshot,
}

/// Hide from the planner what is outside the window.
///
/// A UID stays visible only if every side holding it holds it inside its
/// window; otherwise neither side shows it. A side that does not hold a
/// UID has no say: it really lacks the message (the snapshots are full
/// listings), so a deletion there still propagates when the other side
/// holds the message inside its window. Hiding the UID on both sides (not
/// only on the side where it is outside) matters when the sides disagree,
/// e.g. `maxsize` with a message whose Maildir file (LF line ends) is
/// under the limit while the server's copy (CRLF) is over it: shown on one
/// side only, it would look deleted on the other.
///
/// Maildir messages without a UID outside the window are left out (not
/// uploaded). The status is passed through unchanged.
pub fn restrict(
    remote: &Snapshot,
    local: &Snapshot,
    status: &StatusSnapshot,
    inside: &Inside,
) -> Restricted {
    let outside = |uid: &Uid| {
        (remote.uids.contains_key(uid) && !inside.remote.contains(uid))
            || (local.uids.contains_key(uid) && !inside.local.contains(&MsgRef::Uid(*uid)))
    };
    let keep = |snap: &Snapshot| {
        snap.uids
            .iter()
            .filter(|(uid, _)| !outside(uid))
            .map(|(uid, meta)| (*uid, *meta))
            .collect()
    };
    Restricted {
        remote: Snapshot {
            uids: keep(remote),
            new: Vec::new(),
        },
        local: Snapshot {
            uids: keep(local),
            new: local
                .new
                .iter()
                .filter(|n| inside.local.contains(&MsgRef::New(n.id)))
                .cloned()
                .collect(),
        },
        status: status.clone(),
    }
}

#[cfg(test)]
mod tests;
