//! Dry runs (`--dry-run`, `[general] dry-run`): decorators that sit
//! between the engine and a folder's real stores and status cache, let
//! every read through and stop every write.
//!
//! The engine itself does not know about dry runs: it lists, pairs, plans
//! and carries out the plan exactly as in a real run, reporting each
//! action through its `Progress` callback as usual; the decorators make
//! sure none of those actions reaches a store. A write returns what the
//! real store would plausibly have returned, so the run goes on as if it
//! had happened, and is recorded (see [`DryRunStore::would`]).

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::model::{Flags, Message, MsgRef, Side, Snapshot, StatusSnapshot, Uid};
use super::plan::{Action, Plan};
use super::store::{ErrorKind, MessageSink, StatusCache, Store, StoreError};

/// A write a dry run stopped, as the store would have received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Would {
    /// Store message `id` of the other side, under `uid` (`None`: the
    /// store would have chosen one).
    Append {
        id: MsgRef,
        uid: Option<Uid>,
    },
    /// Relabel message `id` with `uid`.
    AssignUid {
        id: MsgRef,
        uid: Uid,
    },
    AddFlags {
        uids: Vec<Uid>,
        flags: Flags,
    },
    RemoveFlags {
        uids: Vec<Uid>,
        flags: Flags,
    },
    Delete {
        uids: Vec<Uid>,
    },
}

/// Whether fetched messages are read from the store or made up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bodies {
    /// Read them: pairing compares real bodies, so that the plan is the
    /// one a real run would make. Reading changes nothing.
    Read,
    /// Do not read them: a dry run copies nothing, so downloading every
    /// new message just to drop it would only cost time and bandwidth.
    /// The engine gets a placeholder (right id, empty body).
    Skip,
}

/// One folder (either side) in a dry run: reads go to `inner`, writes are
/// recorded and not performed.
pub struct DryRunStore<'a> {
    inner: &'a mut dyn Store,
    bodies: Bodies,
    /// Highest UID seen, so that a made-up UID for an APPEND looks like
    /// the server's next one. It is never stored anywhere.
    highest_uid: Uid,
    would: Vec<Would>,
}

impl<'a> DryRunStore<'a> {
    /// Reads message bodies on `fetch` (see [`DryRunStore::skip_bodies`]).
    pub fn new(inner: &'a mut dyn Store) -> Self {
        DryRunStore {
            inner,
            bodies: Bodies::Read,
            highest_uid: 0,
            would: Vec::new(),
        }
    }

    /// From now on `fetch` hands out placeholders instead of reading the
    /// messages: for carrying out a plan, where bodies would only be
    /// written somewhere, which a dry run does not do.
    pub fn skip_bodies(&mut self, skip: bool) {
        self.bodies = if skip { Bodies::Skip } else { Bodies::Read };
    }

    /// The writes stopped so far, in order.
    pub fn would(&self) -> &[Would] {
        &self.would
    }
}

#[async_trait]
impl Store for DryRunStore<'_> {
    async fn snapshot(&mut self) -> Result<Snapshot, StoreError> {
        let snap = self.inner.snapshot().await?;
        if let Some((uid, _)) = snap.uids.last_key_value() {
            self.highest_uid = self.highest_uid.max(*uid);
        }
        Ok(snap)
    }

    async fn fetch(
        &mut self,
        ids: &[MsgRef],
        sink: &mut dyn MessageSink,
    ) -> Result<(), StoreError> {
        match self.bodies {
            Bodies::Read => self.inner.fetch(ids, sink).await,
            Bodies::Skip => {
                for id in ids {
                    sink.accept(Message {
                        id: *id,
                        flags: Flags::EMPTY,
                        internal_date: None,
                        bytes: bytes::Bytes::new(),
                    })
                    .await?;
                }
                Ok(())
            }
        }
    }

    async fn append(&mut self, msg: &Message, uid: Option<Uid>) -> Result<Option<Uid>, StoreError> {
        self.would.push(Would::Append { id: msg.id, uid });
        let uid = uid.unwrap_or_else(|| self.highest_uid.saturating_add(1));
        self.highest_uid = self.highest_uid.max(uid);
        Ok(Some(uid))
    }

    async fn assign_uid(&mut self, id: MsgRef, uid: Uid) -> Result<(), StoreError> {
        self.would.push(Would::AssignUid { id, uid });
        Ok(())
    }

    async fn add_flags(&mut self, uids: &[Uid], flags: Flags) -> Result<(), StoreError> {
        self.would.push(Would::AddFlags {
            uids: uids.to_vec(),
            flags,
        });
        Ok(())
    }

    async fn remove_flags(&mut self, uids: &[Uid], flags: Flags) -> Result<(), StoreError> {
        self.would.push(Would::RemoveFlags {
            uids: uids.to_vec(),
            flags,
        });
        Ok(())
    }

    async fn delete(&mut self, uids: &[Uid]) -> Result<(), StoreError> {
        self.would.push(Would::Delete {
            uids: uids.to_vec(),
        });
        Ok(())
    }
}

/// The status cache in a dry run: `load` answers as if the stopped writes
/// had happened (the rows of the cache overlaid with them), so the run
/// stays consistent with itself; nothing reaches the real cache.
pub struct DryRunStatus<'a> {
    inner: &'a mut dyn StatusCache,
    /// UID -> the row it would hold (`None`: removed).
    overlay: BTreeMap<Uid, Option<Flags>>,
    commits: usize,
}

impl<'a> DryRunStatus<'a> {
    pub fn new(inner: &'a mut dyn StatusCache) -> Self {
        DryRunStatus {
            inner,
            overlay: BTreeMap::new(),
            commits: 0,
        }
    }

    /// The rows that would have been written (`None`: removed).
    pub fn would(&self) -> &BTreeMap<Uid, Option<Flags>> {
        &self.overlay
    }

    /// How many commits were asked for (and not performed).
    pub fn commits(&self) -> usize {
        self.commits
    }
}

impl StatusCache for DryRunStatus<'_> {
    fn load(&mut self) -> Result<StatusSnapshot, StoreError> {
        let mut rows = self.inner.load()?;
        for (uid, row) in &self.overlay {
            match row {
                Some(f) => rows.insert(*uid, *f),
                None => rows.remove(uid),
            };
        }
        Ok(rows)
    }

    fn set(&mut self, uid: Uid, flags: Flags) -> Result<(), StoreError> {
        self.overlay.insert(uid, Some(flags));
        Ok(())
    }

    fn remove(&mut self, uid: Uid) -> Result<(), StoreError> {
        self.overlay.insert(uid, None);
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.commits += 1;
        Ok(())
    }
}

/// A local folder that does not exist yet: a dry run does not create it,
/// and syncs it as the empty folder a real run would have created. Any
/// write is refused (a dry run wraps it in a [`DryRunStore`], so none
/// should come).
#[derive(Clone, Debug)]
pub struct EmptyFolder {
    name: String,
}

impl EmptyFolder {
    /// `name` is for error messages.
    pub fn new(name: impl Into<String>) -> Self {
        EmptyFolder { name: name.into() }
    }

    fn refuse(&self) -> StoreError {
        StoreError::new(
            ErrorKind::Folder,
            format!(
                "folder {} does not exist (dry run: it was not created)",
                self.name
            ),
        )
    }
}

#[async_trait]
impl Store for EmptyFolder {
    async fn snapshot(&mut self) -> Result<Snapshot, StoreError> {
        Ok(Snapshot::default())
    }

    async fn fetch(&mut self, _: &[MsgRef], _: &mut dyn MessageSink) -> Result<(), StoreError> {
        // Nothing there: every id "vanished", which is not an error.
        Ok(())
    }

    async fn append(&mut self, _: &Message, _: Option<Uid>) -> Result<Option<Uid>, StoreError> {
        Err(self.refuse())
    }

    async fn assign_uid(&mut self, _: MsgRef, _: Uid) -> Result<(), StoreError> {
        Err(self.refuse())
    }

    async fn add_flags(&mut self, _: &[Uid], _: Flags) -> Result<(), StoreError> {
        Err(self.refuse())
    }

    async fn remove_flags(&mut self, _: &[Uid], _: Flags) -> Result<(), StoreError> {
        Err(self.refuse())
    }

    async fn delete(&mut self, _: &[Uid]) -> Result<(), StoreError> {
        Err(self.refuse())
    }
}

/// One store, wrapped or not.
enum Slot<'a> {
    Live(&'a mut dyn Store),
    Dry(DryRunStore<'a>),
}

impl<'a> Slot<'a> {
    fn new(dry: bool, store: &'a mut dyn Store) -> Self {
        if dry {
            Slot::Dry(DryRunStore::new(store))
        } else {
            Slot::Live(store)
        }
    }

    fn get(&mut self, bodies: Bodies) -> &mut dyn Store {
        match self {
            Slot::Live(s) => &mut **s,
            Slot::Dry(d) => {
                d.bodies = bodies;
                d
            }
        }
    }

    fn would(&self) -> &[Would] {
        match self {
            Slot::Live(_) => &[],
            Slot::Dry(d) => d.would(),
        }
    }
}

enum StatusSlot<'a> {
    Live(&'a mut dyn StatusCache),
    Dry(DryRunStatus<'a>),
}

/// The two stores and the status cache of one folder sync, wrapped in the
/// dry-run decorators when `dry` is set and handed on unchanged otherwise,
/// so that the sync's code is the same for both.
pub struct Stores<'a> {
    remote: Slot<'a>,
    local: Slot<'a>,
    status: StatusSlot<'a>,
}

/// The (remote, local, status) triple the engine's functions take.
pub type Parts<'s> = (
    &'s mut dyn Store,
    &'s mut dyn Store,
    &'s mut dyn StatusCache,
);

impl<'a> Stores<'a> {
    pub fn new(
        dry: bool,
        remote: &'a mut dyn Store,
        local: &'a mut dyn Store,
        status: &'a mut dyn StatusCache,
    ) -> Self {
        Stores {
            remote: Slot::new(dry, remote),
            local: Slot::new(dry, local),
            status: if dry {
                StatusSlot::Dry(DryRunStatus::new(status))
            } else {
                StatusSlot::Live(status)
            },
        }
    }

    /// For pairing ([`super::apply::pair_new_messages`]): message bodies
    /// are read, so a dry run pairs exactly as a real one.
    pub fn reading(&mut self) -> Parts<'_> {
        self.parts(Bodies::Read)
    }

    /// For carrying out a plan ([`super::apply::apply`]): in a dry run no
    /// message body is read.
    pub fn applying(&mut self) -> Parts<'_> {
        self.parts(Bodies::Skip)
    }

    fn parts(&mut self, bodies: Bodies) -> Parts<'_> {
        let status: &mut dyn StatusCache = match &mut self.status {
            StatusSlot::Live(s) => &mut **s,
            StatusSlot::Dry(d) => d,
        };
        (self.remote.get(bodies), self.local.get(bodies), status)
    }

    /// The writes a dry run stopped on (remote, local); empty in a real run.
    pub fn would(&self) -> (&[Would], &[Would]) {
        (self.remote.would(), self.local.would())
    }
}

/// OfflineIMAP's summary of the copies a dry run skips, one line per
/// direction that has any: `[DRYRUN] Copy 3 messages from INBOX[Remote]
/// to Local`. `repo` names each side's repository.
pub fn copy_announcements(plan: &Plan, folder: &str, repo: &dyn Fn(Side) -> String) -> Vec<String> {
    let (mut down, mut up) = (0usize, 0usize);
    for a in &plan.actions {
        match a {
            Action::Download { .. } => down += 1,
            Action::Upload { .. } => up += 1,
            _ => {}
        }
    }
    [(Side::Remote, down), (Side::Local, up)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(from, n)| {
            format!(
                "[DRYRUN] Copy {n} messages from {folder}[{}] to {}",
                repo(from),
                repo(from.other())
            )
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
