//! Outputs beside the UI: the `-l FILE` log file and the syslog (`-s`, or
//! the `syslog` UI), and the fan-out that gives each its own copy of the
//! event stream.
//!
//! Every output runs in its own task behind its own unbounded channel, fed
//! by one fan-out task: a slow output (a stalled syslog daemon, a full
//! disk) delays only its own lines, never the UI and never a worker. The
//! fan-out holds no lock and never awaits anything but the next events.

use std::fs::File;
use std::path::Path;

use thiserror::Error;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

use crate::event::Event;
use crate::ui::line::run_line_ui;
use crate::ui::logfile::{self, LogFile, LogFileError};
use crate::ui::syslog::{Syslog, SyslogError};

/// An output could not be set up; the run must stop before any sync.
#[derive(Debug, Error)]
pub enum OutputError {
    #[error(transparent)]
    LogFile(#[from] LogFileError),
    #[error(transparent)]
    Syslog(#[from] SyslogError),
}

enum Output {
    LogFile(File, LogFile),
    Syslog(Syslog),
}

/// The outputs asked for, opened and not yet running.
pub struct Outputs {
    outputs: Vec<Output>,
}

impl Outputs {
    /// Opens the log file (`logfile`, with `args` for its start blurb) and
    /// connects to the syslog socket (`syslog`, normally
    /// [`DEV_LOG`](crate::ui::syslog::DEV_LOG)). Must be called inside the
    /// tokio runtime.
    pub fn open(
        logfile: Option<&Path>,
        syslog: Option<&Path>,
        dry_run: bool,
        args: Vec<String>,
    ) -> Result<Outputs, OutputError> {
        Self::open_with_debug(logfile, syslog, dry_run, false, args)
    }

    /// As [`Outputs::open`]; with `debug` (`-d`), debug lines are written
    /// too.
    pub fn open_with_debug(
        logfile: Option<&Path>,
        syslog: Option<&Path>,
        dry_run: bool,
        debug: bool,
        args: Vec<String>,
    ) -> Result<Outputs, OutputError> {
        let mut outputs = Vec::new();
        if let Some(path) = logfile {
            let file = logfile::open(path)?;
            let ui = LogFile::new(dry_run, args).with_debug(debug);
            outputs.push(Output::LogFile(file, ui));
        }
        if let Some(path) = syslog {
            let syslog = Syslog::connect(path, dry_run)?.with_debug(debug);
            outputs.push(Output::Syslog(syslog));
        }
        Ok(Outputs { outputs })
    }

    /// Starts the outputs on `events` and returns the receiver the UI reads
    /// instead. With no outputs, `events` itself comes back.
    pub fn attach(self, events: UnboundedReceiver<Event>) -> (UnboundedReceiver<Event>, Running) {
        if self.outputs.is_empty() {
            return (events, Running { tasks: Vec::new() });
        }
        let (ui_tx, ui_rx) = mpsc::unbounded_channel();
        let mut senders = vec![ui_tx];
        let mut tasks = Vec::new();
        for output in self.outputs {
            let (tx, rx) = mpsc::unbounded_channel();
            senders.push(tx);
            tasks.push(match output {
                Output::LogFile(file, ui) => tokio::spawn(async move {
                    // A log file that stops accepting writes (disk full)
                    // loses its lines; the sync goes on.
                    let _ = run_line_ui(ui, rx, file).await;
                }),
                Output::Syslog(syslog) => tokio::spawn(syslog.run(rx)),
            });
        }
        tasks.push(tokio::spawn(fan_out(events, senders)));
        (ui_rx, Running { tasks })
    }
}

/// The running outputs.
pub struct Running {
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Waits until every output has written its last line (they end when
    /// the event channel closes).
    pub async fn finish(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Copies every event to every sender, until `events` closes; a receiver
/// that has gone away is simply skipped.
pub async fn fan_out(mut events: UnboundedReceiver<Event>, senders: Vec<UnboundedSender<Event>>) {
    const BATCH: usize = 256;
    let mut batch = Vec::with_capacity(BATCH);
    while events.recv_many(&mut batch, BATCH).await > 0 {
        for ev in batch.drain(..) {
            for tx in &senders {
                let _ = tx.send(ev.clone());
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::event::Level;
    use tokio::net::UnixDatagram;

    fn logged(text: &str) -> Event {
        Event::Logged {
            worker: None,
            level: Level::Info,
            text: text.into(),
        }
    }

    #[tokio::test]
    async fn every_output_and_the_ui_see_every_event() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let sock = dir.path().join("sock");
        let server = UnixDatagram::bind(&sock).unwrap();
        let outputs =
            Outputs::open(Some(&log), Some(&sock), false, vec!["offlineimap".into()]).unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let (mut ui_rx, running) = outputs.attach(rx);
        tx.send(logged("one")).unwrap();
        tx.send(logged("two")).unwrap();
        drop(tx);

        assert_eq!(ui_rx.recv().await, Some(logged("one")));
        assert_eq!(ui_rx.recv().await, Some(logged("two")));
        assert_eq!(ui_rx.recv().await, None);
        running.finish().await;

        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with(" starting..."), "{text}");
        assert!(lines[3].ends_with(" INFO: one"), "{text}");
        assert!(lines[4].ends_with(" INFO: two"), "{text}");
        assert_eq!(lines.len(), 5, "{text}");

        let mut buf = [0u8; 512];
        for want in ["one", "two"] {
            let n = server.recv(&mut buf).await.unwrap();
            let got = String::from_utf8(buf[..n].to_vec()).unwrap();
            assert!(got.ends_with(&format!("]: {want}")), "{got}");
        }
    }

    #[tokio::test]
    async fn without_outputs_the_ui_gets_the_channel_itself() {
        let outputs = Outputs::open(None, None, false, Vec::new()).unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let (mut ui_rx, running) = outputs.attach(rx);
        tx.send(logged("x")).unwrap();
        drop(tx);
        assert_eq!(ui_rx.recv().await, Some(logged("x")));
        assert_eq!(ui_rx.recv().await, None);
        running.finish().await;
    }

    #[tokio::test]
    async fn a_ui_that_quit_does_not_stop_the_log_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let outputs = Outputs::open(Some(&log), None, false, Vec::new()).unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let (ui_rx, running) = outputs.attach(rx);
        drop(ui_rx);
        tx.send(logged("still logged")).unwrap();
        drop(tx);
        running.finish().await;
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.ends_with(" INFO: still logged\n"), "{text}");
    }

    #[tokio::test]
    async fn open_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("nope").join("log");
        let err = Outputs::open(Some(&bad), None, false, Vec::new())
            .err()
            .unwrap();
        assert!(matches!(err, OutputError::LogFile(_)));
        assert!(err.to_string().contains(&bad.display().to_string()));
        let err = Outputs::open(None, Some(&dir.path().join("nosock")), false, Vec::new())
            .err()
            .unwrap();
        assert!(matches!(err, OutputError::Syslog(_)));
    }
}
