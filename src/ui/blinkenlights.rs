//! Blinkenlights: the full-screen UI (OfflineIMAP's Curses.Blinkenlights,
//! made with ratatui and crossterm).
//!
//! This file owns the terminal and the loop: it drains worker events into
//! [`State`], turns keys into [`Effect`]s (a `try_send` of
//! [`Command::SyncNow`], cancelling the shutdown token, or on a second `q`
//! the abort token), answers password requests through the prompt in
//! [`State`], and redraws with [`view::render`]. It never waits on a worker. The terminal is restored
//! on every way out: the end of the loop, an error, a panic (a hook), and
//! [`restore_terminal`] for anyone who must exit the process early.

pub mod keys;
pub mod state;
pub mod view;

use std::io::{self, IsTerminal, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream};
use crossterm::{cursor, execute, terminal};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use thiserror::Error;
use tokio::sync::mpsc::{self, UnboundedReceiver, error::TrySendError};
use tokio_util::sync::CancellationToken;

use crate::event::{AccountId, Command, Event, PasswordAnswer, PasswordRequest};
use crate::ui::theme::Theme;

pub use keys::{Input, PromptKey};
pub use state::{Effect, PromptDone, State};

/// The smallest screen the UI draws on: the banner, one log line and a
/// couple of account lines.
pub const MIN_WIDTH: u16 = 30;
pub const MIN_HEIGHT: u16 = 5;

/// Why this terminal cannot host Blinkenlights.
#[derive(Debug, Error)]
pub enum CannotHost {
    #[error("standard output is not a terminal")]
    NotATerminal,
    #[error("the terminal type is '{0}', which cannot be drawn on")]
    Dumb(String),
    #[error("cannot read the terminal size: {0}")]
    Size(io::Error),
    #[error("the terminal is {width}x{height}, smaller than {MIN_WIDTH}x{MIN_HEIGHT}")]
    TooSmall { width: u16, height: u16 },
}

/// Whether stdout is a terminal that can host Blinkenlights (OfflineIMAP's
/// `isusable()`): a tty, a `TERM` other than `dumb`, and room to draw.
pub fn can_host() -> Result<(), CannotHost> {
    if !io::stdout().is_terminal() {
        return Err(CannotHost::NotATerminal);
    }
    match std::env::var("TERM") {
        Ok(t) if t.is_empty() || t == "dumb" => return Err(CannotHost::Dumb(t)),
        Err(_) => return Err(CannotHost::Dumb(String::new())),
        Ok(_) => {}
    }
    let (width, height) = terminal::size().map_err(CannotHost::Size)?;
    if width < MIN_WIDTH || height < MIN_HEIGHT {
        return Err(CannotHost::TooSmall { width, height });
    }
    Ok(())
}

/// One account as the UI knows it before it has synced.
pub struct AccountHandle {
    pub name: String,
    pub commands: mpsc::Sender<Command>,
}

/// What the UI needs from `app`.
pub struct Context {
    pub accounts: Vec<AccountHandle>,
    /// Cancelled by `q`; the UI itself ends when every event sender is gone.
    pub shutdown: CancellationToken,
    /// Cancelled by a second `q`: the caller stops the accounts at once.
    pub abort: CancellationToken,
    /// Accounts asking for a password their configuration lacks.
    pub passwords: mpsc::UnboundedReceiver<PasswordRequest>,
    pub theme: Theme,
    /// `-d`: show debug lines in the log pane.
    pub debug: bool,
    /// A dry run: log lines of actions carry OfflineIMAP's `[DRYRUN] `.
    pub dry_run: bool,
}

/// Whether the terminal is in raw mode on the alternate screen now.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

/// Leaves the alternate screen and raw mode and shows the cursor, if the UI
/// had set them up. Idempotent and safe from any thread; call it before
/// `std::process::exit` while the UI may be up.
pub fn restore_terminal() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(out, terminal::LeaveAlternateScreen, cursor::Show);
        let _ = terminal::disable_raw_mode();
        let _ = out.flush();
    }
}

/// Restores the terminal when dropped, so `?` and unwinding both clean up.
struct Guard;

impl Guard {
    fn enter() -> io::Result<Guard> {
        PANIC_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                // The message must land on the normal screen to be read.
                restore_terminal();
                previous(info);
            }));
        });
        terminal::enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        execute!(io::stdout(), terminal::EnterAlternateScreen, cursor::Hide)?;
        Ok(Guard)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// The UI failed; the terminal has been restored already.
#[derive(Debug, Error)]
#[error("blinkenlights: {0}")]
pub struct Error(#[from] io::Error);

/// Redraws at most this often while events pour in, so a fast sync is not
/// slowed by drawing.
const FRAME: Duration = Duration::from_millis(50);

/// Runs the UI until every event sender is gone (all accounts finished),
/// then prints the warnings and errors seen on the normal screen, as
/// OfflineIMAP does after tearing curses down. If the terminal fails, the
/// rest of the run is shown by ttyui on stderr instead: a sync never loses
/// its UI halfway.
pub async fn run_or_fall_back(mut events: UnboundedReceiver<Event>, mut ctx: Context) {
    let mut passwords = std::mem::replace(&mut ctx.passwords, mpsc::unbounded_channel().1);
    let shutdown = ctx.shutdown.clone();
    let debug = ctx.debug;
    match run(&mut events, &mut passwords, ctx).await {
        Ok(problems) => {
            for p in problems {
                eprintln!("{p}");
            }
        }
        Err(e) => {
            restore_terminal();
            eprintln!("offlineimap: {e}; continuing with the ttyui UI");
            let _ = crate::ui::prompt::run_line_ui_asking(
                crate::ui::TtyUi::new(false).with_debug(debug),
                events,
                passwords,
                crate::ui::prompt::Asker::Tty,
                shutdown,
                io::stderr(),
            )
            .await;
        }
    }
}

/// Runs the UI until every event sender is gone (all accounts finished).
/// Returns the warnings and errors seen, for printing on the normal screen.
/// The caller keeps `events` and `passwords`, to go on without this UI
/// after an error (`ctx.passwords` is not read).
pub async fn run(
    events: &mut UnboundedReceiver<Event>,
    passwords: &mut UnboundedReceiver<PasswordRequest>,
    ctx: Context,
) -> Result<Vec<String>, Error> {
    let Context {
        accounts,
        shutdown,
        abort,
        passwords: _,
        theme,
        debug,
        dry_run,
    } = ctx;
    // The request being answered by the prompt on screen; others wait in
    // the channel.
    let mut asking: Option<PasswordRequest> = None;
    let mut passwords_open = true;
    let mut state = State::new(accounts.iter().map(|a| a.name.clone()))
        .dry_run(dry_run)
        .with_debug(debug);
    let guard = Guard::enter()?;
    let mut term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    term.clear()?;
    let mut keys = EventStream::new();
    let mut keys_open = true;
    let mut tick = tokio::time::interval(FRAME);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::with_capacity(512);
    let mut last_draw: Option<Instant> = None;
    let mut last_countdown = Vec::new();
    loop {
        let mut urgent = false;
        tokio::select! {
            n = events.recv_many(&mut batch, 512) => {
                if n == 0 {
                    break;
                }
                let now = Instant::now();
                for ev in batch.drain(..) {
                    state.apply(&ev, now);
                }
            }
            req = passwords.recv(), if passwords_open && asking.is_none() => match req {
                Some(req) if shutdown.is_cancelled() => req.answer(PasswordAnswer::Cancelled),
                Some(req) if !keys_open => req.answer(PasswordAnswer::CannotPrompt {
                    reason: "the blinkenlights UI cannot read keys (standard input is closed)"
                        .into(),
                }),
                Some(req) => {
                    state.begin_prompt(req.account, &req.user);
                    asking = Some(req);
                    urgent = true;
                }
                // No account can ask any more.
                None => passwords_open = false,
            },
            _ = shutdown.cancelled(), if asking.is_some() => {
                // A signal while the prompt is up: the account has stopped
                // waiting for it.
                state.prompt_key(PromptKey::Cancel);
                if let Some(req) = asking.take() {
                    req.answer(PasswordAnswer::Cancelled);
                }
                urgent = true;
            }
            key = keys.next(), if keys_open => match key {
                Some(Ok(TermEvent::Key(k))) if state.prompt.is_some() => {
                    if let Some(pk) = keys::map_prompt(k) {
                        if let Some(done) = state.prompt_key(pk)
                            && let Some(req) = asking.take()
                        {
                            req.answer(match done {
                                PromptDone::Submitted(p) => PasswordAnswer::Given(p),
                                PromptDone::Cancelled => PasswordAnswer::Cancelled,
                            });
                        }
                        if pk == PromptKey::Interrupt {
                            let page = view::log_height(&state, term.size()?.height);
                            if let Some(effect) = state.input(Input::Quit, page) {
                                perform(effect, &accounts, &shutdown, &abort, &mut state);
                            }
                        }
                        urgent = true;
                    }
                }
                Some(Ok(TermEvent::Key(k))) => {
                    if let Some(input) = keys::map(k) {
                        let page = view::log_height(&state, term.size()?.height);
                        if let Some(effect) = state.input(input, page) {
                            perform(effect, &accounts, &shutdown, &abort, &mut state);
                        }
                        urgent = true;
                    }
                }
                Some(Ok(TermEvent::Resize(..))) => {
                    term.autoresize()?;
                    state.dirty = true;
                    urgent = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                // No more keys (stdin closed): keep showing the sync.
                None => {
                    keys_open = false;
                    if let Some(req) = asking.take() {
                        state.prompt_key(PromptKey::Cancel);
                        req.answer(PasswordAnswer::Cancelled);
                    }
                }
            },
            _ = tick.tick() => {}
        }
        let now = Instant::now();
        let countdown = state::countdown_key(&state, now);
        if countdown != last_countdown {
            last_countdown = countdown;
            state.dirty = true;
            urgent = true;
        }
        let due = last_draw.is_none_or(|t| now.duration_since(t) >= FRAME);
        if state.dirty && (urgent || due) {
            term.draw(|f| view::render(&state, now, &theme, f))?;
            state.dirty = false;
            last_draw = Some(now);
        }
    }
    drop(term);
    drop(guard);
    Ok(state.problems)
}

fn perform(
    effect: Effect,
    accounts: &[AccountHandle],
    shutdown: &CancellationToken,
    abort: &CancellationToken,
    state: &mut State,
) {
    match effect {
        Effect::Quit => shutdown.cancel(),
        Effect::Abort => {
            shutdown.cancel();
            abort.cancel();
        }
        Effect::SyncNow(id) => {
            let Some(a) = accounts.get(usize::from(id.0)) else {
                return;
            };
            match a.commands.try_send(Command::SyncNow) {
                Ok(()) => {}
                // A full queue already holds a request.
                Err(TrySendError::Full(_)) => {}
                Err(TrySendError::Closed(_)) => {
                    state.request_failed(AccountId(id.0), "it has stopped");
                }
            }
        }
    }
}
