//! Wiring: configuration, accounts, the chosen UI, signals and the exit
//! code. Nothing here decides anything about mail.

use std::process::ExitCode;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::account::{AccountTask, Outcome};
use crate::cli::Cli;
use crate::config;
use crate::event::{AccountId, Command, Event};
use crate::ui;

/// Exit codes, as OfflineIMAP sets them.
pub const EXIT_ERROR: u8 = 1;
pub const EXIT_VALIDITY: u8 = 2;

pub fn main_with(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("offlineimap: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    if let Some(flag) = cli.not_implemented() {
        eprintln!("offlineimap: option {flag} is not implemented yet");
        return ExitCode::from(EXIT_ERROR);
    }
    let path = crate::cli::config_path_from_env(cli.config.as_deref());
    let overrides = config::Overrides {
        accounts: cli.accounts.clone(),
        run_once: cli.run_once,
        single_thread: cli.single_thread || cli.profile_dir.is_some(),
        settings: Vec::new(),
    };
    let cfg = match config::load(&path, &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("offlineimap: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };

    // `-u` forces a UI; `[general] ui` only prefers one, so an unavailable
    // configured UI falls back to ttyui (OfflineIMAP's default) instead of
    // refusing to sync.
    let forced = cli.ui.is_some();
    let ui_name = cli
        .ui
        .clone()
        .or_else(|| cfg.general.ui.clone())
        .unwrap_or_else(|| "ttyui".to_string());
    let mut ui_kind = match ui::by_name(&ui_name) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("offlineimap: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let mut ui_warning = None;
    if ui_kind.line_ui(false).is_none() {
        if forced {
            eprintln!(
                "offlineimap: the {} UI is not implemented yet; use -u basic, quiet or ttyui",
                ui_kind.name()
            );
            return ExitCode::from(EXIT_ERROR);
        }
        ui_warning = Some(format!(
            "The {} UI is not implemented yet; using ttyui",
            ui_kind.name()
        ));
        ui_kind = ui::UiKind::TtyUi;
    }
    // -l FILE and -s (or the syslog UI): opened now, so a bad FILE or a
    // missing /dev/log stops the run before any sync.
    let syslog_path = (cli.syslog || ui_kind == ui::UiKind::Syslog)
        .then(|| std::path::Path::new(ui::syslog::DEV_LOG));
    let outputs = match ui::outputs::Outputs::open(
        cli.logfile.as_deref(),
        syslog_path,
        cli.dry_run,
        std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
    ) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("offlineimap: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let (events_tx, events_rx) = mpsc::unbounded_channel::<Event>();
    let (events_rx, outputs) = outputs.attach(events_rx);
    let Some((line_ui, stream)) = ui_kind.line_ui(false) else {
        eprintln!("offlineimap: no line UI for {}", ui_kind.name());
        return ExitCode::from(EXIT_ERROR);
    };
    let ui_task = tokio::spawn(async move {
        match stream {
            ui::Stream::Stdout => ui::run_line_ui(line_ui, events_rx, std::io::stdout()).await,
            ui::Stream::Stderr => ui::run_line_ui(line_ui, events_rx, std::io::stderr()).await,
        }
    });
    // Options OfflineIMAP knows that this build does not act on yet: say so
    // rather than silently behaving differently.
    let unknown = cfg.unknown.iter().map(|(section, option)| {
        format!(
            "{}: [{section}] {option}: not supported by this version; ignored",
            cfg.path.display()
        )
    });
    let warnings: Vec<String> = ui_warning
        .into_iter()
        .chain(cfg.warnings.iter().cloned())
        .chain(unknown)
        .collect();
    for w in &warnings {
        let _ = events_tx.send(Event::Logged {
            worker: None,
            level: crate::event::Level::Warning,
            text: w.clone(),
        });
    }

    let cancel = CancellationToken::new();
    let mut command_senders: Vec<mpsc::Sender<Command>> = Vec::new();
    let limit = Arc::new(Semaphore::new(cfg.general.maxsyncaccounts.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, account) in cfg.accounts.iter().enumerate() {
        let (tx, rx) = mpsc::channel(4);
        command_senders.push(tx);
        let task = AccountTask {
            id: AccountId(u16::try_from(i).unwrap_or(u16::MAX)),
            account: account.clone(),
            general: cfg.general.clone(),
            events: events_tx.clone(),
            commands: rx,
            cancel: cancel.child_token(),
        };
        let limit = limit.clone();
        tasks.spawn(async move {
            // maxsyncaccounts: how many accounts sync at once.
            let _permit = limit.acquire_owned().await;
            task.run().await
        });
    }
    drop(events_tx);
    let signals = tokio::spawn(crate::signals::watch(cancel.clone(), command_senders));

    let mut outcome = Outcome::default();
    while let Some(res) = tasks.join_next().await {
        match res {
            Ok(o) => outcome.merge(o),
            Err(e) => {
                eprintln!("offlineimap: account task failed: {e}");
                outcome.errors = true;
            }
        }
    }
    signals.abort();
    // The UI ends when every sender is gone; wait so its last lines appear.
    let _ = ui_task.await;
    outputs.finish().await;

    if outcome.errors {
        ExitCode::from(EXIT_ERROR)
    } else if outcome.validity_problems {
        ExitCode::from(EXIT_VALIDITY)
    } else {
        ExitCode::SUCCESS
    }
}
