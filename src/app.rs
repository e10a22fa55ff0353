//! Wiring: configuration, accounts, the chosen UI, signals and the exit
//! code. Nothing here decides anything about mail.

use std::process::ExitCode;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::account::debuglog::{self, DebugTypes};
use crate::account::{AccountTask, Outcome};
use crate::cli::Cli;
use crate::config;
use crate::event::{AccountId, Command, Event, PasswordRequest};
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
    let debug = match DebugTypes::parse(cli.debug.as_deref().unwrap_or_default()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("offlineimap: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    // As OfflineIMAP: debugging one connection at a time keeps the trace
    // readable, unless it is the threads that are being debugged.
    let debug_single_thread = debug.forces_single_thread(cli.single_thread);
    let path = crate::cli::config_path_from_env(cli.config.as_deref());
    let mut settings = Vec::new();
    for arg in &cli.settings {
        match config::Setting::parse(arg) {
            Ok(s) => settings.push(s),
            Err(e) => {
                eprintln!("offlineimap: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        }
    }
    // As OfflineIMAP does: the keyring flags are [general] options.
    for (on, option) in [
        (cli.ignore_keyring, "ignore-keyring"),
        (cli.update_keyring, "update-keyring"),
        (cli.dry_run, "dry-run"),
    ] {
        if on {
            settings.push(config::Setting {
                section: "general".to_owned(),
                option: option.to_owned(),
                value: "yes".to_owned(),
            });
        }
    }
    let overrides = config::Overrides {
        accounts: cli.accounts.clone(),
        run_once: cli.run_once,
        single_thread: cli.single_thread || cli.profile_dir.is_some() || debug_single_thread,
        settings,
        folders: cli.folders.clone(),
    };
    let cfg = match config::load(&path, &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("offlineimap: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if cli.info {
        // The report goes to standard output (OfflineIMAP's goes through
        // its ttyui, to standard error), so it can be paged or saved.
        let report = crate::account::info::report(&cfg).await;
        let mut stdout = std::io::stdout().lock();
        return match std::io::Write::write_all(&mut stdout, report.as_bytes())
            .and_then(|()| std::io::Write::flush(&mut stdout))
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(EXIT_ERROR),
        };
    }
    let dry_run = cfg.general.dry_run;
    // OfflineIMAP's order when several are given: --info, then
    // --migrate-fmd5-using-nametrans, --mbnames-prune, --delete-folder.
    if cli.migrate_fmd5 {
        return migrate_fmd5(&cfg);
    }
    if cli.mbnames_prune {
        return mbnames_prune(&cfg);
    }
    if let Some(name) = &cli.delete_folder {
        return delete_folder(&cfg, name).await;
    }

    // `-u` forces a UI; `[general] ui` only prefers one, so an unavailable
    // configured UI falls back to ttyui (OfflineIMAP's default) instead of
    // refusing to sync. With neither, Blinkenlights if the terminal can
    // host it.
    let forced = cli.ui.is_some();
    let ui_name = cli.ui.clone().or_else(|| cfg.general.ui.clone());
    let mut ui_kind = match ui_name.as_deref().map(ui::by_name) {
        None => ui::UiKind::Blinkenlights,
        Some(Ok(k)) => k,
        Some(Err(e)) => {
            eprintln!("offlineimap: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let mut ui_warning = None;
    if ui_kind == ui::UiKind::Blinkenlights
        && let Err(why) = ui::blinkenlights::can_host()
    {
        if forced {
            eprintln!(
                "offlineimap: cannot use the blinkenlights UI: {why}; choose another one with -u (ttyui, basic, quiet)"
            );
            return ExitCode::from(EXIT_ERROR);
        }
        if ui_name.is_some() {
            ui_warning = Some(format!(
                "Cannot use the blinkenlights UI ({why}); using ttyui"
            ));
        }
        ui_kind = ui::UiKind::TtyUi;
    }
    if ui_kind != ui::UiKind::Blinkenlights && ui_kind.line_ui(dry_run).is_none() {
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
    let theme = match ui::theme::select(
        cfg.general.ui_theme.as_deref(),
        cfg.general.ui_statuschar.as_deref(),
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        std::env::var_os("HOME")
            .map(std::path::PathBuf::from)
            .as_deref(),
    ) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("offlineimap: [ui.blinkenlights]: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    // -l FILE and -s (or the syslog UI): opened now, so a bad FILE or a
    // missing /dev/log stops the run before any sync.
    let syslog_path = (cli.syslog || ui_kind == ui::UiKind::Syslog)
        .then(|| std::path::Path::new(ui::syslog::DEV_LOG));
    let outputs = match ui::outputs::Outputs::open_with_debug(
        cli.logfile.as_deref(),
        syslog_path,
        dry_run,
        debug.any(),
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
    let events_rx = if debug.thread {
        debuglog::thread_tap(events_rx)
    } else {
        events_rx
    };
    // -P DIR: created now, so a bad DIR stops the run before any sync.
    let mut profile_lines = Vec::new();
    let events_rx = match &cli.profile_dir {
        None => events_rx,
        Some(dir) => {
            if !cli.single_thread {
                profile_lines.push("Profile mode: Forcing to singlethreaded.".to_owned());
            }
            if dir.is_dir() {
                profile_lines.push(format!(
                    "Profile mode: Directory '{}' already exists!",
                    dir.display()
                ));
            } else if let Err(e) = std::fs::create_dir_all(dir) {
                eprintln!("offlineimap: cannot create {}: {e}", dir.display());
                return ExitCode::from(EXIT_ERROR);
            }
            profile_lines.push(format!(
                "Profile mode: a plain-text timing profile of each account's sync goes into '{}'",
                dir.display()
            ));
            ui::profile::tap(events_rx, dir.clone())
        }
    };
    let (events_rx, outputs) = outputs.attach(events_rx);
    // The configuration's warnings include unknown options (with a "did
    // you mean") and OfflineIMAP options that do nothing here.
    let warnings: Vec<String> = ui_warning
        .into_iter()
        .chain(cfg.warnings.iter().cloned())
        .collect();
    for w in &warnings {
        let _ = events_tx.send(Event::Logged {
            worker: None,
            level: crate::event::Level::Warning,
            text: w.clone(),
        });
    }
    for text in profile_lines {
        let _ = events_tx.send(Event::Logged {
            worker: None,
            level: crate::event::Level::Info,
            text,
        });
    }
    if debug.any() {
        debuglog::install(debug, &events_tx);
        let mut lines = Vec::new();
        if debug_single_thread {
            lines.push((
                crate::event::Level::Info,
                "Debug mode: Forcing to singlethreaded.".to_owned(),
            ));
        }
        for text in debug.announcements() {
            lines.push((crate::event::Level::Debug, text));
        }
        for (level, text) in lines {
            let _ = events_tx.send(Event::Logged {
                worker: None,
                level,
                text,
            });
        }
    }

    let cancel = CancellationToken::new();
    // A second `q` in Blinkenlights: stop the accounts mid-folder.
    let abort = CancellationToken::new();
    let (passwords_tx, passwords_rx) = mpsc::unbounded_channel::<PasswordRequest>();
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
            passwords: Some(passwords_tx.clone()),
        };
        let limit = limit.clone();
        tasks.spawn(async move {
            // maxsyncaccounts: how many accounts sync at once.
            let _permit = limit.acquire_owned().await;
            task.run().await
        });
    }
    // Kept for the mailbox list written once every account is done.
    let mbnames_events = cfg.general.mbnames.as_ref().map(|_| events_tx.clone());
    drop(events_tx);
    drop(passwords_tx);
    let ui_task = spawn_ui(
        ui_kind,
        events_rx,
        passwords_rx,
        &cfg,
        &command_senders,
        (&cancel, &abort),
        (theme, debug.any()),
    );
    let signals = tokio::spawn(crate::signals::watch(cancel.clone(), command_senders));

    let mut outcome = Outcome::default();
    let mut aborted = false;
    loop {
        let res = tokio::select! {
            res = tasks.join_next() => res,
            _ = abort.cancelled(), if !aborted => {
                aborted = true;
                // Dropping an account's future drops its folder workers;
                // a message being written stays in tmp/, as after a crash.
                tasks.abort_all();
                outcome.errors = true;
                continue;
            }
        };
        let Some(res) = res else { break };
        match res {
            Ok(o) => outcome.merge(o),
            Err(e) if e.is_cancelled() => outcome.errors = true,
            Err(e) => {
                eprintln!("offlineimap: account task failed: {e}");
                outcome.errors = true;
            }
        }
    }
    signals.abort();
    if let (Some(events), Some(mb)) = (mbnames_events, &cfg.general.mbnames)
        && !aborted
        && !mb.incremental
        && !write_mbnames(mb, &cfg.general, &events).await
    {
        outcome.errors = true;
    }
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

/// `--delete-folder NAME`: on the remote repository of the one account
/// this run would sync (`-a`, else `[general] accounts`). No sync.
async fn delete_folder(cfg: &config::Config, name: &str) -> ExitCode {
    for w in &cfg.warnings {
        eprintln!("WARNING: {w}");
    }
    let [account] = cfg.accounts.as_slice() else {
        eprintln!("ERROR: you must supply only one account with '-a'");
        return ExitCode::from(EXIT_ERROR);
    };
    match crate::account::admin::delete_folder(
        account,
        name,
        cfg.general.dry_run,
        cfg.general.socktimeout,
    )
    .await
    {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ERROR: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// `--migrate-fmd5-using-nametrans`, for every account this run would
/// sync. No sync.
fn migrate_fmd5(cfg: &config::Config) -> ExitCode {
    for w in &cfg.warnings {
        eprintln!("WARNING: {w}");
    }
    let dry_run = cfg.general.dry_run;
    let mut failed = false;
    for account in &cfg.accounts {
        let m = crate::account::admin::migrate_fmd5(account, &cfg.general.metadata, dry_run);
        for line in &m.lines {
            println!("{line}");
        }
        for e in &m.errors {
            eprintln!("ERROR: {e}");
            failed = true;
        }
        println!(
            "Account {}: {} file{} {}",
            account.name,
            m.migrated,
            if m.migrated == 1 { "" } else { "s" },
            if dry_run {
                "would be migrated"
            } else {
                "migrated"
            }
        );
    }
    if failed {
        ExitCode::from(EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    }
}

/// `--mbnames-prune`, as OfflineIMAP: forgets the mailbox lists of
/// accounts not synced (all of them when `[mbnames]` is disabled), then
/// rewrites the mailbox list file unless it is `incremental`. No sync.
fn mbnames_prune(cfg: &config::Config) -> ExitCode {
    let metadata = &cfg.general.metadata;
    let dry_run = cfg.general.dry_run;
    let keep: Vec<String> = match &cfg.general.mbnames {
        Some(_) => cfg.accounts.iter().map(|a| a.name.clone()).collect(),
        None => Vec::new(),
    };
    let mut failed = false;
    let (removed, errors) = crate::mbnames::prune(metadata, &keep, dry_run);
    for path in &removed {
        if dry_run {
            println!("mbnames would remove {}", path.display());
        } else {
            println!("removed {}", path.display());
        }
    }
    if removed.is_empty() && errors.is_empty() {
        println!("no cache file to remove");
    }
    for e in errors {
        eprintln!("offlineimap: {e}");
        failed = true;
    }
    if let Some(mb) = cfg.general.mbnames.as_ref().filter(|mb| !mb.incremental) {
        if dry_run {
            println!("mbnames would write {}", mb.filename.display());
        } else {
            match crate::mbnames::write_file(mb, metadata) {
                Ok(skipped) => {
                    for e in skipped {
                        eprintln!("offlineimap: {e}");
                        failed = true;
                    }
                }
                Err(e) => {
                    eprintln!("offlineimap: {e}");
                    failed = true;
                }
            }
        }
    }
    if failed {
        ExitCode::from(EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    }
}

/// `[mbnames]` without `incremental`: the mailbox list file, from every
/// account's list, once all accounts are done (as OfflineIMAP does). False
/// when that failed; the reason is logged.
async fn write_mbnames(
    mb: &config::Mbnames,
    general: &config::General,
    events: &mpsc::UnboundedSender<Event>,
) -> bool {
    let log = |level, text: String| {
        let _ = events.send(Event::Logged {
            worker: None,
            level,
            text,
        });
    };
    if general.dry_run {
        log(
            crate::event::Level::Info,
            format!("[DRYRUN] mbnames would write {}", mb.filename.display()),
        );
        return true;
    }
    let (mb, metadata) = (mb.clone(), general.metadata.clone());
    // sort_keyfunc may wait on python3 (a blocking pipe).
    let result =
        tokio::task::spawn_blocking(move || crate::mbnames::write_file(&mb, &metadata)).await;
    let errors: Vec<String> = match result {
        Ok(Ok(skipped)) => skipped.iter().map(ToString::to_string).collect(),
        Ok(Err(e)) => vec![e.to_string()],
        Err(e) => vec![format!("mbnames failed: {e}")],
    };
    let ok = errors.is_empty();
    for e in errors {
        log(crate::event::Level::Error, e);
    }
    ok
}

/// Starts the chosen UI on the event stream. Events sent before this are
/// buffered in the channel, so nothing is lost by starting it late.
/// `shutdown` is (graceful, abort); `debug` (`-d`) shows debug lines.
fn spawn_ui(
    kind: ui::UiKind,
    events: mpsc::UnboundedReceiver<Event>,
    passwords: mpsc::UnboundedReceiver<PasswordRequest>,
    cfg: &config::Config,
    commands: &[mpsc::Sender<Command>],
    (cancel, abort): (&CancellationToken, &CancellationToken),
    (theme, debug): (ui::theme::Theme, bool),
) -> tokio::sync::oneshot::Receiver<()> {
    if let Some((line_ui, stream)) = kind.line_ui_with_debug(cfg.general.dry_run, debug) {
        let asker = kind.asker();
        let cancel = cancel.clone();
        return on_own_thread(async move {
            use ui::prompt::run_line_ui_asking as run;
            let _ = match stream {
                ui::Stream::Stdout => {
                    run(line_ui, events, passwords, asker, cancel, std::io::stdout()).await
                }
                ui::Stream::Stderr => {
                    run(line_ui, events, passwords, asker, cancel, std::io::stderr()).await
                }
            };
        });
    }
    let ctx = ui::blinkenlights::Context {
        accounts: cfg
            .accounts
            .iter()
            .zip(commands)
            .map(|(a, tx)| ui::blinkenlights::AccountHandle {
                name: a.name.clone(),
                commands: tx.clone(),
            })
            .collect(),
        shutdown: cancel.clone(),
        abort: abort.clone(),
        passwords,
        theme,
        debug,
        dry_run: cfg.general.dry_run,
    };
    on_own_thread(ui::blinkenlights::run_or_fall_back(events, ctx))
}

/// Runs the UI on a thread and runtime of its own, so that workers busy
/// with the disk (an fsync can take tens of milliseconds) never delay a
/// redraw or a key press. The receiver completes when the UI has ended.
fn on_own_thread(
    ui: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::sync::oneshot::Receiver<()> {
    let (done, finished) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("ui".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(ui),
                Err(e) => eprintln!("offlineimap: cannot start the UI's runtime: {e}"),
            }
            let _ = done.send(());
        });
    if let Err(e) = spawned {
        // `done` was dropped with the closure: the receiver completes at
        // once and the run goes on without a UI.
        eprintln!("offlineimap: cannot start the UI thread: {e}");
    }
    finished
}
