//! Reading what a loose tag object points at, with one inflater for all of them.
//!
//! A pushed tag is nearly always a loose object: `git tag -a` writes one. gix reads a loose
//! object by mapping its file and setting up a new zlib inflater, ~15,000 instructions
//! (mostly zeroing its state) for a tag object of 150 bytes: half of reading the 100 tags
//! of row 4 of docs/benchmarks.md. Only the first two lines of a tag (`object`, `type`)
//! matter to the hook, so this reads the start of the file and inflates just that with an
//! inflater set up once. Whatever it cannot answer (not a loose object, another header
//! layout, a damaged file) is left to gix, which reads the object fully or explains why
//! it cannot.

use std::io::Read;
use std::path::PathBuf;

use gix::objs::tag::ref_iter::Token;
use gix::objs::{Kind, TagRefIter};
use gix::ObjectId;

/// What the start of an object says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ObjectHead {
    /// A tag object, with the object it names and the kind its `type` line gives.
    Tag { target: ObjectId, kind: Kind },
    /// Any other kind of object.
    Other(Kind),
}

/// Reads the starts of loose objects; holds the inflater between reads.
pub(super) struct LooseReader {
    objects: PathBuf,
    inflate: Option<gix::zlib::Inflate>,
}

/// Compressed bytes read per object: a tag's first lines take about 80 bytes inflated.
const READ: usize = 256;
/// Inflated bytes kept: the loose header and the `object` and `type` lines of a SHA-256
/// tag (`tag 123456\0` + 72 + 12) fit.
const HEAD: usize = 160;

impl LooseReader {
    pub(super) fn new(objects: PathBuf) -> LooseReader {
        LooseReader {
            objects,
            inflate: None,
        }
    }

    /// Returns what the loose object `id` is, or `None` when it is not a loose object of
    /// this object directory or its start cannot be read as expected.
    pub(super) fn read(&mut self, id: &gix::oid) -> Option<ObjectHead> {
        let hex = id.to_hex().to_string();
        let path = self.objects.join(&hex[..2]).join(&hex[2..]);
        let mut compressed = [0u8; READ];
        let read = read_once(&mut std::fs::File::open(path).ok()?, &mut compressed).ok()?;
        let inflate = self.inflate.get_or_insert_with(Default::default);
        inflate.reset();
        let mut head = [0u8; HEAD];
        let (_, _, written) = inflate.prefix(&compressed[..read], &mut head).ok()?;
        let head = &head[..written];
        let (kind, _size, header_len) = gix::objs::decode::loose_header(head).ok()?;
        if kind != Kind::Tag {
            return Some(ObjectHead::Other(kind));
        }
        let (target, kind) = tag_head(&head[header_len..], id.kind())?;
        Some(ObjectHead::Tag { target, kind })
    }
}

/// Returns the object a tag names and the kind its `type` line gives, from the first two
/// lines of the tag's body (the rest of the body may be missing).
pub(super) fn tag_head(body: &[u8], hash: gix::hash::Kind) -> Option<(ObjectId, Kind)> {
    let mut tokens = TagRefIter::from_bytes(body, hash);
    let Some(Ok(Token::Target { id: target })) = tokens.next() else {
        return None;
    };
    let Some(Ok(Token::TargetKind(kind))) = tokens.next() else {
        return None;
    };
    Some((target, kind))
}

/// Reads the start of `file` into `buf` with one read: a short read of a regular file is
/// its end, and input cut short only makes the parse fail, which leaves the object to gix.
fn read_once(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            read => return read,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LooseReader, ObjectHead};
    use crate::test_repo::TestRepo;
    use gix::objs::Kind;
    use gix::ObjectId;

    fn id(t: &TestRepo, rev: &str) -> ObjectId {
        ObjectId::from_hex(t.git(&["rev-parse", rev]).as_bytes()).expect("object id")
    }

    #[test]
    fn loose_tags_are_read_and_packed_objects_are_left_to_gix() {
        let t = TestRepo::new();
        t.tag("service-a-v1.0.0");
        t.git(&["tag", "-a", "-m", "tree", "tree-tag", "HEAD^{tree}"]);
        let mut reader = LooseReader::new(t.path().join(".git/objects"));
        assert_eq!(
            reader.read(&id(&t, "service-a-v1.0.0")),
            Some(ObjectHead::Tag {
                target: id(&t, "HEAD"),
                kind: Kind::Commit
            })
        );
        assert_eq!(
            reader.read(&id(&t, "tree-tag")),
            Some(ObjectHead::Tag {
                target: id(&t, "HEAD^{tree}"),
                kind: Kind::Tree
            })
        );
        assert_eq!(
            reader.read(&id(&t, "HEAD")),
            Some(ObjectHead::Other(Kind::Commit))
        );

        t.git(&["repack", "-adq"]);
        t.git(&["prune-packed"]);
        assert_eq!(reader.read(&id(&t, "service-a-v1.0.0")), None);
        assert_eq!(reader.read(&id(&t, "HEAD")), None);
    }

    #[test]
    fn a_damaged_loose_object_is_left_to_gix() {
        let t = TestRepo::new();
        t.tag("service-a-v1.0.0");
        let tag = id(&t, "service-a-v1.0.0");
        let hex = tag.to_string();
        let path = t
            .path()
            .join(".git/objects")
            .join(&hex[..2])
            .join(&hex[2..]);
        let mut perms = std::fs::metadata(&path).expect("stat").permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&path, perms).expect("chmod");
        std::fs::write(&path, b"not zlib at all").expect("damage");
        let mut reader = LooseReader::new(t.path().join(".git/objects"));
        assert_eq!(reader.read(&tag), None);
        // …and gix says what is wrong instead of an answer.
        let err = t
            .open()
            .tag_target("service-a-v1.0.0")
            .expect_err("damaged");
        assert!(err.to_string().contains(&hex), "{err}");
    }
}
