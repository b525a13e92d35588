//! Reading a SAM template's code locations back, and mapping object keys to releases.

use super::*;

const STORE: &str =
    "[registries.lambda]\nkind = \"s3\"\nbucket = \"zips\"\nregion = \"eu-west-1\"\n";
const SERVICES: &str = "\n[services.lambda-a]\npath = \"a\"\nregistry = \"lambda\"\n\n[services.lambda-b]\npath = \"b\"\nregistry = \"lambda\"\n\n[services.api]\npath = \"api\"\n\n[environments.stg]\nkind = \"sam\"\ntemplate = \"infra/template.yaml\"\n";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn config(store_keys: &str) -> Config {
    Config::parse(
        &format!("{STORE}{store_keys}{SERVICES}"),
        "git-release.toml",
    )
    .expect("config")
}

fn object(bucket: &str, key: &str) -> ObjectLocation {
    ObjectLocation {
        bucket: bucket.into(),
        key: key.into(),
        version_id: None,
        checksum_sha256_base64: None,
    }
}

fn release(config: &Config, key: &str) -> Result<String, (String, String)> {
    release_of(config, "lambda-a", &object("zips", key))
}

const TEMPLATE: &str = "\u{feff}AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    CodeUri: s3://zips/lambda-c-v0.1.0 # shared
    Runtime: python3.12
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  LambdaAFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      CodeUri:
        Bucket: zips
        Key: lambda-a-v1.2.0
        Version: \"3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH\"
  LambdaBFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: {Bucket: zips, Key: lambda-b-v0.3.0}, Handler: h}
  LambdaCFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
  LocalFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ../src/
  SubFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: !Sub 's3://${Bucket}/a.zip'
  JoinFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {'Fn::Join': ['', [a, b]]}
  ImageFunction:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: repo:tag
";

#[test]
fn code_uris_reads_every_function_once_with_globals_and_version() {
    let found = code_uris(TEMPLATE).expect("parse");
    let keys: Vec<&str> = found.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "ImageFunction",
            "JoinFunction",
            "LambdaAFunction",
            "LambdaBFunction",
            "LambdaCFunction",
            "LocalFunction",
            "SubFunction"
        ],
        "only AWS::Serverless::Function resources"
    );
    assert_eq!(
        found["LambdaAFunction"],
        CodeUri::Object(ObjectLocation {
            version_id: Some("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH".into()),
            ..object("zips", "lambda-a-v1.2.0")
        })
    );
    // Flow style, no Version.
    assert_eq!(
        found["LambdaBFunction"],
        CodeUri::Object(object("zips", "lambda-b-v0.3.0"))
    );
    // No CodeUri of its own: the global one, an s3:// string.
    assert_eq!(
        found["LambdaCFunction"],
        CodeUri::Object(object("zips", "lambda-c-v0.1.0"))
    );
    assert_eq!(found["LocalFunction"], CodeUri::Local("../src/".into()));
    for id in ["SubFunction", "JoinFunction"] {
        assert!(
            matches!(&found[id], CodeUri::Unknown(why) if why.contains("intrinsic")),
            "{id}: {:?}",
            found[id]
        );
    }
    assert!(
        matches!(&found["ImageFunction"], CodeUri::Unknown(why) if why.contains("image")),
        "{:?}",
        found["ImageFunction"]
    );
}

#[test]
fn code_uris_fails_closed_on_what_it_cannot_read_with_certainty() {
    let head =
        "Resources:\n  LambdaAFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n";
    let one = |props: &str| {
        let found = code_uris(&format!("{head}{props}")).expect("parse");
        found["LambdaAFunction"].clone()
    };
    assert!(matches!(
        one("      Handler: h\n"),
        CodeUri::Unknown(why) if why.contains("no `CodeUri`")
    ));
    // An alias is not followed, even to a plain location.
    let aliased =
        format!("Metadata:\n  Code: &code s3://zips/lambda-a-v1.0.0\n{head}      CodeUri: *code\n");
    assert!(matches!(
        &code_uris(&aliased).expect("parse")["LambdaAFunction"],
        CodeUri::Unknown(why) if why.contains("alias")
    ));
    assert!(matches!(
        one("      CodeUri:\n        Bucket: zips\n        Key: k\n        Extra: x\n"),
        CodeUri::Unknown(why) if why.contains("mapping")
    ));
    assert!(matches!(
        one("      CodeUri:\n        Bucket: !Ref B\n        Key: k\n"),
        CodeUri::Unknown(_)
    ));
    assert!(matches!(
        one("      CodeUri: s3://zips\n"),
        CodeUri::Unknown(why) if why.contains("s3://bucket/key")
    ));
    assert!(matches!(
        one("      CodeUri: a\n      CodeUri: b\n"),
        CodeUri::Unknown(why) if why.contains("twice")
    ));
    // The same logical id twice: which one SAM reads depends on the reader.
    let twice = format!("{head}      CodeUri: a\n  LambdaAFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: s3://zips/lambda-a-v1.0.0\n");
    assert!(matches!(
        &code_uris(&twice).expect("parse")["LambdaAFunction"],
        CodeUri::Unknown(why) if why.contains("twice")
    ));
    // Not a template at all.
    assert!(code_uris("Resources: [a\n").is_err());
    assert!(code_uris("{\"Resources\": {}}").is_err());
}

#[test]
fn keys_map_back_to_the_release_that_renders_them() {
    let default = config("");
    assert_eq!(
        release(&default, "lambda-a-v1.2.0"),
        Ok("lambda-a-v1.2.0".into())
    );
    assert_eq!(
        release(&default, "lambda-a-v1.2.0-rc.1"),
        Ok("lambda-a-v1.2.0-rc.1".into())
    );
    // Another service's release, a version that does not render back, a near miss.
    for key in [
        "lambda-b-v1.2.0",
        "lambda-a-v01.2.0",
        "lambda-a-v1.2",
        "lambda-a-v1.2.0.zip",
        "x/lambda-a-v1.2.0",
        "",
    ] {
        let (short, reason) = release(&default, key).expect_err(key);
        assert_eq!(short, "not a release", "{key}");
        assert!(reason.contains("no release key of lambda-a"), "{reason}");
    }

    let custom = config("prefix = \"lambda/\"\nrelease-key = \"{service}/{version}.zip\"\n");
    assert_eq!(
        release(&custom, "lambda/lambda-a/1.2.0.zip"),
        Ok("lambda-a-v1.2.0".into())
    );
    assert_eq!(
        release(&custom, "lambda/lambda-a/10.20.30-beta.1.zip"),
        Ok("lambda-a-v10.20.30-beta.1".into())
    );
    for key in [
        "lambda-a/1.2.0.zip",
        "lambda/lambda-b/1.2.0.zip",
        "lambda/lambda-a/1.2.0",
        "lambda/lambda-a-v1.2.0",
    ] {
        assert!(release(&custom, key).is_err(), "{key}");
    }

    let tagged = config("release-key = \"releases/{tag}/{service}-{version}.zip\"\n");
    assert_eq!(
        release(&tagged, "releases/lambda-a-v2.0.0/lambda-a-2.0.0.zip"),
        Ok("lambda-a-v2.0.0".into())
    );
    // Tag and version must agree.
    assert!(release(&tagged, "releases/lambda-a-v2.0.0/lambda-a-2.0.1.zip").is_err());
}

#[test]
fn another_bucket_a_commit_and_hostile_keys_are_not_releases() {
    let default = config("");
    let (short, reason) = release_of(
        &default,
        "lambda-a",
        &object("elsewhere", "lambda-a-v1.2.0"),
    )
    .expect_err("bucket");
    assert_eq!(short, "other bucket");
    assert!(
        reason.contains("s3://elsewhere/lambda-a-v1.2.0") && reason.contains("zips"),
        "{reason}"
    );

    let (short, reason) = release(&default, &format!("lambda-a-{SHA}")).expect_err("commit");
    assert_eq!(short, "commit 0123456");
    assert!(reason.contains("commit 0123456"), "{reason}");
    let short_keys = config("prefix = \"ci/\"\nkey = \"{service}/{short_commit}.zip\"\n");
    assert_eq!(
        release(&short_keys, "ci/lambda-a/0123abc.zip")
            .expect_err("commit")
            .0,
        "commit 0123abc"
    );
    assert_eq!(
        release(&short_keys, "ci/lambda-a/0123abz.zip")
            .expect_err("no hex")
            .0,
        "not a release"
    );

    for key in [
        "lambda-a-v1.2.0\u{1b}[31m",
        "lambda-a-v1.2.0\n",
        "\u{202e}lambda-a-v1.2.0",
        "lambda-a-v1.2.0\u{202e}",
    ] {
        let (short, reason) = release(&default, key).expect_err(key);
        assert_eq!(short, "not a release");
        assert!(crate::text::is_displayable(&reason), "{reason:?}");
        assert!(
            reason.contains("\\x1b") || reason.contains("\\n") || reason.contains("\\u{202e}"),
            "{reason}"
        );
    }
    let (_, reason) =
        release_of(&default, "lambda-a", &object("zi\u{1b}]ps", "k")).expect_err("bucket");
    assert!(crate::text::is_displayable(&reason), "{reason:?}");
    // A key longer than S3 allows is not searched.
    assert!(release(&default, &format!("lambda-a-v1.2.0{}", "0".repeat(2000))).is_err());
}

#[test]
fn read_pins_parses_the_template_once_for_every_service() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = config("");
    let err = read_pins(&config, tmp.path(), "stg", &["lambda-a"]).expect_err("missing");
    assert!(matches!(err, SamError::Missing { .. }), "{err}");

    std::fs::create_dir_all(tmp.path().join("infra")).expect("mkdir");
    std::fs::write(tmp.path().join("infra/template.yaml"), TEMPLATE).expect("write");
    let pins = read_pins(
        &config,
        tmp.path(),
        "stg",
        &["lambda-a", "lambda-b", "api", "lambda-x"],
    )
    .expect("read");
    assert_eq!(
        pins,
        [
            SamPin::Release("lambda-a-v1.2.0".into()),
            SamPin::Release("lambda-b-v0.3.0".into()),
            // Not an S3 service; not a function of the template.
            SamPin::Absent,
            SamPin::Absent,
        ]
    );

    let local = TEMPLATE.replace("LocalFunction", "LambdaXFunction");
    let local = local.replace("Key: lambda-b-v0.3.0", "Key: \"lambda-b-\\e[2J\"");
    std::fs::write(tmp.path().join("infra/template.yaml"), &local).expect("write");
    let mut with_x = config.clone();
    with_x
        .services
        .insert("lambda-x".into(), with_x.services["lambda-a"].clone());
    let pins = read_pins(&with_x, tmp.path(), "stg", &["lambda-x", "lambda-b"]).expect("read");
    let SamPin::Unpinned { short, reason } = &pins[0] else {
        panic!("{pins:?}")
    };
    assert_eq!(short, "local");
    assert!(
        reason.contains("LambdaXFunction") && reason.contains("../src/"),
        "{reason}"
    );
    let SamPin::Unpinned { reason, .. } = &pins[1] else {
        panic!("{pins:?}")
    };
    assert!(reason.contains("lambda-b-\\x1b[2J"), "{reason}");

    std::fs::write(
        tmp.path().join("infra/template.yaml"),
        "Resources:\n  a: [b\n",
    )
    .expect("write");
    let err = read_pins(&config, tmp.path(), "stg", &["lambda-a"]).expect_err("yaml");
    assert!(
        matches!(err, SamError::Unparsable { .. })
            && err.to_string().contains("infra/template.yaml"),
        "{err}"
    );
}
