//! The engine's vocabulary: UIDs, flag sets, sides and per-folder snapshots.
//!
//! Everything here is plain data with no I/O, so the planner and its tests can
//! build snapshots by hand.

use std::collections::BTreeMap;
use std::fmt;

/// An IMAP UID. In a Maildir it is the `,U=` number of a file whose `FMD5`
/// matches its folder; the status cache is keyed by it too.
pub type Uid = u32;

/// The two sides of a folder pair, named as OfflineIMAP names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The IMAP server ("remoterepository").
    Remote,
    /// The Maildir ("localrepository").
    Local,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Remote => Side::Local,
            Side::Local => Side::Remote,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Remote => "Remote",
            Side::Local => "Local",
        })
    }
}

/// A set of Maildir flag letters: `D F R S T` plus the lowercase letters that
/// `customflag_x` maps IMAP keywords to. Stored as a bitset so that set
/// arithmetic is cheap and the textual form is always sorted the way
/// OfflineIMAP sorts it (ASCII order: uppercase before lowercase).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Flags(u64);

impl Flags {
    pub const EMPTY: Flags = Flags(0);

    fn bit(letter: char) -> Option<u64> {
        match letter {
            'A'..='Z' => Some(1 << (letter as u32 - 'A' as u32)),
            'a'..='z' => Some(1 << (26 + letter as u32 - 'a' as u32)),
            _ => None,
        }
    }

    /// Parse the letters after `:2,` (or a status cache `flags` column).
    /// Characters that are not ASCII letters are ignored, as OfflineIMAP
    /// ignores them.
    pub fn from_letters(s: &str) -> Flags {
        let mut f = Flags::EMPTY;
        for c in s.chars() {
            f.insert(c);
        }
        f
    }

    pub fn insert(&mut self, letter: char) {
        if let Some(b) = Self::bit(letter) {
            self.0 |= b;
        }
    }

    pub fn remove(&mut self, letter: char) {
        if let Some(b) = Self::bit(letter) {
            self.0 &= !b;
        }
    }

    pub fn contains(self, letter: char) -> bool {
        Self::bit(letter).is_some_and(|b| self.0 & b != 0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    pub fn intersection(self, other: Flags) -> Flags {
        Flags(self.0 & other.0)
    }

    /// Letters in `self` that are not in `other`.
    pub fn difference(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }

    /// The letters in sorted (ASCII) order.
    pub fn letters(self) -> impl Iterator<Item = char> {
        ('A'..='Z')
            .chain('a'..='z')
            .filter(move |c| self.contains(*c))
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.letters() {
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({self})")
    }
}

/// What the planner needs to know about one message on one side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageMeta {
    pub flags: Flags,
    /// Size in bytes as IMAP counts it (CRLF line ends). For a Maildir file
    /// it is the file size, which may be smaller when the file uses LF, or
    /// 0 when not read (a Maildir message with a UID). It is only used to
    /// rule out matches cheaply, never to prove one.
    pub size: u64,
}

/// A local message that has no trusted UID yet: new mail written by a MUA,
/// or a file whose `FMD5` belongs to another folder. OfflineIMAP gives these
/// negative UIDs; we give them an index valid for one snapshot only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub id: NewId,
    pub meta: MessageMeta,
}

/// Index of a [`NewMessage`] inside the snapshot that listed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NewId(pub u32);

/// A message as a store can find it again within one sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MsgRef {
    Uid(Uid),
    New(NewId),
}

impl fmt::Display for MsgRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MsgRef::Uid(u) => write!(f, "{u}"),
            // OfflineIMAP shows new local messages with negative UIDs.
            MsgRef::New(NewId(n)) => write!(f, "-{}", n + 1),
        }
    }
}

/// One side's view of a folder: every message with a UID, plus (Maildir
/// only) the messages that have none yet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub uids: BTreeMap<Uid, MessageMeta>,
    pub new: Vec<NewMessage>,
}

/// The status cache's view of a folder: the flags both sides agreed on at
/// the end of the last sync of each message.
pub type StatusSnapshot = BTreeMap<Uid, Flags>;

/// A message body travelling between stores. Held whole in memory: one
/// message at a time, never a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: MsgRef,
    pub flags: Flags,
    /// Seconds since the epoch: IMAP INTERNALDATE, or the Maildir file's
    /// mtime. `None` lets the receiving side choose.
    pub internal_date: Option<i64>,
    /// The message, with CRLF line ends (IMAP's wire form). Maildir stores
    /// convert to and from LF at their edge. Shared, not owned: a body
    /// fetched over IMAP stays in the buffer it was read into (see
    /// `imap::session::ImapSession::next_with_span`).
    pub bytes: bytes::Bytes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_sort_like_offlineimap() {
        let f = Flags::from_letters("TaSRFD");
        assert_eq!(f.to_string(), "DFRSTa");
    }

    #[test]
    fn flags_set_arithmetic() {
        let a = Flags::from_letters("FS");
        let b = Flags::from_letters("SR");
        assert_eq!(a.difference(b).to_string(), "F");
        assert_eq!(a.union(b).to_string(), "FRS");
        assert_eq!(a.intersection(b).to_string(), "S");
        assert!(Flags::from_letters(",2:").is_empty());
    }

    #[test]
    fn new_refs_display_as_negative_uids() {
        assert_eq!(MsgRef::New(NewId(0)).to_string(), "-1");
        assert_eq!(MsgRef::Uid(7).to_string(), "7");
    }
}
