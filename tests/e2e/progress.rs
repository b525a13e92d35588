//! Progress on a real pseudo-terminal: the spinner of a live ECS deploy and of `check`,
//! what replaces it in CI and on a dumb terminal, `--json` typed on a terminal, hostile
//! names in the spinner, and a terminal closed while a deploy waits.
//!
//! moto does not roll anything out: `UpdateService` leaves the service's one deployment
//! on the old revision (FACTS.md), so a followed rollout would wait until `--timeout`.
//! These tests play ECS's part through the real API instead: once the deploy shows that
//! it is waiting, they create the service again on the new revision, which gives it one
//! PRIMARY deployment of that revision, COMPLETED (`MOTO_ECS_SERVICE_RUNNING` covers the
//! desired count). The next poll, 5 s later, sees the rollout done. The rollout logic
//! itself is tested on recorded answers in `monorel-core` (`deploy/rollout.rs`).

use std::process::Command;
use std::time::Duration;

use monorel_e2e::moto::{all_ok as ok, docker_manifest, Moto};
use monorel_e2e::proxy::Fault;
use monorel_e2e::pty::{self, Detached};
use monorel_e2e::world::MotoWorld;
use monorel_e2e::{binary, Monorepo, TestEnv};
use rexpect::process::WaitStatus;
use rexpect::session::PtySession;
use serde_json::json;

use crate::live::seeded;

/// The default spinner's frames (indicatif's braille ticks).
const FRAMES: &str = "⠁⠂⠄⡀⢀⠠⠐⠈";

/// The lines a deploy to `stg` shows, in order, before its result.
const STEPS: [&str; 6] = [
    "reading ECS service `web` in cluster `main` (us-east-1)",
    "registering a revision of web with 123456789012.dkr.ecr.us-east-1.amazonaws.com/web-image@sha256:",
    "updating ECS service `web` in cluster `main` to web:2",
    "following the rollout of web:2",
    "rollout: 0 running, 0 pending of 1 desired; WAITING",
    "rollout: 1 running, 0 pending of 1 desired; COMPLETED",
];

/// The live world of `live.rs` with web-v0.1.0 promoted, so it can be deployed.
fn promoted() -> (Moto, TestEnv, Monorepo) {
    let (moto, env, repo, _) = seeded();
    moto.put_image("web-image", "web-v0.1.0", &docker_manifest("web"));
    (moto, env, repo)
}

/// `git release deploy web --env <env> --timeout 60s <extra…>` in the world's repository.
fn deploy(env: &TestEnv, repo: &Monorepo, target: &str, extra: &[&str]) -> Command {
    let mut cmd = env.command(binary(), &repo.work);
    cmd.args(["deploy", "web", "--env", target, "--timeout", "60s"])
        .args(extra);
    cmd
}

/// Plays ECS: the service in cluster `main` now runs web:2 everywhere (see the module
/// header for why the service is created again).
fn roll_out(moto: &Moto) {
    ok(moto.ecr(&[(
        "ecs.create_service",
        json!({"cluster": "main", "serviceName": "web", "taskDefinition": "web:2", "desiredCount": 1}),
    )]));
}

/// Waits until the deploy on `session` shows that it is waiting for the rollout, rolls
/// it out, and returns everything the terminal got (decoded) and how the command ended.
fn deploy_through_rollout(moto: &Moto, session: &mut PtySession) -> (String, WaitStatus) {
    let needle = "rollout: ";
    let before = session
        .exp_string(needle)
        .expect("the deploy shows that it follows the rollout");
    roll_out(moto);
    let rest = session.exp_eof().expect("the deploy ends");
    let status = session.process().wait().expect("wait");
    (pty::decode(&format!("{before}{needle}{rest}")), status)
}

fn exited(status: WaitStatus, code: i32) -> bool {
    matches!(status, WaitStatus::Exited(_, c) if c == code)
}

/// Asserts that each of `needles` occurs in `text`, in this order.
#[track_caller]
fn assert_in_order(text: &str, needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        match text[from..].find(needle) {
            Some(at) => from += at + needle.len(),
            None => panic!("{needle:?} missing or out of order in:\n{text}"),
        }
    }
}

/// Asserts that the final screen shows the deploy's result and no trace of the spinner.
#[track_caller]
fn assert_clean_result(output: &str) {
    let screen = pty::screen(output);
    assert!(
        screen
            .first()
            .is_some_and(|l| l.starts_with("deployed web-v0.1.0 to stg: ECS service `web` in cluster `main` (us-east-1) rolled out to web:2")),
        "the result is the first line left on the screen: {screen:#?}"
    );
    for line in &screen {
        assert!(
            !line.contains("rollout:") && !line.contains(|c| FRAMES.contains(c)),
            "a spinner frame was left on the screen: {screen:#?}"
        );
    }
}

#[test]
fn an_ecs_deploy_on_a_terminal_shows_its_steps_in_a_spinner_and_clears_it() {
    let (moto, env, repo) = promoted();
    let mut session = pty::spawn(deploy(&env, &repo, "stg", &[]));
    let (output, status) = deploy_through_rollout(&moto, &mut session);
    assert!(exited(status, 0), "{status:?}\n{output}");
    // Every step was drawn in the spinner (indicatif's first draws are not rate-limited),
    // and the spinner turned while the rollout was waited for.
    assert_in_order(&output, &STEPS[..5]);
    assert!(pty::redraws(&output), "no spinner: {output:?}");
    assert!(
        output.contains(|c| FRAMES.contains(c)),
        "no spinner frame: {output:?}"
    );
    assert_clean_result(&output);
    // On a terminal without NO_COLOR the result is styled.
    assert!(pty::styled(&output), "{output:?}");
}

#[test]
fn no_color_turns_colour_off_but_keeps_the_spinner() {
    let (moto, env, repo) = promoted();
    let mut cmd = deploy(&env, &repo, "stg", &[]);
    cmd.env("TERM", "xterm").env("NO_COLOR", "1");
    let mut session = spawn_keeping(cmd);
    let (output, status) = deploy_through_rollout(&moto, &mut session);
    assert!(exited(status, 0), "{status:?}\n{output}");
    // The spinner has no colour, so NO_COLOR leaves it (as cargo and uv do); nothing
    // on the screen is styled.
    assert!(pty::redraws(&output), "no spinner: {output:?}");
    assert!(
        !pty::styled(&output),
        "a colour despite NO_COLOR: {output:?}"
    );
    assert_clean_result(&output);
}

/// Spawns `cmd` on a pty as [`pty::spawn`] does, but keeping its `NO_COLOR`, `CI` and
/// `TERM`.
fn spawn_keeping(mut cmd: Command) -> PtySession {
    use std::process::Stdio;
    cmd.stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    rexpect::session::spawn_command(cmd, Some(pty::TIMEOUT_MS)).expect("spawn on a pty")
}

/// A deploy on a terminal that must not redraw shows one line per change, in order, and
/// then its result.
fn assert_one_line_per_change(key: &str, value: &str) {
    let (moto, env, repo) = promoted();
    let mut cmd = deploy(&env, &repo, "stg", &[]);
    cmd.env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env(key, value);
    let mut session = spawn_keeping(cmd);
    let (output, status) = deploy_through_rollout(&moto, &mut session);
    assert!(exited(status, 0), "{status:?}\n{output}");
    assert!(
        !pty::redraws(&output),
        "{key}={value}: redraws in {output:?}"
    );
    assert!(
        !output.contains(|c| FRAMES.contains(c)),
        "{key}={value}: a spinner frame in {output:?}"
    );
    let screen = pty::screen(&output);
    let mut expected: Vec<&str> = STEPS.to_vec();
    expected.push(
        "deployed web-v0.1.0 to stg: ECS service `web` in cluster `main` (us-east-1) rolled out to web:2",
    );
    assert_eq!(screen.len(), expected.len() + 3, "{screen:#?}");
    for (line, step) in screen.iter().zip(&expected) {
        assert!(
            line.starts_with(step),
            "{line:?} is not {step:?}: {screen:#?}"
        );
    }
}

#[test]
fn ci_on_a_terminal_gets_one_line_per_change() {
    assert_one_line_per_change("CI", "true");
}

#[test]
fn a_dumb_terminal_gets_one_line_per_change() {
    assert_one_line_per_change("TERM", "dumb");
}

#[test]
fn json_typed_on_a_terminal_keeps_stdout_pure_and_draws_no_spinner() {
    let (moto, env, repo) = promoted();
    let out = env.path().join("out.json");
    let file = std::fs::File::create(&out).expect("out.json");
    let mut session = pty::spawn_with_stdout(deploy(&env, &repo, "stg", &["--json"]), file.into());
    let (output, status) = deploy_through_rollout(&moto, &mut session);
    assert!(exited(status, 0), "{status:?}\n{output}");
    // stdout is the JSON and nothing else.
    let text = std::fs::read_to_string(&out).expect("read out.json");
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    assert_eq!(json["service"], "web", "{json}");
    assert_eq!(json["env"], "stg", "{json}");
    assert_eq!(json["tag"], "web-v0.1.0", "{json}");
    assert_eq!(json["changed"], true, "{json}");
    assert_eq!(json["waited"], true, "{json}");
    // The terminal (stderr) got the steps as plain lines: with --json no spinner is drawn.
    assert!(!pty::redraws(&output), "redraws in {output:?}");
    assert_in_order(&output, &STEPS);
    assert!(!output.contains('{'), "JSON on the terminal: {output:?}");
}

#[test]
fn a_hostile_cluster_name_is_shown_escaped_in_the_spinner() {
    let (_moto, env, repo) = promoted();
    let file = repo.work.join("git-release.toml");
    let mut config = std::fs::read_to_string(&file).expect("config");
    // An OSC that would retitle the window, a bell, and a C1 CSI that would clear it.
    config.push_str(
        "\n[environments.evil]\nkind = \"ecs\"\ncluster = \"x\\u001b]0;pwned\\u0007y\\u009b2J\"\n",
    );
    std::fs::write(&file, config).expect("config");
    let mut session = pty::spawn(deploy(&env, &repo, "evil", &[]));
    let output = pty::decode(&session.exp_eof().expect("the deploy ends"));
    let status = session.process().wait().expect("wait");
    assert!(!exited(status, 0), "{status:?}\n{output}");
    assert!(
        output.contains("reading ECS service `web` in cluster `x\\x1b]0;pwned\\x07y\\u{009b}2J`"),
        "{output:?}"
    );
    for raw in ["\x1b]0;pwned", "\u{7}", "\u{9b}"] {
        assert!(
            !output.contains(raw),
            "raw {raw:?} on the terminal: {output:?}"
        );
    }
}

/// A terminal closed while the deploy waits (the command does not get SIGHUP, as under
/// `nohup`): writing to it fails from then on, and the deploy still ends with its own
/// outcome, not a panic (exit 101).
#[test]
fn a_terminal_closed_mid_deploy_does_not_make_it_panic() {
    let (_moto, env, repo) = promoted();
    let mut cmd = env.command(binary(), &repo.work);
    // Nothing rolls out: the deploy times out after the terminal is gone (exit 7).
    cmd.args(["deploy", "web", "--env", "stg", "--timeout", "6s"]);
    let mut deploy = Detached::spawn(cmd);
    deploy.expect("rollout: ");
    deploy.close();
    let status = deploy.wait(Duration::from_secs(60));
    assert_eq!(status.code(), Some(7), "{status:?}");
}

/// A world with service-a's image for HEAD in ECR, its release tag, and a proxy a second
/// away from moto (so a spinner has time to turn); returns the world, the image digest
/// and the proxy.
fn registry_a_second_away(name: &str) -> (MotoWorld, String, monorel_e2e::proxy::Proxy) {
    let config = "[registry]\nregion = \"us-east-1\"\n\n[services.service-a]\npath = \"services/service-a\"\n";
    let w = MotoWorld::new(Moto::start(), config, &["service-a"]);
    w.moto.create_repositories(&["service-a-image"], true);
    let digest = w
        .moto
        .put_image("service-a-image", &w.head(), &docker_manifest(name));
    w.run(&["install"]).ok();
    w.tag("service-a-v1.0.0");
    let proxy = w.proxy(Fault::DelayMs(1000));
    (w, digest, proxy)
}

/// Runs `cmd` on a pty to its end and asserts what the user saw: exit 0, the artifact
/// check under a redrawn spinner, and a final screen with the verdict for `digest` and no
/// spinner frame left.
#[track_caller]
fn assert_spinner_then_verdict(cmd: Command, digest: &str) {
    let mut session = pty::spawn(cmd);
    let output = pty::decode(&session.exp_eof().expect("the command ends"));
    let status = session.process().wait().expect("wait");
    assert!(exited(status, 0), "{status:?}\n{output}");
    assert!(
        output.contains("checking 1 artifact(s) in ECR"),
        "{output:?}"
    );
    assert!(pty::redraws(&output), "no spinner: {output:?}");
    let screen = pty::screen(&output);
    assert!(
        screen
            .iter()
            .any(|l| l.contains("service-a-v1.0.0") && l.contains(digest)),
        "the verdict stays on the screen: {screen:#?}"
    );
    for line in &screen {
        assert!(
            !line.contains("checking") && !line.contains(|c| FRAMES.contains(c)),
            "a spinner frame was left on the screen: {screen:#?}"
        );
    }
}

/// `check` asks the registry under a spinner, then prints the verdict on a clean screen.
#[test]
fn check_on_a_terminal_shows_a_spinner_then_the_verdict() {
    let (w, digest, proxy) = registry_a_second_away("check");
    let mut cmd = w.env.command(binary(), &w.repo.work);
    cmd.env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .args(["check", "service-a-v1.0.0"]);
    assert_spinner_then_verdict(cmd, &digest);
}

/// Ctrl-C while the rollout is followed: the spinner goes, one error says which step was
/// interrupted and how to see what runs, and the exit code is 130 (cancelled).
#[test]
fn ctrl_c_mid_deploy_clears_the_spinner_and_says_how_far_it_got() {
    let (_moto, env, repo) = promoted();
    let mut session = pty::spawn(deploy(&env, &repo, "stg", &[]));
    let before = session
        .exp_string("rollout: ")
        .expect("the deploy follows the rollout");
    session.send("\x03").expect("ctrl-c");
    session.flush().expect("flush");
    let rest = session.exp_eof().expect("the deploy ends");
    let status = session.process().wait().expect("wait");
    let output = pty::decode(&format!("{before}rollout: {rest}"));
    assert!(exited(status, 130), "{status:?}\n{output}");
    let screen = pty::screen(&output);
    assert_eq!(
        screen,
        [
            "error: interrupted while following the rollout of web:2".to_string(),
            "hint: what was sent to AWS stays sent; see what runs with `git release status`"
                .to_string(),
        ],
        "{output:?}"
    );
}

/// A Lambda deploy on a terminal: its steps in the spinner, then only the result.
#[test]
fn a_lambda_deploy_on_a_terminal_shows_its_steps_and_clears_the_spinner() {
    let (_moto, env, repo) = promoted();
    let mut session = pty::spawn(deploy(&env, &repo, "fn", &[]));
    let output = pty::decode(&session.exp_eof().expect("the deploy ends"));
    let status = session.process().wait().expect("wait");
    assert!(exited(status, 0), "{status:?}\n{output}");
    assert_in_order(
        &output,
        &[
            "reading Lambda function `web-fn`",
            "publishing 123456789012.dkr.ecr.us-east-1.amazonaws.com/web-image@sha256:",
            "moving alias live to version 2",
        ],
    );
    assert!(pty::redraws(&output), "no spinner: {output:?}");
    let screen = pty::screen(&output);
    assert!(
        screen
            .first()
            .is_some_and(|l| l.starts_with("deployed web-v0.1.0 to fn: ")),
        "the result is the first line left on the screen: {screen:#?}"
    );
    for line in &screen {
        assert!(
            !line.contains(|c| FRAMES.contains(c)) && !line.contains("moving alias"),
            "a spinner frame was left on the screen: {screen:#?}"
        );
    }
}

/// Every command given `--json` draws no spinner, even on a terminal and with the store
/// a second away: its reader is a program (here `check` and `status`).
#[test]
fn json_commands_on_a_terminal_draw_no_spinner() {
    let (w, digest, proxy) = registry_a_second_away("json");
    for args in [
        &["check", "service-a-v1.0.0", "--json"][..],
        &["promote", "service-a-v1.0.0", "--json"],
    ] {
        let mut cmd = w.env.command(binary(), &w.repo.work);
        cmd.env("AWS_ENDPOINT_URL", &proxy.endpoint).args(args);
        let mut session = pty::spawn(cmd);
        let output = pty::decode(&session.exp_eof().expect("the command ends"));
        let status = session.process().wait().expect("wait");
        assert!(exited(status, 0), "{args:?}: {status:?}\n{output}");
        assert!(
            !pty::redraws(&output),
            "{args:?} drew a spinner: {output:?}"
        );
        let json: serde_json::Value = serde_json::from_str(&output.replace("\r\n", "\n"))
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {output:?}"));
        assert!(json.to_string().contains(&digest), "{args:?}: {json}");
    }
}

/// `git push` of a release tag from a terminal: the pre-push hook asks the registry under
/// a spinner (git hands the hook its terminal), then its verdict stays and the push goes.
#[test]
fn the_hook_on_a_terminal_shows_a_spinner_then_the_verdict() {
    let (w, digest, proxy) = registry_a_second_away("hook");
    let mut cmd = w.env.command("git", &w.repo.work);
    cmd.env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .args(["push", "origin", "service-a-v1.0.0"]);
    assert_spinner_then_verdict(cmd, &digest);
    let pushed = monorel_e2e::remote_tags(&w.env, &w.repo.bare);
    assert!(
        pushed.len() == 1 && pushed[0].starts_with("service-a-v1.0.0 "),
        "{pushed:?}"
    );
}
