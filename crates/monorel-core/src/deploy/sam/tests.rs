//! The SAM editor on odd templates: each edit changes only the function's `CodeUri`.

use super::*;

fn object(version: Option<&str>) -> ObjectLocation {
    ObjectLocation {
        bucket: "zips".into(),
        key: "lambda-a-v1.2.0".into(),
        version_id: version.map(str::to_string),
        checksum_sha256_base64: Some("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".into()),
    }
}

fn set(text: &str) -> Result<String, String> {
    set_code_uri(text, "LambdaAFunction", &object(Some("v1")))
}

const HEAD: &str =
    "Resources:\n  LambdaAFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n";

#[test]
fn a_local_path_becomes_the_map_and_nothing_else_moves() {
    let old = format!("{HEAD}      CodeUri: ./src # built by sam\n      Handler: app.handler\n");
    let new = set(&old).expect("edit");
    assert_eq!(
        new,
        format!("{HEAD}      CodeUri:\n        Bucket: zips\n        Key: lambda-a-v1.2.0\n        Version: v1 # built by sam\n      Handler: app.handler\n")
    );
    assert_eq!(set(&new).expect("again"), new, "idempotent");
}

#[test]
fn an_existing_block_map_is_replaced_in_place() {
    let old = format!("{HEAD}      Handler: app.handler\n      CodeUri:\n        Bucket: zips\n        Key: lambda-a-v1.1.0\n        Version: old # pinned\n      Runtime: python3.12\n");
    let new = set(&old).expect("edit");
    assert_eq!(
        new,
        old.replace("lambda-a-v1.1.0", "lambda-a-v1.2.0")
            .replace("Version: old", "Version: v1")
    );
    // Without a version the `Version` line goes.
    let unversioned = set_code_uri(&new, "LambdaAFunction", &object(None)).expect("edit");
    assert_eq!(
        unversioned,
        old.replace("lambda-a-v1.1.0", "lambda-a-v1.2.0")
            .replace("\n        Version: old", "")
    );
}

#[test]
fn an_inline_flow_map_stays_inline() {
    let old =
        format!("{HEAD}      CodeUri: {{ Bucket: zips, Key: k }}   # flow\n      Handler: h\n");
    let new = set(&old).expect("edit");
    assert_eq!(
        new,
        format!("{HEAD}      CodeUri: {{Bucket: zips, Key: lambda-a-v1.2.0, Version: v1}}   # flow\n      Handler: h\n")
    );
}

#[test]
fn quoted_keys_and_values_are_found() {
    for (key, value) in [
        ("\"CodeUri\"", "'./my ''src'''"),
        ("'CodeUri'", "\"./src\\\" dir\""),
        ("CodeUri", "s3://old/key.zip"),
    ] {
        let old = format!("{HEAD}      {key}: {value}\n      Handler: h\n");
        let new = set(&old).expect(key);
        assert_eq!(
            new,
            format!("{HEAD}      {key}:\n        Bucket: zips\n        Key: lambda-a-v1.2.0\n        Version: v1\n      Handler: h\n"),
            "{key}: {value}"
        );
    }
}

#[test]
fn crlf_and_a_byte_order_mark_are_kept() {
    let old = format!(
        "\u{feff}{}      CodeUri: src\r\n      Handler: h\r\n",
        HEAD.replace('\n', "\r\n")
    );
    let new = set(&old).expect("edit");
    assert_eq!(
        new,
        format!("\u{feff}{}      CodeUri:\r\n        Bucket: zips\r\n        Key: lambda-a-v1.2.0\r\n        Version: v1\r\n      Handler: h\r\n", HEAD.replace('\n', "\r\n"))
    );
}

#[test]
fn block_scalar_neighbours_and_comments_between_keys_stay() {
    let old = format!("{HEAD}      Description: |\n        Multi-line, with CodeUri: fake\n        and non-ASCII: é ü 日本\n      # the code:\n      CodeUri: src\n\n      # handler next\n      Handler: >-\n        app.handler\n");
    let new = set(&old).expect("edit");
    assert_eq!(
        new,
        old.replace(
            "      CodeUri: src\n",
            "      CodeUri:\n        Bucket: zips\n        Key: lambda-a-v1.2.0\n        Version: v1\n"
        )
    );
}

#[test]
fn a_missing_code_uri_is_inserted_first_at_the_indentation_of_the_others() {
    let old = "Globals:\n  Function:\n    CodeUri: ./global\nResources:\n  LambdaAFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n        Handler: h\n        Runtime: python3.12\n";
    let new = set(old).expect("edit");
    assert_eq!(
        new,
        "Globals:\n  Function:\n    CodeUri: ./global\nResources:\n  LambdaAFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n        CodeUri:\n            Bucket: zips\n            Key: lambda-a-v1.2.0\n            Version: v1\n        Handler: h\n        Runtime: python3.12\n"
    );
    assert_eq!(set(&new).expect("again"), new);
}

#[test]
fn other_functions_anchors_and_aliases_are_untouched() {
    let old = "# top\nGlobals:\n  Function: &defaults\n    Timeout: 3\nResources:\n  Other:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: other/\n      Handler: &h app.handler\n  LambdaAFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: a/\n      Handler: *h\n";
    let new = set(old).expect("edit");
    assert_eq!(
        new,
        old.replace(
            "CodeUri: a/\n",
            "CodeUri:\n        Bucket: zips\n        Key: lambda-a-v1.2.0\n        Version: v1\n"
        )
    );
}

#[test]
fn values_that_are_not_plain_text_are_quoted() {
    let mut o = object(Some("3/L4kqtJl+Xd3d=="));
    o.key = "zips/lambda a: #1".into();
    o.bucket = "true".into();
    let old = format!("{HEAD}      CodeUri: src\n");
    let new = set_code_uri(&old, "LambdaAFunction", &o).expect("edit");
    assert_eq!(
        new,
        format!("{HEAD}      CodeUri:\n        Bucket: \"true\"\n        Key: \"zips/lambda a: #1\"\n        Version: \"3/L4kqtJl+Xd3d==\"\n")
    );
}

#[test]
fn what_cannot_be_edited_with_certainty_is_refused() {
    for (text, why) in [
        ("{\"Resources\": {}}", "JSON template"),
        (&format!("{HEAD}      CodeUri: a\n---\nx: 1\n"), "2 YAML documents"),
        ("Resources: {LambdaAFunction: {Type: AWS::Serverless::Function}}\n", "flow style"),
        ("Resources:\n  LambdaAFunction: {Type: AWS::Serverless::Function, Properties: {CodeUri: a}}\n", "flow style"),
        (&format!("{HEAD}      CodeUri: !Sub '${{Bucket}}'\n"), "intrinsic"),
        (&format!("{HEAD}      CodeUri: !Ref Code\n"), "intrinsic"),
        (&format!("{HEAD}      CodeUri:\n        Fn::If: [c, a, b]\n"), "not only `Bucket`"),
        (&format!("{HEAD}      CodeUri:\n        Bucket: !Ref B\n        Key: k\n"), "not a plain one-line value"),
        (&format!("x: &c a/\n{HEAD}      CodeUri: *c\n"), "alias"),
        (&format!("{HEAD}      CodeUri: &c a/\n      Handler: *c\n"), "anchor"),
        (&format!("{HEAD}      CodeUri: a\n        b\n"), "spans several lines"),
        (&format!("{HEAD}      CodeUri: |\n        a\n"), "block scalar"),
        (&format!("{HEAD}      <<: {{CodeUri: a}}\n      Handler: h\n"), "merge key"),
        (&format!("{HEAD}      CodeUri: a\n      CodeUri: b\n"), "twice"),
        (&format!("{HEAD}      InlineCode: x\n"), "InlineCode"),
        (&format!("{HEAD}      PackageType: Image\n"), "PackageType: Image"),
        ("Resources:\n  LambdaAFunction:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: x\n", "not an AWS::Serverless::Function"),
        ("Resources:\n  Other:\n    Type: AWS::Serverless::Function\n", "its functions are Other"),
        ("Resources:\n  LambdaAFunction:\n    Type: AWS::Serverless::Function\n", "no `Properties`"),
        ("Resources:\n  LambdaAFunction:\n    Type: AWS::Serverless::Function\n    Properties: [\n", "not valid YAML"),
    ] {
        let err = set(text).expect_err(why);
        assert!(err.contains(why), "{text:?}: {err}");
    }
    let mut hostile = object(None);
    hostile.key = "a\u{1b}[2Jb".into();
    let err = set_code_uri(
        &format!("{HEAD}      CodeUri: a\n"),
        "LambdaAFunction",
        &hostile,
    )
    .expect_err("control");
    assert!(err.contains("control") && !err.contains('\u{1b}'), "{err}");
}

#[test]
fn the_write_is_skipped_when_nothing_changes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = Config::parse(
        "[services.lambda-a]\npath = \"a\"\n[environments.stg]\nkind = \"sam\"\ntemplate = \"infra/template.yaml\"\n",
        "t",
    )
    .expect("config");
    let t = target(&config, tmp.path(), "lambda-a", "stg").expect("target");
    assert_eq!(t.resource, "LambdaAFunction");
    assert_eq!(t.file, "infra/template.yaml");
    let err = write_code_uri(&t, &object(None)).expect_err("missing");
    assert!(err.to_string().contains("does not exist"), "{err}");
    std::fs::create_dir_all(tmp.path().join("infra")).expect("mkdir");
    std::fs::write(&t.path, format!("{HEAD}      CodeUri: src\n")).expect("write");
    assert!(write_code_uri(&t, &object(None)).expect("first"));
    assert!(!write_code_uri(&t, &object(None)).expect("second"));
    assert!(super::super::target(&config, tmp.path(), "lambda-a", "stg").is_err());
}

#[test]
fn functions_lists_local_code_directories_with_the_global_fallback() {
    let text = "\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    CodeUri: shared/
    Runtime: python3.12
Resources:
  LambdaAFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: services/lambda-a/
  PaymentsFn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
  FromS3:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://bucket/key.zip
  Container:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
  Table:
    Type: AWS::DynamoDB::Table
";
    let found = functions(text).expect("parses");
    let pairs: Vec<(&str, Option<&str>)> = found
        .iter()
        .map(|f| (f.logical_id.as_str(), f.code_uri.as_deref()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("LambdaAFunction", Some("services/lambda-a/")),
            ("PaymentsFn", Some("shared/")),
            ("FromS3", None),
            ("Container", None),
        ]
    );
    assert!(
        functions("{\"Resources\": {}}").is_err(),
        "JSON templates are refused"
    );
}
