//! `-d maildir`: a switch and a sink for debug lines about Maildir
//! operations (files written, renamed, deleted; scan counts).
//!
//! The switch is a process-wide flag, set once at start-up by the code
//! that wires the run, because the Maildir code is called from many
//! places that have no channel to a UI. Call sites use [`maildir_debug!`],
//! which formats nothing unless the flag is on: when debugging is off a
//! line costs one relaxed atomic load.

use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Where debug lines go (one call per line, without newline).
pub type DebugSink = Box<dyn Fn(&str) + Send + Sync>;

static ON: AtomicBool = AtomicBool::new(false);
static SINK: RwLock<Option<DebugSink>> = RwLock::new(None);

/// Turns Maildir debug lines on (`Some`) or off (`None`).
pub fn set_sink(sink: Option<DebugSink>) {
    let on = sink.is_some();
    match SINK.write() {
        Ok(mut guard) => *guard = sink,
        Err(poisoned) => *poisoned.into_inner() = sink,
    }
    ON.store(on, Ordering::Relaxed);
}

/// Whether Maildir debug lines are wanted.
#[inline]
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Sends one line; use [`maildir_debug!`] rather than calling this.
pub fn emit(text: &str) {
    let guard = match SINK.read() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(sink) = guard.as_ref() {
        sink(text);
    }
}

/// `maildir_debug!("format", args...)`: a debug line, formatted only when
/// `-d maildir` is on.
macro_rules! maildir_debug {
    ($($arg:tt)*) => {
        if $crate::maildir::debug::on() {
            $crate::maildir::debug::emit(&format!($($arg)*));
        }
    };
}
pub(crate) use maildir_debug;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn lines_flow_only_while_a_sink_is_set() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let out = seen.clone();
        // Other tests in this process may log too: look for our own line.
        set_sink(Some(Box::new(move |l: &str| {
            out.lock().unwrap().push(l.to_owned())
        })));
        assert!(on());
        maildir_debug!("probe {}", 42);
        set_sink(None);
        assert!(!on());
        maildir_debug!("probe {}", 43);
        let seen = seen.lock().unwrap();
        assert!(seen.iter().any(|l| l == "probe 42"), "{seen:?}");
        assert!(!seen.iter().any(|l| l == "probe 43"), "{seen:?}");
    }
}
