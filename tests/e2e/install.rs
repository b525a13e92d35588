//! `install.sh` and the shell scripts: shellcheck, a real `cargo install` into a temporary
//! prefix (with the demo), the messages when cargo or git is missing, and the prebuilt
//! path: an archive made by `scripts/dist.sh`, installed by `install.sh --from` with no
//! Rust toolchain on PATH, from a path or over https, and refused when its checksum does
//! not match.
//!
//! The archive packages the debug binary the suite already built (`dist.sh --binary`):
//! a fat-LTO build here would cost minutes of CPU, and what is under test is the archive's
//! format and the checksum path, not the optimiser.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use monorel_e2e::{binary, config_none, Run, TestEnv};

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The cold source build's budget (issue 11, docs/benchmarks.md "Build cost"): AWS-LC's C
/// build was its largest single cost, so no crate of the workspace may bring it back (the
/// ECR backend's TLS runs on `ring`). Cargo.lock lists every package any build can use.
#[test]
fn the_source_build_compiles_no_aws_lc() {
    let lock = std::fs::read_to_string(checkout().join("Cargo.lock")).expect("read Cargo.lock");
    let names: Vec<&str> = lock
        .lines()
        .filter_map(|line| line.strip_prefix("name = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .collect();
    assert!(
        names.contains(&"ring"),
        "the TLS stack is on ring: {names:?}"
    );
    for heavy in ["aws-lc-sys", "aws-lc-rs", "aws-lc-fips-sys"] {
        assert!(
            !names.contains(&heavy),
            "{heavy} is back in Cargo.lock: it compiles AWS-LC (C) in every cold build; \
             `cargo tree -i {heavy}` shows who pulls it in"
        );
    }
}

#[test]
fn shell_scripts_pass_shellcheck() {
    let found = std::process::Command::new("shellcheck")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "shellcheck is missing: install shellcheck (apt-get install shellcheck)"
        );
        eprintln!("skipped: shellcheck is not installed (apt-get install shellcheck)");
        return;
    }
    let root = checkout();
    let out = std::process::Command::new("shellcheck")
        .args(["--shell=sh", "install.sh", "hooks/pre-push"])
        .current_dir(&root)
        .output()
        .expect("run shellcheck");
    assert!(
        out.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = std::process::Command::new("shellcheck")
        .args(["scripts/dist.sh", "scripts/test.sh"])
        .current_dir(&root)
        .output()
        .expect("run shellcheck");
    assert!(
        out.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Runs `sh install.sh args…` in `cwd` with the test environment plus what cargo needs.
fn install_sh(env: &TestEnv, cwd: &Path, args: &[&str]) -> Run {
    let root = checkout();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let mut cmd = env.command("sh", cwd);
    cmd.arg(root.join("install.sh"))
        .args(args)
        .env("CI", "true");
    // The real toolchain and crate cache (the test HOME is empty), and the workspace's
    // target dir so the build reuses what `cargo build` already compiled.
    let cargo_home = std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{home}/.cargo"));
    let rustup_home = std::env::var("RUSTUP_HOME").unwrap_or_else(|_| format!("{home}/.rustup"));
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| root.join("target").display().to_string());
    // cargo's own bin dir goes last: the hermetic PATH leaves it out when a git-release
    // is installed there, and the binary under test must still come first.
    let path = format!("{}:{cargo_home}/bin", env.path_var());
    cmd.env("CARGO_HOME", cargo_home)
        .env("RUSTUP_HOME", rustup_home)
        .env("CARGO_TARGET_DIR", target)
        .env("PATH", path);
    for var in ["RUSTUP_TOOLCHAIN", "CARGO_NET_OFFLINE"] {
        if let Ok(value) = std::env::var(var) {
            cmd.env(var, value);
        }
    }
    Run::from(cmd.output().expect("run install.sh"))
}

#[test]
fn install_sh_into_a_temp_prefix_installs_the_hook_and_runs_the_demo() {
    let env = TestEnv::new();
    let repo = env.monorepo(
        "mono",
        &config_none(&["service-a", "service-b"]),
        &["service-a", "service-b"],
    );
    let prefix = env.path().join("prefix");
    let prefix_arg = prefix.to_str().expect("utf-8");

    let run = install_sh(&env, &repo.work, &["--prefix", prefix_arg, "--debug"]);
    assert_eq!(run.code, 0, "install.sh failed:\n{}", run.stderr);
    let binary = prefix.join("bin/git-release");
    assert!(binary.is_file(), "{} was not installed", binary.display());
    // `git release --help` opens git-release(1): the man page sits beside the binary.
    let man = std::fs::read_to_string(prefix.join("share/man/man1/git-release.1"))
        .expect("the man page was installed");
    assert!(
        man.starts_with(".ie \\n(.g .ds Aq") || man.contains(".TH git-release"),
        "{man}"
    );
    let version = env
        .command(&binary, env.path())
        .arg("--version")
        .output()
        .expect("run the installed binary");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("git-release "));
    assert!(
        run.stderr
            .contains(&format!("export PATH=\"{}/bin:$PATH\"", prefix.display())),
        "the exact PATH line: {}",
        run.stderr
    );
    let hook = repo.work.join(".git/hooks/pre-push");
    let installed = std::fs::read_to_string(&hook).expect("hook installed by install.sh");
    assert!(installed.contains("managed by `git release install`"));

    // Again, with the demo: idempotent, and the demo shows a release and a refusal.
    let run = install_sh(
        &env,
        &repo.work,
        &["--prefix", prefix_arg, "--debug", "--demo"],
    );
    assert_eq!(
        run.code, 0,
        "install.sh --demo failed:\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.contains("already installed"), "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(&hook).expect("hook"), installed);
    assert!(
        run.stdout
            .contains("$ git release service-a --bump minor --push"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("pushed service-a-v0.1.0 to origin"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("✗ [naming] `servce-a-v0.2.0`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("refs/tags/service-a-v0.1.0"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("refs/tags/servce-a"), "{}", run.stdout);
}

/// A directory with symlinks to just `tools` (so `cargo` or `git` can be left out).
fn only_tools(env: &TestEnv, name: &str, tools: &[&str]) -> String {
    let dir = env.path().join(name);
    std::fs::create_dir_all(&dir).expect("dir");
    for tool in tools {
        let real = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .expect("command -v");
        let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
        assert!(!real.is_empty(), "{tool} is needed by this test");
        std::os::unix::fs::symlink(real, dir.join(tool)).expect("symlink");
    }
    dir.display().to_string()
}

#[test]
fn install_sh_says_when_cargo_or_git_is_missing() {
    let env = TestEnv::new();
    let root = checkout();
    let script = root.join("install.sh");
    let run_with_path = |path: &str| {
        Run::from(
            env.command("/bin/sh", env.path())
                .arg(&script)
                .env("PATH", path)
                .output()
                .expect("run install.sh"),
        )
    };
    let no_cargo = only_tools(&env, "no-cargo", &["dirname", "git"]);
    let run = run_with_path(&no_cargo);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("error: cargo is not installed"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("https://rustup.rs"), "{}", run.stderr);

    let no_git = only_tools(&env, "no-git", &["dirname", "cargo"]);
    let run = run_with_path(&no_git);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("error: git is not installed"),
        "{}",
        run.stderr
    );

    let run = Run::from(
        env.command("/bin/sh", env.path())
            .args([script.to_str().expect("utf-8"), "--frobnicate"])
            .output()
            .expect("run install.sh"),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("unknown option '--frobnicate'"),
        "{}",
        run.stderr
    );
}

/// The archive `scripts/dist.sh --binary target/debug/git-release` makes, built once per
/// test run into `<target>/e2e-dist/` (its `.sha256` beside it).
fn dist_archive() -> &'static Path {
    static ARCHIVE: OnceLock<PathBuf> = OnceLock::new();
    ARCHIVE.get_or_init(|| {
        let root = checkout();
        let binary = binary();
        let out_dir = binary
            .parent()
            .and_then(Path::parent)
            .expect("target dir")
            .join("e2e-dist");
        let _ = std::fs::remove_dir_all(&out_dir);
        let out = Command::new("bash")
            .arg(root.join("scripts/dist.sh"))
            .arg("--binary")
            .arg(&binary)
            .arg("--out")
            .arg(&out_dir)
            .output()
            .expect("run scripts/dist.sh");
        let run = Run::from(out);
        assert_eq!(run.code, 0, "scripts/dist.sh failed:\n{}", run.stderr);
        let archive = PathBuf::from(run.stdout.trim_end());
        let out_dir = std::fs::canonicalize(&out_dir).expect("the output directory");
        assert_eq!(archive.parent(), Some(out_dir.as_path()), "{}", run.stdout);
        archive
    })
}

/// The archive's file name: `git-release-<version>-<target>.tar.gz`.
fn archive_name() -> String {
    dist_archive()
        .file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 name")
        .to_string()
}

/// What install.sh needs on the prebuilt path, and no cargo, rustc or rustup.
const NO_RUST_TOOLS: &[&str] = &[
    "dirname",
    "basename",
    "git",
    "mkdir",
    "mktemp",
    "rm",
    "cp",
    "mv",
    "chmod",
    "tar",
    "gzip",
    "sha256sum",
    "tr",
    "uname",
    "cat",
];

/// Runs `/bin/sh install.sh args…` in `cwd` with only `path` on PATH, plus `vars`; returns
/// the run and how long it took.
fn install_sh_with_path(
    env: &TestEnv,
    cwd: &Path,
    path: &str,
    args: &[&str],
    vars: &[(&str, &str)],
) -> (Run, Duration) {
    let mut cmd = env.command("/bin/sh", cwd);
    cmd.arg(checkout().join("install.sh"))
        .args(args)
        .env("PATH", path);
    for (key, value) in vars {
        cmd.env(key, value);
    }
    let started = Instant::now();
    let out = cmd.output().expect("run install.sh");
    (Run::from(out), started.elapsed())
}

/// Asserts that a refused install left nothing behind: no prefix, no hook.
#[track_caller]
fn assert_nothing_installed(prefix: &Path, work: &Path, run: &Run) {
    assert_eq!(run.code, 1, "install.sh should refuse:\n{}", run.stderr);
    assert!(
        run.stderr.contains("nothing was installed"),
        "{}",
        run.stderr
    );
    assert!(
        !prefix.exists(),
        "{} was created by a refused install:\n{}",
        prefix.display(),
        run.stderr
    );
    assert!(
        !work.join(".git/hooks/pre-push").exists(),
        "a refused install wrote the hook"
    );
}

#[test]
fn install_sh_from_a_dist_archive_needs_no_rust_and_installs_binary_man_page_and_hook() {
    let env = TestEnv::new();
    let repo = env.monorepo(
        "mono",
        &config_none(&["service-a", "service-b"]),
        &["service-a", "service-b"],
    );
    let archive = dist_archive();
    let name = archive_name();
    let version = env.run(env.path(), &["--version"]).ok().stdout;
    let version = version.trim_end().trim_start_matches("git-release ");
    assert!(
        name.starts_with(&format!("git-release-{version}-")) && name.ends_with(".tar.gz"),
        "{name}"
    );
    let sums = std::fs::read_to_string(format!("{}.sha256", archive.display())).expect(".sha256");
    assert!(
        sums.len() == 64 + 2 + name.len() + 1 && sums.ends_with(&format!("  {name}\n")),
        "sha256sum format: {sums:?}"
    );

    let tools = only_tools(&env, "no-rust", NO_RUST_TOOLS);
    for absent in ["cargo", "rustc", "rustup"] {
        let found = Command::new("/bin/sh")
            .args(["-c", &format!("command -v {absent}")])
            .env_clear()
            .env("PATH", &tools)
            .output()
            .expect("sh");
        assert!(!found.status.success(), "{absent} is on the test's PATH");
    }
    let prefix = env.path().join("prefix");
    let (run, took) = install_sh_with_path(
        &env,
        &repo.work,
        &tools,
        &[
            "--from",
            archive.to_str().expect("utf-8"),
            "--prefix",
            prefix.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "install.sh --from failed:\n{}", run.stderr);
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(
        run.stderr.contains("==> checksum ok: sha256 "),
        "{}",
        run.stderr
    );

    // The very binary that was packaged, its man page, and the hook.
    let installed = prefix.join("bin/git-release");
    let bytes = std::fs::read(&installed).expect("installed binary");
    assert!(bytes == std::fs::read(binary()).expect("packaged binary"));
    let man = std::fs::read_to_string(prefix.join("share/man/man1/git-release.1"))
        .expect("the man page was installed");
    assert!(man.contains(".TH git-release"), "{man}");
    let hook = repo.work.join(".git/hooks/pre-push");
    let shim = std::fs::read_to_string(&hook).expect("hook installed by install.sh");
    assert!(shim.contains("managed by `git release install`"));

    // It works: with only the installed binary and no Rust on PATH, the hook refuses a
    // misnamed tag and lets a release through.
    let path = format!("{}:{tools}", prefix.join("bin").display());
    let push = |tag: &str| {
        Run::from(
            env.command("git", &repo.work)
                .args(["push", "origin", tag])
                .env("PATH", &path)
                .output()
                .expect("git push"),
        )
    };
    env.git(&repo.work, &["tag", "servce-a-v0.1.0"]);
    let run = push("servce-a-v0.1.0");
    assert_eq!(
        run.code, 1,
        "the hook let a misnamed tag through:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("[naming]"), "{}", run.stderr);
    let run = Run::from(
        env.command(&installed, &repo.work)
            .args(["service-a", "--bump", "minor", "--push", "--yes"])
            .env("PATH", &path)
            .output()
            .expect("release"),
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        monorel_e2e::remote_tags(&env, &repo.bare)
            .iter()
            .map(|line| line.split(' ').next().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["service-a-v0.1.0"]
    );
}

#[test]
fn install_sh_from_takes_the_archive_and_checksum_from_the_environment() {
    let env = TestEnv::new();
    let tools = only_tools(&env, "no-rust", NO_RUST_TOOLS);
    // The archive alone, without its .sha256: the sum comes from GIT_RELEASE_SHA256.
    let lone = env.path().join(archive_name());
    std::fs::copy(dist_archive(), &lone).expect("copy archive");
    let sums =
        std::fs::read_to_string(format!("{}.sha256", dist_archive().display())).expect(".sha256");
    let sum = sums.split(' ').next().expect("sum").to_ascii_uppercase();
    let prefix = env.path().join("prefix");
    let from = lone.to_str().expect("utf-8");
    let prefix_arg = prefix.to_str().expect("utf-8");

    let (run, _) = install_sh_with_path(
        &env,
        env.path(),
        &tools,
        &["--prefix", prefix_arg],
        &[("GIT_RELEASE_FROM", from)],
    );
    assert_nothing_installed(&prefix, env.path(), &run);
    assert!(
        run.stderr.contains(&format!(
            "error: no checksum for {from}: put {from}.sha256 beside it"
        )),
        "{}",
        run.stderr
    );

    let (run, _) = install_sh_with_path(
        &env,
        env.path(),
        &tools,
        &["--prefix", prefix_arg],
        &[("GIT_RELEASE_FROM", from), ("GIT_RELEASE_SHA256", &sum)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let version = Command::new(prefix.join("bin/git-release"))
        .arg("--version")
        .output()
        .expect("run the installed binary");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("git-release "));
}

#[test]
fn install_sh_refuses_a_corrupted_or_unverifiable_archive_and_installs_nothing() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config_none(&["service-a"]), &["service-a"]);
    let tools = only_tools(&env, "no-rust", NO_RUST_TOOLS);
    let prefix = env.path().join("prefix");
    let prefix_arg = prefix.to_str().expect("utf-8");
    let name = archive_name();
    let good_sum =
        std::fs::read_to_string(format!("{}.sha256", dist_archive().display())).expect(".sha256");

    // One flipped byte in the middle of the archive, with the published .sha256 beside it.
    let dir = env.path().join("corrupt");
    std::fs::create_dir_all(&dir).expect("dir");
    let corrupt = dir.join(&name);
    let mut bytes = std::fs::read(dist_archive()).expect("archive");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&corrupt, &bytes).expect("write corrupt archive");
    std::fs::write(dir.join(format!("{name}.sha256")), &good_sum).expect("write .sha256");
    let from = corrupt.to_str().expect("utf-8");
    let (run, _) = install_sh_with_path(
        &env,
        &repo.work,
        &tools,
        &["--from", from, "--prefix", prefix_arg],
        &[],
    );
    assert_nothing_installed(&prefix, &repo.work, &run);
    let expected = good_sum.split(' ').next().expect("sum");
    assert!(
        run.stderr.contains(&format!(
            "error: checksum mismatch for {from}: expected {expected}, got "
        )),
        "{}",
        run.stderr
    );

    // The good archive with a wrong --sha256, and with a .sha256 that holds no sum.
    let good = dist_archive().to_str().expect("utf-8");
    let wrong = "0".repeat(64);
    let (run, _) = install_sh_with_path(
        &env,
        &repo.work,
        &tools,
        &["--from", good, "--sha256", &wrong, "--prefix", prefix_arg],
        &[],
    );
    assert_nothing_installed(&prefix, &repo.work, &run);
    assert!(run.stderr.contains("checksum mismatch"), "{}", run.stderr);
    std::fs::write(dir.join(format!("{name}.sha256")), "see the release page\n").expect("write");
    std::fs::write(&corrupt, std::fs::read(dist_archive()).expect("archive")).expect("write");
    let (run, _) = install_sh_with_path(
        &env,
        &repo.work,
        &tools,
        &["--from", from, "--prefix", prefix_arg],
        &[],
    );
    assert_nothing_installed(&prefix, &repo.work, &run);
    assert!(
        run.stderr
            .contains(".sha256 does not start with a SHA-256 (64 hex digits"),
        "{}",
        run.stderr
    );

    // Plain http is refused outright; https without curl or wget says what to install.
    let (run, _) = install_sh_with_path(
        &env,
        &repo.work,
        &tools,
        &[
            "--from",
            &format!("http://127.0.0.1:9/{name}"),
            "--prefix",
            prefix_arg,
        ],
        &[],
    );
    assert_nothing_installed(&prefix, &repo.work, &run);
    assert!(
        run.stderr.contains("takes a local path or an https:// URL"),
        "{}",
        run.stderr
    );
    let (run, _) = install_sh_with_path(
        &env,
        &repo.work,
        &tools,
        &[
            "--from",
            &format!("https://127.0.0.1:9/{name}"),
            "--prefix",
            prefix_arg,
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: neither curl nor wget is installed"),
        "{}",
        run.stderr
    );
    assert!(!prefix.exists());
}

/// A local https server (Python's http.server behind a self-signed certificate for
/// 127.0.0.1) serving one directory; stopped on drop.
struct HttpsServer {
    child: Child,
    port: u16,
    cert: PathBuf,
}

impl HttpsServer {
    fn start(env: &TestEnv, root: &Path) -> HttpsServer {
        let cert = env.path().join("cert.pem");
        let key = env.path().join("key.pem");
        let out = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl is needed for the https test (apt-get install openssl)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let script = r#"
import functools, http.server, ssl, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;
        let mut child = Command::new("python3")
            .args(["-c", script])
            .arg(root)
            .arg(&cert)
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 is needed for the https test");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read port");
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the https server did not start: {line:?}")
        });
        HttpsServer { child, port, cert }
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn install_sh_from_an_https_url_fetches_the_checksum_beside_the_archive() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config_none(&["service-a"]), &["service-a"]);
    let name = archive_name();
    let site = env.path().join("site");
    std::fs::create_dir_all(site.join("bad")).expect("site");
    std::fs::copy(dist_archive(), site.join(&name)).expect("copy");
    let sums_file = format!("{}.sha256", dist_archive().display());
    std::fs::copy(&sums_file, site.join(format!("{name}.sha256"))).expect("copy");
    // bad/: a truncated archive under the published checksum.
    let bytes = std::fs::read(dist_archive()).expect("archive");
    std::fs::write(site.join("bad").join(&name), &bytes[..bytes.len() - 1000]).expect("write");
    std::fs::copy(&sums_file, site.join("bad").join(format!("{name}.sha256"))).expect("copy");
    let server = HttpsServer::start(&env, &site);
    let mut tool_list = NO_RUST_TOOLS.to_vec();
    tool_list.push("curl");
    let tools = only_tools(&env, "with-curl", &tool_list);
    let prefix = env.path().join("prefix");
    let prefix_arg = prefix.to_str().expect("utf-8");
    let ca = server.cert.to_str().expect("utf-8");

    let bad_url = format!("https://127.0.0.1:{}/bad/{name}", server.port);
    let (run, _) = install_sh_with_path(
        &env,
        &repo.work,
        &tools,
        &["--from", &bad_url, "--prefix", prefix_arg],
        &[("CURL_CA_BUNDLE", ca)],
    );
    assert_nothing_installed(&prefix, &repo.work, &run);
    assert!(
        run.stderr
            .contains(&format!("error: checksum mismatch for {bad_url}")),
        "{}",
        run.stderr
    );

    let url = format!("https://127.0.0.1:{}/{name}", server.port);
    let (run, took) = install_sh_with_path(
        &env,
        &repo.work,
        &tools,
        &["--from", &url, "--prefix", prefix_arg],
        &[("CURL_CA_BUNDLE", ca)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(
        run.stderr.contains(&format!("==> downloading {url}")),
        "{}",
        run.stderr
    );
    assert!(prefix.join("bin/git-release").is_file());
    let shim = std::fs::read_to_string(repo.work.join(".git/hooks/pre-push")).expect("hook");
    assert!(shim.contains("managed by `git release install`"));
}
