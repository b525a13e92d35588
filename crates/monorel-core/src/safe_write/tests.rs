use std::os::unix::fs::{symlink, PermissionsExt};

use super::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("meta").permissions().mode() & 0o7777
}

fn quick(policy: Policy) -> Policy {
    Policy {
        wait: Duration::from_millis(20),
        ..policy
    }
}

#[test]
fn replaces_the_file_and_keeps_its_mode() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    let file = root.join("a/b/pins.json");
    write(root, &file, b"one\n", Policy::DATA).expect("create");
    assert_eq!(std::fs::read(&file).expect("read"), b"one\n");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    write(root, &file, b"two\n", Policy::DATA).expect("replace");
    assert_eq!(std::fs::read(&file).expect("read"), b"two\n");
    assert_eq!(mode(&file), 0o640);
    assert!(!root.join("a/b/pins.json.lock").exists());
}

#[test]
fn an_executable_stays_executable() {
    let tmp = tempfile::tempdir().expect("tmp");
    let hook = tmp.path().join("pre-push");
    write(tmp.path(), &hook, b"#!/bin/sh\n", Policy::HOOK).expect("create");
    assert_eq!(mode(&hook) & 0o100, 0o100);
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    write(tmp.path(), &hook, b"#!/bin/sh\n", Policy::HOOK).expect("replace");
    assert_eq!(mode(&hook), 0o750);
}

#[test]
fn a_held_lock_is_reported_and_left_alone() {
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("pins.json");
    std::fs::write(&file, "old").expect("write");
    let lock = tmp.path().join("pins.json.lock");
    std::fs::write(&lock, "someone else's").expect("write");
    let err = write(tmp.path(), &file, b"new", quick(Policy::DATA)).expect_err("locked");
    assert!(matches!(err, WriteError::Locked { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("pins.json.lock exists") && text.contains("remove"),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "old");
    assert_eq!(
        std::fs::read_to_string(&lock).expect("read"),
        "someone else's"
    );
}

#[test]
fn a_failed_write_keeps_the_original_and_removes_the_lock() {
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("pins.json");
    let lock = Lock::acquire(tmp.path(), &file, Policy::DATA).expect("lock");
    // Something else takes the name meanwhile: the rename cannot replace a directory.
    std::fs::create_dir(&file).expect("mkdir");
    std::fs::write(file.join("inside"), "x").expect("write");
    let err = lock.commit(b"new").expect_err("rename fails");
    assert!(
        matches!(
            err,
            WriteError::Io {
                action: "write",
                ..
            }
        ),
        "{err}"
    );
    assert!(file.join("inside").is_file());
    assert!(!tmp.path().join("pins.json.lock").exists());

    // Dropping a lock without committing changes nothing either.
    let other = tmp.path().join("other.json");
    std::fs::write(&other, "kept").expect("write");
    drop(Lock::acquire(tmp.path(), &other, Policy::DATA).expect("lock"));
    assert_eq!(std::fs::read_to_string(&other).expect("read"), "kept");
    assert!(!tmp.path().join("other.json.lock").exists());
}

#[test]
fn links_out_of_the_root_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("repo");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&root).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("victim"), "precious").expect("write");

    // The file itself links out.
    symlink(outside.join("victim"), root.join("pins.json")).expect("link");
    let err = write(&root, &root.join("pins.json"), b"x", Policy::DATA).expect_err("out");
    assert!(matches!(err, WriteError::Escapes { .. }), "{err}");
    // A directory on the way links out; nothing is created behind it.
    symlink(&outside, root.join("infra")).expect("link");
    let err = write(&root, &root.join("infra/stg/p.json"), b"x", Policy::DATA).expect_err("out");
    assert!(matches!(err, WriteError::Escapes { .. }), "{err}");
    assert!(!outside.join("stg").exists());
    // A dangling link is refused: creating its target would write through it.
    symlink(outside.join("new"), root.join("dangling.json")).expect("link");
    let err = write(&root, &root.join("dangling.json"), b"x", Policy::DATA).expect_err("dangling");
    assert!(matches!(err, WriteError::Symlink { .. }), "{err}");
    assert!(!outside.join("new").exists());
    // `..` never passes.
    let err = write(&root, &root.join("../outside/victim"), b"x", Policy::DATA).expect_err("..");
    assert!(matches!(err, WriteError::Escapes { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(outside.join("victim")).expect("read"),
        "precious"
    );
}

#[test]
fn a_link_inside_is_followed_or_refused_by_policy() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    std::fs::create_dir_all(root.join("shared")).expect("mkdir");
    std::fs::write(root.join("shared/common.json"), "old").expect("write");
    symlink("shared/common.json", root.join("link.json")).expect("link");
    let link = root.join("link.json");
    write(root, &link, b"new", Policy::DATA).expect("followed");
    assert!(std::fs::symlink_metadata(&link)
        .expect("meta")
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(root.join("shared/common.json")).expect("read"),
        "new"
    );
    let err = write(root, &link, b"newer", Policy::NO_LINKS).expect_err("refused");
    assert!(matches!(err, WriteError::Symlink { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(root.join("shared/common.json")).expect("read"),
        "new"
    );
}

#[test]
fn concurrent_updates_are_never_lost() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().to_path_buf();
    let file = root.join("counter");
    std::fs::write(&file, "0").expect("write");
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (root, file) = (root.clone(), file.clone());
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let lock = Lock::acquire(&root, &file, Policy::DATA).expect("lock");
                    let old = lock.read().expect("read").expect("exists");
                    let n: u32 = String::from_utf8(old).expect("utf-8").parse().expect("n");
                    lock.commit((n + 1).to_string().as_bytes()).expect("commit");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "100");
}

#[test]
fn a_fifo_or_directory_is_not_a_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(tmp.path().join("dir")).expect("mkdir");
    let err = write(tmp.path(), &tmp.path().join("dir"), b"x", Policy::DATA).expect_err("dir");
    assert!(matches!(err, WriteError::NotAFile { .. }), "{err}");
}
