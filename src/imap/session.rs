//! One authenticated IMAP connection and the commands that do not need a
//! selected folder: CAPABILITY, LIST, CREATE, SELECT/EXAMINE.
//!
//! Every command goes through one loop (`run`) that reads responses up to
//! the tagged answer. Untagged responses are handled there, so
//! async-imap's bounded `unsolicited_responses` channel is never used and
//! cannot silently drop anything; EXISTS/EXPUNGE keep `exists` current.

use std::time::Duration;

use async_imap::Session;
use async_imap::imap_proto::rfc4315::UidSetMember;
use async_imap::imap_proto::{
    AttributeValue, MailboxDatum, NameAttribute, Response, ResponseCode, Status, StatusAttribute,
};

use super::connect::{self, ImapStream};
use super::error::{Error, ErrorKind};
use super::folder::{FolderOptions, ImapFolder};
use super::{utf7, wire};
use crate::config::ImapRepository;

/// A folder as the server lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFolder {
    /// The name decoded from modified UTF-7 (the wire name itself if it
    /// is not valid modified UTF-7, so that no folder disappears).
    pub name_utf8: String,
    /// The name exactly as the server sent it.
    pub raw_name: String,
    /// The hierarchy delimiter (`None` for a flat namespace).
    pub delimiter: Option<char>,
    /// `\Noselect`: a node in the hierarchy that holds no messages; not
    /// something to sync.
    pub noselect: bool,
}

/// What the tagged answer of a command told us.
#[derive(Debug, Default)]
pub(crate) struct Done {
    /// `[APPENDUID <uidvalidity> <uid>]` (RFC 4315).
    pub append_uid: Option<(u32, u32)>,
    /// `[READ-ONLY]`.
    pub read_only: bool,
}

/// One logged-in connection to an IMAP server.
pub struct ImapSession {
    session: Session<ImapStream>,
    server: String,
    caps: Vec<String>,
    /// `socktimeout`: how long to wait for any one response.
    timeout: Option<Duration>,
    /// Message count of the selected folder, kept current from untagged
    /// EXISTS/EXPUNGE.
    pub(crate) exists: u32,
    /// The text of an untagged BYE, reported when the connection then
    /// drops.
    bye: Option<String>,
    /// COMPRESS=DEFLATE is on (`usecompression`, and the server offers it).
    compressed: bool,
    /// What the login warned about, until taken.
    login_warnings: Vec<String>,
    /// `ENABLE QRESYNC` succeeded: EXPUNGE now comes as VANISHED.
    qresync: bool,
}

impl std::fmt::Debug for ImapSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapSession")
            .field("server", &self.server)
            .field("caps", &self.caps)
            .finish_non_exhaustive()
    }
}

/// SELECT failed; the session is handed back for other folders.
#[derive(Debug)]
pub struct SelectError {
    pub error: Error,
    pub session: ImapSession,
}

impl ImapSession {
    /// Connect, secure (as configured) and log in. `socktimeout` bounds
    /// the connect (30 s when `None`) and, when set, every later read.
    /// `trace` (`-d imap`) receives the conversation, secrets hidden.
    pub async fn connect(
        repo: &ImapRepository,
        socktimeout: Option<Duration>,
        trace: Option<super::TraceSink>,
    ) -> Result<ImapSession, Error> {
        let logged_in = connect::connect(repo, socktimeout, trace).await?;
        let mut s = ImapSession {
            session: logged_in.session,
            server: repo.host.clone(),
            caps: Vec::new(),
            timeout: socktimeout,
            exists: 0,
            bye: None,
            compressed: false,
            login_warnings: logged_in.warnings,
            qresync: false,
        };
        // What the server announced while we logged in, or else asked.
        match s.session.get_mut().take_sniffed() {
            Some(caps) => s.caps = caps,
            None => s.refresh_capabilities().await?,
        }
        if repo.compression && s.has_capability("COMPRESS=DEFLATE") {
            s.run("COMPRESS", "COMPRESS DEFLATE", &mut |_| {}).await?;
            // The server compresses from the byte after its OK, and sends
            // nothing unasked before our next command, so nothing plain
            // is left in async-imap's read buffer.
            s.session.get_mut().start_compression();
            s.compressed = true;
        }
        Ok(s)
    }

    /// Whether the connection is compressed (COMPRESS=DEFLATE).
    pub fn compressed(&self) -> bool {
        self.compressed
    }

    /// What the login warned about (a mechanism that failed before one
    /// worked, GSSAPI skipped); empty once taken.
    pub fn take_login_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.login_warnings)
    }

    /// The server's host name, as configured.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The capabilities announced after login.
    pub fn capabilities(&self) -> &[String] {
        &self.caps
    }

    pub fn has_capability(&self, name: &str) -> bool {
        connect::has_cap(&self.caps, name)
    }

    async fn refresh_capabilities(&mut self) -> Result<(), Error> {
        let mut caps = Vec::new();
        self.run("CAPABILITY", "CAPABILITY", &mut |r| {
            if let Response::Capabilities(list) = r {
                caps = connect::capability_names(list);
            }
        })
        .await?;
        self.caps = caps;
        Ok(())
    }

    /// Every folder the server lists for `LIST "" "*"`, `\NonExistent`
    /// ones left out, `\Noselect` ones marked.
    pub async fn list_folders(&mut self) -> Result<Vec<RemoteFolder>, Error> {
        self.list_folders_with(false, None).await
    }

    /// `LIST` (or `LSUB` when `subscribed_only`, for `subscribedonly`)
    /// with `reference` as the reference name (`""` when `None`), pattern
    /// `*`. Names come back in full, reference included.
    pub async fn list_folders_with(
        &mut self,
        subscribed_only: bool,
        reference: Option<&str>,
    ) -> Result<Vec<RemoteFolder>, Error> {
        let verb = if subscribed_only { "LSUB" } else { "LIST" };
        let shown = format!("{verb} \"{}\" \"*\"", shown_name(reference.unwrap_or("")));
        let reference = self.quote_wire(&shown, reference.unwrap_or(""))?;
        let mut folders = Vec::new();
        self.run(&shown, &format!("{verb} {reference} \"*\""), &mut |r| {
            let Response::MailboxData(MailboxDatum::List(data)) = r else {
                return;
            };
            let mut noselect = false;
            for attr in &data.name_attributes {
                match attr {
                    NameAttribute::NoSelect => noselect = true,
                    NameAttribute::Extension(e) if e.eq_ignore_ascii_case("\\NonExistent") => {
                        return;
                    }
                    _ => {}
                }
            }
            let raw_name = data.name.to_string();
            folders.push(RemoteFolder {
                name_utf8: utf7::decode(&raw_name).unwrap_or_else(|_| raw_name.clone()),
                raw_name,
                delimiter: data.delimiter.as_deref().and_then(|d| d.chars().next()),
                noselect,
            });
        })
        .await?;
        Ok(folders)
    }

    /// Whether folder `name` (as the server spells it) can be opened:
    /// EXAMINE, as OfflineIMAP checks each `folderincludes` entry.
    pub async fn check_folder(&mut self, name: &str) -> Result<(), Error> {
        self.select(name, true).await.map(|_| ())
    }

    /// Create a folder given its UTF-8 name (with the server's delimiter).
    pub async fn create_folder(&mut self, name: &str) -> Result<(), Error> {
        self.create_folder_raw(&utf7::encode(name)).await
    }

    /// CREATE a folder by its name as the server spells it (modified
    /// UTF-7). The sync identifies folders by these names, as OfflineIMAP
    /// does, so that existing Maildir trees keep matching.
    pub async fn create_folder_raw(&mut self, name: &str) -> Result<(), Error> {
        let command = format!("CREATE {}", shown_name(name));
        let quoted = self.quote_wire(&command, name)?;
        self.run(&command, &format!("CREATE {quoted}"), &mut |_| {})
            .await
            .map(|_| ())
    }

    /// DELETE a folder by its name as the server spells it (modified
    /// UTF-7), for `--delete-folder`.
    pub async fn delete_folder_raw(&mut self, name: &str) -> Result<(), Error> {
        let command = format!("DELETE {}", shown_name(name));
        let quoted = self.quote_wire(&command, name)?;
        self.run(&command, &format!("DELETE {quoted}"), &mut |_| {})
            .await
            .map(|_| ())
    }

    /// SELECT (or EXAMINE when `options.readonly`) the folder with this
    /// UTF-8 name and hand the session to an [`ImapFolder`]; get it back
    /// with [`ImapFolder::into_session`].
    pub async fn select_folder(
        self,
        name: &str,
        options: FolderOptions,
    ) -> Result<ImapFolder, SelectError> {
        self.select_folder_raw(&utf7::encode(name), options).await
    }

    /// Like [`ImapSession::select_folder`], with the name as the server
    /// spells it (modified UTF-7).
    pub async fn select_folder_raw(
        self,
        name: &str,
        options: FolderOptions,
    ) -> Result<ImapFolder, SelectError> {
        self.select_folder_known(name, options, None).await
    }

    /// Like [`ImapSession::select_folder_raw`]; with `known` (what a past
    /// sync proved the folder held) and a server offering QRESYNC (RFC
    /// 7162), the SELECT itself reports what changed since, for
    /// [`ImapFolder::snapshot_since`] to use.
    pub async fn select_folder_known(
        mut self,
        name: &str,
        options: FolderOptions,
        known: Option<Known>,
    ) -> Result<ImapFolder, SelectError> {
        let known = known.filter(|k| k.highest_modseq > 0 && self.has_capability("QRESYNC"));
        let selected = match known {
            Some(k) => self.select_qresync(name, options.readonly, k).await,
            None => self.select(name, options.readonly).await,
        };
        match selected {
            Ok(state) => Ok(ImapFolder::new(self, name.to_string(), state, options)),
            Err(error) => Err(SelectError {
                error,
                session: self,
            }),
        }
    }

    async fn select(&mut self, name: &str, readonly: bool) -> Result<Selected, Error> {
        let verb = if readonly { "EXAMINE" } else { "SELECT" };
        let command = format!("{verb} {}", shown_name(name));
        let quoted = self.quote_wire(&command, name)?;
        let mut codes = SelectCodes::default();
        self.exists = 0;
        // With CONDSTORE the answer carries HIGHESTMODSEQ, which lets a
        // resync tell that nothing changed without listing the folder.
        let condstore = self.has_capability("CONDSTORE");
        let line = if condstore {
            format!("{verb} {quoted} (CONDSTORE)")
        } else {
            format!("{verb} {quoted}")
        };
        let done = self.run(&command, &line, &mut |r| codes.note(r)).await?;
        self.selected(&command, name, readonly, condstore, codes, done, None)
    }

    /// SELECT with `(QRESYNC (uidvalidity modseq))`, `ENABLE QRESYNC`
    /// before it on a connection that has not enabled it yet, and `UID
    /// FETCH <uidnext>:* (UID FLAGS RFC822.SIZE)` after it for the sizes
    /// the QRESYNC answer lacks: all in one round trip. The answer's
    /// `VANISHED (EARLIER)` and FETCHes, and the FETCH's, are kept in
    /// arrival order. Falls back to a plain SELECT when the server
    /// refuses ENABLE.
    async fn select_qresync(
        &mut self,
        name: &str,
        readonly: bool,
        known: Known,
    ) -> Result<Selected, Error> {
        let verb = if readonly { "EXAMINE" } else { "SELECT" };
        let command = format!("{verb} {}", shown_name(name));
        let quoted = self.quote_wire(&command, name)?;
        let enable = !self.qresync;
        let mut tags = Vec::with_capacity(3);
        if enable {
            tags.push(self.send("ENABLE", "ENABLE QRESYNC").await?);
        }
        let line = format!(
            "{verb} {quoted} (QRESYNC ({} {}))",
            known.uidvalidity, known.highest_modseq
        );
        tags.push(self.send(&command, &line).await?);
        let fetch_line = format!(
            "UID FETCH {}:* (UID FLAGS RFC822.SIZE)",
            known.uidnext.max(1)
        );
        tags.push(self.send(&command, &fetch_line).await?);
        let mut tags = tags.into_iter();
        if enable && let Some(tag) = tags.next() {
            match self.finish("ENABLE", &tag, &mut |_| {}).await {
                Ok(_) => self.qresync = true,
                Err(e) if e.is_transient() => return Err(e),
                Err(_) => {}
            }
        }
        let (Some(select_tag), Some(fetch_tag)) = (tags.next(), tags.next()) else {
            return Err(self.error(&command, ErrorKind::Protocol("no tag".into())));
        };
        let mut codes = SelectCodes::default();
        let mut changes = Vec::new();
        self.exists = 0;
        let select_done = self
            .finish(&command, &select_tag, &mut |r| {
                codes.note(r);
                note_change(r, &mut changes);
            })
            .await;
        let exists_at_select = self.exists;
        let fetch_done = self
            .finish(&command, &fetch_tag, &mut |r| note_change(r, &mut changes))
            .await;
        let done = match (select_done, fetch_done) {
            (Err(e), _) | (Ok(_), Err(e)) if e.is_transient() => return Err(e),
            // ENABLE refused: the QRESYNC parameter was refused with it.
            (Err(_), _) if !self.qresync => return self.select(name, readonly).await,
            (Err(e), _) => return Err(e),
            // A refused FETCH leaves new messages without sizes, which
            // the listing notices.
            (Ok(done), _) => (done, QresyncAnswer { known, changes }),
        };
        let mut selected =
            self.selected(&command, name, readonly, true, codes, done.0, Some(done.1))?;
        selected.exists_at_select = exists_at_select;
        Ok(selected)
    }

    /// The state a SELECT answer gave.
    #[allow(clippy::too_many_arguments)]
    fn selected(
        &self,
        command: &str,
        name: &str,
        readonly: bool,
        condstore: bool,
        codes: SelectCodes,
        done: Done,
        qresync: Option<QresyncAnswer>,
    ) -> Result<Selected, Error> {
        let SelectCodes {
            uidvalidity,
            uidnext,
            highest_modseq,
        } = codes;
        let uidvalidity = uidvalidity.ok_or_else(|| {
            Error::new(
                &self.server,
                command,
                ErrorKind::Protocol("no UIDVALIDITY in the SELECT answer".into()),
            )
        })?;
        Ok(Selected {
            wire_name: name.to_string(),
            uidvalidity,
            uidnext,
            highest_modseq: highest_modseq.filter(|_| condstore),
            exists_at_select: self.exists,
            read_only: done.read_only || readonly,
            qresync,
        })
    }

    /// `STATUS (UIDVALIDITY UIDNEXT MESSAGES HIGHESTMODSEQ)` for every
    /// folder in `names` (wire names), pipelined: all commands go out
    /// before the first answer is read, so the whole list costs one round
    /// trip. `None` for a folder the server refused or answered without
    /// all four items. An empty list when the server lacks CONDSTORE
    /// (STATUS then has no HIGHESTMODSEQ).
    pub async fn status_many(
        &mut self,
        names: &[&str],
    ) -> Result<Vec<Option<FolderStatus>>, Error> {
        if names.is_empty() || !self.has_capability("CONDSTORE") {
            return Ok(Vec::new());
        }
        let command = "STATUS";
        let mut tags = std::collections::HashMap::new();
        for (i, name) in names.iter().enumerate() {
            let quoted = self.quote_wire(command, name)?;
            let line = format!("STATUS {quoted} (UIDVALIDITY UIDNEXT MESSAGES HIGHESTMODSEQ)");
            let tag = self.send(command, &line).await?;
            tags.insert(tag, i);
        }
        let by_name: std::collections::HashMap<&str, usize> =
            names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut found: Vec<Option<FolderStatus>> = vec![None; names.len()];
        // Answers to every command, in the order the server sends them.
        let mut refused = vec![false; names.len()];
        while !tags.is_empty() {
            let step = self
                .next_with(command, |r| match r {
                    Response::Done { tag, status, .. } => {
                        Some(Err((tag.0.to_string(), *status == Status::Ok)))
                    }
                    Response::MailboxData(MailboxDatum::Status { mailbox, status }) => {
                        Some(Ok((mailbox.to_string(), FolderStatus::from_attrs(status))))
                    }
                    _ => None,
                })
                .await?;
            match step {
                Some(Err((tag, ok))) => {
                    if let Some(i) = tags.remove(&tag)
                        && !ok
                    {
                        refused[i] = true;
                    }
                }
                Some(Ok((mailbox, st))) => {
                    // The server echoes the name; INBOX in any case.
                    let i = by_name.get(mailbox.as_str()).copied().or_else(|| {
                        mailbox
                            .eq_ignore_ascii_case("INBOX")
                            .then(|| by_name.get("INBOX").copied())
                            .flatten()
                    });
                    if let Some(i) = i {
                        found[i] = st;
                    }
                }
                None => {}
            }
        }
        for (i, r) in refused.iter().enumerate() {
            if *r {
                found[i] = None;
            }
        }
        Ok(found)
    }

    /// NOOP: keeps a connection alive and lets the server tell what
    /// changed. True when it reported a change in the selected folder
    /// (EXISTS, EXPUNGE or FETCH).
    pub async fn noop(&mut self) -> Result<bool, Error> {
        let mut changed = false;
        self.run("NOOP", "NOOP", &mut |r| changed |= is_change(r))
            .await?;
        Ok(changed)
    }

    /// Enter IDLE (RFC 2177) on the selected folder: sends IDLE and waits
    /// for the server's go-ahead. Leave it with [`ImapSession::idle_done`]
    /// before any other command.
    pub async fn idle_start(&mut self) -> Result<Idling, Error> {
        let tag = self.send("IDLE", "IDLE").await?;
        loop {
            let step = self
                .next_with("IDLE", |r| match r {
                    Response::Continue { .. } => Some(Ok(Done::default())),
                    other => tagged(&tag, other),
                })
                .await?;
            match step {
                Some(Ok(_)) => return Ok(Idling { tag }),
                Some(Err(kind)) => return Err(self.error("IDLE", kind)),
                None => {}
            }
        }
    }

    /// While idling: waits, with no time limit, until the server reports a
    /// change in the selected folder. Other untagged responses (a
    /// server's "still here") are passed over. Safe to cancel (e.g. from
    /// a `select!`): the session stays idling and nothing is lost.
    pub async fn idle_wait(&mut self, idling: &Idling) -> Result<(), Error> {
        loop {
            let resp = self.session.read_response().await;
            let Some(resp) = resp.map_err(|e| self.error("IDLE", ErrorKind::Io(e)))? else {
                return Err(self.error("IDLE", ErrorKind::ConnectionLost(self.bye.clone())));
            };
            let parsed = resp.parsed();
            self.note(parsed);
            if let Some(done) = tagged(&idling.tag, parsed) {
                // The server ended IDLE on its own.
                let kind = match done {
                    Ok(_) => ErrorKind::Protocol("the server ended IDLE".into()),
                    Err(kind) => kind,
                };
                return Err(self.error("IDLE", kind));
            }
            if is_change(parsed) {
                return Ok(());
            }
        }
    }

    /// Leave IDLE: DONE, then the tagged answer to IDLE.
    pub async fn idle_done(&mut self, idling: Idling) -> Result<(), Error> {
        self.write_raw("DONE", b"DONE\r\n").await?;
        self.finish("IDLE", &idling.tag, &mut |_| {}).await?;
        Ok(())
    }

    /// Log out politely; errors are of no interest at this point.
    pub async fn logout(mut self) {
        let _ = self.run("LOGOUT", "LOGOUT", &mut |_| {}).await;
    }

    fn quote_wire(&self, command: &str, name: &str) -> Result<String, Error> {
        wire::quote(name).ok_or_else(|| {
            Error::new(
                &self.server,
                command,
                ErrorKind::Name(format!("folder name {name:?} contains CR, LF or NUL")),
            )
        })
    }

    pub(crate) fn error(&self, command: &str, kind: ErrorKind) -> Error {
        Error::new(&self.server, command, kind)
    }

    /// Send a tagged command line (CRLF added) and return its tag.
    pub(crate) async fn send(&mut self, command: &str, line: &str) -> Result<String, Error> {
        let fut = self.session.run_command(line);
        let res = match self.timeout {
            Some(t) => tokio::time::timeout(t, fut)
                .await
                .map_err(|_| self.error(command, ErrorKind::Timeout(t.as_secs())))?,
            None => fut.await,
        };
        res.map(|id| id.0)
            .map_err(|e| self.async_imap_error(command, e))
    }

    /// Write raw bytes (a literal) to the connection.
    /// Close the connection's sending side, so that nothing more reaches
    /// the server: a literal cut short is then dropped by the server
    /// instead of being completed by whatever was sent next.
    pub(crate) async fn abort(&mut self) {
        use tokio::io::AsyncWriteExt;
        let _ = self.session.get_mut().shutdown().await;
    }

    pub(crate) async fn write_raw(&mut self, command: &str, bytes: &[u8]) -> Result<(), Error> {
        use tokio::io::AsyncWriteExt;
        let stream = self.session.get_mut();
        let fut = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        let res = match self.timeout {
            Some(t) => match tokio::time::timeout(t, fut).await {
                Ok(r) => r,
                Err(_) => return Err(self.error(command, ErrorKind::Timeout(t.as_secs()))),
            },
            None => fut.await,
        };
        res.map_err(|e| self.error(command, ErrorKind::Io(e)))
    }

    /// Read the next response, note EXISTS/EXPUNGE/BYE, and hand it to
    /// `f` (async-imap does not let us name the response's owner type).
    pub(crate) async fn next_with<R>(
        &mut self,
        command: &str,
        f: impl FnOnce(&Response<'_>) -> R,
    ) -> Result<R, Error> {
        let (r, _) = self.next_with_span(command, |r, _| (f(r), None)).await?;
        Ok(r)
    }

    /// [`next_with`](Self::next_with) that lets `f` name one span of the
    /// response's own buffer (`f` gets it as its second argument), given
    /// back as [`Bytes`](bytes::Bytes) sharing that buffer. A fetched body
    /// so reaches its store without being copied out of the buffer it was
    /// read into: for a 1 MB attachment, one copy in memory instead of two.
    pub(crate) async fn next_with_span<R>(
        &mut self,
        command: &str,
        f: impl FnOnce(&Response<'_>, &[u8]) -> (R, Option<std::ops::Range<usize>>),
    ) -> Result<(R, Option<bytes::Bytes>), Error> {
        let fut = self.session.read_response();
        let res = match self.timeout {
            Some(t) => tokio::time::timeout(t, fut)
                .await
                .map_err(|_| self.error(command, ErrorKind::Timeout(t.as_secs())))?,
            None => fut.await,
        };
        let Some(resp) = res.map_err(|e| self.error(command, ErrorKind::Io(e)))? else {
            return Err(self.error(command, ErrorKind::ConnectionLost(self.bye.clone())));
        };
        self.note(resp.parsed());
        let (r, span) = f(resp.parsed(), resp.borrow_owner());
        let kept = span.and_then(|span| {
            let raw = resp.into_owner().freeze();
            (span.start <= span.end && span.end <= raw.len()).then(|| raw.slice(span))
        });
        Ok((r, kept))
    }

    /// Keeps `exists` and `bye` current from an untagged response.
    fn note(&mut self, parsed: &Response<'_>) {
        match parsed {
            Response::MailboxData(MailboxDatum::Exists(n)) => self.exists = *n,
            Response::Expunge(_) => self.exists = self.exists.saturating_sub(1),
            // With QRESYNC enabled, the server reports expunges this way
            // (RFC 7162 3.2.10); EARLIER ones were never counted in EXISTS.
            Response::Vanished {
                earlier: false,
                uids,
            } => self.exists = self.exists.saturating_sub(uid_count(uids)),
            Response::Data {
                status: Status::Bye,
                outcome,
            } => self.bye = Some(outcome.information.as_deref().unwrap_or("BYE").to_string()),
            _ => {}
        }
    }

    /// Read responses up to the tagged answer to `tag`; untagged ones go
    /// to `untagged`.
    pub(crate) async fn finish(
        &mut self,
        command: &str,
        tag: &str,
        untagged: &mut (dyn FnMut(&Response<'_>) + Send),
    ) -> Result<Done, Error> {
        loop {
            let step = self
                .next_with(command, |r| match tagged(tag, r) {
                    Some(done) => Some(done),
                    None => {
                        untagged(r);
                        None
                    }
                })
                .await?;
            if let Some(done) = step {
                return done.map_err(|kind| self.error(command, kind));
            }
        }
    }

    /// Run one command to completion; untagged responses go to `untagged`.
    pub(crate) async fn run(
        &mut self,
        command: &str,
        line: &str,
        untagged: &mut (dyn FnMut(&Response<'_>) + Send),
    ) -> Result<Done, Error> {
        let tag = self.send(command, line).await?;
        self.finish(command, &tag, untagged).await
    }

    /// Send every line before reading any answer, so that all of them cost
    /// one round trip; untagged responses go to `untagged`. Gives each
    /// command's outcome, in order. A broken connection is the error.
    pub(crate) async fn run_pipelined(
        &mut self,
        command: &str,
        lines: &[String],
        untagged: &mut (dyn FnMut(&Response<'_>) + Send),
    ) -> Result<Vec<Result<Done, ErrorKind>>, Error> {
        let mut tags = Vec::with_capacity(lines.len());
        for line in lines {
            tags.push(self.send(command, line).await?);
        }
        let mut outcomes: Vec<Option<Result<Done, ErrorKind>>> =
            (0..lines.len()).map(|_| None).collect();
        let mut left = lines.len();
        while left > 0 {
            let step = self
                .next_with(command, |r| {
                    for (i, tag) in tags.iter().enumerate() {
                        if let Some(done) = tagged(tag, r) {
                            return Some((i, done));
                        }
                    }
                    untagged(r);
                    None
                })
                .await?;
            if let Some((i, done)) = step
                && let Some(slot) = outcomes.get_mut(i)
                && slot.is_none()
            {
                *slot = Some(done);
                left -= 1;
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Err(ErrorKind::Protocol("no answer".into()))))
            .collect())
    }

    fn async_imap_error(&self, command: &str, e: async_imap::error::Error) -> Error {
        use async_imap::error::Error as E;
        let kind = match e {
            E::Io(io) => ErrorKind::Io(io),
            E::ConnectionLost => ErrorKind::ConnectionLost(self.bye.clone()),
            E::No(_) => ErrorKind::No(wire::server_text(&e)),
            E::Bad(_) => ErrorKind::Bad(wire::server_text(&e)),
            other => ErrorKind::Protocol(other.to_string()),
        };
        self.error(command, kind)
    }
}

/// An IDLE in progress: the tag its end is answered with.
#[derive(Debug)]
pub struct Idling {
    tag: String,
}

/// Whether an untagged response says the selected folder changed: new
/// messages, removed ones, or flags.
fn is_change(resp: &Response<'_>) -> bool {
    matches!(
        resp,
        Response::MailboxData(MailboxDatum::Exists(_))
            | Response::Expunge(_)
            | Response::Fetch(..)
            | Response::Vanished { .. }
    )
}

/// If `resp` is the tagged answer to `tag`, its outcome.
pub(crate) fn tagged(tag: &str, resp: &Response<'_>) -> Option<Result<Done, ErrorKind>> {
    let Response::Done {
        tag: t,
        status,
        outcome,
    } = resp
    else {
        return None;
    };
    if t.0 != tag {
        return None;
    }
    let info = outcome.information.as_deref().unwrap_or("").to_string();
    Some(match status {
        Status::Ok => {
            let mut done = Done::default();
            match &outcome.code {
                Some(ResponseCode::AppendUid(validity, uids)) => {
                    done.append_uid = match uids.as_slice() {
                        [UidSetMember::Uid(u)] => Some((*validity, *u)),
                        [UidSetMember::UidRange(r)] if r.start() == r.end() => {
                            Some((*validity, *r.start()))
                        }
                        _ => None,
                    };
                }
                Some(ResponseCode::ReadOnly) => done.read_only = true,
                _ => {}
            }
            Ok(done)
        }
        Status::No => Err(ErrorKind::No(info)),
        Status::Bad => Err(ErrorKind::Bad(info)),
        _ => Err(ErrorKind::Protocol(info)),
    })
}

/// A folder's state as STATUS reports it (see [`ImapSession::status_many`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FolderStatus {
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub messages: u32,
    pub highest_modseq: u64,
}

impl FolderStatus {
    fn from_attrs(attrs: &[StatusAttribute]) -> Option<FolderStatus> {
        let (mut v, mut n, mut m, mut h) = (None, None, None, None);
        for a in attrs {
            match a {
                StatusAttribute::UidValidity(x) => v = Some(*x),
                StatusAttribute::UidNext(x) => n = Some(*x),
                StatusAttribute::Messages(x) => m = Some(*x),
                StatusAttribute::HighestModSeq(x) => h = Some(*x),
                _ => {}
            }
        }
        Some(FolderStatus {
            uidvalidity: v?,
            uidnext: n?,
            messages: m?,
            highest_modseq: h?,
        })
    }
}

/// What a past sync proved a folder held: the saved UIDVALIDITY,
/// HIGHESTMODSEQ and UIDNEXT, for a QRESYNC SELECT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Known {
    pub uidvalidity: u32,
    pub highest_modseq: u64,
    pub uidnext: u32,
}

/// The response codes of a SELECT answer we use.
#[derive(Default)]
struct SelectCodes {
    uidvalidity: Option<u32>,
    uidnext: Option<u32>,
    highest_modseq: Option<u64>,
}

impl SelectCodes {
    fn note(&mut self, r: &Response<'_>) {
        if let Response::Data {
            status: Status::Ok,
            outcome,
        } = r
        {
            match outcome.code {
                Some(ResponseCode::UidValidity(v)) => self.uidvalidity = Some(v),
                Some(ResponseCode::UidNext(n)) => self.uidnext = Some(n),
                Some(ResponseCode::HighestModSeq(m)) => self.highest_modseq = Some(m),
                _ => {}
            }
        }
    }
}

/// A change a QRESYNC SELECT (or what followed it) reported.
#[derive(Debug)]
pub(crate) enum Change {
    Fetch(FetchItem),
    /// UIDs gone, as ranges.
    Vanished(Vec<std::ops::RangeInclusive<u32>>),
}

/// What a QRESYNC SELECT reported, in arrival order.
#[derive(Debug)]
pub(crate) struct QresyncAnswer {
    /// What the SELECT asked about.
    pub known: Known,
    pub changes: Vec<Change>,
}

fn note_change(r: &Response<'_>, changes: &mut Vec<Change>) {
    match r {
        Response::Fetch(_, attrs) => changes.push(Change::Fetch(FetchItem::from_attrs(attrs, &[]))),
        Response::Vanished { uids, .. } => changes.push(Change::Vanished(uids.clone())),
        _ => {}
    }
}

/// How many UIDs the ranges of a VANISHED response name.
fn uid_count(ranges: &[std::ops::RangeInclusive<u32>]) -> u32 {
    ranges
        .iter()
        .map(|r| r.end().abs_diff(*r.start()).saturating_add(1))
        .fold(0u32, u32::saturating_add)
}

/// The state SELECT reported.
#[derive(Debug)]
pub(crate) struct Selected {
    pub wire_name: String,
    pub uidvalidity: u32,
    pub uidnext: Option<u32>,
    /// HIGHESTMODSEQ (RFC 7162), when the folder was opened with CONDSTORE
    /// and the server keeps mod-sequences for it.
    pub highest_modseq: Option<u64>,
    /// EXISTS as the SELECT answer reported it, before any later change.
    pub exists_at_select: u32,
    pub read_only: bool,
    /// The changes a QRESYNC SELECT reported.
    pub qresync: Option<QresyncAnswer>,
}

/// The parts of a FETCH response we use.
#[derive(Debug, Default)]
pub(crate) struct FetchItem {
    pub uid: Option<u32>,
    pub flags: Option<crate::sync::model::Flags>,
    /// The flags that are not system flags (`customflag_x` maps them).
    pub keywords: Vec<String>,
    pub size: Option<u32>,
    pub internal_date: Option<i64>,
    pub body: Option<Body>,
    /// Where a partial body starts (`BODY[]<offset>`), for a body fetched
    /// in pieces.
    pub body_at: Option<u32>,
    pub modseq: Option<u64>,
}

/// Where a FETCH response's body is.
#[derive(Debug)]
pub(crate) enum Body {
    /// This span of the response's buffer (the `&[u8]` of
    /// [`ImapSession::next_with_span`]'s closure).
    Span(std::ops::Range<usize>),
    /// A body the parser did not leave in the buffer, copied.
    Copied(Vec<u8>),
}

impl FetchItem {
    /// The item of a FETCH response's `attrs`; a body is located in `raw`,
    /// the buffer the response was parsed from (see [`Body`]), and copied
    /// when it is not there.
    pub fn from_attrs(attrs: &[AttributeValue<'_>], raw: &[u8]) -> FetchItem {
        let mut item = FetchItem::default();
        for a in attrs {
            match a {
                AttributeValue::Uid(u) => item.uid = Some(*u),
                AttributeValue::Flags(f) => {
                    item.flags = Some(wire::flags_from_imap(f.iter().map(|s| s.as_ref())));
                    item.keywords = f
                        .iter()
                        .filter(|s| !s.starts_with('\\'))
                        .map(|s| s.to_string())
                        .collect();
                }
                AttributeValue::Rfc822Size(n) => item.size = Some(*n),
                AttributeValue::ModSeq(m) => item.modseq = Some(*m),
                AttributeValue::InternalDate(d) => {
                    item.internal_date = wire::parse_internal_date(d)
                }
                AttributeValue::BodySection {
                    section: None,
                    data,
                    index,
                } => {
                    item.body_at = *index;
                    // NIL means the server has no body for it; treat as absent.
                    item.body = data.as_ref().map(|d| match span_in(raw, d) {
                        Some(span) => Body::Span(span),
                        None => Body::Copied(d.to_vec()),
                    });
                }
                AttributeValue::Rfc822(data) => {
                    // NIL means the server has no body for it; treat as absent.
                    item.body = data.as_ref().map(|d| match span_in(raw, d) {
                        Some(span) => Body::Span(span),
                        None => Body::Copied(d.to_vec()),
                    });
                }
                _ => {}
            }
        }
        item
    }
}

/// Where `part` lies inside `raw`, if it is a piece of it: compared as
/// addresses, so no unsafe code and no assumption about the parser.
fn span_in(raw: &[u8], part: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(raw.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= raw.len()).then_some(start..end)
}

/// A wire (modified UTF-7) folder name as people read it, for messages.
fn shown_name(wire: &str) -> String {
    utf7::decode(wire).unwrap_or_else(|_| wire.to_string())
}

#[cfg(test)]
mod idle_tests {
    use async_imap::imap_proto::Response;

    use super::is_change;

    fn change(line: &[u8]) -> bool {
        let (_, resp) = Response::parse(line).unwrap();
        is_change(&resp)
    }

    /// What ends an IDLE wait: new, removed or re-flagged messages; not a
    /// server's "still here" nor a RECENT count alone.
    #[test]
    fn changes_that_end_idle() {
        assert!(change(b"* 4 EXISTS\r\n"));
        assert!(change(b"* 2 EXPUNGE\r\n"));
        assert!(change(b"* 1 FETCH (FLAGS (\\Seen))\r\n"));
        assert!(!change(b"* OK Still here\r\n"));
        assert!(!change(b"* 1 RECENT\r\n"));
        assert!(change(b"* VANISHED 4:5\r\n"));
    }

    /// A VANISHED response's UIDs counted, ranges either way round.
    #[test]
    fn vanished_uids_are_counted() {
        let (_, resp) = Response::parse(b"* VANISHED 3,7:9,12:10\r\n").unwrap();
        let Response::Vanished { earlier, uids } = resp else {
            panic!("not VANISHED");
        };
        assert!(!earlier);
        assert_eq!(super::uid_count(&uids), 7);
        let (_, resp) = Response::parse(b"* VANISHED (EARLIER) 1:4294967295\r\n").unwrap();
        let Response::Vanished { earlier, uids } = resp else {
            panic!("not VANISHED");
        };
        assert!(earlier);
        assert_eq!(super::uid_count(&uids), u32::MAX);
    }
}

#[cfg(test)]
mod span_tests {
    use super::span_in;

    /// A piece of the buffer is found where it is; anything else is not a
    /// piece of it, however its bytes compare.
    #[test]
    fn a_body_is_located_only_inside_its_buffer() {
        let raw = b"* 1 FETCH (UID 7 BODY[] {5}\r\nhello)\r\n".to_vec();
        let at = raw.windows(5).position(|w| w == b"hello").unwrap();
        assert_eq!(span_in(&raw, &raw[at..at + 5]), Some(at..at + 5));
        assert_eq!(span_in(&raw, &raw[..]), Some(0..raw.len()));
        let copy = b"hello".to_vec();
        assert_eq!(span_in(&raw, &copy), None);
        assert_eq!(span_in(&[], &raw[at..at + 5]), None);
    }
}
