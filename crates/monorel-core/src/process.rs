//! Running the `git` binary where gix has no equivalent (push, ls-remote over every
//! transport, pathspec-limited log).
//!
//! Arguments always go as a vector, never through a shell: tag names, remote names and
//! paths come from users and repositories. Network commands get a deadline and never
//! prompt (`GIT_TERMINAL_PROMPT=0`), so a missing credential fails instead of hanging a
//! hook.
//!
//! A command with a deadline runs in its own process group, and the whole group is killed
//! when the deadline passes: `git ls-remote` over ssh or https starts a transport helper
//! (`ssh`, `git-remote-https`) that holds the connection, and killing only `git` would
//! leave that helper running, and holding our pipes open, after the hook has given up.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The error returned by [`git`].
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// `git` could not be started.
    #[error("cannot run `git {args}`: {source}; is git installed and on PATH?")]
    Spawn {
        /// The arguments, for the message.
        args: String,
        /// Why.
        source: std::io::Error,
    },
    /// `git` ran past its deadline and was stopped.
    #[error("`git {args}` did not finish within {seconds} s and was stopped")]
    Timeout {
        /// The arguments.
        args: String,
        /// The deadline.
        seconds: u64,
    },
    /// `git` exited non-zero.
    #[error("`git {args}` failed: {stderr}")]
    Failed {
        /// The arguments.
        args: String,
        /// The first line(s) of its stderr.
        stderr: String,
    },
}

/// Runs `git args…` in `dir`, capturing output, with an optional deadline.
pub fn git(dir: &Path, args: &[&str], timeout: Option<Duration>) -> Result<Vec<u8>, GitError> {
    git_with_input(dir, args, None, timeout)
}

/// Runs `git args…` in `dir` like [`git`], writing `input` to its stdin when given (for
/// `--stdin`: thousands of revisions do not fit safely on a command line).
pub fn git_with_input(
    dir: &Path,
    args: &[&str],
    input: Option<Vec<u8>>,
    timeout: Option<Duration>,
) -> Result<Vec<u8>, GitError> {
    // Shown in errors as a command people may paste: quoted through the gate.
    let shown = || crate::text::command(args).unwrap_or_else(|_| args.join(" "));
    let mut command = Command::new("git");
    if timeout.is_some() {
        // Its own group, so that a timeout can stop git and every helper it started.
        command.process_group(0);
    }
    let mut child = command
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        // git flushes after every record when stdout is a pipe; one `git log` over 5,000
        // commits then costs ~1,000 context switches (docs/benchmarks.md). We read it all
        // at the end anyway.
        .env("GIT_FLUSH", "0")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| GitError::Spawn {
            args: shown(),
            source,
        })?;
    // Written from a thread: git may fill its stdout pipe before it has read all of stdin.
    let writer = match (input, child.stdin.take()) {
        (Some(input), Some(mut stdin)) => Some(std::thread::spawn(move || {
            use std::io::Write;
            // A write error means git exited early; its status says why.
            let _ = stdin.write_all(&input);
        })),
        _ => None,
    };
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    // A deadline beyond what the clock can represent is no deadline.
    let deadline = timeout.and_then(|limit| Some((limit, Instant::now().checked_add(limit)?)));
    let status = match deadline {
        None => child.wait(),
        Some((limit, deadline)) => match wait_until(&mut child, deadline) {
            Some(status) => status,
            None => {
                kill_group(&mut child);
                return Err(GitError::Timeout {
                    args: shown(),
                    seconds: limit.as_secs().max(1),
                });
            }
        },
    }
    .map_err(|source| GitError::Spawn {
        args: shown(),
        source,
    })?;
    let stdout = stdout.join().unwrap_or_default();
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    if !status.success() {
        let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default())
            .trim()
            .to_string();
        let stderr = stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(GitError::Failed {
            args: shown(),
            stderr,
        });
    }
    Ok(stdout)
}

/// Kills `child`'s process group (it leads one: see [`git`]) and reaps `child`.
///
/// The group is signalled before `child` is reaped, while its id cannot have been reused.
/// Should the group signal fail, `child` itself is still killed.
fn kill_group(child: &mut Child) {
    let group = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    let signalled = group.is_some_and(|group| {
        rustix::process::kill_process_group(group, rustix::process::Signal::KILL).is_ok()
    });
    if !signalled {
        let _ = child.kill();
    }
    let _ = child.wait();
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

fn wait_until(
    child: &mut Child,
    deadline: Instant,
) -> Option<std::io::Result<std::process::ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(Ok(status)),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(25));
            }
            Err(e) => return Some(Err(e)),
        }
    }
}
