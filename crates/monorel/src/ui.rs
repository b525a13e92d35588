//! Talking to people: colour (off with `NO_COLOR`, off when not a terminal), whether we
//! may prompt, spinners while waiting on the network, JSON for scripts.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use console::Style as Paint;

/// Colours for one output stream.
#[derive(Clone)]
pub struct Style {
    on: bool,
}

impl Style {
    fn for_stream(is_terminal: bool) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let forced = std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0");
        Style {
            on: !no_color && (forced || is_terminal),
        }
    }

    /// Colours for stderr.
    pub fn stderr() -> Style {
        Style::for_stream(std::io::stderr().is_terminal())
    }

    /// Colours for stdout.
    pub fn stdout() -> Style {
        Style::for_stream(std::io::stdout().is_terminal())
    }

    fn paint(&self, paint: Paint, text: &str) -> String {
        if self.on {
            paint.force_styling(true).apply_to(text).to_string()
        } else {
            text.to_string()
        }
    }

    /// `error:` red and bold.
    pub fn error(&self, text: &str) -> String {
        self.paint(Paint::new().red().bold(), text)
    }

    /// `warning:` yellow and bold.
    pub fn warning(&self, text: &str) -> String {
        self.paint(Paint::new().yellow().bold(), text)
    }

    /// `hint:` cyan.
    pub fn hint(&self, text: &str) -> String {
        self.paint(Paint::new().cyan(), text)
    }

    /// Success marks and good news.
    pub fn good(&self, text: &str) -> String {
        self.paint(Paint::new().green(), text)
    }

    /// Failure marks.
    pub fn bad(&self, text: &str) -> String {
        self.paint(Paint::new().red(), text)
    }

    /// Names worth noticing (tags, versions).
    pub fn strong(&self, text: &str) -> String {
        self.paint(Paint::new().bold(), text)
    }

    /// Secondary text (shas).
    pub fn dim(&self, text: &str) -> String {
        self.paint(Paint::new().dim(), text)
    }
}

/// Prints a warning on stderr.
pub fn warn(message: &str) {
    let style = Style::stderr();
    eprintln!(
        "{} {}",
        style.warning("warning:"),
        monorel_core::text::line(message)
    );
}

/// Whether we may ask questions: both stdin and stderr are terminals. (A CI job has no
/// terminal; one that allocates a pseudo-terminal asked for prompts.)
pub fn can_prompt() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Set once, before any work, for a `--json` command ([`no_progress`]).
static NO_PROGRESS: AtomicBool = AtomicBool::new(false);

/// Turns progress off for the rest of the process: a `--json` command's reader is a
/// program, which wants the document and the errors, not spinner frames.
pub fn no_progress() {
    NO_PROGRESS.store(true, Ordering::Relaxed);
}

/// Whether progress may be drawn as a spinner on stderr: a terminal that can redraw a
/// line (`TERM=dumb` cannot: its `\r` and clear-line escapes would print as garbage), and
/// not CI, whose log keeps every frame. Everywhere else progress is one line per change.
///
/// `NO_COLOR` is not a reason: the spinner has no colour, and the convention only asks
/// for colour to go (cargo and uv keep their progress under it too).
pub fn can_animate() -> bool {
    !NO_PROGRESS.load(Ordering::Relaxed)
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none()
        && std::env::var_os("TERM").is_none_or(|term| term != "dumb")
}

/// Returns a ticking spinner on stderr showing `message`, or `None` when progress may not
/// be drawn ([`can_animate`]).
pub fn spinner(message: &str) -> Option<indicatif::ProgressBar> {
    if !can_animate() {
        return None;
    }
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(monorel_core::text::line(message).into_owned());
    spinner.enable_steady_tick(Duration::from_millis(80));
    Some(spinner)
}

/// Runs `work` with a spinner on stderr when it may be drawn ([`can_animate`]; never in
/// pipes or CI).
pub fn with_spinner<T>(message: &str, work: impl FnOnce() -> T) -> T {
    let Some(spinner) = spinner(message) else {
        return work();
    };
    let out = work();
    spinner.finish_and_clear();
    out
}

/// Prints `value` as pretty JSON on stdout, through the gate: the same values as
/// `serde_json` writes, with bidi and C1 controls in strings escaped as `\uXXXX` too.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), crate::error::CliError> {
    println!("{}", monorel_core::text::to_json_pretty(value)?);
    Ok(())
}
