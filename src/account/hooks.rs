//! OfflineIMAP's account hooks: `presynchook` and `postsynchook`, shell
//! commands run with `sh -c` before and after each sync of an account.
//!
//! The account waits for its hook. The hook's stdout and stderr are
//! relayed line by line to the account's reporter while it runs (never
//! collected whole), and its exit code is reported; a failing hook is a
//! warning, never a reason to skip or fail the sync, as in OfflineIMAP.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use super::Reporter;
use crate::event::{Event, Level, WorkerId};

/// Which of an account's hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hook {
    Pre,
    Post,
}

impl Hook {
    /// The option that sets it, for messages.
    pub(crate) fn option(self) -> &'static str {
        match self {
            Hook::Pre => "presynchook",
            Hook::Post => "postsynchook",
        }
    }
}

/// What `OFFLINEIMAPSYNCMODE` tells a hook: `full` for the account's
/// syncs, `idle` for one started by a change in an `idlefolders` folder.
/// (OfflineIMAP also says `quick`; every sync here is a full one.)
pub(crate) const SYNC_MODE: &str = "full";
pub(crate) const IDLE_MODE: &str = "idle";

/// Longest line relayed as one; longer ones are cut into pieces of this
/// size, so a hook writing without newlines costs bounded memory.
const MAX_LINE: usize = 4096;

/// Lines relayed per stream; the rest are counted, not shown, so a
/// chatty hook cannot flood the UI's (unbounded) event channel.
const MAX_LINES: usize = 10_000;

/// A hook that could not be started or waited for.
#[derive(Debug, thiserror::Error)]
#[error("{option}: cannot run '{command}': {source}")]
pub(crate) struct HookError {
    option: &'static str,
    command: String,
    #[source]
    source: std::io::Error,
}

/// Runs `hook` if it is set and no abort-now was asked for (OfflineIMAP
/// runs neither hook then). Returns `false` when the hook could not be
/// run at all (an error, reported); a hook that ran and failed is only a
/// warning and returns `true`. In a dry run the hook is announced (the UI
/// says `[DRYRUN] Calling hook: ...`) and not run, as in OfflineIMAP.
pub(crate) async fn call(
    rep: &Reporter,
    worker: WorkerId,
    hook: Hook,
    command: Option<&str>,
    cancel: &CancellationToken,
    dry_run: bool,
    mode: &'static str,
) -> bool {
    let Some(command) = command.map(str::trim).filter(|c| !c.is_empty()) else {
        return true;
    };
    if cancel.is_cancelled() {
        return true;
    }
    if dry_run {
        rep.send(Event::HookStarted {
            worker,
            which: hook.option().to_owned(),
            command: command.to_owned(),
        });
        return true;
    }
    match run(rep, worker, hook, command, mode).await {
        Ok(0) => true,
        Ok(code) => {
            let how = if code < 0 {
                format!("was killed by signal {}", -code)
            } else {
                format!("exited with code {code}")
            };
            rep.log(
                Some(worker),
                Level::Warning,
                format!("{} '{command}' {how}", hook.option()),
            );
            true
        }
        Err(e) => {
            rep.log(Some(worker), Level::Error, format!("Calling hook: {e}"));
            false
        }
    }
}

/// Runs `command` with `sh -c` and waits for it, relaying its output as
/// `Hook stdout: ...` / `Hook stderr: ...` lines. Its exit code, or the
/// number of the signal that killed it negated.
pub(crate) async fn run(
    rep: &Reporter,
    worker: WorkerId,
    hook: Hook,
    command: &str,
    mode: &'static str,
) -> Result<i32, HookError> {
    let fail = |source| HookError {
        option: hook.option(),
        command: command.to_owned(),
        source,
    };
    rep.send(Event::HookStarted {
        worker,
        which: hook.option().to_owned(),
        command: command.to_owned(),
    });
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("OFFLINEIMAPSYNCMODE", mode)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(fail)?;
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    tokio::join!(
        relay(stdout, rep, worker, "stdout"),
        relay(stderr, rep, worker, "stderr"),
    );
    let status = child.wait().await.map_err(fail)?;
    let code = status
        .code()
        .unwrap_or_else(|| status.signal().map_or(-1, |s| -s));
    rep.send(Event::HookFinished {
        worker,
        which: hook.option().to_owned(),
        code,
    });
    Ok(code)
}

/// Reads `stream` to its end, logging each line as `Hook <label>: line`.
async fn relay(
    stream: Option<impl AsyncRead + Unpin>,
    rep: &Reporter,
    worker: WorkerId,
    label: &str,
) {
    let Some(mut stream) = stream else { return };
    let mut lines = LineSplitter::new(MAX_LINE);
    let mut shown = 0usize;
    let mut hidden = 0usize;
    let mut emit = |line: String| {
        if shown < MAX_LINES {
            shown += 1;
            rep.log(Some(worker), Level::Info, format!("Hook {label}: {line}"));
        } else {
            hidden += 1;
        }
    };
    let mut buf = vec![0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => lines.push(&buf[..n], &mut emit),
            // Dropping the pipe ends the hook's writes (EPIPE), so it
            // cannot block on a pipe nobody reads.
            Err(e) => {
                emit(format!("(cannot read more: {e})"));
                break;
            }
        }
    }
    lines.finish(&mut emit);
    if hidden > 0 {
        rep.log(
            Some(worker),
            Level::Info,
            format!("Hook {label}: ({hidden} more lines not shown)"),
        );
    }
}

/// Cuts a byte stream into lines of at most `max` bytes (without their
/// `\n` or `\r\n`), decoded leniently as UTF-8.
#[derive(Debug)]
struct LineSplitter {
    pending: Vec<u8>,
    max: usize,
    /// The last line was cut at `max`: a newline right after it ends that
    /// line rather than an empty one.
    cut: bool,
}

impl LineSplitter {
    fn new(max: usize) -> LineSplitter {
        LineSplitter {
            pending: Vec::new(),
            max: max.max(1),
            cut: false,
        }
    }

    /// Feeds `bytes`, calling `out` for each line they complete.
    fn push(&mut self, mut bytes: &[u8], out: &mut impl FnMut(String)) {
        while !bytes.is_empty() {
            if self.cut && bytes[0] == b'\n' {
                self.cut = false;
                bytes = &bytes[1..];
                continue;
            }
            self.cut = false;
            let room = self.max - self.pending.len();
            let window = &bytes[..bytes.len().min(room)];
            match window.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.pending.extend_from_slice(&window[..i]);
                    if self.pending.last() == Some(&b'\r') {
                        self.pending.pop();
                    }
                    self.flush(out);
                    bytes = &bytes[i + 1..];
                }
                None => {
                    self.pending.extend_from_slice(window);
                    bytes = &bytes[window.len()..];
                    if self.pending.len() >= self.max {
                        self.flush(out);
                        self.cut = true;
                    }
                }
            }
        }
    }

    /// The last line, if the stream did not end with a newline.
    fn finish(&mut self, out: &mut impl FnMut(String)) {
        if !self.pending.is_empty() {
            self.flush(out);
        }
    }

    fn flush(&mut self, out: &mut impl FnMut(String)) {
        out(String::from_utf8_lossy(&self.pending).into_owned());
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests;
