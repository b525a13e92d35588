//! Standard output and error that never panic.
//!
//! `std`'s `println!` panics when stdout cannot be written: `git release list | head -1`
//! closes the pipe, a full disk answers `ENOSPC`, and the user saw "panicked" and exit 101.
//! `main.rs` shadows `print!`, `println!`, `eprint!` and `eprintln!` with macros that
//! come here. A failed write to stdout is remembered and the rest of the output dropped,
//! so the command still finishes what it was doing (a release half printed is not half
//! made) and its temporary files and locks are cleaned up as usual. When it ends,
//! [`finish`] says how the output went: a reader that closed the pipe had all it wanted
//! (ripgrep and git treat it as success too); any other failure is an ordinary error.
//! Writes to stderr that fail are dropped: there is nowhere left to say so.

use std::io::Write;
use std::sync::{Mutex, PoisonError};

/// The first error stdout gave, if any; later output is not attempted.
static STDOUT_FAILURE: Mutex<Option<std::io::Error>> = Mutex::new(None);

/// Writes formatted text to stdout, remembering the first failure.
pub fn out(args: std::fmt::Arguments<'_>) {
    let mut failure = STDOUT_FAILURE
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if failure.is_none() {
        if let Err(e) = std::io::stdout().lock().write_fmt(args) {
            *failure = Some(e);
        }
    }
}

/// Writes bytes to stdout (man pages, completions), remembering the first failure.
pub fn out_bytes(bytes: &[u8]) {
    let mut failure = STDOUT_FAILURE
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if failure.is_none() {
        if let Err(e) = std::io::stdout().lock().write_all(bytes) {
            *failure = Some(e);
        }
    }
}

/// Writes formatted text to stderr; a failure is dropped.
pub fn err(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Flushes stdout and returns the first error it gave, if any.
pub fn finish() -> Result<(), std::io::Error> {
    let mut failure = STDOUT_FAILURE
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if failure.is_none() {
        if let Err(e) = std::io::stdout().lock().flush() {
            *failure = Some(e);
        }
    }
    match failure.take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
