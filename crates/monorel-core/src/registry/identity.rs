//! The content identity of an artifact, and whether two name the same content.
//!
//! An image is its manifest digest: equal digests are equal content, full stop. An
//! object is harder: its ETag is an MD5 only for single-part uploads without KMS, and a
//! multipart upload's ETag changes when the object is copied. The checksum S3 keeps
//! (`ChecksumSHA256`, when the upload sent one) survives a copy, so content is compared
//! by checksum; without one on both sides, only equal single-part ETags are taken as the
//! same content, and anything else cannot be told — which refuses (fail closed).

use serde::Serialize;

/// What a store says an artifact's content is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Identity {
    /// An image: its manifest digest (`sha256:<64 hex>`).
    Image {
        /// The manifest digest, as the registry reports it.
        digest: String,
    },
    /// An object: ETag, checksum, version and size.
    Object(ObjectIdentity),
}

impl Identity {
    /// The image digest, when it is an image.
    pub fn digest(&self) -> Option<&str> {
        match self {
            Identity::Image { digest } => Some(digest),
            Identity::Object(_) => None,
        }
    }

    /// The object's identity, when it is an object.
    pub fn object(&self) -> Option<&ObjectIdentity> {
        match self {
            Identity::Object(object) => Some(object),
            Identity::Image { .. } => None,
        }
    }

    /// One short line for people: the digest, or the object's checksum (else ETag) and
    /// version. Passed through the text gate.
    pub fn short(&self) -> String {
        match self {
            Identity::Image { digest } => crate::text::line(digest).into_owned(),
            Identity::Object(object) => object.short(),
        }
    }
}

/// The identity of one version of an S3 object, as `HeadObject` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectIdentity {
    /// The ETag without its quotes (an MD5 for single-part uploads; `<hex>-<parts>` for
    /// multipart ones).
    pub etag: String,
    /// The base64 SHA-256 checksum S3 keeps, when the upload sent one (`<b64>-<parts>`
    /// for a composite checksum of a multipart upload).
    pub checksum_sha256: Option<String>,
    /// The version id, in a versioned bucket (`null` versions are reported as absent).
    pub version_id: Option<String>,
    /// The size in bytes.
    pub size: u64,
}

/// Whether two artifacts hold the same content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SameContent {
    /// Yes.
    Same,
    /// No.
    Different,
    /// Cannot be told; the reason, on one line, for the refusal.
    Unknown(String),
}

impl ObjectIdentity {
    /// Whether the ETag is a multipart upload's (`<hex>-<parts>`), which a copy changes.
    pub fn multipart(&self) -> bool {
        self.etag.contains('-')
    }

    /// One short line for people: checksum (else ETag), version and size.
    pub fn short(&self) -> String {
        let content = match &self.checksum_sha256 {
            Some(sum) => format!("sha256 {sum}"),
            None => format!("etag {}", self.etag),
        };
        let version = match &self.version_id {
            Some(version) => format!(", version {version}"),
            None => String::new(),
        };
        crate::text::line(&format!("{content}{version}, {} bytes", self.size)).into_owned()
    }

    /// Compares content: by SHA-256 checksum when both have one (never by ETag, which a
    /// copy of a multipart upload changes); else only equal single-part ETags are the
    /// same; anything else cannot be told.
    pub fn same_content(&self, other: &ObjectIdentity) -> SameContent {
        if self.size != other.size {
            return SameContent::Different;
        }
        match (&self.checksum_sha256, &other.checksum_sha256) {
            (Some(a), Some(b)) if a == b => SameContent::Same,
            // A composite checksum (of the parts of a multipart upload) and a full-object
            // one differ for the same bytes: that difference proves nothing.
            (Some(a), Some(b)) if is_composite(a) || is_composite(b) => SameContent::Unknown(
                "one of the two SHA-256 checksums is a composite of a multipart upload's parts, which cannot be compared with a whole-object checksum".into(),
            ),
            (Some(_), Some(_)) => SameContent::Different,
            _ if self.etag == other.etag && !self.multipart() && !other.multipart() => {
                SameContent::Same
            }
            _ => SameContent::Unknown(
                "S3 keeps no SHA-256 checksum for one of the two objects, and their ETags cannot prove the content equal (upload with `--checksum-algorithm SHA256` so S3 keeps one)".into(),
            ),
        }
    }
}

/// Whether a checksum is a composite one (`<base64>-<parts>`).
fn is_composite(checksum: &str) -> bool {
    checksum.contains('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(etag: &str, sum: Option<&str>, size: u64) -> ObjectIdentity {
        ObjectIdentity {
            etag: etag.into(),
            checksum_sha256: sum.map(str::to_string),
            version_id: None,
            size,
        }
    }

    #[test]
    fn checksums_decide_not_etags() {
        // A multipart source and its single-part copy: ETags differ, checksums agree.
        let source = object(
            "abc-3",
            Some("n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="),
            10,
        );
        let copy = object(
            "def",
            Some("n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="),
            10,
        );
        assert_eq!(source.same_content(&copy), SameContent::Same);
        let other = object(
            "abc-3",
            Some("LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="),
            10,
        );
        assert_eq!(source.same_content(&other), SameContent::Different);
    }

    #[test]
    fn without_checksums_only_equal_single_part_etags_are_the_same() {
        assert_eq!(
            object("aa", None, 1).same_content(&object("aa", Some("x"), 1)),
            SameContent::Same
        );
        assert!(matches!(
            object("aa-2", None, 1).same_content(&object("aa-2", None, 1)),
            SameContent::Unknown(_)
        ));
        assert!(matches!(
            object("aa", None, 1).same_content(&object("bb", None, 1)),
            SameContent::Unknown(_)
        ));
        assert_eq!(
            object("aa", None, 1).same_content(&object("aa", None, 2)),
            SameContent::Different,
            "sizes differ: different whatever the rest says"
        );
    }

    #[test]
    fn composite_checksums_are_not_compared_with_whole_ones() {
        assert!(matches!(
            object("a-2", Some("AAAA-2"), 5).same_content(&object("b", Some("BBBB"), 5)),
            SameContent::Unknown(_)
        ));
    }

    #[test]
    fn identities_serialize_with_their_own_fields() {
        let image = Identity::Image {
            digest: "sha256:aa".into(),
        };
        assert_eq!(
            serde_json::to_value(&image).expect("json"),
            serde_json::json!({"digest": "sha256:aa"})
        );
        let object = Identity::Object(object("aa", Some("c2Vj"), 3));
        assert_eq!(
            serde_json::to_value(&object).expect("json"),
            serde_json::json!({"etag": "aa", "checksum_sha256": "c2Vj", "version_id": null, "size": 3})
        );
    }
}
