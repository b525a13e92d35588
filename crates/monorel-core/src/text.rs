//! The one gate for hostile text.
//!
//! Tag names, commit subjects, directory and remote names, config keys, registry answers
//! and environment variables are written by other people. Before any of it reaches a
//! terminal, a tag message, a file or a command the user may paste, it passes through
//! this module, so a new command cannot forget to escape:
//!
//! - **Display**: [`line()`] (one-line contexts: names, messages) and [`block()`] (text that
//!   may span lines, like a tag message) make control characters, escape sequences and
//!   bidi overrides *visible* (`\x1b`, `\u{202e}`) instead of emitting them raw or
//!   hiding them. Escaping never touches plain text, and it is idempotent: what it
//!   writes is printable ASCII, so text escaped twice reads the same.
//! - **Shell**: every suggested command is built from an argument vector by [`command`]
//!   (POSIX single quotes; plain words stay bare), so pasting it runs exactly that
//!   command. An argument that cannot be shown safely is left out and the hint says so
//!   ([`suggest`]).
//! - **Names and answers**: [`check_name`] for config names (environments),
//!   [`check_relative_path`] for config paths, [`Digest`] for registry digests.
//! - **JSON**: [`to_json_pretty`] writes the same JSON as `serde_json`, with the
//!   characters [`line()`] escapes also written as `\uXXXX`, so `--json` output never
//!   carries a raw bidi override or C1 control either; the decoded values are unchanged.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Returns whether `c` must never reach a terminal raw.
///
/// That is every control character (C0, DEL, C1), the bidi embeddings, overrides,
/// isolates and marks (which reorder what is shown: `U+202E` makes `exe.txt` read
/// `txt.exe`), the line and paragraph separators, and the invisible zero-width space and
/// byte-order mark, which make two different names look the same.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// Returns `text` for a one-line context (a tag, service, remote or file name, a commit
/// subject, an error message): every unsafe character, line breaks and tabs included,
/// is written as a visible escape.
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, is_unsafe)
}

/// Returns `text` for a context that may span lines (a tag message, a block of output):
/// like [`line()`], but `\n` stays a line break.
pub fn block(text: &str) -> Cow<'_, str> {
    escape(text, |c| c != '\n' && is_unsafe(c))
}

/// Returns bytes that should be UTF-8 (a ref name, a line of git output) for a one-line
/// context: invalid bytes are shown as `\xNN`, the rest as [`line()`] shows it.
pub fn bytes(raw: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(text) => line(text),
        Err(_) => {
            let mut out = String::with_capacity(raw.len() + 8);
            for chunk in raw.utf8_chunks() {
                out.push_str(&line(chunk.valid()));
                for b in chunk.invalid() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
            Cow::Owned(out)
        }
    }
}

/// Percent-encodes every byte but RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ .
/// ~`): a value that must reach a URL path segment or query as one opaque piece (a
/// Lambda function ARN, an OCI token scope), whatever it holds.
#[cfg(any(feature = "aws-json", feature = "oci"))]
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn escape(text: &str, unsafe_here: impl Fn(char) -> bool) -> Cow<'_, str> {
    // Printable ASCII, what nearly every name and subject is, has nothing to escape; a
    // byte scan says so without decoding characters (the notes of a range gate every
    // subject and id).
    if is_printable_ascii(text) {
        return Cow::Borrowed(text);
    }
    let Some(first) = text.find(&unsafe_here) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if unsafe_here(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes the visible form of `c`: `\n`, `\r`, `\t`, `\x1b` for the rest of ASCII, and
/// `\u{202e}` beyond (C1 controls are characters, not bytes, so they get the `\u` form).
fn push_escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_ascii() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
    }
}

/// Returns whether `text` shows on a terminal exactly as it is (nothing to escape).
pub fn is_displayable(text: &str) -> bool {
    is_printable_ascii(text) || !text.chars().any(is_unsafe)
}

/// Whether every byte of `text` is printable ASCII (space to `~`), which no gate escapes.
fn is_printable_ascii(text: &str) -> bool {
    text.bytes().all(|b| (b' '..=b'~').contains(&b))
}

/// Returns `arg` quoted for a POSIX shell, or `None` when it cannot be shown safely
/// (it contains a character [`line()`] would escape: quoted, it would still reach the
/// terminal raw; escaped, it would no longer be the same argument).
///
/// Words made only of `[A-Za-z0-9_@%+=:,./-]` stay bare; anything else is put in single
/// quotes, where the shell expands nothing, and a `'` inside becomes `'\''`.
pub fn quote(arg: &str) -> Option<Cow<'_, str>> {
    if !is_displayable(arg) {
        return None;
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        return Some(Cow::Borrowed(arg));
    }
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('\'');
    for c in arg.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    Some(Cow::Owned(out))
}

/// A command that cannot be suggested because one of its arguments cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("argument {index} contains control or bidi characters, so the command is not shown")]
pub struct Unshowable {
    /// The 0-based position of the first argument that cannot be shown.
    pub index: usize,
}

/// Returns the command line that runs exactly `args`, every argument quoted by [`quote`].
pub fn command<S: AsRef<str>>(args: &[S]) -> Result<String, Unshowable> {
    let mut out = String::new();
    for (index, arg) in args.iter().enumerate() {
        let quoted = quote(arg.as_ref()).ok_or(Unshowable { index })?;
        if index > 0 {
            out.push(' ');
        }
        out.push_str(&quoted);
    }
    Ok(out)
}

/// Returns a suggested command for a hint: `` `git tag -d 'a;b'` ``, or, when an argument
/// cannot be shown, the command up to it and a note that the rest is left out (the user
/// is told what to run without being handed text that could run something else).
pub fn suggest<S: AsRef<str>>(args: &[S]) -> String {
    match command(args) {
        Ok(cmd) => format!("`{cmd}`"),
        Err(Unshowable { index }) => {
            let known = command(&args[..index]).unwrap_or_default();
            format!(
                "`{known}` followed by the rest of the command (left out here: an argument contains control or bidi characters, so it cannot be shown as a safe command)"
            )
        }
    }
}

/// Returns `command` followed by `operands`, with `--` between them when an operand
/// starts with `-`: quoting stops the shell from reading a remote named
/// `--upload-pack=…` as code, `--` stops git from reading it as an option.
pub fn operands<'a>(command: &[&'a str], operands: &[&'a str]) -> Vec<&'a str> {
    let mut args = command.to_vec();
    if operands.iter().any(|o| o.starts_with('-')) {
        args.push("--");
    }
    args.extend_from_slice(operands);
    args
}

/// Returns what [`suggest`] returns, computed only when it is displayed: for hints in
/// messages that most calls never build (the hook checks every pushed tag).
pub fn suggest_lazily<'a>(args: &'a [&'a str]) -> impl std::fmt::Display + 'a {
    struct Lazy<'a>(&'a [&'a str]);
    impl std::fmt::Display for Lazy<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&suggest(self.0))
        }
    }
    Lazy(args)
}

/// Checks a name from the config that becomes part of file names, tags, variables or
/// commands (an environment name): `[A-Za-z0-9][A-Za-z0-9_.-]*`, at most 64 characters.
/// Returns the rule when it is broken.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && !name.contains("..");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a valid name; use letters, digits, `_`, `.` and `-` (at most 64, starting with a letter or digit, no `..`)",
            line(name)
        ))
    }
}

/// Checks a directory named in the config, relative to the repository root: not
/// absolute, no `.` or `..` component, no backslash, nothing [`line()`] would escape.
/// Returns the rule when it is broken.
pub fn check_relative_path(path: &str) -> Result<(), String> {
    let trimmed = path.trim_end_matches('/');
    let why = if trimmed.is_empty() {
        Some("is empty")
    } else if trimmed.starts_with('/') {
        Some("is absolute")
    } else if !is_displayable(trimmed) {
        Some("contains control or bidi characters")
    } else if trimmed.contains('\\') {
        Some("contains a backslash (use `/`)")
    } else if trimmed
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        Some("has an empty, `.` or `..` component")
    } else {
        None
    };
    match why {
        Some(why) => Err(format!(
            "`{}` {why}; it must be a directory inside the repository, relative to its root, like \"services/api\"",
            line(path)
        )),
        None => Ok(()),
    }
}

/// A manifest digest as a registry answered it: `sha256:` and 64 lowercase hex digits.
///
/// Digests are written into tag messages and pin files and compared to decide whether a
/// release tag moves, so an answer of any other shape is an error, never passed on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

/// The error returned by [`Digest::parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}` is not an image digest (`sha256:` and 64 lowercase hex digits)", line(.0))]
pub struct BadDigest(pub String);

impl Digest {
    /// Parses a registry's digest, refusing anything but `sha256:<64 lowercase hex>`.
    pub fn parse(text: &str) -> Result<Digest, BadDigest> {
        let ok = text.strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        if ok {
            Ok(Digest(text.to_string()))
        } else {
            Err(BadDigest(text.to_string()))
        }
    }

    /// Returns the digest's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the digest's text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Returns `value` as pretty JSON whose strings escape, besides what JSON requires, every
/// character [`line()`] escapes (DEL, C1, bidi controls) as `\uXXXX`: the same values for
/// a JSON reader, no raw control text for a terminal.
pub fn to_json_pretty<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, SafeFormatter::new());
    value.serialize(&mut serializer)?;
    // serde_json writes only valid UTF-8; the lossy conversion never changes anything.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// serde_json's pretty formatter, with unsafe characters in strings written as escapes.
struct SafeFormatter<'a>(serde_json::ser::PrettyFormatter<'a>);

impl SafeFormatter<'_> {
    fn new() -> Self {
        SafeFormatter(serde_json::ser::PrettyFormatter::new())
    }
}

impl serde_json::ser::Formatter for SafeFormatter<'_> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_unsafe(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                // Every unsafe character is in the Basic Multilingual Plane.
                write!(writer, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests;
