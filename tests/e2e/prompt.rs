//! The interactive prompt of `git release <service>`, driven through a real pseudo-terminal
//! (rexpect forks the binary onto a pty, so stdin and stderr are terminals).

use std::process::Stdio;

use monorel_e2e::{binary, config_none, Monorepo, TestEnv};
use rexpect::process::WaitStatus;
use rexpect::session::{spawn_command, PtySession};

/// Generous: the binary answers in milliseconds, this only bounds a hang.
const TIMEOUT_MS: u64 = 30_000;

/// service-a released as 1.2.3, then a `feat:` commit: the suggestion is minor → 1.3.0.
fn repo_with_a_feature(env: &TestEnv) -> Monorepo {
    let repo = env.monorepo(
        "mono",
        &config_none(&["service-a", "service-b"]),
        &["service-a", "service-b"],
    );
    env.git(
        &repo.work,
        &["tag", "-a", "-m", "1.2.3", "service-a-v1.2.3"],
    );
    env.commit_to(&repo, "service-a", "app.txt", "feat: add an endpoint");
    env.commit_to(&repo, "service-b", "b.txt", "fix: not service-a");
    repo
}

/// Starts `git-release args…` on a pseudo-terminal.
fn spawn(env: &TestEnv, repo: &Monorepo, args: &[&str]) -> PtySession {
    let mut cmd = env.command(binary(), &repo.work);
    // `env.command` sets stdin to /dev/null; the child must keep the pty rexpect gives it.
    cmd.args(args)
        .env("TERM", "xterm")
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn git-release on a pty")
}

/// Sends raw key bytes (no newline) and flushes them to the terminal.
fn keys(session: &mut PtySession, bytes: &str) {
    session.send(bytes).expect("send keys");
    session.flush().expect("flush keys");
}

/// Reads everything up to the end of the output and returns how the process ended.
fn finish(session: &mut PtySession) -> (String, WaitStatus) {
    let rest = session.exp_eof().expect("output ends");
    let status = session.process().wait().expect("wait");
    (rest, status)
}

fn exited(status: WaitStatus, code: i32) -> bool {
    matches!(status, WaitStatus::Exited(_, c) if c == code)
}

fn tags(env: &TestEnv, repo: &Monorepo) -> String {
    env.git(&repo.work, &["tag", "-l"])
}

#[test]
fn enter_picks_the_suggestion() {
    let env = TestEnv::new();
    let repo = repo_with_a_feature(&env);
    let mut s = spawn(&env, &repo, &["service-a", "--offline"]);
    // The commits since the release that touched the service are shown, others are not.
    s.exp_string("feat: add an endpoint").expect("commit list");
    let shown = s.exp_string("Next version of service-a").expect("prompt");
    assert!(!shown.contains("not service-a"), "{shown}");
    // The pre-selected item is the conventional-commit suggestion.
    s.exp_string("> minor       1.3.0  (suggested by the commits)")
        .expect("minor is pre-selected");
    keys(&mut s, "\r");
    s.exp_string("Create service-a-v1.3.0 on").expect("confirm");
    keys(&mut s, "y");
    let (rest, status) = finish(&mut s);
    assert!(exited(status, 0), "{status:?}\n{rest}");
    assert!(rest.contains("created service-a-v1.3.0"), "{rest}");
    assert_eq!(
        env.git(&repo.work, &["cat-file", "-t", "service-a-v1.3.0"]),
        "tag"
    );
}

#[test]
fn arrows_pick_another_bump() {
    let env = TestEnv::new();
    let repo = repo_with_a_feature(&env);
    let mut s = spawn(&env, &repo, &["service-a", "--offline"]);
    s.exp_string("> minor").expect("minor is pre-selected");
    // 1.2.3 is not a pre-release, so the list is major, minor, patch.
    keys(&mut s, "\x1b[B");
    s.exp_string("> patch").expect("patch selected");
    keys(&mut s, "\x1b[A");
    s.exp_string("> minor").expect("minor selected again");
    keys(&mut s, "\x1b[A");
    s.exp_string("> major").expect("major selected");
    keys(&mut s, "\r");
    s.exp_string("Create service-a-v2.0.0 on").expect("confirm");
    // Enter takes the confirmation's default (yes).
    keys(&mut s, "\r");
    let (rest, status) = finish(&mut s);
    assert!(exited(status, 0), "{status:?}\n{rest}");
    assert_eq!(tags(&env, &repo), "service-a-v1.2.3\nservice-a-v2.0.0");
}

#[test]
fn answering_no_to_the_confirmation_creates_nothing() {
    let env = TestEnv::new();
    let repo = repo_with_a_feature(&env);
    let mut s = spawn(&env, &repo, &["service-a", "--offline", "--bump", "patch"]);
    // With --bump there is no list, only the confirmation.
    s.exp_string("Create service-a-v1.2.4 on").expect("confirm");
    keys(&mut s, "n");
    let (rest, status) = finish(&mut s);
    assert!(exited(status, 130), "{status:?}\n{rest}");
    assert!(rest.contains("nothing was created"), "{rest}");
    assert_eq!(tags(&env, &repo), "service-a-v1.2.3");
}

#[test]
fn yes_skips_the_confirmation() {
    let env = TestEnv::new();
    let repo = repo_with_a_feature(&env);
    let mut s = spawn(&env, &repo, &["service-a", "--offline", "--yes"]);
    s.exp_string("> minor").expect("prompt");
    keys(&mut s, "\r");
    let (rest, status) = finish(&mut s);
    assert!(exited(status, 0), "{status:?}\n{rest}");
    assert!(!rest.contains("Create service-a"), "{rest}");
    assert_eq!(tags(&env, &repo), "service-a-v1.2.3\nservice-a-v1.3.0");
}

#[test]
fn ctrl_c_in_the_list_creates_nothing() {
    let env = TestEnv::new();
    let repo = repo_with_a_feature(&env);
    let mut s = spawn(&env, &repo, &["service-a", "--offline"]);
    let mut seen = s.exp_string("> minor").expect("prompt");
    s.send_control('c').expect("ctrl-c");
    let (rest, status) = finish(&mut s);
    seen.push_str(&rest);
    assert!(exited(status, 130), "{status:?}\n{rest}");
    assert_eq!(tags(&env, &repo), "service-a-v1.2.3");
    // The list hides the cursor while it draws; an interrupt must not leave it hidden.
    assert!(cursor_visible_at_end(&seen), "{seen:?}");
}

/// Whether the last cursor-visibility sequence in `output` shows the cursor (or none hid it).
fn cursor_visible_at_end(output: &str) -> bool {
    let hidden = output.rfind("\x1b[?25l");
    let shown = output.rfind("\x1b[?25h");
    match (hidden, shown) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(h), Some(s)) => s > h,
    }
}

#[test]
fn ctrl_c_at_the_confirmation_creates_nothing() {
    let env = TestEnv::new();
    let repo = repo_with_a_feature(&env);
    let mut s = spawn(&env, &repo, &["service-a", "--offline", "--push"]);
    s.exp_string("> minor").expect("prompt");
    keys(&mut s, "\r");
    let mut seen = s.exp_string("and push it to origin?").expect("confirm");
    s.send_control('c').expect("ctrl-c");
    let (rest, status) = finish(&mut s);
    seen.push_str(&rest);
    assert!(cursor_visible_at_end(&seen), "{seen:?}");
    assert!(exited(status, 130), "{status:?}\n{rest}");
    assert_eq!(tags(&env, &repo), "service-a-v1.2.3");
    assert!(monorel_e2e::remote_tags(&env, &repo.bare).is_empty());
}

#[test]
fn escape_cancels_with_130() {
    let env = TestEnv::new();
    let repo = repo_with_a_feature(&env);
    let mut s = spawn(&env, &repo, &["service-a", "--offline"]);
    s.exp_string("> minor").expect("prompt");
    keys(&mut s, "\x1b");
    let (rest, status) = finish(&mut s);
    assert!(exited(status, 130), "{status:?}\n{rest}");
    assert!(
        rest.contains("error: cancelled; nothing was created"),
        "{rest}"
    );
    assert_eq!(tags(&env, &repo), "service-a-v1.2.3");
}

#[test]
fn q_cancels_with_130() {
    let env = TestEnv::new();
    let repo = repo_with_a_feature(&env);
    let mut s = spawn(&env, &repo, &["service-a", "--offline"]);
    s.exp_string("> minor").expect("prompt");
    keys(&mut s, "q");
    let (rest, status) = finish(&mut s);
    assert!(exited(status, 130), "{status:?}\n{rest}");
    assert_eq!(tags(&env, &repo), "service-a-v1.2.3");
}

#[test]
fn a_prerelease_suggests_the_next_prerelease() {
    let env = TestEnv::new();
    let repo = repo_with_a_feature(&env);
    env.git(
        &repo.work,
        &["tag", "-a", "-m", "rc", "service-a-v2.0.0-rc.1"],
    );
    env.commit_to(&repo, "service-a", "app.txt", "fix: rc feedback");
    let mut s = spawn(&env, &repo, &["service-a", "--offline", "--yes"]);
    s.exp_string("service-a is at service-a-v2.0.0-rc.1")
        .expect("current");
    s.exp_string("> prerelease  2.0.0-rc.2  (suggested by the commits)")
        .expect("prerelease is pre-selected");
    keys(&mut s, "\r");
    let (rest, status) = finish(&mut s);
    assert!(exited(status, 0), "{status:?}\n{rest}");
    assert!(tags(&env, &repo).contains("service-a-v2.0.0-rc.2"));
}

#[test]
fn escape_sequences_in_subjects_do_not_reach_the_terminal() {
    let env = TestEnv::new();
    let repo = repo_with_a_feature(&env);
    env.commit_to(
        &repo,
        "service-a",
        "app.txt",
        "fix: \x1b]0;pwned\x07\x1b[31mred",
    );
    let mut s = spawn(&env, &repo, &["service-a", "--offline"]);
    let shown = s.exp_string("Next version of service-a").expect("prompt");
    // rexpect decodes byte by byte, so the replacement character arrives as three chars;
    // what matters is that the subject is there and none of its control bytes are.
    assert!(shown.contains("]0;pwned"), "{shown:?}");
    assert!(shown.contains("[31mred"), "{shown:?}");
    assert!(!shown.contains("\x1b]0;pwned"), "{shown:?}");
    assert!(!shown.contains('\x07'), "{shown:?}");
    assert!(!shown.contains("\x1b[31mred"), "{shown:?}");
    keys(&mut s, "q");
    let (rest, status) = finish(&mut s);
    assert!(exited(status, 130), "{status:?}\n{rest}");
}

#[test]
fn a_first_release_lists_the_initial_version_once() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config_none(&["service-a"]), &["service-a"]);
    env.commit_to(&repo, "service-a", "app.txt", "feat: first feature");
    let mut s = spawn(&env, &repo, &["service-a", "--offline"]);
    s.exp_string("service-a has no release yet").expect("intro");
    s.exp_string("Next version of service-a").expect("prompt");
    // Without de-duplication major 0.1.0 would come before and patch 0.1.0 after.
    let before = s
        .exp_string("> minor       0.1.0  (suggested by the commits)\r\n")
        .expect("the suggestion");
    assert!(!before.contains("0.1.0"), "{before:?}");
    keys(&mut s, "q");
    let (rest, status) = finish(&mut s);
    assert!(exited(status, 130), "{status:?}\n{rest}");
    assert!(!rest.contains("0.1.0"), "{rest:?}");
}

#[test]
fn a_prereleases_own_version_is_listed_once_as_release() {
    let env = TestEnv::new();
    let repo = repo_with_a_feature(&env);
    env.git(
        &repo.work,
        &["tag", "-a", "-m", "rc", "service-a-v2.0.0-rc.1"],
    );
    env.commit_to(&repo, "service-a", "app.txt", "fix: rc feedback");
    let mut s = spawn(&env, &repo, &["service-a", "--offline", "--yes"]);
    s.exp_string("Next version of service-a").expect("prompt");
    let list = s
        .exp_string("> prerelease  2.0.0-rc.2  (suggested by the commits)\r\n")
        .expect("the suggestion");
    // major, minor, patch and release of 2.0.0-rc.1 all give 2.0.0: listed once.
    assert_eq!(list.matches("2.0.0\r\n").count(), 1, "{list:?}");
    assert!(list.contains("  release     2.0.0\r\n"), "{list:?}");
    keys(&mut s, "\x1b[A");
    s.exp_string("> release").expect("release selected");
    keys(&mut s, "\r");
    let (rest, status) = finish(&mut s);
    assert!(exited(status, 0), "{status:?}\n{rest}");
    assert!(rest.contains("created service-a-v2.0.0 "), "{rest}");
}

#[test]
fn json_on_a_terminal_does_not_prompt() {
    let env = TestEnv::new();
    let repo = repo_with_a_feature(&env);
    let mut s = spawn(&env, &repo, &["service-a", "--offline", "--json"]);
    let (rest, status) = finish(&mut s);
    assert!(exited(status, 2), "{status:?}\n{rest}");
    assert!(
        rest.contains("error: no --bump given and --json does not prompt"),
        "{rest}"
    );
    assert!(rest.contains("--bump minor"), "{rest}");
    assert_eq!(tags(&env, &repo), "service-a-v1.2.3");
}

/// With nothing to release the prompt suggests nothing: it says "no changes since <tag>"
/// and refuses before the menu (no bump would be allowed).
#[test]
fn no_changes_since_the_release_is_said_instead_of_a_suggestion() {
    let env = TestEnv::new();
    let repo = repo_with_a_feature(&env);
    env.git(
        &repo.work,
        &["tag", "-a", "-m", "1.3.0", "service-a-v1.3.0"],
    );
    env.commit_to(&repo, "service-b", "b.txt", "fix: only b");
    let mut s = spawn(&env, &repo, &["service-a", "--offline"]);
    s.exp_string("service-a is at service-a-v1.3.0; no changes since service-a-v1.3.0")
        .expect("no changes");
    let (rest, status) = finish(&mut s);
    assert!(exited(status, 1), "{status:?}\n{rest}");
    assert!(rest.contains("nothing to release"), "{rest}");
    assert!(!rest.contains("suggested by the commits"), "{rest}");
    assert!(!rest.contains("Next version"), "{rest}");
    assert_eq!(tags(&env, &repo), "service-a-v1.2.3\nservice-a-v1.3.0");
}

/// A pre-release with no changes since can still be finalised: the menu offers only that,
/// with no suggestion mark.
#[test]
fn an_unchanged_prerelease_offers_only_its_finalisation() {
    let env = TestEnv::new();
    let repo = repo_with_a_feature(&env);
    env.git(
        &repo.work,
        &["tag", "-a", "-m", "rc", "service-a-v2.0.0-rc.1"],
    );
    let mut s = spawn(&env, &repo, &["service-a", "--offline", "--yes"]);
    s.exp_string("no changes since service-a-v2.0.0-rc.1")
        .expect("no changes");
    let shown = s
        .exp_string("> release     2.0.0")
        .expect("only the release");
    assert!(!shown.contains("prerelease"), "{shown}");
    keys(&mut s, "\r");
    let (rest, status) = finish(&mut s);
    assert!(exited(status, 0), "{status:?}\n{rest}");
    assert!(!rest.contains("suggested by the commits"), "{rest}");
    assert!(!rest.contains("2.0.0-rc.2"), "{rest}");
    assert!(
        tags(&env, &repo).contains("service-a-v2.0.0\n")
            || tags(&env, &repo).ends_with("service-a-v2.0.0")
    );
}
