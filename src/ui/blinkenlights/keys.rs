//! Keys to [`Input`]s: a pure mapping, so the key bindings are tested
//! without a terminal (and listed once, for the help screen).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// What a key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// `0`-`9`: sync that account now (`0` is `*Control`).
    Digit(u8),
    /// `q` (or Ctrl-C, which raw mode delivers as a key): shut down gracefully.
    Quit,
    /// `?` or `h`: show or hide the keys.
    Help,
    /// Esc: hide the help.
    Close,
    /// PageUp: scroll the log back a page.
    PageUp,
    /// PageDown: scroll the log forward a page.
    PageDown,
    /// Up arrow: one line back.
    LineUp,
    /// Down arrow: one line forward.
    LineDown,
    /// Home: the oldest kept line.
    Top,
    /// End: follow the newest lines again.
    Bottom,
}

/// A key while a password is being typed: every printable key is part of
/// the password (so `q` and digits lose their meaning until it is done).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PromptKey {
    Char(char),
    /// Backspace: forget the last character.
    Backspace,
    /// Enter: the password is complete.
    Submit,
    /// Esc: give no password (the account fails).
    Cancel,
    /// Ctrl-C: give no password and shut down, as `q` does.
    Interrupt,
}

// Debug without the character: a typed key is part of a password.
impl std::fmt::Debug for PromptKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PromptKey::Char(_) => "Char(<hidden>)",
            PromptKey::Backspace => "Backspace",
            PromptKey::Submit => "Submit",
            PromptKey::Cancel => "Cancel",
            PromptKey::Interrupt => "Interrupt",
        })
    }
}

/// Maps a key press while the password prompt is up; releases and keys
/// that type nothing give `None`.
pub fn map_prompt(key: KeyEvent) -> Option<PromptKey> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c' | 'd') if ctrl => PromptKey::Interrupt,
        KeyCode::Char('u') if ctrl => PromptKey::Cancel,
        KeyCode::Char('h') if ctrl => PromptKey::Backspace,
        KeyCode::Char('j' | 'm') if ctrl => PromptKey::Submit,
        _ if ctrl || key.modifiers.contains(KeyModifiers::ALT) => return None,
        KeyCode::Char(c) => PromptKey::Char(c),
        KeyCode::Backspace => PromptKey::Backspace,
        KeyCode::Enter => PromptKey::Submit,
        KeyCode::Esc => PromptKey::Cancel,
        _ => return None,
    })
}

/// The key bindings as the help screen lists them.
pub const HELP: [(&str, &str); 7] = [
    ("1-9", "sync that account now"),
    ("q", "quit after the current folders; again: now"),
    ("PgUp/PgDn", "scroll the log back/forward"),
    ("Up/Down", "scroll one line"),
    ("Home/End", "oldest line / follow the log"),
    ("? h", "show/hide this help"),
    ("Esc", "close this help"),
];

/// Maps a key press to an input; releases, repeats of non-scroll keys and
/// unbound keys give `None`.
pub fn map(key: KeyEvent) -> Option<Input> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let repeat = key.kind == KeyEventKind::Repeat;
    let input = match key.code {
        KeyCode::Char('c') if ctrl => Input::Quit,
        _ if ctrl || key.modifiers.contains(KeyModifiers::ALT) => return None,
        KeyCode::Char(c @ '0'..='9') => Input::Digit(c as u8 - b'0'),
        KeyCode::Char('q' | 'Q') => Input::Quit,
        KeyCode::Char('?' | 'h' | 'H') | KeyCode::F(1) => Input::Help,
        KeyCode::Esc => Input::Close,
        KeyCode::PageUp => Input::PageUp,
        KeyCode::PageDown => Input::PageDown,
        KeyCode::Up | KeyCode::Char('k') => Input::LineUp,
        KeyCode::Down | KeyCode::Char('j') => Input::LineDown,
        KeyCode::Home | KeyCode::Char('g') => Input::Top,
        KeyCode::End | KeyCode::Char('G') => Input::Bottom,
        _ => return None,
    };
    let scrolls = matches!(
        input,
        Input::PageUp | Input::PageDown | Input::LineUp | Input::LineDown
    );
    (!repeat || scrolls).then_some(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_keys_type_everything_printable() {
        for c in ['q', '1', '?', 'h', ' ', 'é', 'Q'] {
            assert_eq!(
                map_prompt(press(KeyCode::Char(c))),
                Some(PromptKey::Char(c))
            );
        }
        assert_eq!(map_prompt(press(KeyCode::Enter)), Some(PromptKey::Submit));
        assert_eq!(map_prompt(press(KeyCode::Esc)), Some(PromptKey::Cancel));
        assert_eq!(
            map_prompt(press(KeyCode::Backspace)),
            Some(PromptKey::Backspace)
        );
        assert_eq!(
            map_prompt(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(PromptKey::Interrupt)
        );
        assert_eq!(map_prompt(press(KeyCode::PageUp)), None);
        let mut release = press(KeyCode::Char('x'));
        release.kind = KeyEventKind::Release;
        assert_eq!(map_prompt(release), None);
        // A held key types the character again, as a terminal would.
        let mut held = press(KeyCode::Char('x'));
        held.kind = KeyEventKind::Repeat;
        assert_eq!(map_prompt(held), Some(PromptKey::Char('x')));
        assert_eq!(format!("{:?}", PromptKey::Char('s')), "Char(<hidden>)");
    }

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn digits_quit_help_and_scrolling() {
        for d in 0..=9u8 {
            assert_eq!(
                map(press(KeyCode::Char(char::from(b'0' + d)))),
                Some(Input::Digit(d))
            );
        }
        assert_eq!(map(press(KeyCode::Char('q'))), Some(Input::Quit));
        assert_eq!(map(press(KeyCode::Char('Q'))), Some(Input::Quit));
        assert_eq!(
            map(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Input::Quit)
        );
        assert_eq!(map(press(KeyCode::Char('?'))), Some(Input::Help));
        assert_eq!(map(press(KeyCode::Char('h'))), Some(Input::Help));
        assert_eq!(map(press(KeyCode::Esc)), Some(Input::Close));
        assert_eq!(map(press(KeyCode::PageUp)), Some(Input::PageUp));
        assert_eq!(map(press(KeyCode::PageDown)), Some(Input::PageDown));
        assert_eq!(map(press(KeyCode::Up)), Some(Input::LineUp));
        assert_eq!(map(press(KeyCode::Down)), Some(Input::LineDown));
        assert_eq!(map(press(KeyCode::Home)), Some(Input::Top));
        assert_eq!(map(press(KeyCode::End)), Some(Input::Bottom));
    }

    #[test]
    fn other_keys_releases_and_modified_keys_are_ignored() {
        assert_eq!(map(press(KeyCode::Char('x'))), None);
        assert_eq!(map(press(KeyCode::Enter)), None);
        assert_eq!(
            map(KeyEvent::new(KeyCode::Char('1'), KeyModifiers::ALT)),
            None
        );
        assert_eq!(
            map(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL)),
            None
        );
        let mut release = press(KeyCode::Char('1'));
        release.kind = KeyEventKind::Release;
        assert_eq!(map(release), None);
        // Holding a digit must not queue a stream of syncs; holding PgUp scrolls.
        let mut held = press(KeyCode::Char('1'));
        held.kind = KeyEventKind::Repeat;
        assert_eq!(map(held), None);
        let mut held = press(KeyCode::PageUp);
        held.kind = KeyEventKind::Repeat;
        assert_eq!(map(held), Some(Input::PageUp));
    }
}
