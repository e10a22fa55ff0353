//! Blinkenlights themes: which colour and glyph each worker light gets, and
//! the styles of the banner, the log text and the progress figures.
//!
//! A theme is a small text file (`ui-themes/*.theme`, format in
//! docs/ui.md). `classic` (OfflineIMAP's own colours) and `mono` (no colour
//! at all) are built in; any other file can be named by path. This module
//! only parses and looks up; it never touches the terminal.

use std::fmt;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use thiserror::Error;

/// What a worker is doing, as its light shows it. Each one has a key of the
/// same name (lower case) in a theme file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Light {
    /// The main task (`*Control`).
    Main,
    /// An account sync has just started.
    Account,
    /// Opening a connection.
    Connecting,
    /// Comparing or creating folders.
    Folders,
    /// Syncing (or skipping) a folder.
    Folder,
    /// Loading a message list.
    MessageList,
    /// Copying a message.
    Copying,
    /// Deleting messages.
    Deleting,
    /// Adding or removing flags.
    Flags,
    /// Running a hook.
    Hook,
    /// Something went wrong: a warning or an error was logged.
    Warning,
    /// The account sleeps until its next autorefresh.
    Sleeping,
    /// The worker has exited; its slot waits for the next one.
    Finished,
}

impl Light {
    pub const ALL: [Light; 13] = [
        Light::Main,
        Light::Account,
        Light::Connecting,
        Light::Folders,
        Light::Folder,
        Light::MessageList,
        Light::Copying,
        Light::Deleting,
        Light::Flags,
        Light::Hook,
        Light::Warning,
        Light::Sleeping,
        Light::Finished,
    ];

    /// The key in a theme file.
    pub fn key(self) -> &'static str {
        match self {
            Light::Main => "main",
            Light::Account => "account",
            Light::Connecting => "connecting",
            Light::Folders => "folders",
            Light::Folder => "folder",
            Light::MessageList => "messagelist",
            Light::Copying => "copying",
            Light::Deleting => "deleting",
            Light::Flags => "flags",
            Light::Hook => "hook",
            Light::Warning => "warning",
            Light::Sleeping => "sleeping",
            Light::Finished => "finished",
        }
    }

    /// A few words for the help screen's legend.
    pub fn describe(self) -> &'static str {
        match self {
            Light::Main => "main task",
            Light::Account => "account starting",
            Light::Connecting => "connecting",
            Light::Folders => "listing folders",
            Light::Folder => "syncing a folder",
            Light::MessageList => "loading message list",
            Light::Copying => "copying a message",
            Light::Deleting => "deleting messages",
            Light::Flags => "changing flags",
            Light::Hook => "running a hook",
            Light::Warning => "warning or error",
            Light::Sleeping => "sleeping",
            Light::Finished => "finished",
        }
    }

    fn index(self) -> usize {
        Light::ALL.iter().position(|l| *l == self).unwrap_or(0)
    }
}

/// The styles a theme sets besides the lights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The top line.
    Banner,
    /// Log text whose worker light gives no colour (finished workers, the
    /// account lines' text).
    Text,
    /// The per-account progress figures.
    Progress,
    /// The help overlay.
    Help,
}

impl Part {
    const ALL: [Part; 4] = [Part::Banner, Part::Text, Part::Progress, Part::Help];

    fn key(self) -> &'static str {
        match self {
            Part::Banner => "banner",
            Part::Text => "text",
            Part::Progress => "progress",
            Part::Help => "help",
        }
    }

    fn index(self) -> usize {
        Part::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

/// A light's look: its style and, if the theme gives one, its own glyph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LightStyle {
    pub style: Style,
    pub glyph: Option<char>,
}

/// A parsed theme plus the `statuschar` in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    pub name: String,
    lights: [LightStyle; 13],
    parts: [Style; 4],
    statuschar: char,
}

/// The default light glyph (OfflineIMAP's since 2011).
pub const DEFAULT_STATUSCHAR: char = '@';

pub const CLASSIC: &str = include_str!("../../ui-themes/classic.theme");
pub const MONO: &str = include_str!("../../ui-themes/mono.theme");

/// A theme could not be chosen or read.
#[derive(Debug, Error)]
pub enum ThemeError {
    #[error("{source_name}:{line}: {message}")]
    Syntax {
        source_name: String,
        line: usize,
        message: String,
    },
    #[error("cannot read theme file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "theme '{0}' is neither a built-in theme (classic, mono) nor a file; give a path to a .theme file"
    )]
    Unknown(String),
    #[error("statuschar must be exactly one character, not '{0}'")]
    StatusChar(String),
}

impl Theme {
    /// OfflineIMAP's colours; the default.
    pub fn classic() -> Theme {
        // The built-in text is tested to parse; an empty theme is the
        // fallback that can never fail.
        Theme::parse("classic", CLASSIC).unwrap_or_else(|_| Theme::empty("classic"))
    }

    /// No colours, for 8-colour and monochrome terminals.
    pub fn mono() -> Theme {
        Theme::parse("mono", MONO).unwrap_or_else(|_| Theme::empty("mono"))
    }

    fn empty(name: &str) -> Theme {
        Theme {
            name: name.to_string(),
            lights: [LightStyle {
                style: Style::new(),
                glyph: None,
            }; 13],
            parts: [Style::new(); 4],
            statuschar: DEFAULT_STATUSCHAR,
        }
    }

    /// Parses theme text. Keys a theme does not set keep the classic value,
    /// so a user theme may change only what it cares about.
    pub fn parse(source_name: &str, text: &str) -> Result<Theme, ThemeError> {
        let mut theme = if source_name == "classic" {
            Theme::empty("classic")
        } else {
            Theme::classic()
        };
        theme.name = source_name.to_string();
        for (i, raw) in text.lines().enumerate() {
            let err = |message: String| ThemeError::Syntax {
                source_name: source_name.to_string(),
                line: i + 1,
                message,
            };
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(err(format!("expected 'key = style', found '{line}'")));
            };
            let key = key.trim().to_ascii_lowercase();
            let (style, glyph) = parse_style(value.trim()).map_err(err)?;
            if let Some(light) = Light::ALL.into_iter().find(|l| l.key() == key) {
                theme.lights[light.index()] = LightStyle { style, glyph };
            } else if let Some(part) = Part::ALL.into_iter().find(|p| p.key() == key) {
                if glyph.is_some() {
                    return Err(err(format!("'{key}' is not a light and takes no char=")));
                }
                theme.parts[part.index()] = style;
            } else if key == "name" {
                // Allowed for documentation; the file name or built-in name wins.
            } else {
                let keys: Vec<&str> = Part::ALL
                    .iter()
                    .map(|p| p.key())
                    .chain(Light::ALL.iter().map(|l| l.key()))
                    .collect();
                return Err(err(format!(
                    "unknown key '{key}'; known keys: {}",
                    keys.join(", ")
                )));
            }
        }
        Ok(theme)
    }

    pub fn light(&self, light: Light) -> Style {
        self.lights[light.index()].style
    }

    /// The glyph drawn for `light`: the theme's own, else `statuschar`.
    pub fn glyph(&self, light: Light) -> char {
        self.lights[light.index()].glyph.unwrap_or(self.statuschar)
    }

    pub fn part(&self, part: Part) -> Style {
        self.parts[part.index()]
    }

    pub fn statuschar(&self) -> char {
        self.statuschar
    }

    pub fn with_statuschar(mut self, c: char) -> Theme {
        self.statuschar = c;
        self
    }
}

impl fmt::Display for Theme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Chooses the theme from `[ui.blinkenlights] theme` and `statuschar`.
///
/// `theme` is `classic`, `mono` (any case) or a path to a theme file (`~/`
/// is expanded with `home`). Unset, it is `classic`, or `mono` when
/// `no_color` (the `NO_COLOR` convention) is set. `statuschar` must be one
/// character.
pub fn select(
    theme: Option<&str>,
    statuschar: Option<&str>,
    no_color: bool,
    home: Option<&Path>,
) -> Result<Theme, ThemeError> {
    let base = match theme.map(str::trim) {
        None | Some("") if no_color => Theme::mono(),
        None | Some("") => Theme::classic(),
        Some(name) if name.eq_ignore_ascii_case("classic") => Theme::classic(),
        Some(name) if name.eq_ignore_ascii_case("mono") => Theme::mono(),
        Some(name) => {
            let path = match (name.strip_prefix("~/"), home) {
                (Some(rest), Some(home)) => home.join(rest),
                _ => PathBuf::from(name),
            };
            if !path.is_file() {
                return Err(ThemeError::Unknown(name.to_string()));
            }
            let text = std::fs::read_to_string(&path).map_err(|source| ThemeError::Read {
                path: path.clone(),
                source,
            })?;
            Theme::parse(&path.display().to_string(), &text)?
        }
    };
    let c = match statuschar {
        None => DEFAULT_STATUSCHAR,
        Some(s) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_control() => c,
                _ => return Err(ThemeError::StatusChar(s.to_string())),
            }
        }
    };
    Ok(base.with_statuschar(c))
}

/// `#` starts a comment at the start of a line or after a blank when it is
/// followed by a blank or the end (so `#ff8800` stays a colour).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b != b'#' {
            continue;
        }
        let before_ok = i == 0 || bytes[i - 1].is_ascii_whitespace();
        let after_ok = bytes.get(i + 1).is_none_or(u8::is_ascii_whitespace);
        if before_ok && after_ok {
            return &line[..i];
        }
    }
    line
}

/// `fg [on bg] [bold|dim|italic|underline|reverse]... [char=X]`
fn parse_style(value: &str) -> Result<(Style, Option<char>), String> {
    let mut style = Style::new();
    let mut glyph = None;
    let mut fg_set = false;
    let mut tokens = value.split_whitespace();
    while let Some(tok) = tokens.next() {
        let lower = tok.to_ascii_lowercase();
        if let Some(c) = tok.strip_prefix("char=") {
            let mut chars = c.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => glyph = Some(c),
                _ => return Err(format!("char= takes one character, not '{c}'")),
            }
        } else if lower == "on" {
            let Some(bg) = tokens.next() else {
                return Err("'on' must be followed by a colour".into());
            };
            style = style.bg(parse_color(bg)?);
        } else if let Some(m) = parse_modifier(&lower) {
            style = style.add_modifier(m);
        } else if !fg_set {
            style = style.fg(parse_color(tok)?);
            fg_set = true;
        } else {
            return Err(format!("unexpected '{tok}' (a second colour needs 'on')"));
        }
    }
    if !fg_set && glyph.is_none() && style == Style::new() {
        return Err("empty style; write 'default' for the terminal's colours".into());
    }
    Ok((style, glyph))
}

fn parse_modifier(tok: &str) -> Option<Modifier> {
    Some(match tok {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underline" | "underlined" => Modifier::UNDERLINED,
        "reverse" | "reversed" => Modifier::REVERSED,
        "blink" => Modifier::SLOW_BLINK,
        _ => return None,
    })
}

/// The 16 ANSI names (OfflineIMAP's `purple` and `orange` too), `default`,
/// `0`..`255` and `#rrggbb`.
fn parse_color(tok: &str) -> Result<Color, String> {
    let lower = tok.to_ascii_lowercase();
    let c = match lower.as_str() {
        "default" | "reset" | "none" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" | "orange" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" | "purple" => Color::Magenta,
        "cyan" => Color::Cyan,
        "white" | "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" | "brightblack" => Color::DarkGray,
        "lightred" | "brightred" => Color::LightRed,
        "lightgreen" | "brightgreen" => Color::LightGreen,
        "lightyellow" | "brightyellow" => Color::LightYellow,
        "lightblue" | "brightblue" => Color::LightBlue,
        "lightmagenta" | "brightmagenta" | "pink" => Color::LightMagenta,
        "lightcyan" | "brightcyan" => Color::LightCyan,
        "brightwhite" => Color::White,
        _ => {
            if let Some(hex) = lower.strip_prefix('#') {
                if hex.len() == 6
                    && let Ok(v) = u32::from_str_radix(hex, 16)
                {
                    let [_, r, g, b] = v.to_be_bytes();
                    return Ok(Color::Rgb(r, g, b));
                }
            } else if let Ok(n) = lower.parse::<u8>() {
                return Ok(Color::Indexed(n));
            }
            return Err(format!("unknown colour or attribute '{tok}'"));
        }
    };
    Ok(c)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn classic_is_offlineimaps_palette() {
        let t = Theme::classic();
        assert_eq!(t.light(Light::Main), Style::new().fg(Color::Red));
        assert_eq!(t.light(Light::Account), Style::new().fg(Color::Magenta));
        assert_eq!(t.light(Light::Connecting), Style::new().fg(Color::Gray));
        assert_eq!(t.light(Light::Folders), Style::new().fg(Color::Blue));
        assert_eq!(t.light(Light::Folder), Style::new().fg(Color::Cyan));
        assert_eq!(t.light(Light::MessageList), Style::new().fg(Color::Green));
        assert_eq!(t.light(Light::Copying), Style::new().fg(Color::Yellow));
        assert_eq!(t.light(Light::Deleting), Style::new().fg(Color::Red));
        assert_eq!(t.light(Light::Flags), Style::new().fg(Color::Blue));
        assert_eq!(t.light(Light::Hook), Style::new().fg(Color::Gray));
        assert_eq!(
            t.light(Light::Warning),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        );
        assert_eq!(t.light(Light::Sleeping), Style::new().fg(Color::Red));
        assert_eq!(t.light(Light::Finished), Style::new().fg(Color::Black));
        assert_eq!(
            t.part(Part::Banner),
            Style::new()
                .fg(Color::Gray)
                .bg(Color::Blue)
                .add_modifier(Modifier::BOLD)
        );
        for l in Light::ALL {
            assert_eq!(t.glyph(l), '@', "{l:?}");
        }
    }

    #[test]
    fn mono_uses_no_colour_and_distinct_glyphs() {
        let t = Theme::mono();
        let mut glyphs = std::collections::HashSet::new();
        for l in Light::ALL {
            let s = t.light(l);
            assert!(matches!(s.fg, Some(Color::Reset)), "{l:?} {s:?}");
            assert_eq!(s.bg, None, "{l:?}");
            assert!(glyphs.insert(t.glyph(l)), "{l:?} glyph not distinct");
        }
        assert_eq!(t.glyph(Light::Copying), 'C');
        assert_eq!(
            t.part(Part::Banner).add_modifier,
            Modifier::REVERSED | Modifier::BOLD
        );
    }

    #[test]
    fn user_theme_overrides_only_what_it_sets() {
        let t = Theme::parse(
            "mine",
            "# my theme\ncopying = #ff8800 on 17 underline  # orange\nWARNING=lightred reverse char=!\n",
        )
        .unwrap();
        assert_eq!(
            t.light(Light::Copying),
            Style::new()
                .fg(Color::Rgb(0xff, 0x88, 0))
                .bg(Color::Indexed(17))
                .add_modifier(Modifier::UNDERLINED)
        );
        assert_eq!(t.glyph(Light::Warning), '!');
        assert_eq!(t.glyph(Light::Copying), '@');
        assert_eq!(t.light(Light::Folder), Style::new().fg(Color::Cyan));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let cases = [
            (
                "copying yellow",
                "t:1: expected 'key = style', found 'copying yellow'",
            ),
            ("\nbogus = red", "t:2: unknown key 'bogus'"),
            (
                "copying = chartreuse",
                "t:1: unknown colour or attribute 'chartreuse'",
            ),
            ("copying = red blue", "t:1: unexpected 'blue'"),
            ("copying = red on", "t:1: 'on' must be followed by a colour"),
            ("copying =", "t:1: empty style"),
            ("copying = red char=ab", "t:1: char= takes one character"),
            ("banner = red char=x", "t:1: 'banner' is not a light"),
        ];
        for (text, want) in cases {
            let err = Theme::parse("t", text).unwrap_err().to_string();
            assert!(err.starts_with(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn select_by_name_path_and_statuschar() {
        assert_eq!(select(None, None, false, None).unwrap().name, "classic");
        assert_eq!(select(None, None, true, None).unwrap().name, "mono");
        assert_eq!(
            select(Some("MONO"), None, false, None).unwrap().name,
            "mono"
        );
        assert_eq!(
            select(Some("Classic"), None, true, None).unwrap().name,
            "classic"
        );
        assert_eq!(
            select(None, Some("."), false, None)
                .unwrap()
                .glyph(Light::Copying),
            '.'
        );
        assert!(matches!(
            select(None, Some("ab"), false, None),
            Err(ThemeError::StatusChar(_))
        ));
        assert!(matches!(
            select(None, Some(""), false, None),
            Err(ThemeError::StatusChar(_))
        ));
        assert!(matches!(
            select(Some("nope"), None, false, None),
            Err(ThemeError::Unknown(_))
        ));

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.theme"), "copying = green\n").unwrap();
        let t = select(Some("~/x.theme"), Some("#"), false, Some(dir.path())).unwrap();
        assert_eq!(t.light(Light::Copying), Style::new().fg(Color::Green));
        assert_eq!(t.glyph(Light::Copying), '#');
        std::fs::write(dir.path().join("bad.theme"), "copying = nope\n").unwrap();
        let path = dir.path().join("bad.theme");
        let err = select(path.to_str(), None, false, None).unwrap_err();
        assert!(
            err.to_string()
                .ends_with(":1: unknown colour or attribute 'nope'")
        );
    }
}
