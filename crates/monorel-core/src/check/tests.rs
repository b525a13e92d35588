//! The naming table (rules 1 and 2 on 80+ names) and the rules that need a repository,
//! on real throwaway git repositories.

use std::sync::{Arc, Mutex};

use super::*;
use crate::registry::{
    FailureKind, Identity, ImageRef, NoRegistry, PromoteRequest, Promotion, Registry,
    RegistryFailure,
};
use crate::test_repo::TestRepo;

const CONFIG: &str = r#"
[registry]
kind = "none"

[services.service-a]
path = "services/service-a"

[services.service-b]
path = "services/service-b"

[services.api]
path = "services/api"

[services.api-v2]
path = "services/api-v2"
"#;

fn config(extra: &str) -> Config {
    Config::parse(&format!("{extra}\n{CONFIG}"), "git-release.toml").expect("test config")
}

use Rule::{ImageTag as I, Naming as N};

/// `(tag, rules it breaks)`; an empty list means the name is a valid release tag.
fn table() -> Vec<(String, Vec<Rule>)> {
    let ok: &[Rule] = &[];
    let mut rows: Vec<(String, &[Rule])> = vec![
        // Valid versions from the semver specification (and its test regex's examples).
        ("service-a-v1.0.0".into(), ok),
        ("service-a-v0.0.4".into(), ok),
        ("service-a-v1.2.3".into(), ok),
        ("service-a-v10.20.30".into(), ok),
        ("service-a-v1.0.0-alpha".into(), ok),
        ("service-a-v1.0.0-alpha.1".into(), ok),
        ("service-a-v1.0.0-0.3.7".into(), ok),
        ("service-a-v1.0.0-x.7.z.92".into(), ok),
        ("service-a-v1.0.0-x-y-z.--".into(), ok),
        ("service-a-v1.0.0-alpha.beta".into(), ok),
        ("service-a-v1.0.0-beta.11".into(), ok),
        ("service-a-v1.0.0-rc.1".into(), ok),
        ("service-a-v2.0.0-rc.1".into(), ok),
        ("service-a-v1.2.3----RC-SNAPSHOT.12.9.1--.12".into(), ok),
        ("service-a-v1.0.0-alpha0.valid".into(), ok),
        ("service-a-v1.0.0-alpha.0valid".into(), ok),
        ("service-a-v1.0.0-alpha-a.b-c-somethinglong".into(), ok),
        ("service-a-v18446744073709551615.0.0".into(), ok),
        ("service-b-v1.1.7".into(), ok),
        // Services whose names contain the separator `-v`.
        ("api-v2.0.0".into(), ok),
        ("api-v2-v1.0.0".into(), ok),
        ("api-v2-v2.0.0-rc.1".into(), ok),
        // Valid semver with build metadata: a git tag, never an image tag.
        ("service-a-v1.0.0-alpha+001".into(), &[I]),
        ("service-a-v1.0.0+20130313144700".into(), &[I]),
        ("service-a-v1.0.0-beta+exp.sha.5114f85".into(), &[I]),
        ("service-a-v1.0.0+21AF26D3----117B344092BD".into(), &[I]),
        ("service-a-v1.1.2-prerelease+meta".into(), &[I]),
        ("api-v2-v1.0.0+build.1".into(), &[I]),
        // Invalid versions from the semver specification.
        ("service-a-v1".into(), &[N]),
        ("service-a-v1.2".into(), &[N]),
        ("service-a-v1.2.3-0123".into(), &[N]),
        ("service-a-v1.2.3-0123.0123".into(), &[N]),
        ("service-a-v1.1.2+.123".into(), &[N, I]),
        ("service-a-v+invalid".into(), &[N, I]),
        ("service-a-v-invalid".into(), &[N]),
        ("service-a-v-invalid+invalid".into(), &[N, I]),
        ("service-a-valpha".into(), &[N]),
        ("service-a-v1.2.3.DEV".into(), &[N]),
        ("service-a-v1.2-SNAPSHOT".into(), &[N]),
        (
            "service-a-v1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788".into(),
            &[N, I],
        ),
        ("service-a-v1.2-RC-SNAPSHOT".into(), &[N]),
        ("service-a-v-1.0.3-gamma+b7718".into(), &[N, I]),
        ("service-a-v+justmeta".into(), &[N, I]),
        ("service-a-v9.8.7+meta+meta".into(), &[N, I]),
        ("service-a-v9.8.7-whatever+meta+meta".into(), &[N, I]),
        ("service-a-v01.1.1".into(), &[N]),
        ("service-a-v1.01.1".into(), &[N]),
        ("service-a-v1.1.01".into(), &[N]),
        ("service-a-v1.0.0-alpha_beta".into(), &[N]),
        ("service-a-v1.0.0-alpha..".into(), &[N]),
        ("service-a-v1.0.0-alpha..1".into(), &[N]),
        ("service-a-v1.0.0-alpha...1".into(), &[N]),
        ("service-a-v1.0.0-rc.01".into(), &[N]),
        (
            "service-a-v99999999999999999999999.999999999999999999.99999999999999999".into(),
            &[N],
        ),
        // `v` twice, trailing text, empty version.
        ("service-a-vv1.0.0".into(), &[N]),
        ("service-a-v1.0.0x".into(), &[N]),
        ("service-a-v1.0.0-".into(), &[N]),
        ("service-a-v".into(), &[N]),
        // git ref-format edge cases.
        ("service-a-v1.0.0.lock".into(), &[N]),
        ("service-a-v1.0.0.".into(), &[N]),
        ("service-a-v1.0.0~1".into(), &[N, I]),
        ("service-a-v1.0.0^".into(), &[N, I]),
        ("service-a-v1.0.0:x".into(), &[N, I]),
        ("service-a-v1.0.0 x".into(), &[N, I]),
        ("service-a-v1.0.0?".into(), &[N, I]),
        ("service-a-v1.0.0*".into(), &[N, I]),
        ("service-a-v1.0.0[".into(), &[N, I]),
        ("service-a-v1.0.0\\".into(), &[N, I]),
        ("service-a-v1.0.0@{1}".into(), &[N, I]),
        ("service-a-v1.0.0/".into(), &[N, I]),
        ("service-a-v1.0.0\u{7f}".into(), &[N, I]),
        (".service-a-v1.0.0".into(), &[N, I]),
        ("@".into(), &[N, I]),
        ("service-a/v1.0.0".into(), &[N, I]),
        // Image-tag charset and length.
        ("service-a-v1.0.0-ß".into(), &[N, I]),
        ("service-a-v1.0.0-rc.1#2".into(), &[N, I]),
        (format!("service-a-v1.0.0-{}", "a".repeat(111)), ok),
        (format!("service-a-v1.0.0-{}", "a".repeat(112)), &[I]),
        // Unknown and near-miss service names.
        ("servce-a-v1.0.0".into(), &[N]),
        ("service-c-v1.0.0".into(), &[N]),
        ("Service-A-v1.0.0".into(), &[N]),
        ("service-a-V1.0.0".into(), &[N]),
        ("service_a-v1.0.0".into(), &[N]),
        ("servicea-v1.0.0".into(), &[N]),
        ("v1.0.0".into(), &[N]),
        ("1.0.0".into(), &[N]),
        ("latest".into(), &[N]),
        ("apii-v1.0.0".into(), &[N]),
        ("api-v3-v1.0.0".into(), &[N]),
        ("api-v2-v".into(), &[N]),
        ("api-v2".into(), &[N]),
    ];
    rows.drain(..)
        .map(|(name, rules)| (name, rules.to_vec()))
        .collect()
}

#[test]
fn naming_table() {
    let config = config("");
    let rows = table();
    assert!(rows.len() >= 60, "the table must hold at least 60 names");
    let mut wrong = Vec::new();
    for (tag, expected) in &rows {
        let check = check_name(&config, tag);
        let got: Vec<Rule> = check.failures.iter().map(|f| f.rule).collect();
        let parsed_as_expected = if expected.is_empty() {
            check.release.is_some()
        } else {
            !expected.contains(&Rule::Naming) || check.release.is_none()
        };
        if &got != expected || !parsed_as_expected {
            wrong.push(format!("{tag:?}: expected {expected:?}, got {got:?}"));
        }
        for failure in &check.failures {
            assert!(
                failure.message.contains(&*crate::text::line(tag))
                    && !failure.message.contains('\n'),
                "the message must name the tag on one line: {failure:?}"
            );
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn services_with_separator_parse_to_the_right_service() {
    let config = config("");
    let parsed = |tag: &str| check_name(&config, tag).release.expect(tag);
    assert_eq!(parsed("api-v2.0.0"), ("api".into(), Version::new(2, 0, 0)));
    assert_eq!(
        parsed("api-v2-v1.0.0"),
        ("api-v2".into(), Version::new(1, 0, 0))
    );
}

#[test]
fn near_misses_suggest_the_closest_service() {
    let config = config("");
    for (tag, closest) in [
        ("servce-a-v1.0.0", "service-a"),
        ("service_a-v1.0.0", "service-a"),
        ("servicea-v1.0.0", "service-a"),
    ] {
        let check = check_name(&config, tag);
        assert!(
            check.failures[0]
                .message
                .contains(&format!("did you mean `{closest}`?")),
            "{tag}: {:?}",
            check.failures
        );
    }
    let check = check_name(&config, "latest");
    assert!(
        check.failures[0].message.contains("service-a-v1.2.3")
            || check.failures[0].message.contains("<service>-v1.2.3")
    );
}

fn new_tags(repo: &Repo, names: &[&str]) -> Vec<TagUpdate> {
    names
        .iter()
        .map(|name| TagUpdate {
            tag: name.to_string(),
            local: Local::Object(
                repo.tag_target(name)
                    .expect("read")
                    .expect("exists")
                    .ref_target,
            ),
            remote: None,
        })
        .collect()
}

fn rules(report: &Report) -> Vec<(String, Vec<Rule>)> {
    report
        .verdicts
        .iter()
        .map(|v| (v.tag.clone(), v.failures.iter().map(|f| f.rule).collect()))
        .collect()
}

#[test]
fn several_new_tags_in_one_push_in_any_order() {
    let t = TestRepo::new();
    for tag in ["service-a-v1.0.0", "service-a-v1.1.0", "service-a-v1.2.0"] {
        t.tag(tag);
    }
    let repo = t.open();
    let config = config("");
    for order in [
        ["service-a-v1.1.0", "service-a-v1.2.0"],
        ["service-a-v1.2.0", "service-a-v1.1.0"],
    ] {
        let report =
            check_tags(&config, &repo, &new_tags(&repo, &order), &none(&config)).expect("check");
        assert!(report.ok(), "{:?}", rules(&report));
        assert!(!report.images_checked);
    }
    // Alone, 1.1.0 is below 1.2.0, which is not part of the push.
    let report = check_tags(
        &config,
        &repo,
        &new_tags(&repo, &["service-a-v1.1.0"]),
        &none(&config),
    )
    .expect("check");
    assert_eq!(
        rules(&report),
        vec![("service-a-v1.1.0".into(), vec![Rule::Newer])]
    );
}

#[test]
fn maintenance_releases_only_when_allowed_and_highest_of_their_line() {
    let t = TestRepo::new();
    for tag in [
        "service-a-v1.0.0",
        "service-a-v1.1.3",
        "service-a-v2.0.0",
        "service-a-v1.1.2",
        "service-a-v1.0.5",
        "service-a-v1.1.4",
    ] {
        t.tag(tag);
    }
    let repo = t.open();
    let strict = config("");
    let lenient = config("[hook]\nallow-maintenance = true\n");
    let check = |config: &Config, tags: &[&str]| {
        rules(&check_tags(config, &repo, &new_tags(&repo, tags), &none(config)).expect("check"))
    };
    assert_eq!(
        check(&strict, &["service-a-v1.1.4"]),
        vec![("service-a-v1.1.4".into(), vec![Rule::Newer])]
    );
    assert_eq!(
        check(&lenient, &["service-a-v1.1.4"]),
        vec![("service-a-v1.1.4".into(), vec![])]
    );
    assert_eq!(
        check(&lenient, &["service-a-v1.0.5"]),
        vec![("service-a-v1.0.5".into(), vec![])]
    );
    // 1.1.2 is below 1.1.3 of its own line: refused even when maintenance is allowed.
    assert_eq!(
        check(&lenient, &["service-a-v1.1.2"]),
        vec![("service-a-v1.1.2".into(), vec![Rule::Newer])]
    );
    // Equal to the highest is never newer (a different name for the same version cannot
    // happen with one template, so compare with the tag itself left out of the push).
    assert_eq!(
        check(&lenient, &["service-a-v2.0.0", "service-a-v1.1.4"]).len(),
        2
    );
}

#[test]
fn every_failure_of_one_tag_is_reported() {
    let t = TestRepo::new();
    t.tag("service-a-v2.0.0");
    t.git(&["tag", "service-a-v1.0.0+build.1"]);
    let repo = t.open();
    let config = config("");
    let report = check_tags(
        &config,
        &repo,
        &new_tags(&repo, &["service-a-v1.0.0+build.1"]),
        &none(&config),
    )
    .expect("check");
    assert_eq!(
        rules(&report),
        vec![(
            "service-a-v1.0.0+build.1".into(),
            vec![Rule::ImageTag, Rule::Annotated]
        )]
    );
    let msg = &report.verdicts[0].failures[1].message;
    assert!(msg.contains("git tag -a -f"), "{msg}");
}

#[test]
fn tags_on_trees_moves_and_deletions() {
    let t = TestRepo::new();
    t.tag("service-a-v1.0.0");
    let tree = t.git(&["rev-parse", "HEAD^{tree}"]);
    t.git(&["tag", "-a", "-m", "tree", "service-b-v1.0.0", &tree]);
    let repo = t.open();
    let config = config("");
    let mut updates = new_tags(&repo, &["service-b-v1.0.0"]);
    let other = gix::ObjectId::from_hex(b"1111111111111111111111111111111111111111").expect("hex");
    updates.push(TagUpdate {
        tag: "service-a-v1.0.0".into(),
        local: Local::Object(
            repo.tag_target("service-a-v1.0.0")
                .expect("r")
                .expect("e")
                .ref_target,
        ),
        remote: Some(other),
    });
    updates.push(TagUpdate {
        tag: "service-a-v0.9.0".into(),
        local: Local::Delete,
        remote: Some(other),
    });
    updates.push(TagUpdate {
        tag: "typo-v0.9.0".into(),
        local: Local::Delete,
        remote: Some(other),
    });
    updates.push(TagUpdate {
        tag: "service-a-v9.0.0".into(),
        local: Local::Missing,
        remote: None,
    });
    let report = check_tags(&config, &repo, &updates, &none(&config)).expect("check");
    assert_eq!(
        rules(&report),
        vec![
            ("service-b-v1.0.0".into(), vec![Rule::Commit]),
            ("service-a-v1.0.0".into(), vec![Rule::NoRewrite]),
            ("service-a-v0.9.0".into(), vec![Rule::NoRewrite]),
            ("typo-v0.9.0".into(), vec![]),
            ("service-a-v9.0.0".into(), vec![Rule::Commit]),
        ]
    );
    let lenient =
        Config::parse(&format!("[hook]\nallow-rewrite = true\n{CONFIG}"), "x").expect("config");
    let report = check_tags(&lenient, &repo, &updates, &none(&lenient)).expect("check");
    assert_eq!(report.verdicts[1].failures, vec![]);
    assert_eq!(report.verdicts[2].failures, vec![]);
}

#[test]
fn tag_chains_peel_to_the_commit_and_lightweight_tags_are_not_annotated() {
    let t = TestRepo::new();
    let head = t.git(&["rev-parse", "HEAD"]);
    t.tag("service-a-v1.0.0");
    // A tag of a tag of the commit, as `git tag -a new old` makes.
    t.git(&[
        "tag",
        "-a",
        "-m",
        "again",
        "service-b-v1.0.0",
        "service-a-v1.0.0",
    ]);
    t.git(&["tag", "api-v1.0.0"]);
    let repo = t.open();

    let chained = repo
        .tag_target("service-b-v1.0.0")
        .expect("read")
        .expect("exists");
    assert!(chained.annotated);
    assert_eq!(chained.peeled.to_string(), head);
    assert_eq!(chained.peeled_kind, gix::object::Kind::Commit);
    let lightweight = repo
        .tag_target("api-v1.0.0")
        .expect("read")
        .expect("exists");
    assert!(!lightweight.annotated);
    assert_eq!(lightweight.peeled.to_string(), head);

    let updates = new_tags(&repo, &["service-b-v1.0.0"]);
    let report = check_tags(&config(""), &repo, &updates, &none(&config(""))).expect("check");
    assert_eq!(rules(&report), vec![("service-b-v1.0.0".into(), vec![])]);
    assert_eq!(report.verdicts[0].commit.as_deref(), Some(head.as_str()));
}

/// Every service on a `kind = "none"` store.
fn none(config: &Config) -> Stores<'_> {
    Stores::single(config, Box::new(NoRegistry))
}

/// Every service on the scripted store.
fn scripted<'c>(config: &'c Config, registry: &Scripted) -> Stores<'c> {
    Stores::single(config, Box::new(registry.clone()))
}

/// A registry that answers from a script and records each call: the rule's logic is under
/// test here; the real backends have their own tests.
#[derive(Clone)]
struct Scripted {
    calls: Arc<Mutex<Vec<Vec<ImageRef>>>>,
    answer: fn(&ImageRef) -> ArtifactStatus,
}

impl Registry for Scripted {
    fn describe(&self) -> String {
        "scripted".into()
    }
    fn check(&self, artifacts: &[ArtifactRef]) -> Vec<ArtifactStatus> {
        let images: Vec<ImageRef> = artifacts
            .iter()
            .filter_map(|a| a.as_image().cloned())
            .collect();
        self.calls.lock().expect("lock").push(images.clone());
        images.iter().map(self.answer).collect()
    }
    fn promote(&self, _: &PromoteRequest) -> Result<Promotion, RegistryFailure> {
        unimplemented!("not used by the checks")
    }
}

#[test]
fn images_of_every_passing_tag_are_checked_in_one_call() {
    let t = TestRepo::new();
    for tag in ["service-a-v1.0.0", "service-b-v1.0.0", "api-v1.0.0"] {
        t.tag(tag);
    }
    t.git(&["tag", "api-v2-v1.0.0"]);
    let repo = t.open();
    let config =
        Config::parse(&CONFIG.replace("kind = \"none\"", "kind = \"ecr\""), "x").expect("config");
    let registry = Scripted {
        calls: Arc::new(Mutex::new(Vec::new())),
        answer: |image| match image.repository.as_str() {
            "service-a-image" => ArtifactStatus::Present(Identity::Image {
                digest: "sha256:aa".into(),
            }),
            "service-b-image" => ArtifactStatus::Missing,
            _ => ArtifactStatus::Failed(RegistryFailure {
                kind: FailureKind::Timeout,
                message: "timed out".into(),
                hint: "retry".into(),
            }),
        },
    };
    let updates = new_tags(
        &repo,
        &[
            "service-a-v1.0.0",
            "service-b-v1.0.0",
            "api-v1.0.0",
            "api-v2-v1.0.0",
        ],
    );
    let report =
        check_tags(&config, &repo, &updates, &scripted(&config, &registry)).expect("check");
    let calls = registry.calls.lock().expect("lock").clone();
    assert_eq!(calls.len(), 1, "one batched call");
    assert_eq!(
        calls[0].len(),
        3,
        "the lightweight tag is not asked about: {:?}",
        calls[0]
    );
    let head = t.git(&["rev-parse", "HEAD"]);
    assert_eq!(
        calls[0][0],
        ImageRef {
            repository: "service-a-image".into(),
            tag: head
        }
    );
    assert_eq!(report.verdicts[0].digest.as_deref(), Some("sha256:aa"));
    assert_eq!(
        rules(&report)
            .into_iter()
            .map(|(_, r)| r)
            .collect::<Vec<_>>(),
        vec![
            vec![],
            vec![Rule::Image],
            vec![Rule::Image],
            vec![Rule::Annotated]
        ]
    );
    assert!(report.images_checked);

    let warn = Config::parse(
        &format!(
            "[hook]\non-registry-error = \"warn\"\n{}",
            CONFIG.replace("kind = \"none\"", "kind = \"ecr\"")
        ),
        "x",
    )
    .expect("config");
    let report =
        check_tags(&warn, &repo, &updates[2..3], &scripted(&warn, &registry)).expect("check");
    assert!(report.ok());
    assert_eq!(report.warnings.len(), 1);
    assert!(report.warnings[0].contains("timed out"));
}

/// Fail closed: only "could not ask right now" may be let through by `warn`; an answer
/// that there is no artifact never is, and neither is one that cannot be told from it.
#[test]
fn registry_failures_are_judged_the_same_for_every_caller() {
    use FailureKind::*;
    let block = config("");
    let warn = config("[hook]\non-registry-error = \"warn\"");
    for (kind, with_block, with_warn) in [
        (
            RepositoryNotFound,
            RegistryVerdict::Absent,
            RegistryVerdict::Absent,
        ),
        (
            ImageNotFound,
            RegistryVerdict::Absent,
            RegistryVerdict::Absent,
        ),
        (
            AccessDenied,
            RegistryVerdict::Unavailable,
            RegistryVerdict::Unavailable,
        ),
        (
            Other,
            RegistryVerdict::Unavailable,
            RegistryVerdict::Unavailable,
        ),
        (
            Conflict,
            RegistryVerdict::Unavailable,
            RegistryVerdict::Unavailable,
        ),
        (
            NoCredentials,
            RegistryVerdict::Unavailable,
            RegistryVerdict::Warn,
        ),
        (
            Throttled,
            RegistryVerdict::Unavailable,
            RegistryVerdict::Warn,
        ),
        (Timeout, RegistryVerdict::Unavailable, RegistryVerdict::Warn),
        (
            Unreachable,
            RegistryVerdict::Unavailable,
            RegistryVerdict::Warn,
        ),
        (
            ServerError,
            RegistryVerdict::Unavailable,
            RegistryVerdict::Warn,
        ),
    ] {
        assert_eq!(judge_registry_failure(&block, kind), with_block, "{kind:?}");
        assert_eq!(judge_registry_failure(&warn, kind), with_warn, "{kind:?}");
    }
}

/// A missing repository refuses the tag even with `warn`; an unreachable registry with
/// `block` marks the verdict as unavailable, and a broken rule elsewhere outranks it.
#[test]
fn missing_repositories_refuse_and_outages_are_marked_unavailable() {
    let t = TestRepo::new();
    t.tag("service-a-v1.0.0");
    t.tag("service-b-v1.0.0");
    t.git(&["tag", "api-v1.0.0"]);
    let repo = t.open();
    let ecr = CONFIG.replace("kind = \"none\"", "kind = \"ecr\"");
    fn no_repository(_: &ImageRef) -> ArtifactStatus {
        ArtifactStatus::Failed(RegistryFailure {
            kind: FailureKind::RepositoryNotFound,
            message: "repository does not exist".into(),
            hint: "create it".into(),
        })
    }
    fn unreachable(_: &ImageRef) -> ArtifactStatus {
        ArtifactStatus::Failed(RegistryFailure {
            kind: FailureKind::Unreachable,
            message: "connection refused".into(),
            hint: "retry".into(),
        })
    }
    let failing = |kind: FailureKind| Scripted {
        calls: Arc::new(Mutex::new(Vec::new())),
        answer: if kind == FailureKind::RepositoryNotFound {
            no_repository
        } else {
            unreachable
        },
    };
    let warn = Config::parse(&format!("[hook]\non-registry-error = \"warn\"\n{ecr}"), "x")
        .expect("config");
    let block = Config::parse(&ecr, "x").expect("config");
    let one = new_tags(&repo, &["service-a-v1.0.0"]);

    let report = check_tags(
        &warn,
        &repo,
        &one,
        &scripted(&warn, &failing(FailureKind::RepositoryNotFound)),
    )
    .expect("check");
    assert!(!report.ok() && !report.only_unavailable());
    assert!(report.warnings.is_empty());
    assert!(report.verdicts[0].failures[0].message.contains("no image"));

    let report = check_tags(
        &warn,
        &repo,
        &one,
        &scripted(&warn, &failing(FailureKind::Unreachable)),
    )
    .expect("check");
    assert!(report.ok());
    assert_eq!(report.warnings.len(), 1);

    let report = check_tags(
        &block,
        &repo,
        &one,
        &scripted(&block, &failing(FailureKind::Unreachable)),
    )
    .expect("check");
    assert!(report.only_unavailable());
    assert!(report.verdicts[0].registry_unavailable);

    let two = new_tags(&repo, &["service-a-v1.0.0", "api-v1.0.0"]);
    let report = check_tags(
        &block,
        &repo,
        &two,
        &scripted(&block, &failing(FailureKind::Unreachable)),
    )
    .expect("check");
    assert!(
        !report.only_unavailable(),
        "the lightweight tag breaks a rule"
    );
    assert!(!report.verdicts[1].registry_unavailable);
}
