//! User interfaces: consumers of the [`Event`](crate::event::Event) stream.
//!
//! This module picks a UI by the name OfflineIMAP users write in `ui =` or
//! pass to `-u`, and holds the line UIs ([`line`]). A UI only ever reads
//! events and sends commands; it must not name the backends, the engine or
//! the accounts (see docs/architecture.md).

pub mod blinkenlights;
pub mod line;
pub mod logfile;
pub mod machine;
pub mod outputs;
pub mod profile;
pub mod prompt;
pub mod syslog;
pub mod theme;

pub use line::{Basic, LineUi, Quiet, TtyUi, run_line_ui, uid_sequence};
pub use machine::MachineUi;

use thiserror::Error;

/// The UIs OfflineIMAP offers, by their registry names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UiKind {
    /// `blinkenlights`: the full-screen curses UI with one light per worker.
    Blinkenlights,
    /// `ttyui`: log lines on stderr, grouped under the name of the worker.
    TtyUi,
    /// `basic`: plain log lines on stdout.
    Basic,
    /// `quiet`: only warnings and errors.
    Quiet,
    /// `syslog`: log lines to the system log.
    Syslog,
    /// `machineui`: one machine-readable line per event.
    MachineUi,
}

impl UiKind {
    /// Every UI, in the order OfflineIMAP lists them in `--help`.
    pub const ALL: [UiKind; 6] = [
        UiKind::Quiet,
        UiKind::Basic,
        UiKind::Syslog,
        UiKind::TtyUi,
        UiKind::Blinkenlights,
        UiKind::MachineUi,
    ];

    /// The registry name, as accepted by [`by_name`].
    pub fn name(self) -> &'static str {
        match self {
            UiKind::Blinkenlights => "blinkenlights",
            UiKind::TtyUi => "ttyui",
            UiKind::Basic => "basic",
            UiKind::Quiet => "quiet",
            UiKind::Syslog => "syslog",
            UiKind::MachineUi => "machineui",
        }
    }

    /// The line formatter for this UI and where its lines go, for the UIs
    /// that are line UIs and are implemented; `None` otherwise.
    pub fn line_ui(self, dry_run: bool) -> Option<(Box<dyn LineUi + Send>, Stream)> {
        self.line_ui_with_debug(dry_run, false)
    }

    /// As [`UiKind::line_ui`]; with `debug` (`-d`) the UI shows debug
    /// lines too.
    pub fn line_ui_with_debug(
        self,
        dry_run: bool,
        debug: bool,
    ) -> Option<(Box<dyn LineUi + Send>, Stream)> {
        match self {
            UiKind::Basic => Some((
                Box::new(Basic::new(dry_run).with_debug(debug)),
                Stream::Stdout,
            )),
            UiKind::Quiet => Some((
                Box::new(Quiet::new(dry_run).with_debug(debug)),
                Stream::Stdout,
            )),
            UiKind::TtyUi => Some((
                Box::new(TtyUi::new(dry_run).with_debug(debug)),
                Stream::Stderr,
            )),
            UiKind::MachineUi => Some((
                Box::new(MachineUi::new(dry_run).with_debug(debug)),
                Stream::Stdout,
            )),
            // The syslog UI prints nothing itself: its lines go through the
            // syslog output, which `outputs::Outputs` adds for it.
            UiKind::Syslog => Some((Box::new(syslog::Silent), Stream::Stdout)),
            UiKind::Blinkenlights => None,
        }
    }
}

impl UiKind {
    /// How this UI answers a password the configuration does not give
    /// (Blinkenlights asks in its own window and is not a line UI).
    pub fn asker(self) -> prompt::Asker {
        match self {
            UiKind::TtyUi | UiKind::Blinkenlights => prompt::Asker::Tty,
            UiKind::MachineUi => prompt::Asker::StdinLine,
            UiKind::Basic | UiKind::Quiet | UiKind::Syslog => prompt::Asker::Refuse(self.name()),
        }
    }
}

/// Where a line UI writes. OfflineIMAP's Basic and Quiet log to stdout, its
/// TTYUI to stderr; scripts that capture one or the other rely on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// `ui =` or `-u` named no UI we know.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("UI '{name}' does not exist, choose one of: {}", ui_names())]
pub struct UnknownUi {
    pub name: String,
}

fn ui_names() -> String {
    UiKind::ALL.map(UiKind::name).join(", ")
}

/// Looks a UI up by name, case-insensitively. OfflineIMAP's old dotted
/// names (`Curses.Blinkenlights`, `Noninteractive.Basic`, ...) are accepted
/// by their last component, as OfflineIMAP does; [`is_legacy_name`] tells
/// the caller to warn about them.
pub fn by_name(name: &str) -> Result<UiKind, UnknownUi> {
    let last = name.rsplit('.').next().unwrap_or(name).trim();
    UiKind::ALL
        .into_iter()
        .find(|kind| kind.name().eq_ignore_ascii_case(last))
        .ok_or_else(|| UnknownUi {
            name: name.to_owned(),
        })
}

/// Whether `name` is one of the dotted pre-6.x UI names, which still work but
/// deserve a warning.
pub fn is_legacy_name(name: &str) -> bool {
    name.contains('.')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_in_any_case() {
        for kind in UiKind::ALL {
            assert_eq!(by_name(kind.name()), Ok(kind));
            assert_eq!(by_name(&kind.name().to_uppercase()), Ok(kind));
        }
        assert_eq!(by_name("TTYUI"), Ok(UiKind::TtyUi));
        assert_eq!(by_name("Blinkenlights"), Ok(UiKind::Blinkenlights));
        assert_eq!(by_name("MachineUI"), Ok(UiKind::MachineUi));
    }

    #[test]
    fn dotted_legacy_names_use_their_last_component() {
        let cases = [
            ("Noninteractive.Basic", UiKind::Basic),
            ("Noninteractive.Quiet", UiKind::Quiet),
            ("TTY.TTYUI", UiKind::TtyUi),
            ("Curses.Blinkenlights", UiKind::Blinkenlights),
            ("Machine.MachineUI", UiKind::MachineUi),
        ];
        for (name, kind) in cases {
            assert_eq!(by_name(name), Ok(kind), "{name}");
            assert!(is_legacy_name(name));
        }
        assert!(!is_legacy_name("basic"));
    }

    #[test]
    fn unknown_names_are_errors_listing_the_choices() {
        let err = by_name("fancy").unwrap_err();
        assert_eq!(err.name, "fancy");
        assert_eq!(
            err.to_string(),
            "UI 'fancy' does not exist, choose one of: quiet, basic, syslog, ttyui, blinkenlights, machineui"
        );
        assert!(by_name("").is_err());
        assert!(by_name("Curses.").is_err());
        assert!(by_name("basic.x").is_err());
    }

    #[test]
    fn implemented_line_uis_and_their_streams() {
        assert_eq!(
            UiKind::Basic.line_ui(false).map(|u| u.1),
            Some(Stream::Stdout)
        );
        assert_eq!(
            UiKind::Quiet.line_ui(false).map(|u| u.1),
            Some(Stream::Stdout)
        );
        assert_eq!(
            UiKind::TtyUi.line_ui(false).map(|u| u.1),
            Some(Stream::Stderr)
        );
        assert_eq!(
            UiKind::MachineUi.line_ui(false).map(|u| u.1),
            Some(Stream::Stdout)
        );
        assert!(UiKind::Syslog.line_ui(false).is_some());
        assert!(UiKind::Blinkenlights.line_ui(false).is_none());
    }

    #[test]
    fn only_interactive_uis_ask_for_passwords() {
        use prompt::Asker;
        assert_eq!(UiKind::TtyUi.asker(), Asker::Tty);
        assert_eq!(UiKind::MachineUi.asker(), Asker::StdinLine);
        for kind in [UiKind::Basic, UiKind::Quiet, UiKind::Syslog] {
            assert_eq!(kind.asker(), Asker::Refuse(kind.name()));
        }
    }
}
