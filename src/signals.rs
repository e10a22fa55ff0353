//! Unix signals as OfflineIMAP handles them, turned into the same commands
//! and cancellation that keys produce.
//!
//! SIGUSR1: sync every account now. SIGUSR2: stop after the current sync.
//! SIGTERM/SIGINT/SIGHUP: finish the current folder, then stop; the third
//! one exits at once with status 1.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::event::Command;

pub async fn watch(cancel: CancellationToken, accounts: Vec<mpsc::Sender<Command>>) {
    let (Ok(mut usr1), Ok(mut usr2), Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::user_defined1()),
        signal(SignalKind::user_defined2()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        return;
    };
    let mut stops = 0;
    loop {
        tokio::select! {
            _ = usr1.recv() => broadcast(&accounts, Command::SyncNow),
            _ = usr2.recv() => broadcast(&accounts, Command::StopAfterSync),
            _ = term.recv() => stops += 1,
            _ = int.recv() => stops += 1,
            _ = hup.recv() => stops += 1,
        }
        if stops > 0 {
            cancel.cancel();
        }
        if stops >= 3 {
            // Leaving now skips every destructor: put the terminal back
            // first if Blinkenlights had it.
            crate::ui::blinkenlights::restore_terminal();
            std::process::exit(1);
        }
    }
}

fn broadcast(accounts: &[mpsc::Sender<Command>], cmd: Command) {
    for a in accounts {
        // A full queue already holds a request; nothing is lost by dropping.
        let _ = a.try_send(cmd);
    }
}
