//! Rendering release notes: plain text for the annotated tag's message, Markdown for a
//! GitHub or GitLab release body. The text is already sanitised ([`super::Entry`]);
//! Markdown additionally cannot open HTML.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::{Entry, Group, Notes};

impl Notes {
    fn groups(&self) -> impl Iterator<Item = (Group, Vec<&Entry>)> + '_ {
        Group::ALL.into_iter().filter_map(|g| {
            let entries: Vec<&Entry> = self.commits.iter().filter(|e| e.group == g).collect();
            (!entries.is_empty()).then_some((g, entries))
        })
    }

    /// Renders the notes as plain text for an annotated tag's message: a title per group,
    /// then `- <short id> <subject>` lines (what `git log --oneline` shows), breaking
    /// notes indented under their commit.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (group, entries) in self.groups() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(group.title());
            out.push_str(":\n");
            for e in entries {
                out.push_str(&format!("- {} {}\n", e.short_id, e.subject));
                for note in &e.breaking_notes {
                    let mut prefix = "BREAKING CHANGE: ";
                    for line in note.lines() {
                        out.push_str(&format!("    {prefix}{line}\n").replace("    \n", "\n"));
                        prefix = "";
                    }
                }
            }
        }
        out
    }

    /// Renders the notes as Markdown for a GitHub or GitLab release body: a `###` heading
    /// per group, `- **scope:** description (short id)` items, breaking notes quoted.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        // One buffer for every item: the item is made inert as a whole, since a backtick
        // in the scope opens a code span that runs on into the description.
        let mut item = String::new();
        for (group, entries) in self.groups() {
            if !out.is_empty() {
                out.push('\n');
            }
            // Writing to a String cannot fail.
            let _ = write!(out, "### {}\n\n", group.title());
            for e in entries {
                item.clear();
                // The type is implied by the section for features, fixes and perf.
                let shown_type = match (group, e.kind.as_deref()) {
                    (Group::Features, _) | (Group::Fixes, _) | (Group::Performance, _) => None,
                    (_, Some("feat" | "fix" | "perf" | "revert")) if group != Group::Breaking => {
                        None
                    }
                    (_, kind) => kind,
                };
                match (shown_type, &e.scope) {
                    (Some(kind), Some(scope)) => {
                        item.extend([kind, "(", scope, "): "]);
                    }
                    (Some(kind), None) => item.extend([kind, ": "]),
                    (None, Some(scope)) => item.extend(["**", scope, ":** "]),
                    (None, None) => {}
                }
                item.push_str(&e.description);
                out.extend(["- ", &markdown_inert(&item), " (", &e.short_id, ")\n"]);
                for note in &e.breaking_notes {
                    for line in note.lines() {
                        if line.is_empty() {
                            out.push_str("  >\n");
                        } else {
                            out.extend(["  > ", &markdown_inert(line), "\n"]);
                        }
                    }
                }
            }
        }
        out
    }
}

/// Returns `line` with every `<` that could open an HTML tag or comment outside a code
/// span escaped (`\<`): a commit subject ending in `<!--` must not hide the rest of a
/// release page. Inside backticks nothing changes, so `Vec<u8>` in a code span stays.
///
/// A line without `<` (nearly every subject) has nothing to escape and is returned as it
/// is, without a copy.
fn markdown_inert(line: &str) -> Cow<'_, str> {
    if !line.contains('<') {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 1);
    let mut in_code = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '`' {
            in_code = !in_code;
        }
        let opens_html = chars
            .peek()
            .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '!' | '/' | '?'));
        if c == '<' && !in_code && opens_html {
            out.push('\\');
        }
        out.push(c);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::markdown_inert;

    #[test]
    fn a_line_without_a_tag_opener_is_borrowed_as_it_is() {
        for line in ["", "fix: plain", "use `Vec` > 2", "a\\b **x:** y"] {
            assert!(matches!(markdown_inert(line), Cow::Borrowed(l) if l == line));
        }
        // With a `<`, even one that opens nothing, the slow path decides.
        assert_eq!(markdown_inert("a < b"), "a < b");
        assert_eq!(markdown_inert("<!-- x"), "\\<!-- x");
        assert_eq!(markdown_inert("`<b>` <b> ` <i"), "`<b>` \\<b> ` <i");
        assert_eq!(markdown_inert("x <"), "x <");
    }

    #[test]
    fn code_spans_and_comparisons_stay_as_written() {
        assert_eq!(
            markdown_inert("use `Vec<u8>` for a < b"),
            "use `Vec<u8>` for a < b"
        );
        assert_eq!(markdown_inert("x <b>y</b>"), "x \\<b>y\\</b>");
    }
}
