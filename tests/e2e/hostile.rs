//! Repository data is hostile: commit subjects, tag names, config names and paths,
//! remote names and pinned values that carry escape sequences, carriage returns, bidi
//! overrides, C1 controls and shell metacharacters.
//!
//! Every command's stdout and stderr are read as bytes and must be valid UTF-8 without a
//! raw control character (but `\n`), DEL, C1 or bidi control; the hostile text must show
//! as visible escapes (`\x1b`, `\u{202e}`); and every suggested command, split by a POSIX
//! word splitter (`shell-words`), must give back exactly the intended arguments. One
//! suggested command is pasted into `sh` for real: it must run nothing else.

use std::path::Path;
use std::process::Stdio;

use monorel_e2e::{binary, config_none, Monorepo, TestEnv};

/// A commit subject that tries everything at once.
const SUBJECT: &str =
    "fix: \x1b[2J\rhidden \u{202e}gpj.exe \u{200f}\u{9b}31m $(touch pwned) `id`; 'q\"";

/// The characters that must never reach a terminal raw (defined here, independently of
/// the gate under test).
fn forbidden(c: char) -> bool {
    let n = c as u32;
    (n < 0x20 && c != '\n')
        || (0x7f..=0x9f).contains(&n)
        || (0x202a..=0x202e).contains(&n)
        || (0x2066..=0x2069).contains(&n)
        || matches!(n, 0x200e | 0x200f | 0x061c)
}

/// Asserts that `bytes` is UTF-8 without a forbidden character; returns it as text.
#[track_caller]
fn clean(bytes: &[u8], what: &str) -> String {
    let text =
        std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8 ({e}): {bytes:?}"));
    if let Some((i, c)) = text.char_indices().find(|&(_, c)| forbidden(c)) {
        panic!("{what}: raw {c:?} at byte {i}:\n{text}");
    }
    text.to_string()
}

/// A finished command, bytes checked.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `git-release args…` and checks both streams.
#[track_caller]
fn run(env: &TestEnv, cwd: &Path, args: &[&str]) -> Out {
    let out = env
        .command(binary(), cwd)
        .args(args)
        .output()
        .expect("run git-release");
    let what = format!("git-release {args:?}");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: clean(&out.stdout, &format!("{what} stdout")),
        stderr: clean(&out.stderr, &format!("{what} stderr")),
    }
}

/// Returns every command in `text` that starts with `prefix`, split into words: the
/// command runs from `prefix` to the first backtick outside quotes (the end of a
/// `` `…` `` hint; in a shell, an unquoted backtick would start another command) or the
/// end of the line.
fn commands(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(start) = rest.find(prefix) {
            let tail = &rest[start..];
            let end = command_end(tail);
            let words = shell_words::split(&tail[..end])
                .unwrap_or_else(|e| panic!("`{}` does not parse ({e})", &tail[..end]));
            found.push(words);
            rest = &tail[end..];
        }
    }
    found
}

fn command_end(text: &str) -> usize {
    let (mut single, mut double, mut escaped) = (false, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if !single => escaped = true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '`' if !single && !double => return i,
            _ => {}
        }
    }
    text.len()
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// A monorepo with service-a and service-b, registry `none`, an environment `stg`.
fn repo(env: &TestEnv) -> Monorepo {
    let mut config = config_none(&["service-a", "service-b"]);
    config.push_str("\n[environments.stg]\ndir = \"infra/stg\"\n");
    env.monorepo("mono", &config, &["service-a", "service-b"])
}

/// Commits to service-a with `subject` exactly as given (no clean-up by git).
fn commit_verbatim(env: &TestEnv, repo: &Monorepo, subject: &str) {
    let file = repo.work.join("services/service-a/app.txt");
    std::fs::write(&file, subject.as_bytes()).expect("write");
    env.git(&repo.work, &["add", "-A"]);
    env.git(
        &repo.work,
        &["commit", "-q", "--cleanup=verbatim", "-m", subject],
    );
}

#[test]
fn commit_subjects_are_shown_escaped_in_every_view() {
    let env = TestEnv::new();
    let repo = repo(&env);
    commit_verbatim(&env, &repo, SUBJECT);

    for args in [
        &["list"][..],
        &["list", "--json"],
        &["status"],
        &["status", "--json"],
        &["next", "service-a", "--offline"],
        &["next", "service-a", "--offline", "--json"],
    ] {
        let out = run(&env, &repo.work, args);
        assert_eq!(out.code, 0, "{args:?}\n{}", out.all());
    }

    // The dry run lists the subject: visible escapes, not the raw sequence, not U+FFFD.
    let out = run(
        &env,
        &repo.work,
        &["service-a", "--bump", "patch", "--dry-run", "--offline"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    for shown in [
        "\\x1b[2J",
        "\\r",
        "\\u{202e}gpj.exe",
        "\\u{200f}",
        "\\u{009b}31m",
    ] {
        assert!(
            out.stdout.contains(shown),
            "{shown} missing:\n{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains('\u{fffd}'), "{}", out.stdout);

    // JSON keeps the value exactly (a reader gets the real subject) yet shows no raw text.
    let out = run(
        &env,
        &repo.work,
        &[
            "service-a",
            "--bump",
            "patch",
            "--dry-run",
            "--offline",
            "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(json["commits"][0]["subject"], SUBJECT, "{}", out.stdout);

    // The tag message is read raw later by `git show` and `git tag -n`: it carries the
    // escapes, never the sequences.
    let out = run(
        &env,
        &repo.work,
        &["service-a", "--bump", "patch", "--offline"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let message = env
        .command("git", &repo.work)
        .args(["cat-file", "tag", "service-a-v0.1.0"])
        .output()
        .expect("git cat-file");
    let message = clean(&message.stdout, "tag message");
    assert!(
        message.contains("\\x1b[2J\\rhidden \\u{202e}gpj.exe"),
        "{message}"
    );
    // The suggested push is exactly `git push origin refs/tags/service-a-v0.1.0`.
    assert_eq!(
        commands(&out.stdout, "git push "),
        vec![argv(&[
            "git",
            "push",
            "origin",
            "refs/tags/service-a-v0.1.0"
        ])]
    );
}

#[test]
fn the_prompt_shows_commit_subjects_escaped() {
    use rexpect::session::spawn_command;

    let env = TestEnv::new();
    let repo = repo(&env);
    commit_verbatim(&env, &repo, SUBJECT);
    let mut cmd = env.command(binary(), &repo.work);
    cmd.args(["service-a", "--offline", "--dry-run"])
        .env("TERM", "xterm")
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    let mut session = spawn_command(cmd, Some(30_000)).expect("spawn on a pty");
    let before = session
        .exp_string("Next version of service-a")
        .expect("the prompt");
    // The prompt draws with its own escape sequences; the subject must bring none.
    assert!(
        before.contains("\\x1b[2J\\rhidden \\u{202e}gpj.exe"),
        "{before:?}"
    );
    for raw in ["\x1b[2J", "\rhidden", "\u{202e}", "\u{200f}", "\u{9b}"] {
        assert!(
            !before.contains(raw),
            "raw {raw:?} in the prompt: {before:?}"
        );
    }
    session.send("\x03").expect("ctrl-c");
    let _ = session.exp_eof();
}

/// Tag names git accepts (no space, `~^:?*[\`, control character) but a shell or a
/// terminal would not: metacharacters, quotes, a bidi override, a C1 control.
const QUOTABLE_TAGS: &[&str] = &[
    "service-a-v1.0.0-$(touch${IFS}pwned)",
    "x`id`;y'z\"w",
    "a&&b|c>d",
];
const UNSHOWABLE_TAGS: &[&str] = &["\u{202e}gpj.exe", "svc\u{9b}2J", "x\u{200f}y"];

fn tag_all(env: &TestEnv, repo: &Monorepo) {
    for tag in QUOTABLE_TAGS.iter().chain(UNSHOWABLE_TAGS) {
        env.git(&repo.work, &["tag", "-a", "-m", "x", tag]);
    }
}

/// Each quotable tag gets `git tag -d <exactly it>`; each other one a hint that leaves
/// it out and says so.
#[track_caller]
fn assert_delete_hints(text: &str) {
    let deletes = commands(text, "git tag -d");
    for tag in QUOTABLE_TAGS {
        assert!(
            deletes.contains(&argv(&["git", "tag", "-d", tag])),
            "no exact `git tag -d` for {tag:?} in {deletes:?}:\n{text}"
        );
    }
    for words in &deletes {
        assert!(
            words.len() == 3 || QUOTABLE_TAGS.contains(&words[3].as_str()),
            "{words:?}"
        );
    }
    let left_out = text.matches("left out here").count();
    assert!(left_out >= UNSHOWABLE_TAGS.len(), "{text}");
    for shown in ["\\u{202e}gpj.exe", "svc\\u{009b}2J", "x\\u{200f}y"] {
        assert!(text.contains(shown), "{shown} not shown:\n{text}");
    }
}

#[test]
fn hostile_tag_names_in_check() {
    let env = TestEnv::new();
    let repo = repo(&env);
    tag_all(&env, &repo);
    let mut args = vec!["check"];
    args.extend(QUOTABLE_TAGS.iter().chain(UNSHOWABLE_TAGS));
    let out = run(&env, &repo.work, &args);
    assert_eq!(out.code, 1, "{}", out.all());
    assert_delete_hints(&out.stdout);
    args.push("--json");
    let out = run(&env, &repo.work, &args);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(json["tags"][3]["tag"], UNSHOWABLE_TAGS[0], "{}", out.stdout);
}

#[test]
fn hostile_tag_names_in_the_hook() {
    let env = TestEnv::new();
    let repo = repo(&env);
    tag_all(&env, &repo);
    // What git writes on the hook's stdin, for every tag at once.
    let mut input = String::new();
    for tag in QUOTABLE_TAGS.iter().chain(UNSHOWABLE_TAGS) {
        let sha = env.git(&repo.work, &["rev-parse", &format!("refs/tags/{tag}")]);
        input.push_str(&format!(
            "refs/tags/{tag} {sha} refs/tags/{tag} {}\n",
            "0".repeat(40)
        ));
    }
    let out = env.hook_pre_push(&repo, &input);
    assert_eq!(out.status.code(), Some(1));
    clean(&out.stdout, "hook stdout");
    let stderr = clean(&out.stderr, "hook stderr");
    assert_delete_hints(&stderr);

    // And through git itself: the installed hook refuses the push, its output is clean.
    env.run(&repo.work, &["install"]).ok();
    let push = env
        .command("git", &repo.work)
        .args(["push", "origin", "--tags"])
        .output()
        .expect("git push");
    assert!(!push.status.success());
    let stderr = String::from_utf8_lossy(&push.stderr);
    let ours: String = stderr
        .lines()
        .filter(|l| l.starts_with('✗') || l.starts_with("error: the push"))
        .map(|l| format!("{l}\n"))
        .collect();
    clean(ours.as_bytes(), "hook stderr under git push");
    assert_delete_hints(&ours);
}

#[test]
fn a_suggested_push_runs_nothing_else_when_pasted() {
    let env = TestEnv::new();
    let repo = repo(&env);
    let remote = "up$(touch pwned);x'y`touch pwned2`";
    let out = run(
        &env,
        &repo.work,
        &[
            "service-a",
            "--bump",
            "patch",
            "--offline",
            "--remote",
            remote,
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let pushes = commands(&out.stdout, "git push ");
    assert_eq!(
        pushes,
        vec![argv(&["git", "push", remote, "refs/tags/service-a-v0.1.0"])],
        "{}",
        out.stdout
    );
    // Paste it: git complains about the odd remote, and nothing else runs.
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.split_once("push it with: ").map(|(_, c)| c.to_string()))
        .expect("a push hint");
    let pasted = env
        .command("sh", &repo.work)
        .args(["-c", &line])
        .output()
        .expect("sh");
    assert!(!pasted.status.success());
    assert!(
        !repo.work.join("pwned").exists(),
        "pasting ran `touch pwned`"
    );
    assert!(
        !repo.work.join("pwned2").exists(),
        "pasting ran `touch pwned2`"
    );

    // A remote named like an option: `--` keeps git from reading it as one.
    let remote = "--receive-pack=touch pwned3";
    let out = run(
        &env,
        &repo.work,
        &[
            "service-a",
            "--bump",
            "patch",
            "--offline",
            "--allow-empty",
            &format!("--remote={remote}"),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        commands(&out.stdout, "git push"),
        vec![argv(&[
            "git",
            "push",
            "--",
            remote,
            "refs/tags/service-a-v0.1.1"
        ])],
        "{}",
        out.stdout
    );
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.split_once("push it with: ").map(|(_, c)| c.to_string()))
        .expect("a push hint");
    let pasted = env
        .command("sh", &repo.work)
        .args(["-c", &line])
        .output()
        .expect("sh");
    assert!(!pasted.status.success());
    assert!(
        !repo.work.join("pwned3").exists(),
        "pasting ran `touch pwned3`"
    );

    // A remote that cannot be shown is left out of the hint, which says so.
    let out = run(
        &env,
        &repo.work,
        &[
            "service-b",
            "--bump",
            "patch",
            "--offline",
            "--remote",
            "o\x1b[2Jx",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("left out here"), "{}", out.stdout);
    assert_eq!(
        commands(&out.stdout, "git push"),
        vec![argv(&["git", "push"])]
    );
}

#[test]
fn hostile_names_in_the_config_are_refused_when_it_is_loaded() {
    let env = TestEnv::new();
    let repo = repo(&env);
    let base = config_none(&["service-a", "service-b"]);
    let cases = [
        (
            "\n[environments.\"st\\u001b[2Jg$(x)\"]\ndir = \"infra/stg\"\n".to_string(),
            "st\\x1b[2Jg$(x)",
            "letters, digits",
        ),
        (
            base.replace("\"services/service-a\"", "\"/etc\""),
            "/etc",
            "is absolute",
        ),
        (
            base.replace(
                "\"services/service-a\"",
                "\"services/a\\u001b]0;pwned\\u0007\"",
            ),
            "services/a\\x1b]0;pwned\\x07",
            "control or bidi",
        ),
        (
            base.replace("\"services/service-a\"", "\"services/../../x\""),
            "services/../../x",
            "`..` component",
        ),
    ];
    for (config, shown, rule) in cases {
        let text = if config.starts_with("\n[environments") {
            format!("{base}{config}")
        } else {
            config
        };
        std::fs::write(repo.work.join("git-release.toml"), &text).expect("config");
        for args in [&["list"][..], &["status"], &["check", "service-a-v1.0.0"]] {
            let out = run(&env, &repo.work, args);
            assert_eq!(out.code, 3, "{args:?} with\n{text}\n{}", out.all());
            assert!(out.stderr.contains(shown), "{shown}:\n{}", out.stderr);
            assert!(out.stderr.contains(rule), "{rule}:\n{}", out.stderr);
        }
    }
}

#[test]
fn doctor_says_when_a_service_path_is_not_a_directory_at_head() {
    let env = TestEnv::new();
    let repo = repo(&env);
    let config = config_none(&["service-a", "service-b"])
        .replace("\"services/service-b\"", "\"services/nope\"");
    std::fs::write(repo.work.join("git-release.toml"), config).expect("config");
    env.git(
        &repo.work,
        &["commit", "-qam", "chore: point service-b nowhere"],
    );
    let out = run(&env, &repo.work, &["doctor", "--json"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let finding = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["check"] == "service service-b")
        .unwrap_or_else(|| panic!("no service finding: {json}"))
        .clone();
    assert_eq!(finding["status"], "fail");
    assert!(
        finding["detail"]
            .as_str()
            .is_some_and(|d| d.contains("services/nope") && d.contains("does not exist at HEAD")),
        "{finding}"
    );
    assert!(!out.stdout.contains("service service-a"), "{}", out.stdout);
}

#[test]
fn deploy_promote_and_status_show_hostile_input_escaped() {
    let env = TestEnv::new();
    let repo = repo(&env);
    env.git(&repo.work, &["tag", "-a", "-m", "r", "service-a-v1.0.0"]);

    let out = run(
        &env,
        &repo.work,
        &["deploy", "service-a", "--env", "st\x1b[2Jg"],
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("st\\x1b[2Jg"), "{}", out.stderr);

    let out = run(&env, &repo.work, &["promote", "x\u{202e}y\u{9b}"]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("x\\u{202e}y\\u{009b}"),
        "{}",
        out.stderr
    );

    // An unreleased version: the hint is a command that gives back exactly its words.
    let out = run(
        &env,
        &repo.work,
        &["deploy", "service-a", "--env", "stg", "--version", "9.9.9"],
    );
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(
        commands(&out.stderr, "git release service-a --set-version"),
        vec![argv(&[
            "git",
            "release",
            "service-a",
            "--set-version",
            "9.9.9",
            "--push"
        ])]
    );

    // A pin file written by someone else: the table escapes it, JSON keeps it exactly.
    let pinned = "evil\x1b[2J\u{202e}\u{9b}";
    std::fs::create_dir_all(repo.work.join("infra/stg")).expect("dir");
    std::fs::write(
        repo.work.join("infra/stg/service-a.auto.tfvars.json"),
        serde_json::json!({ "service_a_image_tag": pinned }).to_string(),
    )
    .expect("pin");
    let out = run(&env, &repo.work, &["status"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("evil\\x1b[2J\\u{202e}\\u{009b}"),
        "{}",
        out.stdout
    );
    let out = run(&env, &repo.work, &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(
        json["services"][0]["environments"]["stg"]["pinned"], pinned,
        "{}",
        out.stdout
    );
}

#[test]
fn command_line_errors_quote_arguments_escaped() {
    let env = TestEnv::new();
    let repo = repo(&env);
    // clap names the argument it refuses; in CI that is often a tag name. (clap strips
    // ANSI sequences itself, but not bidi or C1 controls.)
    for args in [
        &["check", "--x\x1b[2J\u{202e}\u{9b}"][..],
        &["service-a", "--bump", "\u{202e}major\u{9b}"],
    ] {
        let out = run(&env, &repo.work, args);
        assert_eq!(out.code, 2, "{args:?}\n{}", out.all());
        assert!(out.stderr.contains("\\u{202e}"), "{}", out.stderr);
    }
}
