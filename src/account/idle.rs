//! What an account does with the server while it sleeps between
//! autorefresh syncs: `holdconnectionopen` (connections kept logged in for
//! the next sync), `keepalive` (NOOPs on them) and `idlefolders` (one
//! connection per folder waiting in IMAP IDLE, each change reported to
//! the account so that it syncs that folder at once).
//!
//! Watchers are tasks of their own that only report; the account task
//! does every sync, so an IDLE-triggered sync is the account's ordinary
//! per-folder sync with its hooks and events.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::Reporter;
use crate::config;
use crate::event::{Level, WorkerId};
use crate::imap::ImapSession;

/// IDLE is re-issued after this long: RFC 2177 lets servers end it after
/// 30 minutes of inactivity and asks clients to renew it at least every
/// 29 (what OfflineIMAP, through imaplib2, does); a minute less leaves
/// room for a slow network.
pub(crate) const IDLE_RENEW: Duration = Duration::from_secs(28 * 60);

/// Longest wait for the answer to a NOOP, DONE or LOGOUT while sleeping,
/// when `socktimeout` sets none: a connection that does not answer in
/// that time is dropped.
const QUIET_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a watcher waits before connecting again after its connection
/// broke or could not be opened.
const RECONNECT_DELAY: Duration = Duration::from_secs(30);

/// First worker slot of the watchers: apart from the folder workers'.
const WATCHER_SLOT: u16 = 1000;

/// A watched folder changed on the server. The watcher's connection
/// comes along for the sync; whatever is sent back on `back` is what the
/// watcher idles on next (`None` or a dropped sender: it connects anew).
pub(crate) struct Change {
    /// The folder's name as the server spells it.
    pub(crate) folder: String,
    pub(crate) session: ImapSession,
    pub(crate) back: oneshot::Sender<Option<ImapSession>>,
}

/// The watchers of one sleep.
pub(crate) struct Watchers {
    stop: CancellationToken,
    tasks: JoinSet<Option<ImapSession>>,
    changes: mpsc::UnboundedReceiver<Change>,
}

/// What a watcher needs to know.
#[derive(Clone)]
struct Setup {
    remote: config::ImapRepository,
    socktimeout: Option<Duration>,
    keepalive: Option<Duration>,
    rep: Reporter,
    stop: CancellationToken,
    changes: mpsc::UnboundedSender<Change>,
}

impl Watchers {
    /// Starts one watcher per folder of `folders`, each on a connection
    /// of `held` while there are any, else on a new one. `cancel` ends
    /// them too.
    pub(crate) fn start(
        folders: &[String],
        held: &mut Vec<ImapSession>,
        remote: &config::ImapRepository,
        socktimeout: Option<Duration>,
        keepalive: Option<Duration>,
        rep: &Reporter,
        cancel: &CancellationToken,
    ) -> Watchers {
        let stop = cancel.child_token();
        let (tx, changes) = mpsc::unbounded_channel();
        let setup = Setup {
            remote: remote.clone(),
            socktimeout,
            keepalive,
            rep: rep.clone(),
            stop: stop.clone(),
            changes: tx,
        };
        let mut tasks = JoinSet::new();
        for (i, folder) in folders.iter().enumerate() {
            let slot = WATCHER_SLOT.saturating_add(u16::try_from(i).unwrap_or(u16::MAX));
            let me = rep.worker(slot);
            tasks.spawn(watch(setup.clone(), folder.clone(), held.pop(), me));
        }
        Watchers {
            stop,
            tasks,
            changes,
        }
    }

    /// The next change a watcher saw. Safe to cancel. Never returns when
    /// there are no watchers.
    pub(crate) async fn next(&mut self) -> Change {
        match self.changes.recv().await {
            Some(c) => c,
            // Unreachable while `self` holds a sender's token, but never
            // busy-loop on it.
            None => std::future::pending().await,
        }
    }

    /// Ends every watcher (DONE) and gives back the connections still
    /// good for the next sync.
    pub(crate) async fn stop(mut self) -> Vec<ImapSession> {
        self.stop.cancel();
        // A change reported meanwhile: its connection goes back too.
        self.changes.close();
        let mut sessions = Vec::new();
        while let Some(c) = self.changes.recv().await {
            sessions.push(c.session);
        }
        while let Some(res) = self.tasks.join_next().await {
            if let Ok(Some(s)) = res {
                sessions.push(s);
            }
        }
        sessions
    }
}

/// Runs `cmd` on a held connection with the quiet-time limit; `None` when
/// it failed or did not answer (the connection is then useless).
async fn bounded<T>(
    socktimeout: Option<Duration>,
    cmd: impl std::future::Future<Output = Result<T, crate::imap::Error>>,
) -> Option<T> {
    match tokio::time::timeout(socktimeout.unwrap_or(QUIET_TIMEOUT), cmd).await {
        Ok(Ok(v)) => Some(v),
        _ => None,
    }
}

/// NOOP on each of `held`; those that fail or do not answer are dropped
/// without a word (the next sync connects anew).
pub(crate) async fn keepalive(
    held: &mut Vec<ImapSession>,
    socktimeout: Option<Duration>,
    rep: &Reporter,
) {
    let before = held.len();
    let mut alive = Vec::with_capacity(before);
    for mut s in std::mem::take(held) {
        if bounded(socktimeout, s.noop()).await.is_some() {
            alive.push(s);
        }
    }
    if alive.len() < before {
        rep.log(
            None,
            Level::Debug,
            format!(
                "keepalive: {} held connection(s) closed by the server; the next sync opens new ones",
                before - alive.len()
            ),
        );
    }
    *held = alive;
}

/// A held connection that still answers, checked with a NOOP; broken
/// ones are dropped on the way.
pub(crate) async fn take_live(
    held: &mut Vec<ImapSession>,
    socktimeout: Option<Duration>,
) -> Option<ImapSession> {
    while let Some(mut s) = held.pop() {
        if bounded(socktimeout, s.noop()).await.is_some() {
            return Some(s);
        }
    }
    None
}

/// Logs every held connection out (with the quiet-time limit).
pub(crate) async fn logout_all(held: Vec<ImapSession>, socktimeout: Option<Duration>) {
    for s in held {
        let _ = tokio::time::timeout(socktimeout.unwrap_or(QUIET_TIMEOUT), s.logout()).await;
    }
}

/// Why a watcher stopped waiting.
enum Woke {
    Changed,
    Renew,
    Stop,
    Broken,
}

/// One watched folder: connect, EXAMINE, IDLE until something changes,
/// report it, and again, until stopped. Gives back its connection when
/// it is still good.
async fn watch(
    setup: Setup,
    folder: String,
    mut session: Option<ImapSession>,
    me: WorkerId,
) -> Option<ImapSession> {
    let rep = &setup.rep;
    let stop = &setup.stop;
    let mut warned_no_idle = false;
    // One warning for a server that cannot be reached, however long it
    // stays away.
    let mut warned_connect = false;
    loop {
        if stop.is_cancelled() {
            return session;
        }
        let mut s = match session.take() {
            Some(s) => s,
            None => {
                let trace = super::debuglog::imap_trace(me); // -d imap
                let connect = ImapSession::connect(&setup.remote, setup.socktimeout, trace);
                let res = tokio::select! {
                    r = connect => r,
                    _ = stop.cancelled() => return None,
                };
                match res {
                    Ok(s) => {
                        warned_connect = false;
                        s
                    }
                    Err(e) => {
                        let level = if warned_connect {
                            Level::Debug
                        } else {
                            Level::Warning
                        };
                        warned_connect = true;
                        rep.log(
                            Some(me),
                            level,
                            format!(
                                "idlefolders: cannot watch folder {folder} (trying again every {} seconds): {e}",
                                RECONNECT_DELAY.as_secs()
                            ),
                        );
                        if pause(stop, RECONNECT_DELAY).await {
                            return None;
                        }
                        continue;
                    }
                }
            }
        };
        // EXAMINE anew each round: what the last sync changed is not
        // reported again. A stop meanwhile waits for the answer, so that
        // the connection can still log out cleanly.
        let limit = setup.socktimeout.unwrap_or(QUIET_TIMEOUT);
        let examined = match tokio::time::timeout(limit, s.check_folder(&folder)).await {
            Ok(r) => r,
            Err(_) => {
                if pause(stop, Duration::from_secs(1)).await {
                    return None;
                }
                continue;
            }
        };
        if stop.is_cancelled() {
            return Some(s);
        }
        if let Err(e) = examined {
            if e.is_transient() {
                if pause(stop, RECONNECT_DELAY).await {
                    return None;
                }
            } else {
                rep.log(
                    Some(me),
                    Level::Error,
                    format!("idlefolders: cannot watch folder {folder}: {e}"),
                );
                // Nothing better to do with it until the next sync.
                stop.cancelled().await;
                return Some(s);
            }
            continue;
        }
        let woke = if s.has_capability("IDLE") {
            idle_once(&setup, &mut s).await
        } else {
            if !warned_no_idle {
                warned_no_idle = true;
                rep.log(
                    Some(me),
                    Level::Warning,
                    format!(
                        "IMAP IDLE not supported on server '{}'; folder {folder} is checked with NOOP{}",
                        s.server(),
                        match setup.keepalive {
                            Some(k) => format!(" every {} seconds", k.as_secs()),
                            None => " at the next sync only".to_owned(),
                        }
                    ),
                );
            }
            poll_once(&setup, &mut s).await
        };
        match woke {
            Woke::Stop => return Some(s),
            Woke::Broken => {
                // Closed by the server or the network while idle: only the
                // debug log hears of it; a new connection follows.
                rep.log(
                    Some(me),
                    Level::Debug,
                    format!("idlefolders: connection watching {folder} lost; reconnecting"),
                );
                if pause(stop, Duration::from_secs(1)).await {
                    return None;
                }
            }
            Woke::Renew => session = Some(s),
            Woke::Changed => {
                let (back, answer) = oneshot::channel();
                let change = Change {
                    folder: folder.clone(),
                    session: s,
                    back,
                };
                if let Err(mpsc::error::SendError(change)) = setup.changes.send(change) {
                    return Some(change.session);
                }
                // Not cut short by a stop: the sync that has the
                // connection always ends and sends it back (or drops the
                // sender), and a connection dropped here would close
                // without LOGOUT.
                session = answer.await.ok().flatten();
            }
        }
    }
}

/// One IDLE, ended (DONE) by a change, the renewal time or a stop.
async fn idle_once(setup: &Setup, s: &mut ImapSession) -> Woke {
    // Not cut short by a stop: the select below sees it at once, and
    // ends IDLE properly.
    let Some(idling) = bounded(setup.socktimeout, s.idle_start()).await else {
        return Woke::Broken;
    };
    let woke = tokio::select! {
        r = s.idle_wait(&idling) => match r {
            Ok(()) => Woke::Changed,
            Err(_) => return Woke::Broken,
        },
        _ = tokio::time::sleep(IDLE_RENEW) => Woke::Renew,
        _ = setup.stop.cancelled() => Woke::Stop,
    };
    match bounded(setup.socktimeout, s.idle_done(idling)).await {
        Some(()) => woke,
        None => Woke::Broken,
    }
}

/// Without IDLE: a NOOP every `keepalive` (none without one) until it
/// reports a change or the watcher is stopped.
async fn poll_once(setup: &Setup, s: &mut ImapSession) -> Woke {
    loop {
        let Some(every) = setup.keepalive else {
            setup.stop.cancelled().await;
            return Woke::Stop;
        };
        if pause(&setup.stop, every).await {
            return Woke::Stop;
        }
        match bounded(setup.socktimeout, s.noop()).await {
            Some(true) => return Woke::Changed,
            Some(false) => {}
            None => return Woke::Broken,
        }
    }
}

/// Sleeps `d`; true when stopped first.
async fn pause(stop: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = stop.cancelled() => true,
    }
}
