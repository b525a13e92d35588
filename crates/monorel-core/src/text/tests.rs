use proptest::prelude::*;

use super::*;
use crate::config::Config;
use crate::plan::Analysis;
use crate::repo::{CommitSummary, Release};
use crate::Bump;

/// Returns the first character that must never be emitted raw: any control character
/// but `\n` when `newline_ok`, DEL, C1, or a bidi/invisible formatting character.
fn first_unsafe(text: &str, newline_ok: bool) -> Option<char> {
    text.chars()
        .find(|&c| !(newline_ok && c == '\n') && ((c as u32) < 0x20 || is_unsafe(c)))
}

#[track_caller]
fn assert_clean(text: &str, newline_ok: bool) {
    if let Some(c) = first_unsafe(text, newline_ok) {
        panic!("raw {:?} in {text:?}", c);
    }
}

fn lossy(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

/// Arbitrary bytes, biased towards the ones that matter: controls, escape sequences,
/// bidi overrides, C1 and shell metacharacters.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        any::<u8>().prop_map(|b| vec![b]),
        Just(b"\x1b[2J".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just("\u{202e}".as_bytes().to_vec()),
        Just("\u{2066}".as_bytes().to_vec()),
        Just("\u{200f}".as_bytes().to_vec()),
        Just("\u{9b}".as_bytes().to_vec()),
        Just(b"$(touch pwned)".to_vec()),
        Just(b"`id`".to_vec()),
        Just(b"';\"\\".to_vec()),
        Just(b"service-a-v1.2.3".to_vec()),
        Just("é✓".as_bytes().to_vec()),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

fn config() -> Config {
    Config::parse(
        "[services.api]\npath = \"services/api\"\n[services.service-a]\npath = \"services/a\"\n",
        "t",
    )
    .expect("valid config")
}

/// Writes `text` as a TOML basic string in which every character is a `\u` escape, so
/// any name at all reaches the config parser.
fn toml_key(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        out.push_str(&format!("\\U{:08X}", c as u32));
    }
    out.push('"');
    out
}

#[test]
fn display_escapes_are_visible_and_plain_text_is_untouched() {
    assert_eq!(
        line("feat: \x1b[31mred\x1b[0m"),
        "feat: \\x1b[31mred\\x1b[0m"
    );
    assert_eq!(line("a\rb\u{202e}c\u{9b}d"), "a\\rb\\u{202e}c\\u{009b}d");
    assert_eq!(line("two\nlines\tand a tab"), "two\\nlines\\tand a tab");
    assert_eq!(block("two\nlines\r"), "two\nlines\\r");
    assert_eq!(
        line("\u{200e}\u{200f}\u{061c}\u{2069}\u{7f}"),
        "\\u{200e}\\u{200f}\\u{061c}\\u{2069}\\x7f"
    );
    assert!(matches!(line("service-a-v1.2.3 ✓ é"), Cow::Borrowed(_)));
    assert_eq!(bytes(b"ok\xff\x1b"), "ok\\xff\\x1b");
}

#[test]
fn quoting_keeps_plain_words_bare_and_quotes_the_rest() {
    let cmd = command(&["git", "push", "origin", "refs/tags/api-v1.0.0"]).expect("plain");
    assert_eq!(cmd, "git push origin refs/tags/api-v1.0.0");
    let cmd = command(&["git", "tag", "-d", "a'$(touch pwned)`id`;b", ""]).expect("quotable");
    assert_eq!(cmd, r#"git tag -d 'a'\''$(touch pwned)`id`;b' ''"#);
    assert_eq!(
        command(&["git", "tag", "-d", "x\u{1b}"]),
        Err(Unshowable { index: 3 })
    );
    let hint = suggest(&["git", "tag", "-d", "x\u{202e}"]);
    assert!(
        hint.starts_with("`git tag -d` followed by the rest of the command (left out"),
        "{hint}"
    );
    assert!(is_displayable(&hint));
}

#[test]
fn names_and_paths_follow_their_rules() {
    for good in ["stg", "prod-eu", "Prod_2", "a.b"] {
        assert_eq!(check_name(good), Ok(()), "{good}");
    }
    for bad in ["", "-x", "st g", "a..b", "st\u{1b}g", "$(x)", "é"] {
        let rule = check_name(bad).expect_err(bad);
        assert!(is_displayable(&rule), "{rule}");
    }
    for good in ["services/api", "services/api/", "a"] {
        assert_eq!(check_relative_path(good), Ok(()), "{good}");
    }
    for bad in [
        "",
        "/etc",
        "a/../b",
        "./a",
        "a//b",
        "a\\b",
        "a\u{1b}]0;x\u{7}",
    ] {
        let rule = check_relative_path(bad).expect_err(bad);
        assert!(is_displayable(&rule), "{rule}");
    }
}

#[test]
fn digests_are_sha256_and_64_lowercase_hex() {
    let good = format!("sha256:{}", "0123456789abcdef".repeat(4));
    assert_eq!(
        Digest::parse(&good).map(|d| d.to_string()),
        Ok(good.clone())
    );
    for bad in [
        "sha256:".to_string(),
        good.to_uppercase(),
        format!("{good}0"),
        good.replace("sha256", "sha512"),
        format!("sha256:{}\u{1b}[2J", "a".repeat(60)),
        format!(" {good}"),
    ] {
        let err = Digest::parse(&bad).expect_err(&bad);
        assert!(is_displayable(&err.to_string()), "{err}");
    }
    assert_eq!(
        serde_json::to_string(&Digest::parse(&good).expect("good")).expect("json"),
        format!("\"{good}\"")
    );
}

#[test]
fn environment_names_are_validated_when_the_config_is_loaded() {
    let err = Config::parse(
        "[environments.\"st\\u001b[2Jg\"]\ndir = \"infra/stg\"\n",
        "git-release.toml",
    )
    .expect_err("hostile environment name");
    let text = err.to_string();
    assert!(text.contains("st\\x1b[2Jg"), "{text}");
    assert!(text.contains("letters, digits"), "{text}");
    assert!(is_displayable(&text), "{text}");
    let err = Config::parse("[services.api]\npath = \"/etc\"\n", "f").expect_err("absolute");
    assert!(err.to_string().contains("is absolute"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Display: nothing unsafe survives `line`, `block` keeps only `\n`, `bytes` takes
    /// any bytes; safe text is untouched and escaping twice changes nothing.
    #[test]
    fn display_never_emits_unsafe_characters(raw in hostile_bytes()) {
        let text = lossy(&raw);
        let one = line(&text);
        assert_clean(&one, false);
        assert_clean(&block(&text), true);
        assert_clean(&bytes(&raw), false);
        prop_assert_eq!(line(&one), one.clone());
        if is_displayable(&text) {
            prop_assert_eq!(one.as_ref(), text.as_str());
        }
    }

    /// Shell: a command either splits back into exactly its arguments and shows nothing
    /// unsafe, or names an argument that cannot be shown; the hint is clean either way.
    #[test]
    fn commands_split_back_into_their_arguments(
        args in prop::collection::vec(hostile_bytes(), 1..5)
    ) {
        let args: Vec<String> = args.iter().map(|a| lossy(a)).collect();
        match command(&args) {
            Ok(cmd) => {
                assert_clean(&cmd, false);
                let split = shell_words::split(&cmd).expect("a quoted command parses");
                prop_assert_eq!(split, args.clone());
            }
            Err(Unshowable { index }) => {
                prop_assert!(!is_displayable(&args[index]));
                prop_assert!(args[..index].iter().all(|a| is_displayable(a)));
            }
        }
        assert_clean(&suggest(&args), false);
    }

    /// Operands never read as options: after splitting, every operand that starts with
    /// `-` comes after a `--`.
    #[test]
    fn operands_are_never_options(ops in prop::collection::vec(hostile_bytes(), 0..4)) {
        let ops: Vec<String> = ops.iter().map(|o| lossy(o)).collect();
        let refs: Vec<&str> = ops.iter().map(String::as_str).collect();
        let args = operands(&["git", "push"], &refs);
        if let Ok(cmd) = command(&args) {
            let split = shell_words::split(&cmd).expect("parses");
            let rest = &split[2..];
            let (dashes, tail) = match rest.first().map(String::as_str) {
                Some("--") if ops.iter().any(|o| o.starts_with('-')) => (true, &rest[1..]),
                _ => (false, rest),
            };
            prop_assert_eq!(tail, &ops[..]);
            prop_assert!(dashes || tail.iter().all(|o| !o.starts_with('-')));
        }
    }

    /// The release rules' messages, as the hook and `check` print them, for any tag name:
    /// clean, and each `git tag -d` hint is the gate's command for exactly that tag.
    #[test]
    fn tag_rule_messages_are_clean_and_their_commands_exact(raw in hostile_bytes()) {
        let tag = lossy(&raw);
        let config = config();
        let report = crate::check::check_name(&config, &tag);
        let delete = suggest(&operands(&["git", "tag", "-d"], &[&tag]));
        for failure in &report.failures {
            assert_clean(&failure.message, false);
            if failure.message.contains("delete it with") {
                prop_assert!(failure.message.contains(&delete), "{}", failure.message);
            }
        }
        if let Ok(cmd) = command(&operands(&["git", "tag", "-d"], &[&tag])) {
            let mut expected = vec!["git".to_string(), "tag".into(), "-d".into()];
            if tag.starts_with('-') {
                expected.push("--".into());
            }
            expected.push(tag.clone());
            prop_assert_eq!(shell_words::split(&cmd).expect("parses"), expected);
        }
    }

    /// Names in the config: an environment or service name is either refused with a clean
    /// message, or it is one that needs no escaping.
    #[test]
    fn config_names_are_refused_cleanly_or_safe(raw in hostile_bytes()) {
        let name = lossy(&raw);
        let key = toml_key(&name);
        let env = format!("[environments.{key}]\ndir = \"infra\"\n");
        match Config::parse(&env, "git-release.toml") {
            Ok(_) => prop_assert!(check_name(&name).is_ok()),
            Err(e) => assert_clean(&e.to_string(), false),
        }
        let service = format!("[services.{key}]\npath = \"services/x\"\n");
        match Config::parse(&service, "git-release.toml") {
            Ok(_) => prop_assert!(is_displayable(&name) && command(&[&name]).is_ok()),
            Err(e) => assert_clean(&e.to_string(), false),
        }
        let path = format!("[services.api]\npath = {key}\n");
        match Config::parse(&path, "git-release.toml") {
            Ok(_) => prop_assert!(is_displayable(&name)),
            Err(e) => assert_clean(&e.to_string(), false),
        }
    }

    /// The annotated tag message: any subjects, tag and custom message give a message
    /// with no raw control text but its line breaks.
    #[test]
    fn tag_messages_carry_no_raw_control_text(
        subjects in prop::collection::vec(hostile_bytes(), 0..4),
        previous in hostile_bytes(),
        custom in prop::option::of(hostile_bytes()),
    ) {
        let analysis = Analysis {
            service: "api".into(),
            current: Some(Release {
                tag: lossy(&previous),
                version: semver::Version::new(1, 0, 0),
            }),
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            commits: subjects
                .iter()
                .map(|s| CommitSummary {
                    id: "0123456789abcdef0123456789abcdef01234567".into(),
                    subject: lossy(s),
                    message: lossy(s),
                    parents: 1,
                })
                .collect(),
            suggestion: Bump::Patch,
        };
        let custom = custom.map(|c| lossy(&c));
        let message = crate::plan::tag_message(
            &analysis,
            &semver::Version::new(1, 1, 0),
            custom.as_deref(),
            Some((Some(lossy(&previous)), &analysis.commits)),
        );
        assert_clean(&message, true);
    }

    /// JSON: the same values for a reader, no raw control text for a terminal.
    #[test]
    fn json_output_escapes_unsafe_characters(
        values in prop::collection::vec(hostile_bytes(), 0..4)
    ) {
        let values: Vec<String> = values.iter().map(|v| lossy(v)).collect();
        let json = to_json_pretty(&serde_json::json!({ "tags": values, "k": values.first() }))
            .expect("json");
        assert_clean(&json, true);
        let back: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        prop_assert_eq!(&back["tags"], &serde_json::json!(values));
    }
}
