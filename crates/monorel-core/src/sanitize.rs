//! Making text that came from the repository safe to print.
//!
//! Tag names, commit subjects and config values are written by other people; a commit
//! subject with an escape sequence could rewrite the user's terminal or hide a line.
//! Everything printed that came from the repository goes through [`for_terminal`].

use std::borrow::Cow;

/// Returns `text` with terminal control characters (C0 except tab, DEL, C1, and the
/// escape character that starts ANSI sequences) replaced by `\u{fffd}`.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if is_unsafe(c) { '\u{fffd}' } else { c })
            .collect(),
    )
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::for_terminal;

    #[test]
    fn strips_escape_sequences_and_bidi_controls() {
        assert_eq!(
            for_terminal("feat: \x1b[31mred\x1b[0m"),
            "feat: \u{fffd}[31mred\u{fffd}[0m"
        );
        assert_eq!(for_terminal("a\rb\u{202e}c"), "a\u{fffd}b\u{fffd}c");
        assert_eq!(for_terminal("plain\ttext"), "plain\ttext");
    }
}
