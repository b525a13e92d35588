//! The docs' examples, run for real so they cannot rot.
//!
//! - Every ```toml block of docs/*.md parses with the real configuration parser (it is
//!   written as `git-release.toml` of a repository and `git release list` must accept it;
//!   a block without services gets one added).
//! - Every ```console block is a session: lines starting with `$ ` are commands, the lines
//!   after them are output. Commands run in order, per document, in a fresh demo
//!   repository (`DEMO_CONFIG`, services `service-a` and `service-b`, a bare `origin`).
//!   Each command must exit with the code written as `[exit N]` under it (0 when absent),
//!   and each output line shown must appear in what it printed (stdout or stderr); lines
//!   with `…` are elided output and are not compared.

use std::path::{Path, PathBuf};

use monorel_e2e::{Monorepo, TestEnv};

/// The demo repository's configuration; docs/guide.md shows it verbatim.
const DEMO_CONFIG: &str = r#"[registry]
kind = "none"          # the demo has no registry; yours says "ecr"

[services.service-a]
path = "services/service-a"

[services.service-b]
path = "services/service-b"

[environments.stg]
dir = "infra/stg"

[environments.prod]
dir = "infra/prod"
"#;

const DOCS: &[&str] = &["guide.md", "reference.md", "ci.md", "registry.md"];

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

fn read_doc(name: &str) -> String {
    let path = docs_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Returns the fenced blocks of `lang` in `text`, with the line each starts on.
fn blocks(text: &str, lang: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == format!("```{lang}") => {
                current = Some((number + 1, String::new()));
            }
            Some(_) if line.trim_start() == "```" => {
                found.extend(current.take());
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```{lang} block");
    found
}

#[test]
fn guide_shows_the_demo_configuration() {
    let guide = read_doc("guide.md");
    assert!(
        guide.contains(DEMO_CONFIG),
        "docs/guide.md must show the demo repository's git-release.toml verbatim:\n{DEMO_CONFIG}"
    );
}

#[test]
fn toml_blocks_parse_with_the_real_parser() {
    let env = TestEnv::new();
    let mut count = 0;
    for doc in DOCS {
        for (line, block) in blocks(&read_doc(doc), "toml") {
            count += 1;
            let mut config = block.clone();
            if !config.contains("[services.") {
                config.push_str("\n[services.service-a]\npath = \"services/service-a\"\n");
            }
            let name = format!("toml-{count}");
            let repo = env.monorepo(&name, &config, &["service-a"]);
            let run = env.run(&repo.work, &["list", "--json"]);
            assert!(
                run.success(),
                "docs/{doc}:{line}: the toml block does not parse:\n{block}\n{}",
                run.stderr
            );
        }
    }
    assert!(
        count >= 5,
        "expected the docs to show their configuration, found {count} toml blocks"
    );
}

/// Splits a documented command line into words; `"…"` groups words.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

struct Step {
    line: usize,
    command: String,
    output: Vec<String>,
    code: i32,
}

fn steps(doc: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for (start, block) in blocks(doc, "console") {
        for (offset, line) in block.lines().enumerate() {
            if let Some(command) = line.strip_prefix("$ ") {
                steps.push(Step {
                    line: start + offset + 1,
                    command: command.to_string(),
                    output: Vec::new(),
                    code: 0,
                });
                continue;
            }
            let step = steps.last_mut().unwrap_or_else(|| {
                panic!("console block at line {start} does not start with `$ `")
            });
            if let Some(code) = line
                .trim()
                .strip_prefix("[exit ")
                .and_then(|rest| rest.strip_suffix(']'))
            {
                step.code = code.parse().expect("[exit N] with a number");
            } else if !line.trim().is_empty() && !line.contains('…') {
                step.output.push(line.trim_end().to_string());
            }
        }
    }
    steps
}

fn run_step(env: &TestEnv, repo: &Monorepo, step: &Step) -> monorel_e2e::Run {
    let args = words(&step.command);
    if args.len() >= 2 && args[0] == "git" && args[1] == "release" {
        let rest: Vec<&str> = args[2..].iter().map(String::as_str).collect();
        env.run(&repo.work, &rest)
    } else {
        monorel_e2e::Run::from(
            env.command("sh", &repo.work)
                .args(["-c", &step.command])
                .output()
                .expect("run sh"),
        )
    }
}

#[test]
fn console_sessions_run_with_the_documented_exit_codes_and_output() {
    let mut total = 0;
    for doc in DOCS {
        let text = read_doc(doc);
        let steps = steps(&text);
        if steps.is_empty() {
            continue;
        }
        let env = TestEnv::new();
        let repo = env.monorepo("demo", DEMO_CONFIG, &["service-a", "service-b"]);
        for step in &steps {
            total += 1;
            let run = run_step(&env, &repo, step);
            let all = format!("{}{}", run.stdout, run.stderr);
            assert_eq!(
                run.code, step.code,
                "docs/{doc}:{}: `{}` exited {}, the docs say {}:\n{all}",
                step.line, step.command, run.code, step.code
            );
            let printed: Vec<&str> = all.lines().map(str::trim_end).collect();
            for expected in &step.output {
                assert!(
                    printed.contains(&expected.as_str()),
                    "docs/{doc}:{}: `{}` did not print the documented line\n  {expected}\nit printed:\n{all}",
                    step.line,
                    step.command
                );
            }
        }
    }
    assert!(
        total >= 10,
        "expected the docs to show their commands, found {total}"
    );
}

#[test]
fn words_split_like_a_shell_for_simple_quotes() {
    assert_eq!(
        words(r#"git release service-a -m "first cut" --yes"#),
        ["git", "release", "service-a", "-m", "first cut", "--yes"]
    );
}
