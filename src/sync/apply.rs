//! The executor: carries a [`Plan`] out through the [`Store`] and
//! [`StatusCache`] traits, and pairs up copies an interrupted upload left
//! behind ([`pair_new_messages`]).
//!
//! Order is what makes a crash harmless: first the change on the store(s),
//! then the status row, and the status is committed after each batch. A
//! status row is only ever written once both sides hold what it claims, so
//! a crash can leave work to redo, never a row that makes the next run
//! delete a message. No runtime-specific APIs: any executor can drive it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hasher};

use async_trait::async_trait;

use super::model::{Flags, Message, MessageMeta, MsgRef, Side, Snapshot, StatusSnapshot, Uid};
use super::plan::{Action, Plan};
use super::store::{ErrorKind, FlagChange, MessageSink, Pieces, StatusCache, Store, StoreError};

/// What the executor is doing, for the UI (the account module maps these to
/// `event::Event`s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Copying message `id` (the `n`th of `total` in this batch) from side `from`.
    Copying {
        id: MsgRef,
        n: usize,
        total: usize,
        from: Side,
    },
    /// A message of `bytes` bytes (CRLF form) arrived on the other side.
    Copied { from: Side, bytes: u64 },
    /// Deleting these messages on side `on`.
    Deleting { on: Side, uids: Vec<Uid> },
    /// Adding `flags` to these messages on side `on`.
    FlagsAdding {
        on: Side,
        uids: Vec<Uid>,
        flags: Flags,
    },
    /// Removing `flags` from these messages on side `on`.
    FlagsRemoving {
        on: Side,
        uids: Vec<Uid>,
        flags: Flags,
    },
    /// These messages were skipped after a per-message error on side `on`;
    /// the next sync tries them again.
    Skipped {
        on: Side,
        ids: Vec<MsgRef>,
        error: String,
    },
    /// The server stored the upload of `local` but could not tell its UID;
    /// the local message is left as it is and the next sync pairs the two.
    UidUnknown { local: MsgRef },
}

/// What one `apply` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub downloaded: usize,
    pub uploaded: usize,
    /// Uploads the server stored without telling their UID.
    pub uid_unknown: usize,
    pub deleted_local: usize,
    pub deleted_remote: usize,
    /// Messages whose flags changed on that side.
    pub flags_local: usize,
    pub flags_remote: usize,
    /// Status-only rows written or removed.
    pub recorded: usize,
    pub forgotten: usize,
    /// Messages skipped after a per-message error.
    pub skipped: usize,
    /// `cancel` asked to stop; the rest of the plan was not carried out.
    pub cancelled: bool,
}

/// Carry `plan` out. Stops at the first error that is not about one message
/// (after committing the status rows of the work already done); a
/// per-message error skips that message and is reported through `progress`.
/// `cancel` is asked between messages; when it says yes, the status is
/// committed and the summary says `cancelled`.
pub async fn apply(
    plan: &Plan,
    remote: &mut dyn Store,
    local: &mut dyn Store,
    status: &mut dyn StatusCache,
    progress: &mut (dyn FnMut(Progress) + Send),
    cancel: &(dyn Fn() -> bool + Sync),
) -> Result<Summary, StoreError> {
    let mut ex = Executor {
        remote,
        local,
        status,
        progress,
        cancel,
        summary: Summary::default(),
    };
    match ex.run(plan).await {
        Ok(()) => {
            ex.status.commit()?;
            Ok(ex.summary)
        }
        Err(e) => {
            // Keep the rows of the work already done; the original error is
            // the one worth reporting if this fails too.
            let _ = ex.status.commit();
            Err(e)
        }
    }
}

/// Which store calls a run of consecutive actions turns into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Batch {
    StatusOnly,
    Download,
    Upload,
    Delete(Side),
    Flags(Side),
}

fn batch_of(a: &Action) -> Batch {
    match a {
        Action::Record { .. } | Action::Forget { .. } => Batch::StatusOnly,
        Action::Download { .. } => Batch::Download,
        Action::Upload { .. } => Batch::Upload,
        Action::Delete { on, .. } => Batch::Delete(*on),
        Action::SetFlags { on, .. } => Batch::Flags(*on),
    }
}

fn is_message_error(e: &StoreError) -> bool {
    e.kind == ErrorKind::Message
}

/// A copy of an error, for when one must be handed on and one kept.
fn copy_error(e: &StoreError) -> StoreError {
    StoreError::new(e.kind, e.message.clone())
}

fn cancelled_error() -> StoreError {
    StoreError::new(ErrorKind::Transient, "sync cancelled")
}

struct Executor<'a> {
    remote: &'a mut dyn Store,
    local: &'a mut dyn Store,
    status: &'a mut dyn StatusCache,
    progress: &'a mut (dyn FnMut(Progress) + Send),
    cancel: &'a (dyn Fn() -> bool + Sync),
    summary: Summary,
}

impl Executor<'_> {
    async fn run(&mut self, plan: &Plan) -> Result<(), StoreError> {
        let chunks: Vec<&[Action]> = plan
            .actions
            .chunk_by(|a, b| batch_of(a) == batch_of(b))
            .collect();
        let mut i = 0;
        while let Some(chunk) = chunks.get(i).copied() {
            if (self.cancel)() {
                self.summary.cancelled = true;
                return Ok(());
            }
            i += 1;
            match batch_of(&chunk[0]) {
                Batch::StatusOnly => self.status_only(chunk)?,
                Batch::Download => self.download(chunk).await?,
                Batch::Upload => self.upload(chunk).await?,
                Batch::Delete(side) => {
                    // A side's flag pass follows its delete pass, behind
                    // at most a run of status-only rows (which need no
                    // store): both go to the store in one call.
                    let rest = &chunks[i..];
                    let (between, flags) = match rest {
                        [f, ..] if batch_of(&f[0]) == Batch::Flags(side) => (None, Some(*f)),
                        [r, f, ..]
                            if batch_of(&r[0]) == Batch::StatusOnly
                                && batch_of(&f[0]) == Batch::Flags(side) =>
                        {
                            (Some(*r), Some(*f))
                        }
                        _ => (None, None),
                    };
                    match flags {
                        Some(flags) => {
                            if let Some(r) = between {
                                self.status_only(r)?;
                                i += 1;
                            }
                            i += 1;
                            self.delete_and_flags(side, chunk, flags).await?;
                        }
                        None => self.delete(side, chunk).await?,
                    }
                }
                Batch::Flags(side) => self.flags(side, chunk).await?,
            }
            // One transaction per batch: a crash later loses no finished work.
            self.status.commit()?;
            if self.summary.cancelled {
                return Ok(());
            }
        }
        Ok(())
    }

    fn store(&mut self, side: Side) -> &mut dyn Store {
        match side {
            Side::Remote => &mut *self.remote,
            Side::Local => &mut *self.local,
        }
    }

    fn skipped(&mut self, on: Side, ids: Vec<MsgRef>, e: &StoreError) {
        self.summary.skipped += ids.len();
        (self.progress)(Progress::Skipped {
            on,
            ids,
            error: e.to_string(),
        });
    }

    fn status_only(&mut self, chunk: &[Action]) -> Result<(), StoreError> {
        for a in chunk {
            match *a {
                Action::Record { uid, flags, .. } => {
                    self.status.set(uid, flags)?;
                    self.summary.recorded += 1;
                }
                Action::Forget { uid, .. } => {
                    self.status.remove(uid)?;
                    self.summary.forgotten += 1;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// All downloads in one fetch; each message goes into the Maildir and
    /// then into the status as it arrives, so one body is in memory at a time.
    async fn download(&mut self, chunk: &[Action]) -> Result<(), StoreError> {
        let uids: Vec<Uid> = chunk
            .iter()
            .filter_map(|a| match a {
                Action::Download { uid, .. } => Some(*uid),
                _ => None,
            })
            .collect();
        let ids: Vec<MsgRef> = uids.iter().map(|u| MsgRef::Uid(*u)).collect();
        let mut sink = DownloadSink {
            wanted: uids.into_iter().collect(),
            total: ids.len(),
            n: 0,
            local: &mut *self.local,
            status: &mut *self.status,
            progress: &mut *self.progress,
            cancel: self.cancel,
            summary: &mut self.summary,
            fatal: None,
        };
        let res = self.remote.fetch(&ids, &mut sink).await;
        if let Some(e) = sink.fatal.take() {
            return Err(e);
        }
        if self.summary.cancelled {
            return Ok(());
        }
        res
    }

    /// One message at a time: read it, APPEND it, relabel the local copy
    /// with the new UID, then write the status row.
    async fn upload(&mut self, chunk: &[Action]) -> Result<(), StoreError> {
        let total = chunk.len();
        for (i, a) in chunk.iter().enumerate() {
            let Action::Upload { local: id, .. } = *a else {
                continue;
            };
            if (self.cancel)() {
                self.summary.cancelled = true;
                return Ok(());
            }
            (self.progress)(Progress::Copying {
                id,
                n: i + 1,
                total,
                from: Side::Local,
            });
            // Read and sent together: a big file goes up piece by piece.
            let mut up = UploadOne {
                id,
                remote: &mut *self.remote,
                done: None,
            };
            match self.local.fetch(&[id], &mut up).await {
                Ok(()) => {}
                Err(e) if is_message_error(&e) => {
                    self.skipped(Side::Local, vec![id], &e);
                    continue;
                }
                Err(e) => return Err(e),
            }
            // Gone since the snapshot: nothing to copy.
            let Some((flags, bytes, appended)) = up.done else {
                continue;
            };
            let new_uid = match appended {
                Ok(Some(u)) => u,
                Ok(None) => {
                    // Leave the local message alone: deleting it (as
                    // OfflineIMAP does) would risk losing it; pairing
                    // matches it with the server copy next run.
                    self.summary.uid_unknown += 1;
                    (self.progress)(Progress::UidUnknown { local: id });
                    continue;
                }
                Err(e) if is_message_error(&e) => {
                    self.skipped(Side::Remote, vec![id], &e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            match self.local.assign_uid(id, new_uid).await {
                Ok(()) => {}
                Err(e) if is_message_error(&e) => {
                    // The server copy exists; pairing links them next run.
                    self.skipped(Side::Local, vec![id], &e);
                    continue;
                }
                Err(e) => return Err(e),
            }
            self.status.set(new_uid, flags)?;
            self.summary.uploaded += 1;
            (self.progress)(Progress::Copied {
                from: Side::Local,
                bytes,
            });
        }
        Ok(())
    }

    async fn delete(&mut self, side: Side, chunk: &[Action]) -> Result<(), StoreError> {
        let uids = self.deletions(side, chunk);
        let res = self.store(side).delete(&uids).await;
        self.deleted(side, &uids, res)
    }

    /// A delete pass and the flag pass after it, in one store call.
    async fn delete_and_flags(
        &mut self,
        side: Side,
        deletes: &[Action],
        flags: &[Action],
    ) -> Result<(), StoreError> {
        let uids = self.deletions(side, deletes);
        let groups = self.flag_groups(side, flags);
        let changes = flag_changes(&groups);
        let out = self
            .store(side)
            .delete_and_change_flags(&uids, &changes)
            .await?;
        self.deleted(side, &uids, out.deleted)?;
        self.flags_changed(side, flags, &groups, &out.flags)
    }

    /// The UIDs of a delete pass, announced.
    fn deletions(&mut self, side: Side, chunk: &[Action]) -> Vec<Uid> {
        let uids: Vec<Uid> = chunk
            .iter()
            .filter_map(|a| match a {
                Action::Delete { uid, .. } => Some(*uid),
                _ => None,
            })
            .collect();
        (self.progress)(Progress::Deleting {
            on: side,
            uids: uids.clone(),
        });
        uids
    }

    /// The status rows of a delete pass, once the store answered.
    fn deleted(
        &mut self,
        side: Side,
        uids: &[Uid],
        res: Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        match res {
            Ok(()) => {}
            Err(e) if is_message_error(&e) => {
                let ids = uids.iter().map(|u| MsgRef::Uid(*u)).collect();
                self.skipped(side, ids, &e);
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        for u in uids {
            self.status.remove(*u)?;
        }
        match side {
            Side::Local => self.summary.deleted_local += uids.len(),
            Side::Remote => self.summary.deleted_remote += uids.len(),
        }
        Ok(())
    }

    /// One store call per distinct set of letters added (then removed), as
    /// OfflineIMAP sends one STORE per flag; then the status rows.
    async fn flags(&mut self, side: Side, chunk: &[Action]) -> Result<(), StoreError> {
        let groups = self.flag_groups(side, chunk);
        let outcomes = self
            .store(side)
            .change_flags(&flag_changes(&groups))
            .await?;
        self.flags_changed(side, chunk, &groups, &outcomes)
    }

    /// A flag pass as (adding, letters, UIDs) groups, announced.
    fn flag_groups(&mut self, side: Side, chunk: &[Action]) -> Vec<(bool, Flags, Vec<Uid>)> {
        let mut adds: BTreeMap<Flags, Vec<Uid>> = BTreeMap::new();
        let mut removes: BTreeMap<Flags, Vec<Uid>> = BTreeMap::new();
        for a in chunk {
            if let Action::SetFlags {
                uid, add, remove, ..
            } = *a
            {
                if !add.is_empty() {
                    adds.entry(add).or_default().push(uid);
                }
                if !remove.is_empty() {
                    removes.entry(remove).or_default().push(uid);
                }
            }
        }
        let groups: Vec<(bool, Flags, Vec<Uid>)> = adds
            .into_iter()
            .map(|(f, u)| (true, f, u))
            .chain(removes.into_iter().map(|(f, u)| (false, f, u)))
            .collect();
        for (adding, flags, uids) in &groups {
            (self.progress)(if *adding {
                Progress::FlagsAdding {
                    on: side,
                    uids: uids.clone(),
                    flags: *flags,
                }
            } else {
                Progress::FlagsRemoving {
                    on: side,
                    uids: uids.clone(),
                    flags: *flags,
                }
            });
        }
        groups
    }

    /// The status rows of a flag pass, once the store answered.
    fn flags_changed(
        &mut self,
        side: Side,
        chunk: &[Action],
        groups: &[(bool, Flags, Vec<Uid>)],
        outcomes: &[Result<(), StoreError>],
    ) -> Result<(), StoreError> {
        let mut failed: BTreeSet<Uid> = BTreeSet::new();
        for (i, (_, _, uids)) in groups.iter().enumerate() {
            // A change the store gave no outcome for is not known to be
            // made: its status rows stay as they are.
            let refused = match outcomes.get(i) {
                Some(Ok(())) => None,
                Some(Err(e)) => Some(copy_error(e)),
                None => Some(StoreError::new(
                    ErrorKind::Message,
                    "no outcome for a flag change",
                )),
            };
            if let Some(e) = refused {
                let ids = uids.iter().map(|u| MsgRef::Uid(*u)).collect();
                self.skipped(side, ids, &e);
                failed.extend(uids.iter().copied());
            }
        }
        for a in chunk {
            if let Action::SetFlags { uid, status, .. } = *a {
                if failed.contains(&uid) {
                    continue;
                }
                self.status.set(uid, status)?;
                match side {
                    Side::Local => self.summary.flags_local += 1,
                    Side::Remote => self.summary.flags_remote += 1,
                }
            }
        }
        Ok(())
    }
}

fn flag_changes(groups: &[(bool, Flags, Vec<Uid>)]) -> Vec<FlagChange<'_>> {
    groups
        .iter()
        .map(|(add, flags, uids)| FlagChange {
            add: *add,
            uids,
            flags: *flags,
        })
        .collect()
}

/// Receives downloaded messages: Maildir first, status second.
struct DownloadSink<'a> {
    wanted: BTreeSet<Uid>,
    total: usize,
    n: usize,
    local: &'a mut dyn Store,
    status: &'a mut dyn StatusCache,
    progress: &'a mut (dyn FnMut(Progress) + Send),
    cancel: &'a (dyn Fn() -> bool + Sync),
    summary: &'a mut Summary,
    /// The error that stopped the batch, kept whole for the caller (the
    /// store gets a copy to stop its fetch with).
    fatal: Option<StoreError>,
}

impl DownloadSink<'_> {
    fn stop(&mut self, e: StoreError) -> Result<(), StoreError> {
        let copy = copy_error(&e);
        self.fatal = Some(e);
        Err(copy)
    }
}

impl DownloadSink<'_> {
    /// Whether `id` is one to store now (asked for, not yet stored, the
    /// sync not cancelled): its UID, announced as being copied.
    fn admit(&mut self, id: MsgRef) -> Result<Option<Uid>, StoreError> {
        if (self.cancel)() {
            self.summary.cancelled = true;
            return Err(cancelled_error());
        }
        // Only what was asked for, and each once.
        let MsgRef::Uid(uid) = id else {
            return Ok(None);
        };
        if !self.wanted.remove(&uid) {
            return Ok(None);
        }
        self.n += 1;
        (self.progress)(Progress::Copying {
            id,
            n: self.n,
            total: self.total,
            from: Side::Remote,
        });
        Ok(Some(uid))
    }

    /// After the Maildir's answer to storing message `uid`: its status
    /// row once it is stored.
    fn stored(
        &mut self,
        uid: Uid,
        flags: Flags,
        bytes: u64,
        res: Result<Option<Uid>, StoreError>,
    ) -> Result<(), StoreError> {
        match res {
            Ok(_) => {}
            Err(e) if is_message_error(&e) => {
                self.summary.skipped += 1;
                (self.progress)(Progress::Skipped {
                    on: Side::Local,
                    ids: vec![MsgRef::Uid(uid)],
                    error: e.to_string(),
                });
                return Ok(());
            }
            Err(e) => return self.stop(e),
        }
        // The flags of the fetched message are what both sides now hold,
        // even if they changed since the snapshot.
        if let Err(e) = self.status.set(uid, flags) {
            return self.stop(e);
        }
        self.summary.downloaded += 1;
        (self.progress)(Progress::Copied {
            from: Side::Remote,
            bytes,
        });
        Ok(())
    }
}

#[async_trait]
impl MessageSink for DownloadSink<'_> {
    async fn accept(&mut self, msg: Message) -> Result<(), StoreError> {
        let Some(uid) = self.admit(msg.id)? else {
            return Ok(());
        };
        let res = self.local.append(&msg, Some(uid)).await;
        self.stored(uid, msg.flags, msg.bytes.len() as u64, res)
    }

    async fn accept_in_pieces(
        &mut self,
        head: Message,
        rest: &mut dyn Pieces,
    ) -> Result<(), StoreError> {
        let Some(uid) = self.admit(head.id)? else {
            return Ok(());
        };
        let mut counted = Counted {
            inner: rest,
            bytes: head.bytes.len() as u64,
        };
        let res = self
            .local
            .append_in_pieces(&head, &mut counted, Some(uid))
            .await;
        let bytes = counted.bytes;
        self.stored(uid, head.flags, bytes, res)
    }
}

/// Sends the one local message it is given to the server as it is read:
/// its flags, bytes and the APPEND's outcome.
struct UploadOne<'a> {
    id: MsgRef,
    remote: &'a mut dyn Store,
    done: Option<(Flags, u64, Result<Option<Uid>, StoreError>)>,
}

#[async_trait]
impl MessageSink for UploadOne<'_> {
    async fn accept(&mut self, msg: Message) -> Result<(), StoreError> {
        if msg.id == self.id && self.done.is_none() {
            let res = self.remote.append(&msg, None).await;
            self.done = Some((msg.flags, msg.bytes.len() as u64, res));
        }
        Ok(())
    }

    async fn accept_in_pieces(
        &mut self,
        head: Message,
        rest: &mut dyn Pieces,
    ) -> Result<(), StoreError> {
        if head.id != self.id || self.done.is_some() {
            return Ok(());
        }
        let mut counted = Counted {
            inner: rest,
            bytes: head.bytes.len() as u64,
        };
        let res = self
            .remote
            .append_in_pieces(&head, &mut counted, None)
            .await;
        self.done = Some((head.flags, counted.bytes, res));
        Ok(())
    }
}

/// Pieces passed through, their bytes counted.
struct Counted<'a> {
    inner: &'a mut dyn Pieces,
    bytes: u64,
}

#[async_trait]
impl Pieces for Counted<'_> {
    async fn next(&mut self) -> Result<Option<bytes::Bytes>, StoreError> {
        let piece = self.inner.next().await?;
        if let Some(p) = &piece {
            self.bytes += p.len() as u64;
        }
        Ok(piece)
    }

    fn total(&self) -> Option<u64> {
        self.inner.total()
    }
}

/// Keeps the one message it was asked for.
struct OneMessage {
    id: MsgRef,
    msg: Option<Message>,
}

#[async_trait]
impl MessageSink for OneMessage {
    async fn accept(&mut self, msg: Message) -> Result<(), StoreError> {
        if msg.id == self.id && self.msg.is_none() {
            self.msg = Some(msg);
        }
        Ok(())
    }
}

/// Hashes each message it receives, so candidates can be matched without
/// holding more than one body.
struct HashSink {
    hashes: HashMap<MsgRef, u64>,
    /// Header fields to leave out first (`filterheaders`, local side).
    filterheaders: Vec<String>,
}

#[async_trait]
impl MessageSink for HashSink {
    async fn accept(&mut self, msg: Message) -> Result<(), StoreError> {
        let bytes = super::headers::remove(&msg.bytes, &self.filterheaders);
        self.hashes.insert(msg.id, body_hash(&bytes));
        Ok(())
    }
}

fn body_hash(bytes: &[u8]) -> u64 {
    // Only a pre-filter within one process: every hit is confirmed by an
    // exact comparison, so SipHash's fixed keys are fine.
    let mut h = DefaultHasher::new();
    h.write(&comparable(bytes));
    h.finish()
}

/// The message without `X-OfflineIMAP` header fields: a server without
/// UIDPLUS gets that header added to uploads so the upload can be found
/// again, and the Maildir copy never has it.
fn comparable(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    const NAME: &[u8] = b"x-offlineimap:";
    let mut out: Vec<u8> = Vec::new();
    let mut pos = 0;
    let mut dropping = false;
    let mut changed = false;
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |i| pos + i + 1);
        let line = &bytes[pos..end];
        if line == b"\r\n" || line == b"\n" {
            // End of the header: the body is kept as it is.
            out.extend_from_slice(&bytes[pos..]);
            break;
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            dropping = line.len() >= NAME.len() && line[..NAME.len()].eq_ignore_ascii_case(NAME);
        }
        if dropping {
            changed = true;
        } else {
            out.extend_from_slice(line);
        }
        pos = end;
    }
    if changed {
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(bytes)
    }
}

/// Link local messages to server copies an interrupted run left behind.
///
/// If a run died after an upload reached the server but before the local
/// message was relabelled with its new UID (or the server never told the
/// UID), this run sees the server copy as a UID that neither the status nor
/// the Maildir knows, and the local message as one to upload: planning as
/// is would duplicate it on both sides. Run this before [`plan`]: for each
/// local message the status does not know (new, or with a UID the server
/// lacks) it looks for such server UIDs whose size allows a match, and on an
/// exact byte match (ignoring `X-OfflineIMAP` header fields) relabels the
/// local message, writes the status row with the server's flags and updates
/// `local_snap` and `status` so the planner sees a message in sync; the
/// flag passes then reconcile its flags (local changes win, as after
/// R1-record). Returns how many were paired.
///
/// Costs nothing (no fetch) unless both kinds of candidates exist.
///
/// [`plan`]: super::plan::plan
pub async fn pair_new_messages(
    remote_snap: &Snapshot,
    local_snap: &mut Snapshot,
    status: &mut StatusSnapshot,
    remote: &mut dyn Store,
    local: &mut dyn Store,
    statusc: &mut dyn StatusCache,
) -> Result<usize, StoreError> {
    pair_new_messages_filtered(remote_snap, local_snap, status, remote, local, statusc, &[]).await
}

/// [`pair_new_messages`] for uploads that left out the header fields
/// `filterheaders` names: a local message is compared as it was uploaded.
/// Such an upload can be smaller than the local file, so sizes no longer
/// rule candidates out.
pub async fn pair_new_messages_filtered(
    remote_snap: &Snapshot,
    local_snap: &mut Snapshot,
    status: &mut StatusSnapshot,
    remote: &mut dyn Store,
    local: &mut dyn Store,
    statusc: &mut dyn StatusCache,
    filterheaders: &[String],
) -> Result<usize, StoreError> {
    let mut remote_cands: Vec<(Uid, MessageMeta)> = remote_snap
        .uids
        .iter()
        .filter(|(u, _)| !status.contains_key(u) && !local_snap.uids.contains_key(u))
        .map(|(u, m)| (*u, *m))
        .collect();
    let mut local_cands: Vec<(MsgRef, MessageMeta)> = local_snap
        .new
        .iter()
        .map(|n| (MsgRef::New(n.id), n.meta))
        .chain(
            local_snap
                .uids
                .iter()
                .filter(|(u, _)| !status.contains_key(u) && !remote_snap.uids.contains_key(u))
                .map(|(u, m)| (MsgRef::Uid(*u), *m)),
        )
        .collect();
    if remote_cands.is_empty() || local_cands.is_empty() {
        return Ok(0);
    }
    // The server's size counts CRLF line ends (and any X-OfflineIMAP
    // header), the Maildir's may not: a match is never smaller remotely
    // (unless filterheaders made the upload smaller).
    let sized = filterheaders.is_empty();
    let min_local = if sized {
        local_cands.iter().map(|(_, m)| m.size).min().unwrap_or(0)
    } else {
        0
    };
    let max_remote = remote_cands.iter().map(|(_, m)| m.size).max().unwrap_or(0);
    remote_cands.retain(|(_, m)| m.size >= min_local);
    local_cands.retain(|(_, m)| !sized || m.size <= max_remote);
    if remote_cands.is_empty() || local_cands.is_empty() {
        return Ok(0);
    }
    local_cands.sort_by_key(|(id, _)| *id);

    let local_ids: Vec<MsgRef> = local_cands.iter().map(|(id, _)| *id).collect();
    let mut lh = HashSink {
        hashes: HashMap::new(),
        filterheaders: filterheaders.to_vec(),
    };
    local.fetch(&local_ids, &mut lh).await?;
    let remote_ids: Vec<MsgRef> = remote_cands.iter().map(|(u, _)| MsgRef::Uid(*u)).collect();
    let mut rh = HashSink {
        hashes: HashMap::new(),
        filterheaders: Vec::new(),
    };
    remote.fetch(&remote_ids, &mut rh).await?;

    let mut used: BTreeSet<Uid> = BTreeSet::new();
    let mut paired = 0;
    for (lid, lmeta) in &local_cands {
        let Some(lhash) = lh.hashes.get(lid) else {
            continue;
        };
        let mut local_msg: Option<Message> = None;
        for (uid, rmeta) in &remote_cands {
            if used.contains(uid)
                || (sized && rmeta.size < lmeta.size)
                || rh.hashes.get(&MsgRef::Uid(*uid)) != Some(lhash)
            {
                continue;
            }
            if local_msg.is_none() {
                let mut one = OneMessage {
                    id: *lid,
                    msg: None,
                };
                local.fetch(&[*lid], &mut one).await?;
                local_msg = one.msg;
            }
            let Some(lmsg) = &local_msg else { break };
            let mut one = OneMessage {
                id: MsgRef::Uid(*uid),
                msg: None,
            };
            remote.fetch(&[MsgRef::Uid(*uid)], &mut one).await?;
            let Some(rmsg) = one.msg else { continue };
            let uploaded = super::headers::remove(&lmsg.bytes, filterheaders);
            if comparable(&rmsg.bytes) != comparable(&uploaded) {
                continue;
            }
            local.assign_uid(*lid, *uid).await?;
            statusc.set(*uid, rmeta.flags)?;
            used.insert(*uid);
            paired += 1;
            match lid {
                MsgRef::New(n) => local_snap.new.retain(|m| m.id != *n),
                MsgRef::Uid(u) => {
                    local_snap.uids.remove(u);
                }
            }
            local_snap.uids.insert(*uid, *lmeta);
            status.insert(*uid, rmeta.flags);
            break;
        }
    }
    if paired > 0 {
        statusc.commit()?;
    }
    Ok(paired)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sync::memory::{MemStatus, MemStore};
    use crate::sync::plan::{PlanOptions, plan};
    use crate::sync::store::WriteOutcomes;
    use futures::executor::block_on;

    fn f(s: &str) -> Flags {
        Flags::from_letters(s)
    }

    struct World {
        remote: MemStore,
        local: MemStore,
        status: MemStatus,
    }

    impl World {
        fn new(remote: MemStore, local: MemStore, status: StatusSnapshot) -> World {
            World {
                remote,
                local,
                status: MemStatus::new(status),
            }
        }

        /// pair + plan + apply, returning the summary and the progress seen.
        fn sync(&mut self) -> (Summary, usize, Vec<Progress>) {
            block_on(async {
                let mut rs = self.remote.snapshot().await.unwrap();
                let mut ls = self.local.snapshot().await.unwrap();
                rs.new.clear();
                let mut st = self.status.load().unwrap();
                let paired = pair_new_messages(
                    &rs,
                    &mut ls,
                    &mut st,
                    &mut self.remote,
                    &mut self.local,
                    &mut self.status,
                )
                .await
                .unwrap();
                let p = plan(&rs, &ls, &st, &PlanOptions::default());
                let mut seen = Vec::new();
                let summary = apply(
                    &p,
                    &mut self.remote,
                    &mut self.local,
                    &mut self.status,
                    &mut |e| seen.push(e),
                    &|| false,
                )
                .await
                .unwrap();
                (summary, paired, seen)
            })
        }
    }

    #[test]
    fn downloads_in_one_batch_and_records_status() {
        let mut r = MemStore::server();
        r.insert(1, f("S"), b"one\r\n");
        r.insert(2, f(""), b"two\r\n");
        let mut w = World::new(r, MemStore::maildir(), StatusSnapshot::new());
        let (s, _, seen) = w.sync();
        assert_eq!(s.downloaded, 2);
        assert_eq!(w.local.message(1).unwrap().bytes, b"one\r\n");
        assert_eq!(w.local.message(2).unwrap().flags, f(""));
        assert_eq!(w.status.committed().get(&1), Some(&f("S")));
        assert!(seen.contains(&Progress::Copying {
            id: MsgRef::Uid(2),
            n: 2,
            total: 2,
            from: Side::Remote
        }));
    }

    #[test]
    fn upload_relabels_local_and_records_new_uid() {
        let mut l = MemStore::maildir();
        l.insert_new(f("S"), b"hello\r\n");
        let mut w = World::new(
            MemStore::server().with_next_uid(40),
            l,
            StatusSnapshot::new(),
        );
        let (s, _, _) = w.sync();
        assert_eq!(s.uploaded, 1);
        assert_eq!(w.remote.message(40).unwrap().bytes, b"hello\r\n");
        assert_eq!(w.local.message(40).unwrap().flags, f("S"));
        assert_eq!(w.local.new_messages().count(), 0);
        assert_eq!(w.status.committed().get(&40), Some(&f("S")));
    }

    #[test]
    fn upload_without_uid_leaves_local_and_pairs_next_run() {
        let mut l = MemStore::maildir();
        l.insert_new(f("S"), b"hello\r\n");
        let mut w = World::new(
            MemStore::server().without_uidplus(),
            l,
            StatusSnapshot::new(),
        );
        let (s, _, seen) = w.sync();
        assert_eq!(s.uid_unknown, 1);
        assert!(
            seen.iter()
                .any(|p| matches!(p, Progress::UidUnknown { .. }))
        );
        assert_eq!(w.local.new_messages().count(), 1);
        assert!(w.status.committed().is_empty());
        // Next run: paired, nothing copied either way.
        let (s, paired, _) = w.sync();
        assert_eq!(paired, 1);
        assert_eq!(s.downloaded + s.uploaded, 0);
        assert_eq!(w.remote.bodies(), vec![b"hello\r\n".to_vec()]);
        assert_eq!(w.local.bodies(), vec![b"hello\r\n".to_vec()]);
        assert_eq!(w.local.flags_by_uid(), w.remote.flags_by_uid());
    }

    #[test]
    fn a_filtered_upload_is_paired_with_its_unfiltered_local_message() {
        // An earlier run uploaded the message without X-Spam-Status and
        // died before relabelling the local file.
        let full = b"X-Spam-Status: No,\r\n score=0\r\nSubject: s\r\n\r\nbody\r\n";
        let sent = b"Subject: s\r\n\r\nbody\r\n";
        let pair = |filter: &[String]| {
            let mut l = MemStore::maildir();
            l.insert_new(f(""), full);
            let mut r = MemStore::server();
            r.insert(7, f(""), sent);
            let mut status = MemStatus::new(StatusSnapshot::new());
            block_on(async {
                let rs = r.snapshot().await.unwrap();
                let mut ls = l.snapshot().await.unwrap();
                let mut st = StatusSnapshot::new();
                let n = pair_new_messages_filtered(
                    &rs,
                    &mut ls,
                    &mut st,
                    &mut r,
                    &mut l,
                    &mut status,
                    filter,
                )
                .await
                .unwrap();
                (n, ls.new.len(), l.message(7).map(|m| m.bytes.clone()))
            })
        };
        let (n, left, local7) = pair(&["X-Spam-Status".to_owned()]);
        assert_eq!((n, left), (1, 0));
        // The local file keeps its header.
        assert_eq!(local7.unwrap(), full.to_vec());
        // Without the option the two differ.
        assert_eq!(pair(&[]).0, 0);
    }

    #[test]
    fn message_error_skips_one_message_and_continues() {
        let mut l = MemStore::maildir();
        l.insert_new(f(""), b"bad\r\n");
        l.insert_new(f(""), b"good\r\n");
        let r = MemStore::server().reject_append_of(b"bad\r\n");
        let mut w = World::new(r, l, StatusSnapshot::new());
        let (s, _, seen) = w.sync();
        assert_eq!(s.uploaded, 1);
        assert_eq!(s.skipped, 1);
        assert!(seen.iter().any(|p| matches!(p, Progress::Skipped { .. })));
        assert_eq!(w.remote.bodies(), vec![b"good\r\n".to_vec()]);
        // The refused message is still in the Maildir, without UID.
        assert_eq!(w.local.new_messages().count(), 1);
    }

    #[test]
    fn flags_group_into_one_call_per_flag_set() {
        let mut r = MemStore::server();
        let mut l = MemStore::maildir();
        let mut st = StatusSnapshot::new();
        for u in 1..=3 {
            r.insert(u, f(""), b"m");
            l.insert(u, f("S"), b"m");
            st.insert(u, f(""));
        }
        let mut w = World::new(r, l, st);
        let (s, _, seen) = w.sync();
        assert_eq!(s.flags_remote, 3);
        let adds: Vec<&Progress> = seen
            .iter()
            .filter(|p| matches!(p, Progress::FlagsAdding { .. }))
            .collect();
        assert_eq!(
            adds,
            vec![&Progress::FlagsAdding {
                on: Side::Remote,
                uids: vec![1, 2, 3],
                flags: f("S")
            }]
        );
        assert_eq!(w.remote.flags_by_uid(), w.local.flags_by_uid());
        assert_eq!(w.status.committed().get(&2), Some(&f("S")));
    }

    #[test]
    fn deletes_in_bulk_then_status() {
        let mut r = MemStore::server();
        let mut l = MemStore::maildir();
        let mut st = StatusSnapshot::new();
        for u in 1..=2 {
            l.insert(u, f(""), b"m");
            st.insert(u, f(""));
        }
        r.insert(3, f(""), b"x");
        l.insert(3, f(""), b"x");
        st.insert(3, f(""));
        let mut w = World::new(r, l, st);
        let (s, _, seen) = w.sync();
        assert_eq!(s.deleted_local, 2);
        assert!(seen.contains(&Progress::Deleting {
            on: Side::Local,
            uids: vec![1, 2]
        }));
        assert_eq!(w.local.messages().len(), 1);
        assert_eq!(
            w.status.committed().keys().copied().collect::<Vec<_>>(),
            vec![3]
        );
    }

    #[test]
    fn cancel_stops_between_messages() {
        let mut r = MemStore::server();
        r.insert(1, f(""), b"one");
        r.insert(2, f(""), b"two");
        let mut l = MemStore::maildir();
        let mut st = MemStatus::new(StatusSnapshot::new());
        let p = block_on(async {
            let rs = r.snapshot().await.unwrap();
            let ls = l.snapshot().await.unwrap();
            plan(&rs, &ls, &StatusSnapshot::new(), &PlanOptions::default())
        });
        let mut copied = 0;
        let s = block_on(apply(
            &p,
            &mut r,
            &mut l,
            &mut st,
            &mut |e| {
                if matches!(e, Progress::Copied { .. }) {
                    copied += 1;
                }
            },
            &|| true,
        ));
        // Cancelled from the start: nothing is copied.
        let s = s.unwrap();
        assert!(s.cancelled);
        assert_eq!(copied, 0);
        assert!(l.messages().is_empty());
    }

    #[test]
    fn pairing_matches_identical_message() {
        // A run died after APPEND (UID 5 on the server) and before the local
        // message was relabelled.
        let mut r = MemStore::server();
        r.insert(5, f("S"), b"Subject: x\r\n\r\nbody\r\n");
        let mut l = MemStore::maildir();
        l.insert_new(f("S"), b"Subject: x\r\n\r\nbody\r\n");
        let mut w = World::new(r, l, StatusSnapshot::new());
        let (s, paired, _) = w.sync();
        assert_eq!(paired, 1);
        assert_eq!(s.downloaded, 0);
        assert_eq!(s.uploaded, 0);
        assert_eq!(
            w.local.messages().keys().copied().collect::<Vec<_>>(),
            vec![5]
        );
        assert_eq!(w.status.committed().get(&5), Some(&f("S")));
    }

    #[test]
    fn pairing_ignores_x_offlineimap_header() {
        let mut r = MemStore::server();
        r.insert(
            5,
            f(""),
            b"Subject: x\r\nX-OfflineIMAP: 123-456\r\n\r\nbody\r\n",
        );
        let mut l = MemStore::maildir();
        l.insert_new(f(""), b"Subject: x\r\n\r\nbody\r\n");
        let mut w = World::new(r, l, StatusSnapshot::new());
        let (_, paired, _) = w.sync();
        assert_eq!(paired, 1);
    }

    #[test]
    fn pairing_rejects_same_size_different_bytes() {
        let mut r = MemStore::server();
        r.insert(5, f(""), b"Subject: x\r\n\r\nbody\r\n");
        let mut l = MemStore::maildir();
        l.insert_new(f(""), b"Subject: y\r\n\r\nbody\r\n");
        let mut w = World::new(r, l, StatusSnapshot::new());
        let (s, paired, _) = w.sync();
        assert_eq!(paired, 0);
        assert_eq!(s.downloaded, 1);
        assert_eq!(s.uploaded, 1);
    }

    #[test]
    fn pairing_matches_local_uid_unknown_to_server() {
        // Crash during an L1-upload-uid: local 3 was uploaded as 9.
        let mut r = MemStore::server();
        r.insert(9, f(""), b"m3\r\n");
        let mut l = MemStore::maildir();
        l.insert(3, f("F"), b"m3\r\n");
        let mut w = World::new(r, l, StatusSnapshot::new());
        let (s, paired, _) = w.sync();
        assert_eq!(paired, 1);
        assert_eq!(s.uploaded + s.downloaded, 0);
        assert_eq!(w.local.flags_by_uid(), w.remote.flags_by_uid());
        assert_eq!(w.local.flags_by_uid().get(&9), Some(&f("F")));
    }

    /// A store that counts fetches, to prove the common case fetches nothing.
    #[test]
    fn pairing_without_candidates_fetches_nothing() {
        struct NoFetch(MemStore);
        #[async_trait]
        impl Store for NoFetch {
            async fn snapshot(&mut self) -> Result<Snapshot, StoreError> {
                self.0.snapshot().await
            }
            async fn fetch(
                &mut self,
                _: &[MsgRef],
                _: &mut dyn MessageSink,
            ) -> Result<(), StoreError> {
                panic!("fetch called")
            }
            async fn append(
                &mut self,
                m: &Message,
                u: Option<Uid>,
            ) -> Result<Option<Uid>, StoreError> {
                self.0.append(m, u).await
            }
            async fn assign_uid(&mut self, id: MsgRef, u: Uid) -> Result<(), StoreError> {
                self.0.assign_uid(id, u).await
            }
            async fn add_flags(&mut self, u: &[Uid], f: Flags) -> Result<(), StoreError> {
                self.0.add_flags(u, f).await
            }
            async fn remove_flags(&mut self, u: &[Uid], f: Flags) -> Result<(), StoreError> {
                self.0.remove_flags(u, f).await
            }
            async fn delete(&mut self, u: &[Uid]) -> Result<(), StoreError> {
                self.0.delete(u).await
            }
        }
        let mut r = MemStore::server();
        r.insert(5, f(""), b"new on server");
        let mut l = MemStore::maildir();
        l.insert(1, f(""), b"synced");
        let mut st = StatusSnapshot::new();
        st.insert(1, f(""));
        let (mut r, mut l) = (NoFetch(r), NoFetch(l));
        let mut sc = MemStatus::new(st.clone());
        let n = block_on(async {
            let rs = r.snapshot().await.unwrap();
            let mut ls = l.snapshot().await.unwrap();
            pair_new_messages(&rs, &mut ls, &mut st, &mut r, &mut l, &mut sc)
                .await
                .unwrap()
        });
        assert_eq!(n, 0);
    }

    /// A store that makes the first of several flag changes, refuses the
    /// second and says nothing of the rest, and logs its write calls.
    struct Partial(MemStore, Vec<&'static str>);

    #[async_trait]
    impl Store for Partial {
        async fn snapshot(&mut self) -> Result<Snapshot, StoreError> {
            self.0.snapshot().await
        }
        async fn fetch(
            &mut self,
            ids: &[MsgRef],
            sink: &mut dyn MessageSink,
        ) -> Result<(), StoreError> {
            self.0.fetch(ids, sink).await
        }
        async fn append(&mut self, m: &Message, u: Option<Uid>) -> Result<Option<Uid>, StoreError> {
            self.0.append(m, u).await
        }
        async fn assign_uid(&mut self, id: MsgRef, u: Uid) -> Result<(), StoreError> {
            self.0.assign_uid(id, u).await
        }
        async fn add_flags(&mut self, u: &[Uid], f: Flags) -> Result<(), StoreError> {
            self.0.add_flags(u, f).await
        }
        async fn remove_flags(&mut self, u: &[Uid], f: Flags) -> Result<(), StoreError> {
            self.0.remove_flags(u, f).await
        }
        async fn delete(&mut self, u: &[Uid]) -> Result<(), StoreError> {
            self.1.push("delete");
            self.0.delete(u).await
        }
        async fn change_flags(
            &mut self,
            changes: &[FlagChange<'_>],
        ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
            self.1.push("change_flags");
            Ok(self.partly(changes).await)
        }
        async fn delete_and_change_flags(
            &mut self,
            uids: &[Uid],
            changes: &[FlagChange<'_>],
        ) -> Result<WriteOutcomes, StoreError> {
            self.1.push("delete_and_change_flags");
            let deleted = self.0.delete(uids).await;
            let flags = self.partly(changes).await;
            Ok(WriteOutcomes { deleted, flags })
        }
    }

    impl Partial {
        async fn partly(&mut self, changes: &[FlagChange<'_>]) -> Vec<Result<(), StoreError>> {
            let mut out = Vec::new();
            if let Some(c) = changes.first() {
                out.push(self.0.add_flags(c.uids, c.flags).await);
            }
            if changes.len() > 1 {
                out.push(Err(StoreError::new(ErrorKind::Message, "refused")));
            }
            out
        }
    }

    /// A store sending flag changes together may refuse one of them, or
    /// answer for fewer than it was given: only the changes it reported
    /// made reach the status cache.
    #[test]
    fn flag_changes_refused_or_unanswered_keep_their_status() {
        let mut r = MemStore::server();
        let mut l = MemStore::maildir();
        let mut st = StatusSnapshot::new();
        // Three flag sets added locally: one change each, in this order.
        for (u, letters) in [(1, "D"), (2, "F"), (3, "S")] {
            r.insert(u, f(""), b"m");
            l.insert(u, f(letters), b"m");
            st.insert(u, f(""));
        }
        let mut r = Partial(r, Vec::new());
        let mut sc = MemStatus::new(st.clone());
        let summary = block_on(async {
            let rs = r.snapshot().await.unwrap();
            let ls = l.snapshot().await.unwrap();
            let p = plan(&rs, &ls, &st, &PlanOptions::default());
            apply(&p, &mut r, &mut l, &mut sc, &mut |_| {}, &|| false)
                .await
                .unwrap()
        });
        assert_eq!(summary.flags_remote, 1);
        assert_eq!(summary.skipped, 2);
        assert_eq!(sc.committed().get(&1), Some(&f("D")));
        assert_eq!(sc.committed().get(&2), Some(&f("")));
        assert_eq!(sc.committed().get(&3), Some(&f("")));
    }

    /// A delete pass and the flag pass after it reach the store in one
    /// call (IMAP: one round trip), and each keeps its own outcomes.
    #[test]
    fn a_delete_pass_and_its_flag_pass_go_to_the_store_together() {
        let mut r = MemStore::server();
        let mut l = MemStore::maildir();
        let mut st = StatusSnapshot::new();
        for (u, letters) in [(1, "D"), (2, "F"), (3, "S")] {
            r.insert(u, f(""), b"m");
            l.insert(u, f(letters), b"m");
            st.insert(u, f(""));
        }
        // Deleted locally.
        r.insert(4, f(""), b"m");
        st.insert(4, f(""));
        let mut r = Partial(r, Vec::new());
        let mut sc = MemStatus::new(st.clone());
        let summary = block_on(async {
            let rs = r.snapshot().await.unwrap();
            let ls = l.snapshot().await.unwrap();
            let p = plan(&rs, &ls, &st, &PlanOptions::default());
            apply(&p, &mut r, &mut l, &mut sc, &mut |_| {}, &|| false)
                .await
                .unwrap()
        });
        assert_eq!(r.1, vec!["delete_and_change_flags"]);
        assert_eq!(summary.deleted_remote, 1);
        assert_eq!(summary.flags_remote, 1);
        assert_eq!(summary.skipped, 2);
        assert!(r.0.message(4).is_none());
        assert_eq!(sc.committed().get(&4), None);
        assert_eq!(sc.committed().get(&1), Some(&f("D")));
        assert_eq!(sc.committed().get(&2), Some(&f("")));
    }

    /// Workers run `apply` and pairing inside spawned tasks.
    #[test]
    fn futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let mut r = MemStore::server();
        let mut l = MemStore::maildir();
        let mut st = MemStatus::default();
        let p = Plan::default();
        let mut progress = |_: Progress| {};
        let fut = apply(&p, &mut r, &mut l, &mut st, &mut progress, &|| false);
        assert_send(&fut);
        drop(fut);
        let rs = Snapshot::default();
        let mut ls = Snapshot::default();
        let mut ss = StatusSnapshot::new();
        let fut = pair_new_messages(&rs, &mut ls, &mut ss, &mut r, &mut l, &mut st);
        assert_send(&fut);
        assert_eq!(block_on(fut).unwrap(), 0);
    }

    #[test]
    fn comparable_drops_only_the_header_field() {
        let m = b"A: 1\r\nX-OfflineIMAP: 1-2\r\n  folded\r\nB: 2\r\n\r\nX-OfflineIMAP: body\r\n";
        assert_eq!(
            &*comparable(m),
            b"A: 1\r\nB: 2\r\n\r\nX-OfflineIMAP: body\r\n"
        );
        let plain = b"A: 1\r\n\r\nbody";
        assert!(matches!(comparable(plain), std::borrow::Cow::Borrowed(_)));
    }
}
