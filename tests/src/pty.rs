//! Running the binary on a real pseudo-terminal and reading what a person would see.
//!
//! [`spawn`] starts a command under rexpect (which forks it onto a new pty as its
//! controlling terminal), so stdin, stdout and stderr are terminals unless the caller
//! redirects one. rexpect hands back each byte as one `char` (Latin-1), so [`bytes`] undoes
//! that before the output is decoded.
//!
//! [`screen`] replays those bytes the way a terminal would (carriage returns, cursor
//! movement, line clearing), so a test asserts on the final screen, not on the redraws a
//! spinner leaves in the byte stream. [`Detached`] is the other terminal: one whose
//! window is closed while the command still runs.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rexpect::session::{spawn_command, PtySession};

/// Generous: the commands answer in seconds; this only bounds a hang.
pub const TIMEOUT_MS: u64 = 60_000;

/// Starts `cmd` on a new pseudo-terminal with a terminal type that can redraw a line.
///
/// `TestEnv::command` sets stdin to /dev/null and `NO_COLOR`; stdin, stdout and stderr are
/// put back on the pty here (a caller that wants a stream elsewhere redirects it after),
/// and `NO_COLOR` and `CI` are removed so the command behaves as on a person's terminal;
/// a test that wants either sets it again.
pub fn spawn(cmd: Command) -> PtySession {
    spawn_with_stdout(cmd, Stdio::inherit())
}

/// Like [`spawn`], with stdout sent to `stdout` instead (a script's `> out.json` typed on
/// a terminal: stderr stays the terminal).
pub fn spawn_with_stdout(mut cmd: Command, stdout: Stdio) -> PtySession {
    cmd.env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env_remove("CI")
        .stdin(Stdio::inherit())
        .stdout(stdout)
        .stderr(Stdio::inherit());
    spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn the command on a pty")
}

/// Returns the bytes behind rexpect's text (it maps every byte to the `char` of that
/// value).
pub fn bytes(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// Returns rexpect's text decoded as the UTF-8 the command wrote.
pub fn decode(text: &str) -> String {
    String::from_utf8_lossy(&bytes(text)).into_owned()
}

/// Whether `output` redraws a line in place: a carriage return that does not end a line
/// (the pty turns every `\n` into `\r\n`), or an erase-line escape.
pub fn redraws(output: &str) -> bool {
    output.contains("\x1b[2K")
        || output
            .char_indices()
            .any(|(i, c)| c == '\r' && !output[i + 1..].starts_with('\n'))
}

/// Whether `output` holds a colour or style escape (SGR: `ESC [ … m`).
pub fn styled(output: &str) -> bool {
    output.match_indices("\x1b[").any(|(i, _)| {
        let rest = &output[i + 2..];
        let params = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(rest.len());
        rest[params..].starts_with('m')
    })
}

/// The width of the terminals here: a pty nobody sized, which console (and so indicatif)
/// takes for 80 columns.
pub const COLUMNS: usize = 80;

/// One row of the screen; `wrapped` when its text goes on in the next row.
#[derive(Default)]
struct Row {
    text: Vec<char>,
    wrapped: bool,
}

/// Replays `output` (decoded text) as a terminal of [`COLUMNS`] would and returns the
/// screen's lines, trailing blanks trimmed and trailing empty lines dropped. A line longer
/// than the terminal wraps onto the rows below; it is returned whole, as a person reads
/// (and copies) it.
///
/// Handled: printable text (overwriting at the cursor, wrapping after the last column as
/// xterm does: on the next character), `\n`, `\r`, backspace, CSI cursor
/// up/down/forward/back/column, erase in line (`K`) and in display (`J`); other escapes
/// (colours, cursor visibility, OSC titles) draw nothing. So a spinner line longer than
/// the terminal is only gone when every row it took was cleared.
pub fn screen(output: &str) -> Vec<String> {
    let mut rows: Vec<Row> = vec![Row::default()];
    let (mut row, mut col) = (0usize, 0usize);
    let down = |rows: &mut Vec<Row>, row: usize| {
        while rows.len() <= row {
            rows.push(Row::default());
        }
    };
    let mut chars = output.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                row += 1;
                col = 0;
                down(&mut rows, row);
            }
            '\r' => col = 0,
            '\u{8}' => col = col.saturating_sub(1),
            '\x1b' => match chars.next() {
                Some('[') => {
                    let mut params = String::new();
                    let mut end = None;
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            end = Some(c);
                            break;
                        }
                        params.push(c);
                    }
                    let n = params
                        .trim_start_matches('?')
                        .split(';')
                        .next()
                        .and_then(|p| p.parse::<usize>().ok());
                    let steps = n.unwrap_or(1).max(1);
                    match end {
                        Some('A') => row = row.saturating_sub(steps),
                        Some('B') => {
                            row += steps;
                            down(&mut rows, row);
                        }
                        Some('C') => col = (col + steps).min(COLUMNS - 1),
                        Some('D') => col = col.saturating_sub(steps),
                        Some('G') => col = (steps - 1).min(COLUMNS - 1),
                        Some('K') => {
                            let line = &mut rows[row];
                            match n.unwrap_or(0) {
                                0 => line.text.truncate(col),
                                1 => line.text.iter_mut().take(col + 1).for_each(|c| *c = ' '),
                                _ => line.text.clear(),
                            }
                            line.wrapped = false;
                        }
                        Some('J') => {
                            if n.unwrap_or(0) == 0 {
                                rows[row].text.truncate(col);
                                rows[row].wrapped = false;
                                rows.truncate(row + 1);
                            } else {
                                rows.iter_mut().for_each(|r| *r = Row::default());
                            }
                        }
                        _ => {}
                    }
                }
                // OSC: up to BEL or ST.
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {}
            },
            c if c.is_control() => {}
            c => {
                if col >= COLUMNS {
                    rows[row].wrapped = true;
                    row += 1;
                    col = 0;
                    down(&mut rows, row);
                }
                let line = &mut rows[row].text;
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    let mut out = Vec::new();
    let mut current = String::new();
    for row in rows {
        current.extend(row.text);
        if !row.wrapped {
            out.push(current.trim_end().to_string());
            current.clear();
        }
    }
    if !current.is_empty() {
        out.push(current.trim_end().to_string());
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// A command on a pty that is not its controlling terminal, whose window can be closed
/// while the command runs: what a command left running under `nohup` or in a killed
/// terminal emulator meets. It gets no SIGHUP; its writes to the terminal start failing
/// (EIO).
pub struct Detached {
    master: Option<std::fs::File>,
    child: Child,
    seen: Vec<u8>,
}

impl Detached {
    /// Starts `cmd` with stdin, stdout and stderr on a new pty (`TERM=xterm`, no
    /// `NO_COLOR` or `CI`).
    pub fn spawn(mut cmd: Command) -> Detached {
        let pty = nix::pty::openpty(
            None::<&nix::pty::Winsize>,
            None::<&nix::sys::termios::Termios>,
        )
        .expect("openpty");
        let slave = |fd: &OwnedFd| Stdio::from(fd.as_fd().try_clone_to_owned().expect("dup pty"));
        cmd.env("TERM", "xterm")
            .env_remove("NO_COLOR")
            .env_remove("CI")
            .stdin(slave(&pty.slave))
            .stdout(slave(&pty.slave))
            .stderr(slave(&pty.slave));
        let child = cmd.spawn().expect("spawn the command on a pty");
        drop(pty.slave);
        Detached {
            master: Some(std::fs::File::from(pty.master)),
            child,
            seen: Vec::new(),
        }
    }

    /// Reads the terminal until `needle` has been shown; panics after [`TIMEOUT_MS`] or
    /// when the command closes the terminal first.
    pub fn expect(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_millis(TIMEOUT_MS);
        let mut buffer = [0u8; 4096];
        while !String::from_utf8_lossy(&self.seen).contains(needle) {
            assert!(Instant::now() < deadline, "{needle:?} not shown in time");
            let master = self.master.as_mut().expect("the terminal is open");
            match master.read(&mut buffer) {
                Ok(0) | Err(_) => panic!(
                    "the terminal closed before {needle:?}:\n{}",
                    String::from_utf8_lossy(&self.seen)
                ),
                Ok(n) => self.seen.extend_from_slice(&buffer[..n]),
            }
        }
    }

    /// Closes the terminal's window (the pty master).
    pub fn close(&mut self) {
        self.master = None;
    }

    /// Waits up to `limit` for the command to end and returns how it ended.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the command did not end in time");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Detached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::{redraws, screen, styled};

    #[test]
    fn a_cleared_spinner_leaves_only_what_followed() {
        let frames = "⠁ one\r\x1b[2K⠂ two\r\x1b[2Kdone\r\n";
        assert_eq!(screen(frames), ["done"]);
        assert!(redraws(frames));
        assert!(!redraws("a\r\nb\r\n"));
    }

    #[test]
    fn a_long_line_wraps_and_is_read_whole() {
        let long = "x".repeat(100);
        assert_eq!(
            screen(&format!("{long}\r\nnext\r\n")),
            [long.as_str(), "next"]
        );
    }

    #[test]
    fn a_wrapped_spinner_cleared_on_one_row_only_stays_visible() {
        let long = format!("⠁ {}", "y".repeat(100));
        // Only the second row cleared: the first row's frame stays above `done`.
        let left = screen(&format!("{long}\r\x1b[2Kdone\r\n"));
        assert!(left[0].starts_with("⠁ yyyy"), "{left:?}");
        // Cleared row by row, as indicatif does, nothing is left.
        let cleared = screen(&format!(
            "{long}\x1b[1A\r\x1b[2K\x1b[1B\r\x1b[2K\x1b[1Adone\r\n"
        ));
        assert_eq!(cleared, ["done"]);
    }

    #[test]
    fn colours_are_styles_and_draw_nothing() {
        let text = "\x1b[1mbold\x1b[0m plain";
        assert!(styled(text));
        assert!(!styled("\x1b[2K"));
        assert_eq!(screen(text), ["bold plain"]);
    }
}
