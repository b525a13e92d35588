//! Every file git-release writes (pins, `init`, the hook) is written safely: under a
//! `.lock`, renamed into place with its mode kept, never through a link out of the
//! repository, and a failing disk is an ordinary error that leaves the original intact.
//! End to end through the real binary, real git, and real concurrent processes.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use monorel_e2e::{binary, config_none, Monorepo, Run, TestEnv};

const ENVS: &str = "\n[environments.stg]\ndir = \"infra/stg\"\n\n[environments.prod]\ndir = \"infra/prod\"\nfile = \"terraform.tfvars\"\n";

fn config(services: &[&str]) -> String {
    format!("{}{ENVS}", config_none(services))
}

fn released(env: &TestEnv, services: &[&str], config: &str) -> Monorepo {
    let repo = env.monorepo("mono", config, services);
    for service in services {
        env.run(
            &repo.work,
            &[service, "--bump", "minor", "--push", "--yes", "--offline"],
        )
        .ok();
    }
    repo
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("meta").permissions().mode() & 0o7777
}

fn assert_no_panic(run: &Run) {
    assert!(
        !run.stderr.contains("panicked") && run.code != 101,
        "{}",
        run.stderr
    );
}

/// The `.lock` and temporary files a write might leave in `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".lock") || n.contains("tmp"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn pins_are_never_written_through_a_link_out_of_the_repository() {
    let env = TestEnv::new();
    let repo = released(&env, &["service-a"], &config(&["service-a"]));
    let outside = env.path().join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("victim.json"), "{\"precious\": \"yes\"}\n").expect("write");

    // The pin file is a link to a file outside.
    let stg = repo.work.join("infra/stg");
    std::fs::create_dir_all(&stg).expect("mkdir");
    let pin = stg.join("service-a.auto.tfvars.json");
    symlink(outside.join("victim.json"), &pin).expect("link");
    let run = env
        .run(&repo.work, &["deploy", "service-a", "--env", "stg"])
        .expect_code(1);
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("leads outside") && run.stderr.contains("symbolic link"),
        "{}",
        run.stderr
    );
    assert_eq!(
        read(&outside.join("victim.json")),
        "{\"precious\": \"yes\"}\n"
    );

    // The environment's directory is a link to a directory outside.
    symlink(&outside, repo.work.join("infra/prod")).expect("link");
    let run = env
        .run(&repo.work, &["deploy", "service-a", "--env", "prod"])
        .expect_code(1);
    assert!(run.stderr.contains("leads outside"), "{}", run.stderr);
    assert!(!outside.join("terraform.tfvars").exists());

    // `status` does not read through the link either.
    let status = env.run(&repo.work, &["status", "--json"]);
    assert_no_panic(&status);
    assert!(!status.stdout.contains("precious"), "{}", status.stdout);

    // A link that stays inside the repository is followed: its target is replaced and
    // the link stays a link.
    std::fs::remove_file(&pin).expect("rm");
    std::fs::create_dir_all(repo.work.join("infra/shared")).expect("mkdir");
    std::fs::write(repo.work.join("infra/shared/pins.json"), "{}\n").expect("write");
    symlink("../shared/pins.json", &pin).expect("link");
    env.run(&repo.work, &["deploy", "service-a", "--env", "stg"])
        .ok();
    assert!(std::fs::symlink_metadata(&pin)
        .expect("meta")
        .file_type()
        .is_symlink());
    assert_eq!(
        read(&repo.work.join("infra/shared/pins.json")),
        "{\n  \"service_a_image_tag\": \"service-a-v0.1.0\"\n}\n"
    );
    assert!(leftovers(&stg).is_empty() && leftovers(&repo.work.join("infra/shared")).is_empty());
}

#[test]
fn init_never_creates_or_overwrites_a_file_through_a_link() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config(&["service-a"]), &["service-a"]);
    let outside = env.path().join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    let toml = repo.work.join("git-release.toml");
    let kept = read(&toml);

    // A dangling link: following it would create a file outside.
    std::fs::remove_file(&toml).expect("rm");
    symlink(outside.join("planted.toml"), &toml).expect("link");
    let run = env.run(&repo.work, &["init"]).expect_code(1);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert!(!outside.join("planted.toml").exists());
    let run = env.run(&repo.work, &["init", "--force"]).expect_code(1);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert!(!outside.join("planted.toml").exists());

    // A link to an existing file, inside or outside: --force does not write through it.
    std::fs::write(outside.join("mine.toml"), "# mine\n").expect("write");
    std::fs::remove_file(&toml).expect("rm");
    symlink(outside.join("mine.toml"), &toml).expect("link");
    env.run(&repo.work, &["init", "--force"]).expect_code(1);
    assert_eq!(read(&outside.join("mine.toml")), "# mine\n");

    // `init --ci github`: neither a linked workflow nor a linked directory.
    std::fs::remove_file(&toml).expect("rm");
    std::fs::write(&toml, &kept).expect("write");
    let workflows = repo.work.join(".github/workflows");
    std::fs::create_dir_all(&workflows).expect("mkdir");
    symlink(outside.join("release.yml"), workflows.join("release.yml")).expect("link");
    let run = env
        .run(&repo.work, &["init", "--ci", "github", "--force"])
        .expect_code(1);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert!(!outside.join("release.yml").exists());
    assert!(!workflows.join("build.yml").exists(), "nothing is written");
    std::fs::remove_dir_all(repo.work.join(".github")).expect("rm");
    std::fs::create_dir_all(repo.work.join(".github")).expect("mkdir");
    symlink(&outside, repo.work.join(".github/workflows")).expect("link");
    let run = env
        .run(&repo.work, &["init", "--ci", "github"])
        .expect_code(1);
    assert!(run.stderr.contains("leads outside"), "{}", run.stderr);
    assert!(!outside.join("build.yml").exists());
}

#[test]
fn init_quotes_service_names_and_paths_that_toml_must_quote() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config(&[]), &[]);
    std::fs::remove_file(repo.work.join("git-release.toml")).expect("rm");
    for dir in [
        "services/a.b",
        "apps/we\"ird'dir",
        "apps/x]=\"[hook]",
        "apps/back\\slash",
        "apps/new\nline",
    ] {
        let path = repo.work.join(dir);
        std::fs::create_dir_all(&path).expect("mkdir");
        std::fs::write(path.join("Dockerfile"), "FROM scratch\n").expect("write");
    }
    let run = env.run(&repo.work, &["init"]).ok();
    assert!(run.stdout.contains("3 service(s)"), "{}", run.stdout);
    // Paths the loader would refuse are skipped with the reason, never written.
    assert!(run.stderr.contains("apps/back\\slash"), "{}", run.stderr);
    assert!(run.stderr.contains("backslash"), "{}", run.stderr);
    assert!(run.stderr.contains("apps/new\\nline"), "{}", run.stderr);
    let config = monorel_core::Config::load(&repo.work).expect("the written file loads");
    let services: Vec<(&str, &str)> = config
        .services
        .iter()
        .map(|(name, s)| (name.as_str(), s.path.as_str()))
        .collect();
    assert_eq!(
        services,
        [
            ("a.b", "services/a.b"),
            ("we-ird-dir", "apps/we\"ird'dir"),
            ("x----hook", "apps/x]=\"[hook]"),
        ]
    );
    assert!(!config.hook.allow_rewrite);
}

const BIG: &str = "\u{feff}{\n    \"zeta\": 12345678901234567890123,\n    \"service_a_image_tag\": \"old\",\n    \"huge\": 1e400,\n    \"u128\": 340282366920938463463374607431768211455,\n    \"frac\": 0.1000000000000000055511151231257827,\n    \"list\": [1, 2.50, {\"k\": -0.0}]\n}\n";

#[test]
fn json_pins_keep_every_other_value_and_a_byte_order_mark() {
    let env = TestEnv::new();
    let repo = released(&env, &["service-a"], &config(&["service-a"]));
    let pin = repo.work.join("infra/stg/service-a.auto.tfvars.json");
    std::fs::create_dir_all(pin.parent().expect("dir")).expect("mkdir");
    std::fs::write(&pin, BIG).expect("write");
    let status = env.run(&repo.work, &["status", "--json"]).ok().json();
    assert_eq!(
        status["services"][0]["environments"]["stg"]["pinned"],
        "old"
    );
    let out = env
        .run(
            &repo.work,
            &["deploy", "service-a", "--env", "stg", "--json"],
        )
        .ok()
        .json();
    assert_eq!(out["changed"], true);
    assert_eq!(read(&pin), BIG.replace("\"old\"", "\"service-a-v0.1.0\""));
    let status = env.run(&repo.work, &["status", "--json"]).ok().json();
    assert_eq!(
        status["services"][0]["environments"]["stg"]["pinned"],
        "service-a-v0.1.0"
    );
}

#[test]
fn hcl_and_json_pins_drop_a_stale_digest_alike() {
    let env = TestEnv::new();
    let repo = released(&env, &["service-a"], &config(&["service-a"]));
    let json = repo.work.join("infra/stg/service-a.auto.tfvars.json");
    let hcl = repo.work.join("infra/prod/terraform.tfvars");
    std::fs::create_dir_all(json.parent().expect("dir")).expect("mkdir");
    std::fs::create_dir_all(hcl.parent().expect("dir")).expect("mkdir");
    std::fs::write(
        &json,
        "{\n  \"service_a_image_digest\": \"sha256:old\",\n  \"service_a_image_tag\": \"service-a-v0.0.1\",\n  \"zone\": \"b\"\n}\n",
    )
    .expect("write");
    std::fs::write(
        &hcl,
        "\u{feff}# prod\nservice_a_image_tag    = \"service-a-v0.0.1\"\nservice_a_image_digest = \"sha256:old\" # set by deploy\nreplicas               = 3\n",
    )
    .expect("write");
    // `kind = "none"`: no digest is known, so neither file may keep the old one.
    env.run(&repo.work, &["deploy", "service-a", "--env", "stg"])
        .ok();
    env.run(&repo.work, &["deploy", "service-a", "--env", "prod"])
        .ok();
    assert_eq!(
        read(&json),
        "{\n  \"service_a_image_tag\": \"service-a-v0.1.0\",\n  \"zone\": \"b\"\n}\n"
    );
    assert_eq!(
        read(&hcl),
        "\u{feff}# prod\nservice_a_image_tag    = \"service-a-v0.1.0\"\nreplicas               = 3\n"
    );
}

#[test]
fn a_held_lock_is_named_and_changes_nothing() {
    let env = TestEnv::new();
    let repo = released(&env, &["service-a"], &config(&["service-a"]));
    let pin = repo.work.join("infra/stg/service-a.auto.tfvars.json");
    std::fs::create_dir_all(pin.parent().expect("dir")).expect("mkdir");
    let old = "{\n  \"service_a_image_tag\": \"old\"\n}\n";
    std::fs::write(&pin, old).expect("write");
    std::fs::set_permissions(&pin, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let lock = repo.work.join("infra/stg/service-a.auto.tfvars.json.lock");
    std::fs::write(&lock, "held by another run").expect("write");

    let run = env
        .run(&repo.work, &["deploy", "service-a", "--env", "stg"])
        .expect_code(1);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains(&format!("{} exists", lock.display()))
            && errors[0].contains("another git-release")
            && errors[0].contains(&format!("remove {}", lock.display())),
        "{}",
        errors[0]
    );
    assert_eq!(read(&pin), old);
    assert_eq!(
        read(&lock),
        "held by another run",
        "someone else's lock is kept"
    );

    // Once it is gone, the deploy replaces the file and keeps its mode.
    std::fs::remove_file(&lock).expect("rm");
    env.run(&repo.work, &["deploy", "service-a", "--env", "stg"])
        .ok();
    assert!(read(&pin).contains("service-a-v0.1.0"));
    assert_eq!(mode(&pin), 0o640);
    assert!(leftovers(pin.parent().expect("dir")).is_empty());

    // `init --force` waits for the same kind of lock on git-release.toml.
    let toml = repo.work.join("git-release.toml");
    let text = read(&toml);
    std::fs::write(repo.work.join("git-release.toml.lock"), "").expect("write");
    let run = env.run(&repo.work, &["init", "--force"]).expect_code(1);
    assert!(
        run.stderr.contains("git-release.toml.lock exists"),
        "{}",
        run.stderr
    );
    assert_eq!(read(&toml), text);
}

#[test]
fn concurrent_deploys_into_one_shared_file_both_land() {
    let env = TestEnv::new();
    let services = ["svc-a", "svc-b", "svc-c", "svc-d"];
    let config = format!(
        "{}\n[environments.shared]\ndir = \"infra/shared\"\nfile = \"terraform.tfvars.json\"\n",
        config_none(&services)
    );
    let repo = released(&env, &services, &config);
    let file = repo.work.join("infra/shared/terraform.tfvars.json");
    std::fs::create_dir_all(file.parent().expect("dir")).expect("mkdir");
    for round in 0..25 {
        std::fs::write(&file, format!("{{\n  \"round\": \"{round}\"\n}}\n")).expect("write");
        let children: Vec<_> = services
            .iter()
            .map(|service| {
                env.command(binary(), &repo.work)
                    .args(["deploy", service, "--env", "shared"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().expect("wait");
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let value: serde_json::Value = serde_json::from_str(&read(&file)).expect("json");
        for service in services {
            let key = format!("{}_image_tag", service.replace('-', "_"));
            assert_eq!(
                value[&key],
                format!("{service}-v0.1.0"),
                "round {round}: a concurrent deploy lost {key}: {value}"
            );
        }
        assert_eq!(value["round"], round.to_string());
    }
    assert!(leftovers(file.parent().expect("dir")).is_empty());
}

/// Runs `git-release args…` where no file may grow (`ulimit -f 0`): every write to a
/// regular file fails with EFBIG, as it would on a full disk with ENOSPC.
fn run_with_no_room(env: &TestEnv, cwd: &Path, args: &[&str]) -> Run {
    let mut script = String::from("trap '' XFSZ; ulimit -f 0; exec \"$0\" \"$@\"");
    script.push('\n');
    Run::from(
        env.command("sh", cwd)
            .arg("-c")
            .arg(&script)
            .arg(binary())
            .args(args)
            .output()
            .expect("run sh"),
    )
}

#[test]
fn a_failing_disk_is_an_ordinary_error_and_keeps_the_original() {
    let env = TestEnv::new();
    let repo = released(&env, &["service-a"], &config(&["service-a"]));
    let pin = repo.work.join("infra/stg/service-a.auto.tfvars.json");
    std::fs::create_dir_all(pin.parent().expect("dir")).expect("mkdir");
    let old = "{\n  \"service_a_image_tag\": \"old\"\n}\n";
    std::fs::write(&pin, old).expect("write");

    let run = run_with_no_room(&env, &repo.work, &["deploy", "service-a", "--env", "stg"]);
    assert_no_panic(&run);
    let run = run.expect_code(5);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].starts_with("error: cannot write") && errors[0].contains("too large"),
        "{}",
        errors[0]
    );
    assert_eq!(read(&pin), old, "the original is intact");
    assert!(leftovers(pin.parent().expect("dir")).is_empty());

    // The same for `init --force` over an existing configuration.
    let toml = repo.work.join("git-release.toml");
    let text = read(&toml);
    let run = run_with_no_room(&env, &repo.work, &["init", "--force"]);
    assert_no_panic(&run);
    run.expect_code(5);
    assert_eq!(read(&toml), text);
    assert!(leftovers(&repo.work).is_empty());
}

fn global_config(env: &TestEnv, hooks: &Path) -> PathBuf {
    let path = env.path().join("global.gitconfig");
    std::fs::write(
        &path,
        format!("[core]\n\thooksPath = {}\n", hooks.display()),
    )
    .expect("write");
    path
}

#[test]
fn install_with_a_global_hooks_path_leaves_other_repositories_alone() {
    let mut env = TestEnv::new();
    let repo = env.monorepo("mono", &config(&["service-a"]), &["service-a"]);
    // Another repository on the same machine, without git-release.
    let other = env.monorepo("other", "", &[]);
    std::fs::remove_file(other.work.join("git-release.toml")).expect("rm");
    env.git(
        &other.work,
        &["commit", "-q", "-am", "chore: no release config"],
    );

    let shared = env.path().join("global-hooks");
    std::fs::create_dir_all(&shared).expect("mkdir");
    let global = global_config(&env, &shared);
    env.set_env("GIT_CONFIG_GLOBAL", global.to_str().expect("utf-8"));

    let run = env.run(&repo.work, &["install"]).expect_code(1);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("global git config") && errors[0].contains("nothing was installed"),
        "{}",
        errors[0]
    );
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
    assert_eq!(
        std::fs::read_dir(&shared).expect("dir").count(),
        0,
        "nothing in the shared hooks directory"
    );

    // The other repository pushes a branch and a tag as before.
    env.git(&other.work, &["tag", "-a", "-m", "v1", "v1.0.0"]);
    env.git(&other.work, &["push", "-q", "origin", "main", "v1.0.0"]);

    // The hint's command gives this repository its own hooks directory; then install
    // works, the hook runs here, and the other repository is still left alone.
    let hint = run
        .stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "hint: give this repository its own hooks directory, then install again: ",
            )
        })
        .expect("the hint");
    let fixed = env
        .command("sh", &repo.work)
        .args(["-c", hint])
        .output()
        .expect("sh");
    assert!(
        fixed.status.success(),
        "{}",
        String::from_utf8_lossy(&fixed.stderr)
    );
    assert!(repo.work.join(".git/hooks/pre-push").is_file());
    env.git(&repo.work, &["tag", "service-a-v0.1.0"]);
    let refused = env.git_output(&repo.work, &["push", "origin", "service-a-v0.1.0"]);
    assert!(
        !refused.success(),
        "the lightweight tag is refused by the hook"
    );
    env.git(&other.work, &["tag", "-a", "-m", "v2", "v2.0.0"]);
    env.git(&other.work, &["push", "-q", "origin", "v2.0.0"]);
}
