//! `-l FILE`: a copy of the log in a file, whatever the UI.
//!
//! OfflineIMAP appends to FILE with Python's logging format
//! `%(asctime)s %(levelname)s: %(message)s` (time as `YYYY-MM-DD HH:MM:SS`,
//! local time) and first writes an `OfflineImap <version> starting...`
//! blurb. We keep both, and log every INFO, warning and error message
//! (the plain texts Basic prints; DEBUG ones too under `-d`). The
//! formatter is a [`LineUi`] with an injected clock; [`open`] opens the
//! file.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use thiserror::Error;

use crate::event::{Event, Level};
use crate::ui::line::{LineUi, log_record, threshold};

/// FILE cannot be opened for appending.
#[derive(Debug, Error)]
#[error("cannot open log file {}: {source}", path.display())]
pub struct LogFileError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Opens `path` for appending, creating it if needed.
pub fn open(path: &Path) -> Result<File, LogFileError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| LogFileError {
            path: path.to_owned(),
            source,
        })
}

/// The log file formatter.
pub struct LogFile {
    dry_run: bool,
    debug: bool,
    clock: Box<dyn Fn() -> NaiveDateTime + Send>,
    args: Vec<String>,
}

impl LogFile {
    /// Stamps lines with the local time; `args` is the command line for the
    /// start blurb.
    pub fn new(dry_run: bool, args: Vec<String>) -> Self {
        Self::with_clock(dry_run, args, || chrono::Local::now().naive_local())
    }

    pub fn with_clock(
        dry_run: bool,
        args: Vec<String>,
        clock: impl Fn() -> NaiveDateTime + Send + 'static,
    ) -> Self {
        LogFile {
            dry_run,
            debug: false,
            clock: Box::new(clock),
            args,
        }
    }

    /// With `-d`: DEBUG lines too, as OfflineIMAP's log file then has.
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    fn stamp(&self, level: Level, text: &str) -> String {
        let name = match level {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        };
        format!(
            "{} {name}: {text}",
            (self.clock)().format("%Y-%m-%d %H:%M:%S")
        )
    }
}

impl LineUi for LogFile {
    fn line(&mut self, ev: &Event) -> Option<String> {
        log_record(ev, self.dry_run)
            .filter(|(level, _)| *level >= threshold(Level::Info, self.debug))
            .map(|(level, text)| self.stamp(level, &text))
    }

    fn header(&mut self) -> Option<String> {
        let args: Vec<String> = self.args.iter().map(|a| redact(a)).collect();
        let blurb = format!(
            "OfflineImap {} starting...\n  Platform: {}\n  Args: {}",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            args.join(" ")
        );
        Some(self.stamp(Level::Info, &blurb))
    }
}

/// `-k remotepass=...` on the command line must not end up in a log file:
/// the value of any `OPTION=VALUE` whose option mentions a password is
/// replaced.
fn redact(arg: &str) -> String {
    match arg.split_once('=') {
        Some((option, _)) if option.to_ascii_lowercase().contains("pass") => {
            format!("{option}=********")
        }
        _ => arg.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Read;
    use std::time::Instant;

    use super::*;
    use crate::ui::line::tests::{render, script};
    use crate::ui::run_line_ui;

    fn fixed() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2024, 3, 9)
            .unwrap()
            .and_hms_opt(7, 5, 1)
            .unwrap()
    }

    #[test]
    fn logfile_golden() {
        let mut ui = LogFile::with_clock(false, Vec::new(), fixed);
        let expected = "\
2024-03-09 07:05:01 INFO: *** Processing account Work
2024-03-09 07:05:01 INFO: Establishing connection to imap.example.org:993 (Remote)
2024-03-09 07:05:01 INFO: Creating folder Archive/2024[Local]
2024-03-09 07:05:01 INFO: Syncing INBOX: IMAP -> Maildir
2024-03-09 07:05:01 INFO: Copy message UID 123 (4/10) Remote:INBOX -> Local:INBOX
2024-03-09 07:05:01 INFO: Deleting 6 messages (1:3,5:6,9) in Maildir[INBOX]
2024-03-09 07:05:01 INFO: Adding flag S to 3 messages on INBOX
2024-03-09 07:05:01 INFO: Deleting flag F from 1 messages on INBOX
2024-03-09 07:05:01 WARNING: UID validity problem for folder Junk
2024-03-09 07:05:01 INFO: Skipping Sent (not changed)
2024-03-09 07:05:01 ERROR: ERROR: could not read folder Sent
2024-03-09 07:05:01 INFO: *** Finished account 'Work' in 2:05
2024-03-09 07:05:01 INFO: from the main thread
";
        assert_eq!(render(&mut ui, &script(Instant::now())), expected);
    }

    #[test]
    fn debug_lines_only_with_dash_d() {
        let ev = Event::Logged {
            worker: None,
            level: Level::Debug,
            text: "[imap]: C: A1 NOOP".into(),
        };
        let mut ui = LogFile::with_clock(false, Vec::new(), fixed);
        assert_eq!(ui.line(&ev), None);
        let mut ui = LogFile::with_clock(false, Vec::new(), fixed).with_debug(true);
        assert_eq!(
            ui.line(&ev).as_deref(),
            Some("2024-03-09 07:05:01 DEBUG: [imap]: C: A1 NOOP")
        );
    }

    #[test]
    fn blurb_names_version_platform_and_hides_passwords() {
        let args = [
            "offlineimap",
            "-l",
            "/tmp/x",
            "-k",
            "Repository_R:remotepass=hunter2",
        ];
        let mut ui = LogFile::with_clock(false, args.map(String::from).to_vec(), fixed);
        assert_eq!(
            ui.header().unwrap(),
            format!(
                "2024-03-09 07:05:01 INFO: OfflineImap {} starting...\n  Platform: {}\n  \
                 Args: offlineimap -l /tmp/x -k Repository_R:remotepass=********",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS
            )
        );
    }

    #[tokio::test]
    async fn appends_to_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, "old line\n").unwrap();
        let file = open(&path).unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tx.send(Event::Logged {
            worker: None,
            level: Level::Warning,
            text: "careful".into(),
        })
        .unwrap();
        drop(tx);
        let ui = LogFile::with_clock(false, vec!["offlineimap".into()], fixed);
        run_line_ui(ui, rx, file).await.unwrap();
        let mut text = String::new();
        File::open(&path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(
            text,
            format!(
                "old line\n2024-03-09 07:05:01 INFO: OfflineImap {} starting...\n  Platform: {}\n  \
                 Args: offlineimap\n2024-03-09 07:05:01 WARNING: careful\n",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS
            )
        );
    }

    #[test]
    fn unopenable_file_error_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("log");
        let err = open(&path).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot open log file {}: ", path.display())),
            "{err}"
        );
    }
}
