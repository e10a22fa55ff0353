//! Password prompts for the line UIs: the line writer loop that also
//! answers [`PasswordRequest`]s, the way each of OfflineIMAP's line UIs
//! does.
//!
//! `ttyui` asks `Enter password for user 'X': ` on the controlling terminal
//! with echo off (Python's `getpass`); `machineui` sends its `getpass` line
//! and reads one line from standard input; `basic`, `quiet` and `syslog`
//! cannot ask and say so. While a question is open the log lines wait in
//! the channel, so no line is printed into the middle of a prompt.

use std::io::{self, Read, Write};

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::event::{AccountId, Event, PasswordAnswer, PasswordRequest};
use crate::ui::line::{BATCH, LineUi, write_batch, write_header};

/// How a line UI answers a password request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asker {
    /// It cannot ask; the name of the UI, for the account's error line.
    Refuse(&'static str),
    /// On the controlling terminal, without echo (`ttyui`).
    Tty,
    /// The UI's `getpass` line on its output, then one line of standard
    /// input (`machineui`).
    StdinLine,
}

/// As [`run_line_ui`](crate::ui::run_line_ui), and answers the password
/// requests arriving on `requests` with `asker`. A cancelled `shutdown`
/// abandons an open question (answered `Cancelled`).
pub async fn run_line_ui_asking(
    mut ui: impl LineUi,
    mut events: UnboundedReceiver<Event>,
    mut requests: UnboundedReceiver<PasswordRequest>,
    asker: Asker,
    shutdown: CancellationToken,
    mut out: impl Write,
) -> io::Result<()> {
    let mut batch = Vec::with_capacity(BATCH);
    let mut text = String::new();
    let mut requests_open = true;
    write_header(&mut ui, &mut out)?;
    loop {
        tokio::select! {
            // Lines already sent are printed before a prompt that came
            // after them.
            biased;
            n = events.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    break;
                }
                write_batch(&mut ui, &mut batch, &mut text, &mut out)?;
            }
            req = requests.recv(), if requests_open => match req {
                None => requests_open = false,
                Some(req) => {
                    let answer =
                        ask(asker, &mut ui, req.account, &req.user, &shutdown, &mut out).await?;
                    req.answer(answer);
                }
            },
        }
    }
    out.flush()
}

/// Asks one question. An error is a failure to write `out` (the loop
/// ends); not being able to ask is an answer.
async fn ask(
    asker: Asker,
    ui: &mut impl LineUi,
    account: AccountId,
    user: &str,
    shutdown: &CancellationToken,
    out: &mut impl Write,
) -> io::Result<PasswordAnswer> {
    if shutdown.is_cancelled() {
        return Ok(PasswordAnswer::Cancelled);
    }
    let (tx, rx) = oneshot::channel();
    match asker {
        Asker::Refuse(name) => {
            return Ok(PasswordAnswer::CannotPrompt {
                reason: format!("the {name} UI cannot prompt for one"),
            });
        }
        Asker::Tty => {
            let prompt = format!("Enter password for user '{user}': ");
            let cancel = shutdown.clone();
            // A thread of its own, not `spawn_blocking`: the runtime waits
            // for blocking tasks when it shuts down, and nobody may be
            // typing.
            std::thread::spawn(move || {
                let answer = match ask_tty(&prompt, &cancel) {
                    Ok(Some(p)) => PasswordAnswer::Given(p),
                    Ok(None) => PasswordAnswer::Cancelled,
                    Err(e) => PasswordAnswer::CannotPrompt {
                        reason: format!("the ttyui UI cannot prompt for one ({e})"),
                    },
                };
                let _ = tx.send(answer);
            });
        }
        Asker::StdinLine => {
            if let Some(line) = ui.getpass(account, user) {
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
            std::thread::spawn(move || {
                let mut line = String::new();
                let answer = match io::stdin().read_line(&mut line) {
                    Ok(0) => PasswordAnswer::Cancelled,
                    Ok(_) => {
                        // OfflineIMAP drops the line's last character, the
                        // newline; a CR from a CRLF pipe goes too.
                        let p = line.strip_suffix('\n').unwrap_or(&line);
                        PasswordAnswer::Given(p.strip_suffix('\r').unwrap_or(p).to_owned())
                    }
                    Err(e) => PasswordAnswer::CannotPrompt {
                        reason: format!("the machineui UI cannot read standard input ({e})"),
                    },
                };
                let _ = tx.send(answer);
            });
        }
    }
    Ok(tokio::select! {
        answer = rx => answer.unwrap_or(PasswordAnswer::Cancelled),
        _ = shutdown.cancelled() => PasswordAnswer::Cancelled,
    })
}

/// Puts the terminal's echo back when dropped, however the read ends.
struct EchoOff<'a> {
    tty: &'a std::fs::File,
    saved: rustix::termios::Termios,
}

impl Drop for EchoOff<'_> {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(
            self.tty,
            rustix::termios::OptionalActions::Now,
            &self.saved,
        );
    }
}

/// `prompt` on `/dev/tty`, then one line read from it with echo off, as
/// Python's `getpass` does. `None` on end of input or when `cancel` fires
/// (checked five times a second, so a signal never leaves the terminal
/// without echo).
fn ask_tty(prompt: &str, cancel: &CancellationToken) -> io::Result<Option<String>> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};

    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open /dev/tty: {e}")))?;
    let saved = tcgetattr(&tty)?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(&tty, OptionalActions::Flush, &quiet)?;
    let echo_off = EchoOff { tty: &tty, saved };
    (&tty).write_all(prompt.as_bytes())?;
    (&tty).flush()?;

    let tick = Timespec {
        tv_sec: 0,
        tv_nsec: 200_000_000,
    };
    let mut typed = Vec::new();
    let complete = loop {
        if cancel.is_cancelled() {
            break false;
        }
        let mut fds = [PollFd::new(&tty, PollFlags::IN)];
        match poll(&mut fds, Some(&tick)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        let mut buf = [0u8; 256];
        let n = match (&tty).read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break false;
        }
        typed.extend_from_slice(&buf[..n]);
        if let Some(end) = typed.iter().position(|&b| b == b'\n') {
            typed.truncate(end);
            break true;
        }
    };
    drop(echo_off);
    // The Enter was not echoed: end the prompt's line, as getpass does.
    (&tty).write_all(b"\n")?;
    if !complete {
        return Ok(None);
    }
    String::from_utf8(typed).map(Some).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "the password typed is not valid UTF-8",
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::event::Level;
    use crate::ui::{Basic, MachineUi};
    use tokio::sync::mpsc;

    fn request(tx: oneshot::Sender<PasswordAnswer>) -> PasswordRequest {
        PasswordRequest::new(AccountId(0), "Test", "joe", "imap.example.org", move |a| {
            let _ = tx.send(a);
        })
    }

    #[tokio::test]
    async fn refusing_uis_answer_cannot_prompt_naming_the_ui() {
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (req_tx, req_rx) = mpsc::unbounded_channel();
        let (tx, rx) = oneshot::channel();
        ev_tx
            .send(Event::Logged {
                worker: None,
                level: Level::Info,
                text: "before".into(),
            })
            .unwrap();
        req_tx.send(request(tx)).unwrap();
        let ui = tokio::spawn(run_line_ui_asking(
            Basic::new(false),
            ev_rx,
            req_rx,
            Asker::Refuse("basic"),
            CancellationToken::new(),
            Vec::new(),
        ));
        // The asking account holds its event sender until it is answered.
        assert_eq!(
            rx.await.unwrap(),
            PasswordAnswer::CannotPrompt {
                reason: "the basic UI cannot prompt for one".into()
            }
        );
        drop(ev_tx);
        drop(req_tx);
        ui.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_cancelled_shutdown_answers_cancelled_without_asking() {
        let (_ev_tx, ev_rx) = mpsc::unbounded_channel::<Event>();
        let (req_tx, req_rx) = mpsc::unbounded_channel();
        let (tx, rx) = oneshot::channel();
        req_tx.send(request(tx)).unwrap();
        let cancel = CancellationToken::new();
        cancel.cancel();
        let ui = tokio::spawn(run_line_ui_asking(
            MachineUi::new(false),
            ev_rx,
            req_rx,
            Asker::StdinLine,
            cancel,
            Vec::new(),
        ));
        assert_eq!(rx.await.unwrap(), PasswordAnswer::Cancelled);
        ui.abort();
    }
}
