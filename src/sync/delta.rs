//! What the server changed in a folder since a state the status cache was
//! proven to equal (its HIGHESTMODSEQ and UIDNEXT then), as a QRESYNC
//! SELECT reports it: the messages whose flags changed or that are new,
//! and the UIDs expunged. Held for the whole folder, it costs memory in
//! proportion to the changes; the server's listing of any UID range is
//! then the status rows of that range with the delta applied, so a folder
//! synced range by range (`sync::chunk`) needs no listing of its own.
//! Pure: no I/O.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use super::model::{MessageMeta, Snapshot, StatusSnapshot, Uid};

/// The size given to messages known only from the status cache: sizes
/// serve only the pairing of messages without a UID, which looks at
/// server messages missing from the status cache, and those all come
/// with their real size.
pub const UNKNOWN_SIZE: u64 = u64::MAX;

/// One change, in the order the server reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reported {
    /// A message's flags (and, for a new one, its size when known).
    Fetch { uid: Uid, meta: MessageMeta },
    /// UIDs expunged (ranges as the server wrote them, either way round).
    Vanished(Vec<RangeInclusive<Uid>>),
}

/// The changes since the proven state (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    /// UIDNEXT of the proven state: UIDs from here on are new messages.
    pub old_uidnext: Uid,
    /// Every message changed or added since, as it is now.
    pub changed: BTreeMap<Uid, MessageMeta>,
    /// Expunged since, as sorted, disjoint, non-adjacent ranges.
    vanished: Vec<(Uid, Uid)>,
}

impl Delta {
    /// The delta of `reports`, applied in order: a later FETCH replaces an
    /// earlier one's flags (keeping a size already known), VANISHED
    /// removes what came before it.
    pub fn from_reports(old_uidnext: Uid, reports: impl IntoIterator<Item = Reported>) -> Delta {
        let mut changed: BTreeMap<Uid, MessageMeta> = BTreeMap::new();
        let mut vanished: Vec<(Uid, Uid)> = Vec::new();
        for r in reports {
            match r {
                Reported::Fetch { uid, meta } => {
                    let size = if meta.size == UNKNOWN_SIZE {
                        changed.get(&uid).map_or(UNKNOWN_SIZE, |m| m.size)
                    } else {
                        meta.size
                    };
                    changed.insert(
                        uid,
                        MessageMeta {
                            flags: meta.flags,
                            size,
                        },
                    );
                }
                Reported::Vanished(ranges) => {
                    for r in ranges {
                        let (lo, hi) = ((*r.start()).min(*r.end()), (*r.start()).max(*r.end()));
                        let gone: Vec<Uid> = changed.range(lo..=hi).map(|(u, _)| *u).collect();
                        for u in gone {
                            changed.remove(&u);
                        }
                        vanished.push((lo, hi));
                    }
                }
            }
        }
        Delta {
            old_uidnext,
            changed,
            vanished: merged(vanished),
        }
    }

    /// Whether `uid` was expunged since the proven state.
    pub fn is_vanished(&self, uid: Uid) -> bool {
        let i = self.vanished.partition_point(|(_, hi)| *hi < uid);
        self.vanished.get(i).is_some_and(|(lo, _)| *lo <= uid)
    }

    /// The expunged UID ranges, ascending.
    pub fn vanished(&self) -> &[(Uid, Uid)] {
        &self.vanished
    }

    /// The UIDs of new messages still there, ascending.
    pub fn new_uids(&self) -> Vec<Uid> {
        self.changed
            .range(self.old_uidnext..)
            .map(|(u, _)| *u)
            .collect()
    }

    /// The changed messages that are not new: the status cache must hold
    /// every one, or the server was not what it says.
    pub fn old_changed(&self) -> impl Iterator<Item = Uid> + '_ {
        self.changed.range(..self.old_uidnext).map(|(u, _)| *u)
    }

    /// Whether every new message came with its size (the listing must
    /// give sizes for messages the status cache lacks).
    pub fn sizes_known(&self) -> bool {
        self.changed
            .range(self.old_uidnext..)
            .all(|(_, m)| m.size != UNKNOWN_SIZE)
    }

    /// The server's listing of `lo..=hi`: `base`'s rows of that range (the
    /// status cache as proven) less the expunged, with the changed and the
    /// new messages of the range as they are now.
    pub fn listing(&self, base: &StatusSnapshot, lo: Uid, hi: Uid) -> Snapshot {
        let mut uids: BTreeMap<Uid, MessageMeta> = base
            .range(lo..=hi)
            .filter(|(u, _)| !self.is_vanished(**u))
            .map(|(u, f)| {
                (
                    *u,
                    MessageMeta {
                        flags: *f,
                        size: UNKNOWN_SIZE,
                    },
                )
            })
            .collect();
        for (u, m) in self.changed.range(lo..=hi) {
            uids.insert(*u, *m);
        }
        Snapshot {
            uids,
            new: Vec::new(),
        }
    }
}

/// The three lists of a sync restricted to the messages `delta` touches,
/// for a Maildir proven to hold exactly the status cache (its local stamp,
/// `status::modseq::local_stamp`). `status` is the status cache's rows of
/// the touched messages: every changed old one and every expunged one it
/// holds. Each other message is the same in all three lists, and the
/// planner, which decides message by message, plans nothing for it; so
/// the plan of these lists is the plan of the whole folder, at the cost
/// of the changes instead of the folder.
pub fn touched(delta: &Delta, status: StatusSnapshot) -> (Snapshot, Snapshot, StatusSnapshot) {
    let remote = Snapshot {
        uids: delta.changed.clone(),
        new: Vec::new(),
    };
    // Size 0, as a Maildir scan gives a message with a UID.
    let local = Snapshot {
        uids: status
            .iter()
            .map(|(u, f)| (*u, MessageMeta { flags: *f, size: 0 }))
            .collect(),
        new: Vec::new(),
    };
    (remote, local, status)
}

/// `ranges` sorted and merged where they overlap or touch.
fn merged(mut ranges: Vec<(Uid, Uid)>) -> Vec<(Uid, Uid)> {
    ranges.sort_unstable();
    let mut out: Vec<(Uid, Uid)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

#[cfg(test)]
mod tests;
