//! Drawing the [`State`] into a ratatui frame: the banner, the log pane,
//! the account lines at the bottom (OfflineIMAP's layout, `*Control` on the
//! last row with hotkey 0, the first account above it with 1) and the help
//! overlay. Pure: the clock and the theme are arguments.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::event::Level;
use crate::ui::theme::{Light, Part, Theme};

use super::keys::HELP;
use super::state::{LogLine, Phase, State, phase_field, progress_text};

/// The banner's program name and version.
pub fn banner_title() -> String {
    format!("offlineimap {}", env!("CARGO_PKG_VERSION"))
}

/// Rows the log pane gets on a screen of `height` rows.
pub fn log_height(state: &State, height: u16) -> usize {
    usize::from(height)
        .saturating_sub(1)
        .saturating_sub(state.accounts.len() + 1)
}

pub fn render(state: &State, now: Instant, theme: &Theme, frame: &mut Frame) {
    let area = frame.area();
    if area.height == 0 || area.width == 0 {
        return;
    }
    let text = theme.part(Part::Text);

    // Banner.
    let banner = Rect { height: 1, ..area };
    let hint = if state.prompt.is_some() {
        "typing a password (not shown): Enter sends, Esc gives none".to_string()
    } else if state.aborting {
        "stopping now".to_string()
    } else if state.quitting {
        "shutting down after the current folders; q again stops now".to_string()
    } else if state.scroll > 0 {
        format!("back {} lines, End follows", state.scroll)
    } else {
        "? help  q quit".to_string()
    };
    frame.render_widget(
        Paragraph::new(banner_line(&banner_title(), &hint, area.width))
            .style(theme.part(Part::Banner)),
        banner,
    );

    // Account lines: as many as fit, *Control always on the last row.
    let rows_left = area.height - 1;
    let wanted = u16::try_from(state.accounts.len() + 1).unwrap_or(u16::MAX);
    let account_rows = wanted.min(rows_left);
    let mut lines: Vec<Line> = Vec::with_capacity(usize::from(wanted));
    for (i, a) in state.accounts.iter().enumerate().rev() {
        let digit = if i < 9 {
            char::from(b'1' + u8::try_from(i).unwrap_or(0))
        } else {
            ' '
        };
        let mut spans = vec![Span::styled(
            format!(
                "{digit}: [{}] {:>12.12}: ",
                phase_field(a.phase, now),
                a.name
            ),
            text,
        )];
        for light in &a.lights {
            spans.push(Span::styled(
                theme.glyph(*light).to_string(),
                theme.light(*light),
            ));
        }
        let progress = match a.phase {
            Phase::Queued => None,
            _ => progress_text(&a.progress, now),
        };
        if let Some(p) = progress {
            spans.push(Span::styled("  ", text));
            spans.push(Span::styled(p, theme.part(Part::Progress)));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::from(vec![
        Span::styled(format!("0: [active] {:>12.12}: ", "*Control"), text),
        Span::styled(
            theme.glyph(state.control).to_string(),
            theme.light(state.control),
        ),
    ]));
    let skip = lines.len() - usize::from(account_rows);
    let accounts_area = Rect {
        y: area.y + area.height - account_rows,
        height: account_rows,
        ..area
    };
    frame.render_widget(
        Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()).style(text),
        accounts_area,
    );

    // Log pane.
    let log_rows = log_height(state, area.height);
    if log_rows > 0 {
        let end = state.log.len().saturating_sub(state.scroll);
        let start = end.saturating_sub(log_rows);
        let shown: Vec<Line> = state
            .log
            .range(start..end)
            .map(|l| Line::styled(l.text.clone(), log_style(l, theme)))
            .collect();
        let log_area = Rect {
            y: area.y + 1,
            height: u16::try_from(log_rows).unwrap_or(0),
            ..area
        };
        frame.render_widget(Paragraph::new(shown).style(text), log_area);
    }

    if state.help {
        render_help(theme, frame);
    }
}

/// A log line is drawn in its worker's light; a finished worker's black
/// would be invisible, so those lines use the plain text style.
fn log_style(line: &LogLine, theme: &Theme) -> Style {
    let light = if line.level >= Level::Warning {
        Light::Warning
    } else {
        line.light
    };
    match light {
        Light::Finished => theme.part(Part::Text),
        other => theme.light(other),
    }
}

/// `left` at the left edge, `right` at the right edge when both fit.
fn banner_line(left: &str, right: &str, width: u16) -> String {
    let width = usize::from(width);
    let left = format!(" {left}");
    let right = format!("{right} ");
    let (l, r) = (left.chars().count(), right.chars().count());
    if l + r < width {
        format!("{left}{}{right}", " ".repeat(width - l - r))
    } else {
        // The hint says something about now; the title can go.
        format!("{}{right}", " ".repeat(width.saturating_sub(r)))
    }
}

fn render_help(theme: &Theme, frame: &mut Frame) {
    let area = frame.area();
    let style = theme.part(Part::Help);
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| Line::from(format!(" {k:<10} {what}")))
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(format!(" Lights ({} theme):", theme.name)));
    for light in Light::ALL {
        lines.push(Line::from(vec![
            Span::raw("  "),
            Span::styled(theme.glyph(light).to_string(), theme.light(light)),
            Span::raw(format!(" {}", light.describe())),
        ]));
    }
    let width = area.width.min(44);
    let height = area
        .height
        .min(u16::try_from(lines.len() + 2).unwrap_or(u16::MAX));
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .style(style)
            .block(Block::default().borders(Borders::ALL).title(" Keys ")),
        rect,
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
