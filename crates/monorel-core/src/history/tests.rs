//! The one-pass answer against the per-service `git log` on randomised repositories.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use super::{one_pass, per_service, Answer, Query};
use crate::test_repo::TestRepo;

/// A small deterministic generator (SplitMix64): the same seed builds the same history.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Service paths: nested ones, and names git would quote.
const SERVICES: &[&str] = &[
    "svc/a",
    "svc/a/inner",
    "svc/b",
    "svc/c d",
    "svc/ünï",
    "svc/e",
    "lib",
];
/// File names under a service, including a leading newline and a tab.
const FILES: &[&str] = &["x", "y.txt", "\nlead", "tab\there", "deep/er/z"];
/// Contents files take, few on purpose: changes are often undone or repeated.
const CONTENTS: &[&str] = &["one\n", "two\n", "three\n"];

type Tree = BTreeMap<String, &'static str>;

fn quoted(path: &str) -> String {
    let mut out = String::from("\"");
    for ch in path.chars() {
        match ch {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn random_path(rng: &mut Rng) -> String {
    let dir = if rng.chance(10) {
        "other".to_string()
    } else {
        SERVICES[rng.below(SERVICES.len())].to_string()
    };
    format!("{dir}/{}", FILES[rng.below(FILES.len())])
}

/// Writes a fast-import stream for a random history: branches, commits touching random
/// services (changes undone, repeated on two branches), merges whose tree takes each file
/// from either side or something new, and release tags at random commits. Returns the
/// number of commits.
fn history(rng: &mut Rng, skew: bool) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut trees: Vec<Tree> = Vec::new();
    let mut branches: Vec<usize> = Vec::new(); // branch -> mark (1-based index into trees)
    let mut date: i64 = 1_700_000_000;
    let commits = 20 + rng.below(50);
    for n in 1..=commits {
        // Mostly forward in time, often in the same second, sometimes backwards.
        date += match rng.below(10) {
            0..=3 => 0,
            4 if skew => -500,
            _ => 1 + rng.below(100) as i64,
        };
        let (from, merge) = if branches.is_empty() {
            (None, None)
        } else if branches.len() > 1 && rng.chance(25) {
            let a = rng.below(branches.len());
            let mut b = rng.below(branches.len());
            if a == b {
                b = (b + 1) % branches.len();
            }
            (Some(a), Some(b))
        } else {
            (Some(rng.below(branches.len())), None)
        };
        let mut tree = from
            .map(|b| trees[branches[b] - 1].clone())
            .unwrap_or_default();
        if let Some(m) = merge {
            let other = &trees[branches[m] - 1];
            let paths: Vec<String> = tree.keys().chain(other.keys()).cloned().collect();
            for path in paths {
                match rng.below(10) {
                    0..=3 => {}
                    4..=7 => match other.get(&path) {
                        Some(c) => {
                            tree.insert(path, c);
                        }
                        None => {
                            tree.remove(&path);
                        }
                    },
                    _ => {
                        tree.insert(path, CONTENTS[rng.below(CONTENTS.len())]);
                    }
                }
            }
        } else {
            for _ in 0..1 + rng.below(3) {
                let path = random_path(rng);
                if rng.chance(15) {
                    tree.remove(&path);
                } else {
                    tree.insert(path, CONTENTS[rng.below(CONTENTS.len())]);
                }
            }
        }
        let branch = match from {
            Some(b) if !rng.chance(15) => b,
            _ => {
                branches.push(0);
                branches.len() - 1
            }
        };
        writeln!(out, "commit refs/heads/b{branch}").expect("write");
        writeln!(out, "mark :{n}").expect("write");
        writeln!(out, "committer C <c@example.com> {date} +0000").expect("write");
        writeln!(out, "data 9\ncommit {:<2}", n % 100).expect("write");
        if let Some(b) = from {
            writeln!(out, "from :{}", branches[b]).expect("write");
        }
        if let Some(m) = merge {
            writeln!(out, "merge :{}", branches[m]).expect("write");
        }
        writeln!(out, "deleteall").expect("write");
        for (path, content) in &tree {
            writeln!(out, "M 100644 inline {}", quoted(path)).expect("write");
            writeln!(out, "data {}\n{content}", content.len()).expect("write");
        }
        writeln!(out).expect("write");
        trees.push(tree);
        branches[branch] = n;
        if rng.chance(30) {
            writeln!(out, "reset refs/tags/r{n}\nfrom :{n}\n").expect("write");
        }
    }
    writeln!(
        out,
        "reset refs/heads/main\nfrom :{}\n",
        branches[rng.below(branches.len())]
    )
    .expect("write");
    out.extend_from_slice(b"done\n");
    (out, commits)
}

fn fast_import(t: &TestRepo, stream: &[u8]) {
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet", "--done", "--force"])
        .current_dir(t.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .spawn()
        .expect("fast-import");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stream)
        .expect("feed fast-import");
    assert!(child.wait().expect("wait").success(), "fast-import failed");
}

/// Compares both engines over `seeds` random repositories; returns how many answers
/// came from the in-memory walk and how many from the fallback.
fn compare(seeds: std::ops::Range<u64>, skew: bool) -> (usize, usize) {
    let (mut walked, mut fell_back) = (0, 0);
    for seed in seeds {
        let mut rng = Rng(seed);
        let t = TestRepo::new();
        let (stream, _) = history(&mut rng, skew);
        fast_import(&t, &stream);
        t.git(&["checkout", "-q", "-f", "main"]);
        let tags: Vec<String> = t.git(&["tag", "-l"]).lines().map(str::to_string).collect();
        let repo = t.open();
        let head = repo.resolve_commit("HEAD").expect("head");
        let mut queries: Vec<Query> = SERVICES
            .iter()
            .map(|s| Query {
                paths: vec![s.to_string()],
                globs: Vec::new(),
                since: match rng.below(5) {
                    0 => None,
                    1 => Some("HEAD".into()),
                    _ if tags.is_empty() => None,
                    _ => Some(format!("refs/tags/{}", tags[rng.below(tags.len())])),
                },
            })
            .collect();
        // Services with shared paths, as `also` and `[defaults] also` make them: their
        // own prefix plus one or two others, through the same `Config::paths_of`.
        for (i, s) in SERVICES.iter().enumerate() {
            let mut also = vec!["lib".to_string()];
            if rng.chance(50) {
                also.push(SERVICES[(i + 1) % SERVICES.len()].to_string());
            }
            let config = crate::config::Config {
                defaults: crate::config::Defaults {
                    also: also[..1].to_vec(),
                    ..Default::default()
                },
                ..crate::config::Config::parse("", "test").expect("empty config")
            };
            let service = crate::config::ServiceConfig {
                path: s.to_string(),
                also: also[1..].to_vec(),
                ..Default::default()
            };
            let since = match rng.below(3) {
                0 => None,
                _ if tags.is_empty() => None,
                _ => Some(format!("refs/tags/{}", tags[rng.below(tags.len())])),
            };
            queries.push(Query::new(config.paths_of(&service), since));
        }
        let answers = one_pass(&repo, head, &queries).expect("one pass");
        for (q, answer) in queries.iter().zip(answers) {
            let expected: Vec<String> = per_service(repo.root(), q, head)
                .expect("per service")
                .into_iter()
                .map(|c| c.id)
                .collect();
            let got: Vec<String> = match answer {
                Answer::Walked(ids) => {
                    walked += 1;
                    ids.iter().map(ToString::to_string).collect()
                }
                Answer::Listed(list) => {
                    fell_back += 1;
                    list.into_iter().map(|c| c.id).collect()
                }
            };
            assert_eq!(
                got, expected,
                "seed {seed}, skew {skew}, paths {:?}, since {:?}",
                q.paths, q.since
            );
        }
    }
    (walked, fell_back)
}

#[test]
fn one_pass_gives_the_per_service_answer_on_random_histories() {
    let (walked, fell_back) = compare(0..60, false);
    // The walk must answer (nearly) everything, or this test proves nothing.
    assert!(
        walked > 10 * fell_back.max(1),
        "walked {walked}, fell back {fell_back}"
    );
}

#[test]
fn one_pass_gives_the_per_service_answer_when_dates_go_backwards() {
    let (walked, _) = compare(1000..1030, true);
    assert!(walked > 0);
}

#[test]
fn messages_read_the_same_from_both_engines() {
    let t = TestRepo::new();
    std::fs::create_dir_all(t.path().join("a")).expect("mkdir");
    std::fs::create_dir_all(t.path().join("b")).expect("mkdir");
    std::fs::write(t.path().join("a/f"), "1").expect("write");
    t.git(&["add", "-A"]);
    t.git(&[
        "commit",
        "-q",
        "-m",
        "feat(a): one\n\nbody line\n\nBREAKING CHANGE: x",
    ]);
    std::fs::write(t.path().join("b/f"), "1").expect("write");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "fix(b): two"]);
    let repo = t.open();
    let head = repo.resolve_commit("HEAD").expect("head");
    let queries = vec![
        Query {
            paths: vec!["a".into()],
            globs: Vec::new(),
            since: None,
        },
        Query {
            paths: vec!["b".into()],
            globs: Vec::new(),
            since: None,
        },
    ];
    let one = super::commits_since(&repo, head, &queries, true).expect("one pass");
    for (q, got) in queries.iter().zip(one) {
        assert_eq!(got, per_service(repo.root(), q, head).expect("per service"));
    }
}

/// A merge whose parent lies below the releases' common ancestor: whether git sees that
/// parent as uninteresting yet depends on history that was not read, so the service for
/// which it matters is answered by its own `git log`, and the answers still agree.
#[test]
fn a_merge_with_a_parent_below_the_history_read_falls_back_to_git() {
    let t = TestRepo::new();
    let write = |path: &str, text: &str| {
        let path = t.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write("a/f", "0");
    write("b/f", "0");
    write("c/f", "0");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "x"]);
    let x = t.git(&["rev-parse", "HEAD"]);
    write("a/f", "1");
    t.git(&["commit", "-q", "-am", "y"]);
    let y = t.git(&["rev-parse", "HEAD"]);
    write("b/f", "1");
    t.git(&["commit", "-q", "-am", "b"]);
    t.tag("ra");
    t.tag("rb");
    t.tag("rc");
    t.git(&["checkout", "-q", "-b", "feat", &x]);
    write("c/f", "2");
    t.git(&["commit", "-q", "-am", "g"]);
    // The feature branch takes main's older commit y (below the releases) in.
    t.git(&["merge", "-q", "--no-edit", &y]);
    // A change on top, so the walk for `a` goes through that merge.
    write("a/f", "5");
    t.git(&["commit", "-q", "-am", "g2"]);
    t.git(&["checkout", "-q", "main"]);
    t.git(&["merge", "-q", "--no-edit", "feat"]);
    let repo = t.open();
    let head = repo.resolve_commit("HEAD").expect("head");
    let queries: Vec<Query> = ["a", "b", "c"]
        .iter()
        .map(|s| Query {
            paths: vec![s.to_string()],
            globs: Vec::new(),
            since: Some(format!("refs/tags/r{s}")),
        })
        .collect();
    let answers = one_pass(&repo, head, &queries).expect("one pass");
    let mut fell_back = Vec::new();
    for (q, answer) in queries.iter().zip(answers) {
        let got: Vec<String> = match answer {
            Answer::Walked(ids) => ids.iter().map(ToString::to_string).collect(),
            Answer::Listed(list) => {
                fell_back.push(q.paths[0].clone());
                list.into_iter().map(|c| c.id).collect()
            }
        };
        let expected: Vec<String> = per_service(repo.root(), q, head)
            .expect("per service")
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(got, expected, "{:?}", q.paths);
    }
    assert_eq!(fell_back, ["a"]);
}

/// The field-by-field lossy parser [`super::Log`] replaced, kept as the reference its
/// whole-output fast path must agree with byte for byte.
fn parse_messages_per_field(out: &[u8]) -> Vec<crate::repo::CommitSummary> {
    let mut fields = out.split(|b| *b == 0);
    let mut commits = Vec::new();
    while let (Some(id), Some(parents), Some(message)) =
        (fields.next(), fields.next(), fields.next())
    {
        let id = String::from_utf8_lossy(id).trim().to_string();
        if id.is_empty() {
            break;
        }
        let parents = parents
            .split(|b| *b == b' ')
            .filter(|p| !p.is_empty())
            .count();
        let message = String::from_utf8_lossy(message).trim_end().to_string();
        let subject = message.lines().next().unwrap_or("").to_string();
        commits.push(crate::repo::CommitSummary {
            id,
            subject,
            message,
            parents,
        });
    }
    commits
}

#[test]
fn a_log_reads_valid_and_invalid_utf8_as_the_per_field_parser_did() {
    let a = "a".repeat(40);
    let b = "b".repeat(40);
    let c = "c".repeat(40);
    let outputs: Vec<Vec<u8>> = vec![
        // Valid UTF-8: the fast path.
        format!("{a}\0{b} {c}\0feat: x\n\nbody\n\n\0\n{b}\0{c}\0fix: y\0\n{c}\0\0").into_bytes(),
        // Latin-1 and broken sequences, one cut short right before a field's NUL.
        [
            format!("{a}\0{b}\0fix: caf").as_bytes(),
            b"\xe9 \xff\xfe\n\nBREAKING CHANGE: \xc3\x28 x\xe2\x82",
            format!("\0\n{b}\0\0héllo ").as_bytes(),
            b"\xf0\x9f",
            b"\0\n\xe2\x82\0\0x\n",
        ]
        .concat(),
        Vec::new(),
        b"\0\0".to_vec(),
    ];
    for out in &outputs {
        let got: Vec<_> = super::Log::new(out.clone())
            .commits()
            .map(super::summary)
            .collect();
        assert_eq!(got, parse_messages_per_field(out), "{out:?}");
    }
    let latin1 = parse_messages_per_field(&outputs[1]);
    assert_eq!(latin1.len(), 3, "{latin1:?}");
    assert_eq!(latin1[0].subject, "fix: caf\u{fffd} \u{fffd}\u{fffd}");
    assert_eq!(latin1[1].message, "héllo \u{fffd}");
}
