//! `preauthtunnel` / `transporttunnel`: a shell command whose stdout and
//! stdin carry the IMAP conversation in place of a TCP connection.
//!
//! The command runs as `sh -c COMMAND` (as OfflineIMAP runs it through the
//! shell), its stderr goes to ours, and it is killed when the connection is
//! dropped.
//!
//! A pre-authenticated connection needs one trick: async-imap only hands
//! out a `Session` after a successful LOGIN or AUTHENTICATE, and the server
//! must not see either (it would refuse them: the connection is already in
//! the authenticated state). So the stream can answer the next command line
//! itself with a tagged OK (`answer_next_command`); the LOGIN async-imap
//! then sends never reaches the command.

use std::io;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// The running tunnel command and its two pipes.
pub(crate) struct TunnelStream {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// `Some` while the next command line is to be answered here: the part
    /// of it written so far.
    intercept: Option<Vec<u8>>,
    /// A locally made answer, served before anything from the command.
    reply: Vec<u8>,
}

impl TunnelStream {
    /// Start `sh -c command`.
    pub(crate) fn spawn(command: &str) -> io::Result<TunnelStream> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(io::Error::other("the command's pipes could not be opened"));
        };
        Ok(TunnelStream {
            child,
            stdin,
            stdout,
            intercept: None,
            reply: Vec::new(),
        })
    }

    /// Answer the next command line written with `<tag> OK` instead of
    /// passing it on.
    pub(crate) fn answer_next_command(&mut self) {
        self.intercept = Some(Vec::new());
    }

    /// How the command ended, if it has or does within `grace` (to explain
    /// a connection that closed at once).
    pub(crate) async fn exit_status(&mut self, grace: Duration) -> Option<ExitStatus> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status),
            Ok(None) => tokio::time::timeout(grace, self.child.wait())
                .await
                .ok()
                .and_then(Result::ok),
            Err(_) => None,
        }
    }

    /// Take in command bytes while intercepting; returns how many were
    /// consumed (up to and including the line's CRLF).
    fn intercept_write(line: &mut Vec<u8>, buf: &[u8]) -> (usize, bool) {
        let before = line.len();
        line.extend_from_slice(buf);
        match line.windows(2).position(|w| w == b"\r\n") {
            Some(end) => {
                line.truncate(end + 2);
                (end + 2 - before, true)
            }
            None => (buf.len(), false),
        }
    }
}

/// The tagged OK for an intercepted command line.
fn local_ok(line: &[u8]) -> Vec<u8> {
    let tag_end = line
        .iter()
        .position(|&b| b == b' ' || b == b'\r')
        .unwrap_or(line.len());
    let mut reply = line[..tag_end].to_vec();
    reply.extend_from_slice(b" OK already authenticated (PREAUTH)\r\n");
    reply
}

impl AsyncRead for TunnelStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.reply.is_empty() {
            let n = this.reply.len().min(buf.remaining());
            buf.put_slice(&this.reply[..n]);
            this.reply.drain(..n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stdout).poll_read(cx, buf)
    }
}

impl AsyncWrite for TunnelStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(line) = &mut this.intercept {
            let (n, complete) = TunnelStream::intercept_write(line, buf);
            if complete {
                this.reply = local_ok(line);
                this.intercept = None;
            }
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.stdin).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    #[tokio::test]
    async fn bytes_go_through_the_command() {
        let mut t = TunnelStream::spawn("cat").unwrap();
        t.write_all(b"a1 NOOP\r\n").await.unwrap();
        t.flush().await.unwrap();
        let mut line = String::new();
        BufReader::new(&mut t).read_line(&mut line).await.unwrap();
        assert_eq!(line, "a1 NOOP\r\n");
    }

    #[tokio::test]
    async fn intercepted_command_is_answered_locally_and_not_sent() {
        let mut t = TunnelStream::spawn("cat").unwrap();
        t.answer_next_command();
        // Written in pieces, as async-imap does.
        for piece in [&b"A0001"[..], b" ", b"LOGIN u p", b"\r\n"] {
            t.write_all(piece).await.unwrap();
        }
        t.write_all(b"A0002 NOOP\r\n").await.unwrap();
        t.flush().await.unwrap();
        let mut r = BufReader::new(&mut t);
        let mut line = String::new();
        r.read_line(&mut line).await.unwrap();
        assert_eq!(line, "A0001 OK already authenticated (PREAUTH)\r\n");
        line.clear();
        r.read_line(&mut line).await.unwrap();
        assert_eq!(
            line, "A0002 NOOP\r\n",
            "only the command after it reached cat"
        );
    }

    #[tokio::test]
    async fn a_command_that_exits_reports_its_status() {
        let mut t = TunnelStream::spawn("exit 3").unwrap();
        let status = t.exit_status(Duration::from_secs(5)).await.unwrap();
        assert_eq!(status.code(), Some(3));
    }
}
