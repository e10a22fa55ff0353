//! In-memory stand-ins for a folder ([`MemStore`]) and its status cache
//! ([`MemStatus`]), for the engine's tests and the integration tests.
//!
//! A `MemStore` plays either the server (it assigns UIDs on append) or the
//! Maildir (it keeps appended messages without a UID as "new" ones).
//! [`Faults`] simulates a crash: the k-th mutating operation across all the
//! stores and status caches sharing it fails, and so does every later one,
//! leaving the state exactly as it was at that point.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;

use super::model::{
    Flags, Message, MessageMeta, MsgRef, NewId, NewMessage, Snapshot, StatusSnapshot, Uid,
};
use super::store::{ErrorKind, MessageSink, StatusCache, Store, StoreError};

/// A crash switch shared by every store and status cache of one simulated
/// process. Counts mutating steps; the step numbered `fail_at` (0-based)
/// and all steps after it fail with a transient error, as if the process
/// had died there.
#[derive(Clone, Debug, Default)]
pub struct Faults(Arc<FaultState>);

#[derive(Debug)]
struct FaultState {
    steps: AtomicUsize,
    fail_at: AtomicUsize,
    tripped: AtomicBool,
}

impl Default for FaultState {
    fn default() -> Self {
        FaultState {
            steps: AtomicUsize::new(0),
            fail_at: AtomicUsize::new(usize::MAX),
            tripped: AtomicBool::new(false),
        }
    }
}

impl Faults {
    /// A switch that never trips.
    pub fn new() -> Faults {
        Faults::default()
    }

    /// A switch that trips at mutating step `step` (0-based).
    pub fn fail_at(step: usize) -> Faults {
        let f = Faults::default();
        f.0.fail_at.store(step, Ordering::SeqCst);
        f
    }

    /// Mutating steps that succeeded so far.
    pub fn steps(&self) -> usize {
        self.0.steps.load(Ordering::SeqCst)
    }

    /// Whether the simulated crash has happened.
    pub fn tripped(&self) -> bool {
        self.0.tripped.load(Ordering::SeqCst)
    }

    /// "Restart the process": nothing fails any more.
    pub fn disarm(&self) {
        self.0.fail_at.store(usize::MAX, Ordering::SeqCst);
        self.0.tripped.store(false, Ordering::SeqCst);
    }

    fn step(&self, what: &str) -> Result<(), StoreError> {
        if self.tripped() {
            return Err(crash(what));
        }
        let n = self.0.steps.load(Ordering::SeqCst);
        if n == self.0.fail_at.load(Ordering::SeqCst) {
            self.0.tripped.store(true, Ordering::SeqCst);
            return Err(crash(what));
        }
        self.0.steps.store(n + 1, Ordering::SeqCst);
        Ok(())
    }
}

fn crash(what: &str) -> StoreError {
    StoreError::new(
        ErrorKind::Transient,
        format!("simulated crash before {what}"),
    )
}

/// One stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemMessage {
    pub flags: Flags,
    pub internal_date: Option<i64>,
    /// CRLF form, as the `Store` trait hands messages around.
    pub bytes: Vec<u8>,
}

/// A folder held in memory.
#[derive(Debug)]
pub struct MemStore {
    name: String,
    assigns_uids: bool,
    reports_uids: bool,
    /// Report sizes as a Maildir on disk would (LF line ends).
    lf_sizes: bool,
    uids: BTreeMap<Uid, MemMessage>,
    new: BTreeMap<u32, MemMessage>,
    next_uid: Uid,
    next_new: u32,
    faults: Faults,
    rejected: Vec<Vec<u8>>,
}

impl MemStore {
    fn empty(name: &str) -> MemStore {
        MemStore {
            name: name.to_string(),
            assigns_uids: false,
            reports_uids: true,
            lf_sizes: false,
            uids: BTreeMap::new(),
            new: BTreeMap::new(),
            next_uid: 1,
            next_new: 0,
            faults: Faults::new(),
            rejected: Vec::new(),
        }
    }

    /// A server folder: `append(msg, None)` assigns the next UID, sizes are
    /// CRLF sizes.
    pub fn server() -> MemStore {
        MemStore {
            assigns_uids: true,
            ..MemStore::empty("Remote")
        }
    }

    /// A Maildir folder: `append(msg, None)` stores a message without UID,
    /// sizes are LF sizes.
    pub fn maildir() -> MemStore {
        MemStore {
            lf_sizes: true,
            ..MemStore::empty("Local")
        }
    }

    /// Share a crash switch with other stores.
    pub fn with_faults(mut self, faults: Faults) -> MemStore {
        self.faults = faults;
        self
    }

    /// The next UID the server assigns (it never goes below one past the
    /// highest UID it has held).
    pub fn with_next_uid(mut self, uid: Uid) -> MemStore {
        self.next_uid = self.next_uid.max(uid);
        self
    }

    /// A server without UIDPLUS whose header search failed: appends succeed
    /// but return `None`.
    pub fn without_uidplus(mut self) -> MemStore {
        self.reports_uids = false;
        self
    }

    /// Appending a message with exactly these bytes fails with
    /// [`ErrorKind::Message`], as a server refusing one message does.
    pub fn reject_append_of(mut self, bytes: &[u8]) -> MemStore {
        self.rejected.push(bytes.to_vec());
        self
    }

    /// Put a message in place (test setup; not a counted step).
    pub fn insert(&mut self, uid: Uid, flags: Flags, bytes: &[u8]) {
        self.uids.insert(
            uid,
            MemMessage {
                flags,
                internal_date: None,
                bytes: bytes.to_vec(),
            },
        );
        self.next_uid = self.next_uid.max(uid.saturating_add(1));
    }

    /// Put a message without UID in place (test setup).
    pub fn insert_new(&mut self, flags: Flags, bytes: &[u8]) -> NewId {
        let id = self.next_new;
        self.next_new += 1;
        self.new.insert(
            id,
            MemMessage {
                flags,
                internal_date: None,
                bytes: bytes.to_vec(),
            },
        );
        NewId(id)
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn message(&self, uid: Uid) -> Option<&MemMessage> {
        self.uids.get(&uid)
    }

    /// Messages with a UID.
    pub fn messages(&self) -> &BTreeMap<Uid, MemMessage> {
        &self.uids
    }

    /// Messages without a UID.
    pub fn new_messages(&self) -> impl Iterator<Item = (NewId, &MemMessage)> {
        self.new.iter().map(|(k, m)| (NewId(*k), m))
    }

    /// Every body held, with or without UID, sorted (a multiset).
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = self
            .uids
            .values()
            .chain(self.new.values())
            .map(|m| m.bytes.clone())
            .collect();
        v.sort();
        v
    }

    /// UID -> flags of every message with a UID.
    pub fn flags_by_uid(&self) -> BTreeMap<Uid, Flags> {
        self.uids.iter().map(|(u, m)| (*u, m.flags)).collect()
    }

    fn size(&self, bytes: &[u8]) -> u64 {
        let len = bytes.len() as u64;
        if self.lf_sizes {
            len - bytes.windows(2).filter(|w| w == b"\r\n").count() as u64
        } else {
            len
        }
    }

    fn get(&self, id: MsgRef) -> Option<&MemMessage> {
        match id {
            MsgRef::Uid(u) => self.uids.get(&u),
            MsgRef::New(NewId(n)) => self.new.get(&n),
        }
    }
}

#[async_trait]
impl Store for MemStore {
    async fn snapshot(&mut self) -> Result<Snapshot, StoreError> {
        let uids = self
            .uids
            .iter()
            .map(|(u, m)| {
                let meta = MessageMeta {
                    flags: m.flags,
                    size: self.size(&m.bytes),
                };
                (*u, meta)
            })
            .collect();
        let new = self
            .new
            .iter()
            .map(|(k, m)| NewMessage {
                id: NewId(*k),
                meta: MessageMeta {
                    flags: m.flags,
                    size: self.size(&m.bytes),
                },
            })
            .collect();
        Ok(Snapshot { uids, new })
    }

    async fn fetch(
        &mut self,
        ids: &[MsgRef],
        sink: &mut dyn MessageSink,
    ) -> Result<(), StoreError> {
        for id in ids {
            let Some(m) = self.get(*id) else { continue };
            let msg = Message {
                id: *id,
                flags: m.flags,
                internal_date: m.internal_date,
                bytes: m.bytes.clone().into(),
            };
            sink.accept(msg).await?;
        }
        Ok(())
    }

    async fn append(&mut self, msg: &Message, uid: Option<Uid>) -> Result<Option<Uid>, StoreError> {
        if self.rejected.iter().any(|r| r[..] == msg.bytes[..]) {
            return Err(StoreError::new(
                ErrorKind::Message,
                format!("{}: message {} refused", self.name, msg.id),
            ));
        }
        self.faults.step("append")?;
        let stored = MemMessage {
            flags: msg.flags,
            internal_date: msg.internal_date,
            bytes: msg.bytes.to_vec(),
        };
        match uid {
            Some(u) => {
                if self.uids.contains_key(&u) {
                    return Err(StoreError::new(
                        ErrorKind::Folder,
                        format!("{}: UID {u} already exists", self.name),
                    ));
                }
                self.insert(u, msg.flags, &msg.bytes);
                if let Some(m) = self.uids.get_mut(&u) {
                    m.internal_date = msg.internal_date;
                }
                Ok(Some(u))
            }
            None if self.assigns_uids => {
                let u = self.next_uid;
                self.next_uid += 1;
                self.uids.insert(u, stored);
                Ok(self.reports_uids.then_some(u))
            }
            None => {
                let id = self.next_new;
                self.next_new += 1;
                self.new.insert(id, stored);
                Ok(None)
            }
        }
    }

    async fn assign_uid(&mut self, id: MsgRef, uid: Uid) -> Result<(), StoreError> {
        if self.get(id).is_none() {
            return Err(StoreError::new(
                ErrorKind::Message,
                format!("{}: message {id} vanished", self.name),
            ));
        }
        if id != MsgRef::Uid(uid) && self.uids.contains_key(&uid) {
            return Err(StoreError::new(
                ErrorKind::Folder,
                format!(
                    "{}: cannot relabel {id}: UID {uid} already exists",
                    self.name
                ),
            ));
        }
        self.faults.step("assign_uid")?;
        let m = match id {
            MsgRef::Uid(u) => self.uids.remove(&u),
            MsgRef::New(NewId(n)) => self.new.remove(&n),
        };
        if let Some(m) = m {
            self.uids.insert(uid, m);
            self.next_uid = self.next_uid.max(uid.saturating_add(1));
        }
        Ok(())
    }

    async fn add_flags(&mut self, uids: &[Uid], flags: Flags) -> Result<(), StoreError> {
        self.faults.step("add_flags")?;
        for u in uids {
            if let Some(m) = self.uids.get_mut(u) {
                m.flags = m.flags.union(flags);
            }
        }
        Ok(())
    }

    async fn remove_flags(&mut self, uids: &[Uid], flags: Flags) -> Result<(), StoreError> {
        self.faults.step("remove_flags")?;
        for u in uids {
            if let Some(m) = self.uids.get_mut(u) {
                m.flags = m.flags.difference(flags);
            }
        }
        Ok(())
    }

    async fn delete(&mut self, uids: &[Uid]) -> Result<(), StoreError> {
        self.faults.step("delete")?;
        for u in uids {
            self.uids.remove(u);
        }
        Ok(())
    }
}

/// A status cache held in memory. Writes are buffered until `commit`, and a
/// commit that hits the crash switch loses them, as a crashed process
/// loses an uncommitted transaction.
#[derive(Debug, Default)]
pub struct MemStatus {
    committed: StatusSnapshot,
    pending: Vec<(Uid, Option<Flags>)>,
    faults: Faults,
    commits: usize,
}

impl MemStatus {
    pub fn new(rows: StatusSnapshot) -> MemStatus {
        MemStatus {
            committed: rows,
            ..MemStatus::default()
        }
    }

    pub fn with_faults(mut self, faults: Faults) -> MemStatus {
        self.faults = faults;
        self
    }

    /// What a fresh process would load.
    pub fn committed(&self) -> &StatusSnapshot {
        &self.committed
    }

    /// Successful commits that wrote something.
    pub fn commits(&self) -> usize {
        self.commits
    }

    /// The cache as a restarted process finds it: committed rows only.
    pub fn reopen(&self, faults: Faults) -> MemStatus {
        MemStatus::new(self.committed.clone()).with_faults(faults)
    }
}

impl StatusCache for MemStatus {
    fn load(&mut self) -> Result<StatusSnapshot, StoreError> {
        let mut rows = self.committed.clone();
        for (u, f) in &self.pending {
            match f {
                Some(f) => rows.insert(*u, *f),
                None => rows.remove(u),
            };
        }
        Ok(rows)
    }

    fn set(&mut self, uid: Uid, flags: Flags) -> Result<(), StoreError> {
        self.pending.push((uid, Some(flags)));
        Ok(())
    }

    fn remove(&mut self, uid: Uid) -> Result<(), StoreError> {
        self.pending.push((uid, None));
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.faults.step("status commit") {
            self.pending.clear();
            return Err(e);
        }
        self.committed = self.load()?;
        self.pending.clear();
        self.commits += 1;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn server_assigns_increasing_uids() {
        let mut s = MemStore::server().with_next_uid(10);
        let m = Message {
            id: MsgRef::New(NewId(0)),
            flags: Flags::from_letters("S"),
            internal_date: None,
            bytes: b"a\r\n".to_vec().into(),
        };
        assert_eq!(block_on(s.append(&m, None)).unwrap(), Some(10));
        assert_eq!(block_on(s.append(&m, None)).unwrap(), Some(11));
        assert_eq!(s.messages().len(), 2);
    }

    #[test]
    fn maildir_keeps_new_messages_and_relabels_them() {
        let mut l = MemStore::maildir();
        let id = l.insert_new(Flags::EMPTY, b"x\r\ny\r\n");
        let snap = block_on(l.snapshot()).unwrap();
        assert_eq!(snap.new.len(), 1);
        // LF size on disk: two bytes shorter than the CRLF form.
        assert_eq!(snap.new[0].meta.size, 4);
        block_on(l.assign_uid(MsgRef::New(id), 7)).unwrap();
        assert!(l.message(7).is_some());
        assert_eq!(l.new_messages().count(), 0);
    }

    #[test]
    fn faults_fail_step_k_and_everything_after() {
        let faults = Faults::fail_at(1);
        let mut s = MemStore::server().with_faults(faults.clone());
        s.insert(1, Flags::EMPTY, b"a");
        block_on(s.add_flags(&[1], Flags::from_letters("S"))).unwrap();
        assert!(block_on(s.delete(&[1])).is_err());
        assert!(block_on(s.remove_flags(&[1], Flags::from_letters("S"))).is_err());
        assert!(faults.tripped());
        // State is as it was after step 0.
        assert_eq!(s.message(1).unwrap().flags, Flags::from_letters("S"));
        faults.disarm();
        block_on(s.delete(&[1])).unwrap();
        assert!(s.message(1).is_none());
    }

    #[test]
    fn status_loses_uncommitted_rows_on_crash() {
        let faults = Faults::fail_at(0);
        let mut st = MemStatus::new(StatusSnapshot::new()).with_faults(faults);
        st.set(1, Flags::EMPTY).unwrap();
        assert!(st.commit().is_err());
        assert!(st.committed().is_empty());
        assert!(st.load().unwrap().is_empty());
    }
}
