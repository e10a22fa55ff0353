//! A selected IMAP folder as a [`Store`]: snapshot, streamed fetch,
//! APPEND with UID discovery, flag changes and deletion.
//!
//! Deletion expunges only if `expunge` is on, and then only the UIDs it was
//! given when the server has UIDPLUS; messages another client flagged
//! `\Deleted` stay where they are. Without UIDPLUS a plain EXPUNGE runs.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

mod labels;

use async_imap::imap_proto::{MailboxDatum, Response, StatusAttribute};
use async_trait::async_trait;

use super::error::{Error, ErrorKind};
use super::keywords::{self, KeywordMap};
use super::session::{self, Change, FetchItem, ImapSession, Selected};
use super::wire;
use crate::sync::delta::{Delta, Reported, UNKNOWN_SIZE};
use crate::sync::model::{Flags, Message, MessageMeta, MsgRef, Snapshot, StatusSnapshot, Uid};
use crate::sync::store::{
    ErrorKind as StoreKind, FlagChange, MessageSink, Pieces, Store, StoreError, WriteOutcomes,
};

/// How to open a folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FolderOptions {
    /// EXAMINE instead of SELECT; every change is refused.
    pub readonly: bool,
    /// The repository's `expunge` option: `false` leaves deleted messages
    /// on the server, flagged `\Deleted`.
    pub expunge: bool,
}

impl Default for FolderOptions {
    fn default() -> Self {
        FolderOptions {
            readonly: false,
            expunge: true,
        }
    }
}

/// A body larger than this (its RFC822.SIZE as listed) is fetched in
/// pieces of this size, `UID FETCH <uid> BODY.PEEK[]<offset.PIECE>`, each
/// written out before the next is read: a connection then holds one piece
/// in memory (and [`PIECES_IN_FLIGHT`] in its socket), whatever the
/// attachment's size. Whole, a 25 MB message took 25 MB of read buffer per
/// connection (async-imap reads a literal whole). Not smaller: each piece
/// is a command for the server, and pieces of 256 KiB made an initial sync
/// of the bench's medium corpus (362 messages above 256 KB, none above
/// 1 MiB) cost Dovecot 0.2 s more CPU and the run 0.1-0.2 s more wall time
/// for 0.5 MiB less peak RSS (docs/performance.md).
pub const PIECE: u32 = 1024 * 1024;

/// Piece FETCHes of one message sent ahead of the one being read, so that
/// pieces cost no round trip each.
const PIECES_IN_FLIGHT: usize = 4;

/// A folder's state as [`ImapFolder::settle_since`] proved it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settled {
    pub uidnext: u32,
    pub highest_modseq: u64,
    pub exists: u32,
    pub uids: BTreeMap<Uid, Flags>,
}

/// What the server says changed after a mod-sequence, with its state
/// now ([`ImapFolder::changes_after`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangesAfter {
    /// STATUS's UIDNEXT, MESSAGES and HIGHESTMODSEQ.
    pub uidnext: u32,
    pub messages: u32,
    pub highest_modseq: u64,
    /// Every message added or re-flagged after the mod-sequence: UID,
    /// flags, MODSEQ.
    pub changed: Vec<(Uid, Flags, Option<u64>)>,
}

/// A selected folder that owns its connection while it is synced.
#[derive(Debug)]
pub struct ImapFolder {
    session: ImapSession,
    name: String,
    state: Selected,
    options: FolderOptions,
    /// `filterheaders`: fields left out of every APPEND.
    filterheaders: Vec<String>,
    /// `customflag_x`: keywords as Maildir letters.
    keywords: KeywordMap,
    /// Keywords seen on messages that no `customflag_x` names.
    unknown_keywords: BTreeSet<String>,
    /// Messages listed with an RFC822.SIZE above [`PIECE`], and that
    /// size: their bodies are fetched in pieces.
    big: HashMap<Uid, u32>,
}

impl ImapFolder {
    pub(crate) fn new(
        session: ImapSession,
        name: String,
        state: Selected,
        options: FolderOptions,
    ) -> Self {
        ImapFolder {
            session,
            name,
            state,
            options,
            filterheaders: Vec::new(),
            keywords: KeywordMap::default(),
            unknown_keywords: BTreeSet::new(),
            big: HashMap::new(),
        }
    }

    /// The Maildir side's `customflag_x` mapping: keywords read from the
    /// server come back as these letters, and the letters go up as these
    /// keywords.
    pub fn set_keywords(&mut self, map: KeywordMap) {
        self.keywords = map;
    }

    /// Keywords met so far that no letter maps, emptied by the call (for
    /// one warning per folder).
    pub fn take_unknown_keywords(&mut self) -> Vec<String> {
        std::mem::take(&mut self.unknown_keywords)
            .into_iter()
            .collect()
    }

    /// Header fields (`filterheaders`) to leave out of the messages this
    /// folder uploads; the message given to `append` is not changed.
    pub fn set_filterheaders(&mut self, names: Vec<String>) {
        self.filterheaders = names;
    }

    /// The folder's UTF-8 name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn uidvalidity(&self) -> u32 {
        self.state.uidvalidity
    }

    /// UIDNEXT from SELECT, if the server sent it.
    pub fn uidnext(&self) -> Option<u32> {
        self.state.uidnext
    }

    /// HIGHESTMODSEQ from SELECT/EXAMINE: `Some` only when the server
    /// offers CONDSTORE and keeps mod-sequences for this folder.
    pub fn highest_modseq(&self) -> Option<u64> {
        self.state.highest_modseq
    }

    /// The message count the SELECT answer reported (unlike [`Self::exists`],
    /// not moved by later EXISTS/EXPUNGE responses).
    pub fn exists_at_select(&self) -> u32 {
        self.state.exists_at_select
    }

    /// What a QRESYNC SELECT for this very state (HIGHESTMODSEQ `since`,
    /// UIDNEXT `old_uidnext`) reported changed: flags as this folder reads
    /// them (keywords mapped), sizes of new messages. `None` without such
    /// an answer, or when a FETCH lacks its UID (which message changed is
    /// then unknown); one without flags says nothing and is left out.
    /// Whether it fits
    /// the status cache is the caller's to check (see `sync::delta`).
    pub fn take_delta(&mut self, since: u64, old_uidnext: u32) -> Option<Delta> {
        let answer = self.state.qresync.take()?;
        let fits = answer.known.highest_modseq == since
            && answer.known.uidnext == old_uidnext
            && answer.known.uidvalidity == self.state.uidvalidity
            && self.state.highest_modseq.is_some();
        if !fits {
            return None;
        }
        let mut reports = Vec::with_capacity(answer.changes.len());
        for change in answer.changes {
            match change {
                Change::Fetch(item) => {
                    let flags = full_flags(&item, &self.keywords, &mut self.unknown_keywords);
                    // A FETCH without flags (an unsolicited one, say)
                    // says nothing about the message's state.
                    let uid = item.uid?;
                    let Some(flags) = flags else {
                        continue;
                    };
                    if let Some(size) = item.size {
                        note_size(&mut self.big, uid, size);
                    }
                    let size = item.size.map_or(UNKNOWN_SIZE, u64::from);
                    reports.push(Reported::Fetch {
                        uid,
                        meta: MessageMeta { flags, size },
                    });
                }
                Change::Vanished(ranges) => reports.push(Reported::Vanished(ranges)),
            }
        }
        Some(Delta::from_reports(old_uidnext, reports))
    }

    /// The server's listing, built from `base` (the status cache, which
    /// the server was proven to equal when its HIGHESTMODSEQ was `since`
    /// and its UIDNEXT `old_uidnext`) and what changed after: `UID FETCH
    /// 1:* (UID FLAGS RFC822.SIZE) (CHANGEDSINCE since)` gives every
    /// message added or re-flagged since; when the message count then says
    /// some are gone, `UID SEARCH UID 1:<old_uidnext - 1>` tells which old
    /// ones are left. A 1 % change costs a few hundred bytes instead of a
    /// line per message. `None` when the answers do not add up (another
    /// client at work meanwhile, say): the caller lists the folder in full.
    /// Messages known only from `base` have the size `u64::MAX`; sizes
    /// only serve pairing, which looks at messages missing from the status
    /// cache, and those all come with their real size.
    ///
    /// When the folder was opened with QRESYNC for this very state (see
    /// [`ImapSession::select_folder_known`]), the SELECT's answer already
    /// said what changed and what vanished: no command is sent.
    pub async fn snapshot_since(
        &mut self,
        base: &StatusSnapshot,
        since: u64,
        old_uidnext: u32,
    ) -> Result<Option<Snapshot>, StoreError> {
        if self.state.highest_modseq.is_none() || base.keys().any(|u| *u >= old_uidnext) {
            return Ok(None);
        }
        if let Some(delta) = self.take_delta(since, old_uidnext)
            && let Some(snap) = self.listing_from_delta(base, &delta)
        {
            return Ok(Some(snap));
        }
        let mut uids: BTreeMap<Uid, MessageMeta> = base
            .iter()
            .map(|(u, f)| {
                (
                    *u,
                    MessageMeta {
                        flags: *f,
                        size: u64::MAX,
                    },
                )
            })
            .collect();
        let mut odd = false;
        if self.session.exists > 0 {
            let command = self.command("UID FETCH");
            let line = format!("UID FETCH 1:* (UID FLAGS RFC822.SIZE) (CHANGEDSINCE {since})");
            self.session
                .run(&command, &line, &mut |r| {
                    if let Some((uid, meta)) =
                        listed(r, &self.keywords, &mut self.unknown_keywords, &mut self.big)
                    {
                        // An old UID the status cache lacks: the server
                        // was not what `base` says.
                        odd |= uid < old_uidnext && !base.contains_key(&uid);
                        uids.insert(uid, meta);
                    }
                })
                .await?;
        }
        if odd {
            return Ok(None);
        }
        let exists = self.session.exists as usize;
        if uids.len() != exists && old_uidnext > 1 {
            // Some old messages are gone: which are left?
            let mut left = HashSet::new();
            if exists > 0 {
                let command = self.command("UID SEARCH");
                let line = format!("UID SEARCH UID 1:{}", old_uidnext - 1);
                self.session
                    .run(&command, &line, &mut |r| {
                        if let Response::MailboxData(MailboxDatum::Search(found)) = r {
                            left.extend(found.iter().copied());
                        }
                    })
                    .await?;
            }
            uids.retain(|u, _| *u >= old_uidnext || left.contains(u));
        }
        if uids.len() != exists {
            return Ok(None);
        }
        Ok(Some(Snapshot {
            uids,
            new: Vec::new(),
        }))
    }

    /// `base` with what a QRESYNC SELECT reported applied (see
    /// `sync::delta`). `None` when the result does not add up: an old UID
    /// the status cache lacks, a new message without a size, or a count
    /// other than the server's.
    fn listing_from_delta(&self, base: &StatusSnapshot, delta: &Delta) -> Option<Snapshot> {
        if delta.old_changed().any(|u| !base.contains_key(&u)) || !delta.sizes_known() {
            return None;
        }
        let snap = delta.listing(base, 1, Uid::MAX);
        (snap.uids.len() == self.session.exists as usize).then_some(snap)
    }

    /// The server's state of this folder right now, proven to be
    /// `expected`, after our own changes: `base` is the listing the
    /// changes were planned from, taken when HIGHESTMODSEQ was `since`.
    /// `STATUS` gives UIDNEXT, MESSAGES and HIGHESTMODSEQ; `UID FETCH 1:*
    /// (UID FLAGS MODSEQ) (CHANGEDSINCE since)` every message added or
    /// re-flagged after the listing (each no later than STATUS's
    /// HIGHESTMODSEQ, or something changed after STATUS); messages of the
    /// listing that `expected` lacks must be gone (`UID SEARCH UID` of
    /// them finds none); and the count must be STATUS's. `None` when that
    /// cannot be shown (no CONDSTORE, a change by someone else meanwhile).
    pub async fn settle_since(
        &mut self,
        base: &StatusSnapshot,
        since: u64,
        expected: &StatusSnapshot,
    ) -> Result<Option<Settled>, StoreError> {
        // What the status cache no longer has must be gone from the server.
        let gone: Vec<Uid> = base
            .keys()
            .filter(|u| !expected.contains_key(u))
            .copied()
            .collect();
        let Some(after) = self.changes_after(since, &gone).await? else {
            return Ok(None);
        };
        let mut uids = base.clone();
        for (uid, flags, m) in after.changed {
            match m {
                Some(m) if m <= after.highest_modseq => {
                    uids.insert(uid, flags);
                }
                // Changed after STATUS (or no MODSEQ): not provable now.
                _ => return Ok(None),
            }
        }
        uids.retain(|u, _| expected.contains_key(u));
        if uids.len() != after.messages as usize
            || uids != *expected
            || uids.keys().any(|u| *u >= after.uidnext)
        {
            return Ok(None);
        }
        Ok(Some(Settled {
            uidnext: after.uidnext,
            highest_modseq: after.highest_modseq,
            exists: after.messages,
            uids,
        }))
    }

    /// In one round trip: `STATUS (UIDNEXT MESSAGES HIGHESTMODSEQ)`, `UID
    /// FETCH 1:* (UID FLAGS MODSEQ) (CHANGEDSINCE since)` and `UID SEARCH
    /// UID` of `gone`. The server answers in order, so the FETCH shows no
    /// change older than the STATUS it follows. `None` without CONDSTORE,
    /// when a command is refused, when STATUS lacks an item, or when some
    /// of `gone` is still there.
    pub async fn changes_after(
        &mut self,
        since: u64,
        gone: &[Uid],
    ) -> Result<Option<ChangesAfter>, StoreError> {
        if self.state.highest_modseq.is_none() {
            return Ok(None);
        }
        let command = self.command("STATUS");
        let mailbox = wire::quote(&self.state.wire_name).ok_or_else(|| {
            self.session.error(
                &command,
                ErrorKind::Name("folder name cannot be quoted".into()),
            )
        })?;
        let mut lines = vec![
            format!("STATUS {mailbox} (UIDNEXT MESSAGES HIGHESTMODSEQ)"),
            format!("UID FETCH 1:* (UID FLAGS MODSEQ) (CHANGEDSINCE {since})"),
        ];
        lines.extend(
            wire::uid_sets(gone, wire::MAX_SET_LEN)
                .into_iter()
                .map(|set| format!("UID SEARCH UID {set}")),
        );
        let (mut uidnext, mut messages, mut modseq) = (None, None, None);
        let mut changed: Vec<(Uid, Flags, Option<u64>)> = Vec::new();
        let mut still = false;
        let done = self
            .session
            .run_pipelined(&command, &lines, &mut |r| match r {
                Response::MailboxData(MailboxDatum::Status { status, .. }) => {
                    for a in status {
                        match a {
                            StatusAttribute::UidNext(n) => uidnext = Some(*n),
                            StatusAttribute::Messages(n) => messages = Some(*n),
                            StatusAttribute::HighestModSeq(m) => modseq = Some(*m),
                            _ => {}
                        }
                    }
                }
                Response::Fetch(_, attrs) => {
                    let item = FetchItem::from_attrs(attrs, &[]);
                    // Unsolicited partial FETCHes lack UID or flags; the
                    // solicited one for the same message follows.
                    let flags = full_flags(&item, &self.keywords, &mut self.unknown_keywords);
                    if let (Some(uid), Some(flags)) = (item.uid, flags) {
                        changed.push((uid, flags, item.modseq));
                    }
                }
                Response::MailboxData(MailboxDatum::Search(found)) => {
                    still |= !found.is_empty();
                }
                _ => {}
            })
            .await?;
        let (Some(uidnext), Some(messages), Some(highest_modseq)) = (uidnext, messages, modseq)
        else {
            return Ok(None);
        };
        // A refused STATUS or SEARCH proves nothing; a refused FETCH only
        // when there are messages to fetch.
        let refused = |i: usize| done.get(i).is_none_or(|d| d.is_err());
        if refused(0) || (refused(1) && messages > 0) || (2..lines.len()).any(refused) || still {
            return Ok(None);
        }
        Ok(Some(ChangesAfter {
            uidnext,
            messages,
            highest_modseq,
            changed,
        }))
    }

    /// The folder's state as the SELECT answer gave it, when `listed` (the
    /// server's listing this sync planned from) is exactly what the status
    /// cache now holds: then the sync changed nothing on the server, and
    /// the SELECT's HIGHESTMODSEQ, UIDNEXT and EXISTS describe the status
    /// cache without the round trip of [`Self::settle_since`]. A change
    /// that raced the listing only makes the next sync list again: its
    /// mod-sequence is above the one recorded here.
    pub fn settled_at_select(
        &self,
        listed: &StatusSnapshot,
        expected: &StatusSnapshot,
    ) -> Option<Settled> {
        let highest_modseq = self.state.highest_modseq?;
        let uidnext = self.state.uidnext?;
        let exists = self.state.exists_at_select;
        let consistent = listed == expected
            && listed.len() == exists as usize
            && listed.keys().all(|u| *u < uidnext);
        consistent.then(|| Settled {
            uidnext,
            highest_modseq,
            exists,
            uids: listed.clone(),
        })
    }

    /// The current message count (kept up to date from EXISTS/EXPUNGE).
    pub fn exists(&self) -> u32 {
        self.session.exists
    }

    /// Whether the server opened the folder read-only.
    pub fn is_read_only(&self) -> bool {
        self.state.read_only
    }

    /// Give the connection back, e.g. to select the next folder.
    pub fn into_session(self) -> ImapSession {
        self.session
    }

    fn command(&self, verb: &str) -> String {
        format!("{verb} in {}", self.name)
    }

    fn check_writable(&self, verb: &str) -> Result<(), StoreError> {
        if self.state.read_only {
            let e = self.session.error(
                &self.command(verb),
                ErrorKind::Unsupported("folder is open read-only".into()),
            );
            return Err(e.into_store_error(StoreKind::Folder));
        }
        Ok(())
    }

    async fn store_flags(&mut self, uids: &[Uid], sign: char, flags: &str) -> Result<(), Error> {
        let lines = store_lines(uids, sign, flags);
        self.pipelined(&[("UID STORE", lines)]).await
    }

    /// Send the commands of every group (a command name and its lines)
    /// before reading any answer, so that all cost one round trip; the
    /// first refused command is the error, named after its group. The
    /// server carries the commands out in order whatever it answers, so a
    /// group is only pipelined behind another whose refusal cannot make it
    /// do harm.
    async fn pipelined(&mut self, groups: &[(&str, Vec<String>)]) -> Result<(), Error> {
        let lines: Vec<String> = groups.iter().flat_map(|(_, l)| l.iter().cloned()).collect();
        if lines.is_empty() {
            return Ok(());
        }
        let command = self.command(groups.first().map_or("", |(c, _)| c));
        let done = self
            .session
            .run_pipelined(&command, &lines, &mut |_| {})
            .await?;
        let mut outcomes = done.into_iter();
        for (name, group) in groups {
            for _ in group {
                if let Some(Err(kind)) = outcomes.next() {
                    return Err(self.session.error(&self.command(name), kind));
                }
            }
        }
        Ok(())
    }

    /// Find the UID of a message we uploaded with a marker header.
    async fn search_marker(&mut self, value: &str) -> Result<Option<Uid>, Error> {
        let command = self.command("UID SEARCH");
        let Some(quoted) = wire::quote(value) else {
            return Ok(None);
        };
        let line = format!("UID SEARCH HEADER {} {quoted}", wire::MARKER_HEADER);
        let mut hits = Vec::new();
        self.session
            .run(&command, &line, &mut |r| {
                if let Response::MailboxData(MailboxDatum::Search(uids)) = r {
                    hits.extend_from_slice(uids);
                }
            })
            .await?;
        Ok(match hits.as_slice() {
            [uid] => Some(*uid),
            _ => None,
        })
    }

    async fn append_inner(&mut self, msg: &Message) -> Result<Option<Uid>, Error> {
        let command = self.command("APPEND");
        let uidplus = self.session.has_capability("UIDPLUS");
        let marker;
        // Filtered before the marker is added, as OfflineIMAP does.
        let filtered = crate::sync::headers::remove(&msg.bytes, &self.filterheaders);
        let bytes: std::borrow::Cow<'_, [u8]> = if uidplus {
            marker = None;
            std::borrow::Cow::Borrowed(&filtered)
        } else {
            let value = wire::marker_value(&filtered, random_u64());
            let with_header = wire::add_header(&filtered, wire::MARKER_HEADER, &value);
            marker = Some(value);
            std::borrow::Cow::Owned(with_header)
        };

        let line = self.append_line(&command, msg, bytes.len() as u64)?;
        let tag = self.session.send(&command, &line).await?;
        self.go_ahead(&command, &tag).await?;
        self.session.write_raw(&command, &bytes).await?;
        self.session.write_raw(&command, b"\r\n").await?;
        let done = self.session.finish(&command, &tag, &mut |_| {}).await?;

        if let Some((validity, uid)) = done.append_uid {
            // An APPENDUID for another UIDVALIDITY says nothing about the
            // UIDs we know.
            return Ok((validity == self.state.uidvalidity).then_some(uid));
        }
        match marker {
            Some(value) => self.search_marker(&value).await,
            None => Ok(None),
        }
    }
}

/// A listing's line (`UID FLAGS RFC822.SIZE`). Unsolicited FETCHes (flag
/// changes by other clients) may lack UID or size: `None`, and the
/// solicited one for the same message follows.
/// A message listed above [`PIECE`] goes into `big`.
fn listed(
    r: &Response<'_>,
    keywords: &KeywordMap,
    unknown: &mut BTreeSet<String>,
    big: &mut HashMap<Uid, u32>,
) -> Option<(Uid, MessageMeta)> {
    let Response::Fetch(_, attrs) = r else {
        return None;
    };
    let item = FetchItem::from_attrs(attrs, &[]);
    let (uid, size) = (item.uid?, item.size?);
    note_size(big, uid, size);
    Some((
        uid,
        MessageMeta {
            flags: full_flags(&item, keywords, unknown)?,
            size: u64::from(size),
        },
    ))
}

fn note_size(big: &mut HashMap<Uid, u32>, uid: Uid, size: u32) {
    if size > PIECE {
        big.insert(uid, size);
    }
}

/// The system flags of `item` plus the letters of its mapped keywords.
fn full_flags(
    item: &FetchItem,
    keywords: &KeywordMap,
    unknown: &mut BTreeSet<String>,
) -> Option<Flags> {
    let letters = keywords.letters(item.keywords.iter().map(String::as_str), unknown);
    item.flags.map(|f| f.union(letters))
}

/// Randomness for the marker header; it only needs to differ between two
/// uploads of the same message, so the std hasher's random keys suffice.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

impl ImapFolder {
    /// APPEND of a message read in pieces whose whole length is `total`
    /// (UIDPLUS, header section inside `head`): the literal is announced
    /// with the filtered length and each piece written as it is read. If
    /// a piece fails or the pieces do not add up once the literal has
    /// begun, the connection is closed, so the server drops the message
    /// rather than store it cut short, and the error is transient (the
    /// folder is tried again on a new connection).
    async fn append_streamed(
        &mut self,
        head: &Message,
        rest: &mut dyn Pieces,
        total: u64,
    ) -> Result<Option<Uid>, Error> {
        let command = self.command("APPEND");
        let first = crate::sync::headers::remove(&head.bytes, &self.filterheaders);
        let after_head = total.checked_sub(head.bytes.len() as u64).ok_or_else(|| {
            self.session.error(
                &command,
                ErrorKind::Protocol("the first piece is longer than the message".into()),
            )
        })?;
        let literal = first.len() as u64 + after_head;
        let line = self.append_line(&command, head, literal)?;
        let tag = self.session.send(&command, &line).await?;
        self.go_ahead(&command, &tag).await?;
        self.session.write_raw(&command, &first).await?;
        let mut sent = 0u64;
        let cut = loop {
            match rest.next().await {
                Ok(Some(piece)) => {
                    sent += piece.len() as u64;
                    if sent > after_head {
                        break Some("the message grew while it was sent".to_owned());
                    }
                    self.session.write_raw(&command, &piece).await?;
                }
                Ok(None) if sent == after_head => break None,
                Ok(None) => break Some("the message shrank while it was sent".to_owned()),
                Err(e) => break Some(e.to_string()),
            }
        };
        if let Some(why) = cut {
            self.session.abort().await;
            return Err(self.session.error(
                &command,
                ErrorKind::Io(std::io::Error::other(format!(
                    "connection closed in the middle of the message: {why}"
                ))),
            ));
        }
        self.session.write_raw(&command, b"\r\n").await?;
        let done = self.session.finish(&command, &tag, &mut |_| {}).await?;
        Ok(done
            .append_uid
            .and_then(|(validity, uid)| (validity == self.state.uidvalidity).then_some(uid)))
    }

    /// `APPEND <folder> (<flags>) ["<date>"] {<literal>}` for `msg`.
    fn append_line(&self, command: &str, msg: &Message, literal: u64) -> Result<String, Error> {
        let mailbox = wire::quote(&self.state.wire_name).ok_or_else(|| {
            self.session.error(
                command,
                ErrorKind::Name("folder name cannot be quoted".into()),
            )
        })?;
        let mut line = format!(
            "APPEND {mailbox} ({})",
            keywords::imap_list(msg.flags, &self.keywords)
        );
        if let Some(date) = msg.internal_date.and_then(wire::format_internal_date) {
            line.push_str(&format!(" \"{date}\""));
        }
        line.push_str(&format!(" {{{literal}}}"));
        Ok(line)
    }

    /// Wait for the server's go-ahead for the literal of `tag`; a server
    /// that refuses it answers NO straight away instead.
    async fn go_ahead(&mut self, command: &str, tag: &str) -> Result<(), Error> {
        loop {
            let step = self
                .session
                .next_with(command, |r| match session::tagged(tag, r) {
                    Some(done) => Some(Some(done)),
                    None if matches!(r, Response::Continue { .. }) => Some(None),
                    None => None,
                })
                .await?;
            match step {
                Some(Some(done)) => {
                    done.map_err(|kind| self.session.error(command, kind))?;
                    return Err(self.session.error(
                        command,
                        ErrorKind::Protocol("APPEND completed before the message was sent".into()),
                    ));
                }
                Some(None) => return Ok(()),
                None => {}
            }
        }
    }

    /// Message `uid`, listed at `size` bytes, handed to `sink` in pieces
    /// of [`PIECE`]. A message gone meanwhile is skipped. `Ok(Some(e))`
    /// is the sink's error, with the connection left ready for the next
    /// command.
    async fn fetch_in_pieces(
        &mut self,
        uid: Uid,
        size: u32,
        command: &str,
        sink: &mut dyn MessageSink,
    ) -> Result<Option<StoreError>, StoreError> {
        let mut reader = PieceReader {
            session: &mut self.session,
            command,
            uid,
            hint: u64::from(size),
            next_ask: 0,
            next_read: 0,
            asked: Vec::new(),
            missing: Vec::new(),
            held: Vec::new(),
            ended: false,
        };
        reader.ask().await?;
        let Some((item, first)) = reader.read().await? else {
            reader.drain().await?;
            return Ok(None);
        };
        let flags = full_flags(&item, &self.keywords, &mut self.unknown_keywords);
        let head = Message {
            id: MsgRef::Uid(uid),
            flags: flags.unwrap_or(Flags::EMPTY),
            internal_date: item.internal_date,
            bytes: first,
        };
        let res = if reader.ended {
            sink.accept(head).await
        } else {
            sink.accept_in_pieces(head, &mut reader).await
        };
        // Whatever the sink took, the answers still in flight are read.
        reader.drain().await?;
        Ok(res.err())
    }
}

/// The pieces of one message's body, fetched with up to
/// [`PIECES_IN_FLIGHT`] partial FETCHes in flight and handed on in order.
/// Dovecot answers pipelined FETCHes with all their data first and the
/// tagged OKs after, so a piece is matched to its FETCH by its origin
/// (`BODY[]<offset>`), not by the tag that follows it.
struct PieceReader<'a> {
    session: &'a mut ImapSession,
    command: &'a str,
    uid: Uid,
    /// The size the message was listed with: how far to ask ahead.
    hint: u64,
    /// The offset the next piece FETCH asks for.
    next_ask: u64,
    /// The offset of the next piece to hand on.
    next_read: u64,
    /// Piece FETCHes whose tagged answer has not come yet: tag, offset.
    asked: Vec<(String, u64)>,
    /// Offsets whose FETCH was answered without the piece coming.
    missing: Vec<u64>,
    /// Pieces that came ahead of the one to hand on (a server that
    /// answers out of order); at most one window's worth.
    held: Vec<(u64, FetchItem, bytes::Bytes)>,
    /// A short piece was handed on (or the message is gone): nothing
    /// follows.
    ended: bool,
}

/// What one response was to a [`PieceReader`].
enum PieceStep {
    Answered(String, Result<session::Done, ErrorKind>),
    Piece(u64, FetchItem),
    Other,
}

impl PieceReader<'_> {
    /// Send piece FETCHes up to the window: those the listed size calls
    /// for, and one more at a time past it while pieces keep coming full
    /// (a size listed too small cuts nothing off).
    async fn ask(&mut self) -> Result<(), super::Error> {
        let window = PIECES_IN_FLIGHT as u64 * u64::from(PIECE);
        while !self.ended
            && self.next_ask - self.next_read < window
            && (self.next_ask < self.hint || self.next_ask == self.next_read)
        {
            // The first piece brings the flags and date with it.
            let items = if self.next_ask == 0 {
                "UID FLAGS INTERNALDATE"
            } else {
                "UID"
            };
            let line = format!(
                "UID FETCH {} ({items} BODY.PEEK[]<{}.{PIECE}>)",
                self.uid, self.next_ask
            );
            let tag = self.session.send(self.command, &line).await?;
            self.asked.push((tag, self.next_ask));
            self.next_ask += u64::from(PIECE);
        }
        Ok(())
    }

    /// The next piece and the item it came in, `None` when the server
    /// answered its FETCH without it (the message is gone).
    async fn read(&mut self) -> Result<Option<(FetchItem, bytes::Bytes)>, super::Error> {
        let want = self.next_read;
        loop {
            if let Some(i) = self.held.iter().position(|(at, _, _)| *at == want) {
                let (_, item, body) = self.held.swap_remove(i);
                return self.hand_on(item, body).map(Some);
            }
            if self.missing.contains(&want) || !self.asked.iter().any(|(_, at)| *at >= want) {
                self.ended = true;
                return Ok(None);
            }
            self.read_one().await?;
        }
    }

    /// Read one response: a piece is held, a tagged answer noted.
    async fn read_one(&mut self) -> Result<(), super::Error> {
        let (uid, asked) = (self.uid, &self.asked);
        let (step, kept) = self
            .session
            .next_with_span(self.command, |r, raw| {
                if let Some((tag, done)) = asked
                    .iter()
                    .find_map(|(t, _)| session::tagged(t, r).map(|d| (t, d)))
                {
                    return (PieceStep::Answered(tag.clone(), done), None);
                }
                let Response::Fetch(_, attrs) = r else {
                    return (PieceStep::Other, None);
                };
                let item = FetchItem::from_attrs(attrs, raw);
                // Only this message's pieces; unsolicited FETCHes
                // (another client's flag change) pass. A server may leave
                // out the origin of the first piece, or send NIL past the
                // end.
                let at = match item.body_at {
                    Some(at) => u64::from(at),
                    None if item.body.is_some() => 0,
                    None => return (PieceStep::Other, None),
                };
                if item.uid != Some(uid) || !asked.iter().any(|(_, a)| *a == at) {
                    return (PieceStep::Other, None);
                }
                let span = match &item.body {
                    Some(session::Body::Span(s)) => Some(s.clone()),
                    _ => None,
                };
                (PieceStep::Piece(at, item), span)
            })
            .await?;
        match step {
            PieceStep::Answered(tag, done) => {
                let Some(i) = self.asked.iter().position(|(t, _)| *t == tag) else {
                    return Ok(());
                };
                let (_, at) = self.asked.swap_remove(i);
                if let Err(kind) = done {
                    // Refused: nothing more is asked, and what is in
                    // flight is read before the error is told.
                    let e = self.session.error(self.command, kind);
                    self.drain().await?;
                    return Err(e);
                }
                if at >= self.next_read && !self.held.iter().any(|(a, _, _)| *a == at) {
                    self.missing.push(at);
                }
            }
            PieceStep::Piece(at, mut item) => {
                let body = match (kept, item.body.take()) {
                    (Some(b), _) => b,
                    (None, Some(session::Body::Copied(v))) => v.into(),
                    (None, _) => bytes::Bytes::new(),
                };
                if at >= self.next_read {
                    self.held.push((at, item, body));
                }
            }
            PieceStep::Other => {}
        }
        Ok(())
    }

    /// `body`, the piece at `next_read`, handed on: a short one ends the
    /// message.
    fn hand_on(
        &mut self,
        item: FetchItem,
        body: bytes::Bytes,
    ) -> Result<(FetchItem, bytes::Bytes), super::Error> {
        let offset = self.next_read;
        self.next_read += u64::from(PIECE);
        if body.len() > PIECE as usize {
            // More than asked: a server that ignores the range sent the
            // whole body, which only the first piece may take.
            if offset > 0 {
                return Err(self.session.error(
                    self.command,
                    ErrorKind::Protocol(format!(
                        "UID {}: {} bytes for a piece of {PIECE}",
                        self.uid,
                        body.len()
                    )),
                ));
            }
            self.ended = true;
        } else if body.len() < PIECE as usize {
            self.ended = true;
        }
        Ok((item, body))
    }

    /// Read the answers to every piece FETCH still in flight, dropping
    /// them; no more are asked for.
    async fn drain(&mut self) -> Result<(), super::Error> {
        self.ended = true;
        self.held.clear();
        while !self.asked.is_empty() {
            let asked = &self.asked;
            // A refused piece changes nothing now: any answer will do.
            let answered = self
                .session
                .next_with(self.command, |r| {
                    asked
                        .iter()
                        .position(|(t, _)| session::tagged(t, r).is_some())
                })
                .await?;
            if let Some(i) = answered {
                self.asked.swap_remove(i);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Pieces for PieceReader<'_> {
    async fn next(&mut self) -> Result<Option<bytes::Bytes>, StoreError> {
        if self.ended {
            return Ok(None);
        }
        self.ask().await?;
        match self.read().await? {
            Some((_, piece)) if piece.is_empty() => Ok(None),
            Some((_, piece)) => Ok(Some(piece)),
            None => {
                let e = self.session.error(
                    self.command,
                    ErrorKind::Protocol(format!(
                        "UID {} vanished while it was being fetched",
                        self.uid
                    )),
                );
                Err(e.into_store_error(StoreKind::Message))
            }
        }
    }
}

#[async_trait]
impl Store for ImapFolder {
    async fn snapshot(&mut self) -> Result<Snapshot, StoreError> {
        let mut snap = Snapshot::default();
        if self.session.exists == 0 {
            return Ok(snap);
        }
        let command = self.command("UID FETCH");
        let uids = &mut snap.uids;
        self.session
            .run(
                &command,
                "UID FETCH 1:* (UID FLAGS RFC822.SIZE)",
                &mut |r| {
                    if let Some((uid, meta)) =
                        listed(r, &self.keywords, &mut self.unknown_keywords, &mut self.big)
                    {
                        uids.insert(uid, meta);
                    }
                },
            )
            .await?;
        Ok(snap)
    }

    async fn fetch(
        &mut self,
        ids: &[MsgRef],
        sink: &mut dyn MessageSink,
    ) -> Result<(), StoreError> {
        let (pieced, uids): (Vec<Uid>, Vec<Uid>) = ids
            .iter()
            .filter_map(|id| match id {
                MsgRef::Uid(u) => Some(*u),
                MsgRef::New(_) => None,
            })
            .partition(|u| self.big.contains_key(u));
        let wanted: HashSet<Uid> = uids.iter().copied().collect();
        let command = self.command("UID FETCH");
        for set in wire::uid_sets(&uids, wire::MAX_SET_LEN) {
            let line = format!("UID FETCH {set} (UID FLAGS INTERNALDATE BODY.PEEK[])");
            let tag = self.session.send(&command, &line).await?;
            // If the sink fails we keep reading to the tagged answer so
            // the connection stays usable, then report the sink's error.
            let mut sink_error = None;
            loop {
                // The body is kept in the buffer it was read into.
                let (step, kept) = self
                    .session
                    .next_with_span(&command, |r, raw| match session::tagged(&tag, r) {
                        Some(done) => (Some(Err(done)), None),
                        None => match r {
                            Response::Fetch(_, attrs) => {
                                let item = FetchItem::from_attrs(attrs, raw);
                                let span = match &item.body {
                                    Some(session::Body::Span(s)) => Some(s.clone()),
                                    _ => None,
                                };
                                (Some(Ok(item)), span)
                            }
                            _ => (None, None),
                        },
                    })
                    .await?;
                let item = match step {
                    Some(Err(done)) => {
                        done.map_err(|kind| self.session.error(&command, kind))?;
                        break;
                    }
                    Some(Ok(item)) => item,
                    None => continue,
                };
                let flags = full_flags(&item, &self.keywords, &mut self.unknown_keywords);
                let body = match (kept, item.body) {
                    (Some(b), _) => Some(b),
                    (None, Some(session::Body::Copied(v))) => Some(v.into()),
                    (None, _) => None,
                };
                let (Some(uid), Some(body)) = (item.uid, body) else {
                    continue;
                };
                if !wanted.contains(&uid) || sink_error.is_some() {
                    continue;
                }
                let msg = Message {
                    id: MsgRef::Uid(uid),
                    flags: flags.unwrap_or(Flags::EMPTY),
                    internal_date: item.internal_date,
                    bytes: body,
                };
                if let Err(e) = sink.accept(msg).await {
                    sink_error = Some(e);
                }
            }
            if let Some(e) = sink_error {
                return Err(e);
            }
        }
        let mut done = HashSet::new();
        for uid in pieced {
            let Some(size) = self.big.get(&uid).copied() else {
                continue;
            };
            if !done.insert(uid) {
                continue;
            }
            if let Some(e) = self.fetch_in_pieces(uid, size, &command, sink).await? {
                return Err(e);
            }
        }
        Ok(())
    }

    async fn append(&mut self, msg: &Message, uid: Option<Uid>) -> Result<Option<Uid>, StoreError> {
        if uid.is_some() {
            let e = self.session.error(
                &self.command("APPEND"),
                ErrorKind::Unsupported("an IMAP server assigns its own UIDs".into()),
            );
            return Err(e.into_store_error(StoreKind::Message));
        }
        self.check_writable("APPEND")?;
        self.append_inner(msg).await.map_err(|e| {
            let kind = match e.kind {
                ErrorKind::No(_) | ErrorKind::Bad(_) => StoreKind::Message,
                _ => e.store_kind(),
            };
            e.into_store_error(kind)
        })
    }

    async fn append_in_pieces(
        &mut self,
        head: &Message,
        rest: &mut dyn Pieces,
        uid: Option<Uid>,
    ) -> Result<Option<Uid>, StoreError> {
        // Sent as it is read only when the length is known and no marker
        // header (which needs the whole message) is added; the header
        // section must be in the first piece for filterheaders.
        let streamable = uid.is_none()
            && self.session.has_capability("UIDPLUS")
            && wire::header_end(&head.bytes).is_some();
        let Some(total) = rest.total().filter(|_| streamable) else {
            let msg = crate::sync::store::collect(head.clone(), rest).await?;
            return self.append(&msg, uid).await;
        };
        self.check_writable("APPEND")?;
        self.append_streamed(head, rest, total).await.map_err(|e| {
            let kind = match e.kind {
                ErrorKind::No(_) | ErrorKind::Bad(_) => StoreKind::Message,
                _ => e.store_kind(),
            };
            e.into_store_error(kind)
        })
    }

    async fn assign_uid(&mut self, id: MsgRef, _uid: Uid) -> Result<(), StoreError> {
        let e = self.session.error(
            &self.command("assign UID"),
            ErrorKind::Unsupported(format!(
                "cannot give message {id} a UID: an IMAP server assigns its own"
            )),
        );
        Err(e.into_store_error(StoreKind::Folder))
    }

    async fn add_flags(&mut self, uids: &[Uid], flags: Flags) -> Result<(), StoreError> {
        let imap = keywords::imap_list(flags, &self.keywords);
        if uids.is_empty() || imap.is_empty() {
            return Ok(());
        }
        self.check_writable("UID STORE")?;
        Ok(self.store_flags(uids, '+', &imap).await?)
    }

    async fn remove_flags(&mut self, uids: &[Uid], flags: Flags) -> Result<(), StoreError> {
        let imap = keywords::imap_list(flags, &self.keywords);
        if uids.is_empty() || imap.is_empty() {
            return Ok(());
        }
        self.check_writable("UID STORE")?;
        Ok(self.store_flags(uids, '-', &imap).await?)
    }

    async fn change_flags(
        &mut self,
        changes: &[FlagChange<'_>],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let out = self.delete_and_change_flags(&[], changes).await?;
        Ok(out.flags)
    }

    async fn delete(&mut self, uids: &[Uid]) -> Result<(), StoreError> {
        self.delete_and_change_flags(uids, &[]).await?.deleted
    }

    async fn delete_and_change_flags(
        &mut self,
        uids: &[Uid],
        changes: &[FlagChange<'_>],
    ) -> Result<WriteOutcomes, StoreError> {
        let mut lines = Vec::new();
        for c in changes {
            let imap = keywords::imap_list(c.flags, &self.keywords);
            if !imap.is_empty() {
                lines.extend(store_lines(c.uids, if c.add { '+' } else { '-' }, &imap));
            }
        }
        if !uids.is_empty() || !lines.is_empty() {
            self.check_writable("UID STORE")?;
            // One round trip for every change; a refused STORE fails the
            // folder, as one sent alone does.
            self.write(uids, lines).await?;
        }
        Ok(WriteOutcomes {
            deleted: Ok(()),
            flags: changes.iter().map(|_| Ok(())).collect(),
        })
    }
}

impl ImapFolder {
    /// `uids` marked `\Deleted` and expunged, and the flag STOREs
    /// `flag_lines`, in one round trip when the server has UIDPLUS.
    async fn write(&mut self, uids: &[Uid], flag_lines: Vec<String>) -> Result<(), Error> {
        let uidplus = self.session.has_capability("UIDPLUS");
        let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
        if !uids.is_empty() {
            groups.push(("UID STORE", store_lines(uids, '+', "\\Deleted")));
            if uidplus && self.options.expunge {
                // UID EXPUNGE removes only the messages of its set that
                // carry \Deleted, so it can follow the STOREs unanswered:
                // where they were refused it removes nothing more than
                // they marked.
                let expunges = wire::uid_sets(uids, wire::MAX_SET_LEN)
                    .into_iter()
                    .map(|set| format!("UID EXPUNGE {set}"))
                    .collect();
                groups.push(("UID EXPUNGE", expunges));
            }
        }
        // The flag changes touch other messages: a refused \Deleted
        // cannot make them do harm, nor they it.
        if !flag_lines.is_empty() {
            groups.push(("UID STORE", flag_lines));
        }
        self.pipelined(&groups).await?;
        // A plain EXPUNGE removes every \Deleted message of the folder:
        // it waits for the STOREs' answers.
        if !uids.is_empty() && !uidplus && self.options.expunge {
            let command = self.command("EXPUNGE");
            self.session.run(&command, "EXPUNGE", &mut |_| {}).await?;
        }
        Ok(())
    }
}

/// `UID STORE` lines changing `flags` (IMAP's spelling, without the
/// parentheses) on `uids`, with `sign` `+` or `-`.
fn store_lines(uids: &[Uid], sign: char, flags: &str) -> Vec<String> {
    wire::uid_sets(uids, wire::MAX_SET_LEN)
        .into_iter()
        .map(|set| format!("UID STORE {set} {sign}FLAGS.SILENT ({flags})"))
        .collect()
}

/// A large folder synced one UID range at a time (see `sync::chunk`):
/// nothing here holds more than one range's listing, or 4 bytes a message.
impl ImapFolder {
    /// Every UID of the folder, ascending (`UID SEARCH ALL`).
    pub async fn all_uids(&mut self) -> Result<Vec<Uid>, StoreError> {
        let mut found = Vec::new();
        if self.session.exists == 0 {
            return Ok(found);
        }
        let command = self.command("UID SEARCH");
        self.session
            .run(&command, "UID SEARCH ALL", &mut |r| {
                if let Response::MailboxData(MailboxDatum::Search(uids)) = r {
                    found.extend(uids.iter().copied().filter(|u| *u != 0));
                }
            })
            .await?;
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }

    /// [`Store::snapshot`] of the messages with a UID in `lo..=hi`.
    pub async fn snapshot_range(&mut self, lo: Uid, hi: Uid) -> Result<Snapshot, StoreError> {
        let mut snap = Snapshot::default();
        if self.session.exists == 0 {
            return Ok(snap);
        }
        let command = self.command("UID FETCH");
        let line = format!("UID FETCH {} (UID FLAGS RFC822.SIZE)", uid_range(lo, hi));
        let uids = &mut snap.uids;
        self.session
            .run(&command, &line, &mut |r| {
                if let Some((uid, meta)) = listed(r, &self.keywords, &mut self.unknown_keywords, &mut self.big)
                    // `n:*` names the highest UID even when it is below n.
                    && (lo..=hi).contains(&uid)
                {
                    uids.insert(uid, meta);
                }
            })
            .await?;
        Ok(snap)
    }

    /// UIDNEXT, MESSAGES and HIGHESTMODSEQ of the folder now (`STATUS`);
    /// `None` without CONDSTORE or when the server leaves one out.
    pub async fn status_now(&mut self) -> Result<Option<(u32, u32, u64)>, StoreError> {
        if self.state.highest_modseq.is_none() {
            return Ok(None);
        }
        let command = self.command("STATUS");
        let mailbox = wire::quote(&self.state.wire_name).ok_or_else(|| {
            self.session.error(
                &command,
                ErrorKind::Name("folder name cannot be quoted".into()),
            )
        })?;
        let (mut uidnext, mut messages, mut modseq) = (None, None, None);
        let line = format!("STATUS {mailbox} (UIDNEXT MESSAGES HIGHESTMODSEQ)");
        self.session
            .run(&command, &line, &mut |r| {
                if let Response::MailboxData(MailboxDatum::Status { status, .. }) = r {
                    for a in status {
                        match a {
                            StatusAttribute::UidNext(n) => uidnext = Some(*n),
                            StatusAttribute::Messages(n) => messages = Some(*n),
                            StatusAttribute::HighestModSeq(m) => modseq = Some(*m),
                            _ => {}
                        }
                    }
                }
            })
            .await?;
        Ok(uidnext
            .zip(messages)
            .zip(modseq)
            .map(|((u, n), m)| (u, n, m)))
    }

    /// The flags and mod-sequence of every message in each of `ranges`
    /// (`UID FETCH lo:hi (UID FLAGS MODSEQ)`; a message without a MODSEQ
    /// has `None`), the ranges of a proof that the server equals the
    /// status cache, handed to `each` (its index and listing) in order, with up to
    /// [`RANGES_IN_FLIGHT`] FETCHes in flight while an answer is read: a
    /// folder of n ranges costs about n / 8 round trips instead of n. Only
    /// the range being read is held as a listing; the answers to the
    /// others wait unread on the connection. `each` returning false
    /// stops: no more FETCH is sent, and those in flight are read and
    /// dropped, so the connection stays usable.
    pub async fn flags_ranges(
        &mut self,
        ranges: &[(Uid, Uid)],
        each: &mut (dyn FnMut(usize, RangeListing) -> bool + Send),
    ) -> Result<(), StoreError> {
        if self.session.exists == 0 {
            for i in 0..ranges.len() {
                if !each(i, BTreeMap::new()) {
                    break;
                }
            }
            return Ok(());
        }
        let command = self.command("UID FETCH");
        let line =
            |(lo, hi): (Uid, Uid)| format!("UID FETCH {} (UID FLAGS MODSEQ)", uid_range(lo, hi));
        // (range index, tag) of the FETCHes sent and not yet answered, and
        // the listings of the ranges in flight, by index.
        let mut in_flight: std::collections::VecDeque<(usize, String)> =
            std::collections::VecDeque::with_capacity(RANGES_IN_FLIGHT);
        let mut listed: BTreeMap<usize, RangeListing> = BTreeMap::new();
        let mut next = 0;
        let mut going = true;
        loop {
            while going && next < ranges.len() && in_flight.len() < RANGES_IN_FLIGHT {
                in_flight.push_back((
                    next,
                    self.session.send(&command, &line(ranges[next])).await?,
                ));
                listed.insert(next, BTreeMap::new());
                next += 1;
            }
            let Some((i, tag)) = in_flight.pop_front() else {
                break;
            };
            let result = self
                .session
                .finish(&command, &tag, &mut |r| {
                    if let Response::Fetch(_, attrs) = r {
                        let item = FetchItem::from_attrs(attrs, &[]);
                        let flags = full_flags(&item, &self.keywords, &mut self.unknown_keywords);
                        if let (Some(uid), Some(flags)) = (item.uid, flags)
                            && let Some(range) = listed.keys().copied().find(|k| {
                                ranges
                                    .get(*k)
                                    .is_some_and(|(lo, hi)| (*lo..=*hi).contains(&uid))
                            })
                            && let Some(map) = listed.get_mut(&range)
                        {
                            map.insert(uid, (flags, item.modseq));
                        }
                    }
                })
                .await;
            if let Err(e) = result {
                // Read the answers still in flight before giving up, so
                // that the connection is left between commands.
                for (_, tag) in in_flight.drain(..) {
                    let _ = self.session.finish(&command, &tag, &mut |_| {}).await;
                }
                return Err(e.into());
            }
            let map = listed.remove(&i).unwrap_or_default();
            if going && !each(i, map) {
                going = false;
            }
        }
        Ok(())
    }
}

/// How many range listings [`ImapFolder::flags_ranges`] keeps in flight,
/// the one being read among them: with ranges of 4,096 messages, a folder
/// of 32,768 in one round trip.
const RANGES_IN_FLIGHT: usize = 8;

/// One range's listing: UID -> flags and MODSEQ.
pub type RangeListing = BTreeMap<Uid, (Flags, Option<u64>)>;

/// A UID range as IMAP writes it; `Uid::MAX` as the end means "to the
/// last message" (`*`).
fn uid_range(lo: Uid, hi: Uid) -> String {
    if hi == Uid::MAX {
        format!("{lo}:*")
    } else {
        format!("{lo}:{hi}")
    }
}

/// The sync window (`maxage`, `maxsize`, `startdate`): which messages the
/// server finds by date and size.
impl ImapFolder {
    /// `UID SEARCH` for messages that arrived on or after `since` (IMAP
    /// `SINCE`: INTERNALDATE, by day) and are smaller than `smaller` bytes
    /// (IMAP `SMALLER`, RFC822.SIZE), both when given. An empty folder is
    /// not asked.
    pub async fn search_window(
        &mut self,
        since: Option<chrono::NaiveDate>,
        smaller: Option<u64>,
    ) -> Result<std::collections::BTreeSet<Uid>, StoreError> {
        let mut found = std::collections::BTreeSet::new();
        if self.session.exists == 0 {
            return Ok(found);
        }
        let mut line = String::from("UID SEARCH");
        if let Some(d) = since {
            // IMAP's date-text: day-Mon-year, English month names.
            line.push_str(&format!(" SINCE {}", d.format("%-d-%b-%Y")));
        }
        if let Some(n) = smaller {
            line.push_str(&format!(" SMALLER {n}"));
        }
        if since.is_none() && smaller.is_none() {
            line.push_str(" ALL");
        }
        let command = self.command("UID SEARCH");
        self.session
            .run(&command, &line, &mut |r| {
                if let Response::MailboxData(MailboxDatum::Search(uids)) = r {
                    // Some servers answer 0 for a message they cannot
                    // name; it is no UID.
                    found.extend(uids.iter().copied().filter(|u| *u != 0));
                }
            })
            .await?;
        Ok(found)
    }
}
