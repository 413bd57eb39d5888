//! Bad projects: each case breaks a small valid project in one way and runs the real `ggp plan`.
//! Every case must exit non-zero with a message that names the file, the line and the key.

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;

/// A small valid project; cases edit single lines so expected line numbers stay obvious.
fn base() -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::new();
    m.insert(
        "deployments/deployment.defaults.conf",
        r#"conf {
  target = v1
  core {
    role {
      name = "core-role"
      alias = "core-alias"
      assumeRolePolicy = { Version = "2012-10-17", Statement = [] }
      iamPolicy = { Statement = [ { Effect = Allow, Action = ["iam:PassRole"], Resource = ["arn:aws:iam::"${ACCOUNT_ID}":role/"${conf.core.role.name}] } ] }
    }
  }
  lambda.role { name = "lambda-role", assumeRolePolicy = { Version = "2012-10-17", Statement = [] } }
  service.role { name = "service-role", assumeRolePolicy = { Version = "2012-10-17", Statement = [] } }
  loggers = [
    { component = Lambda, loggerLevel = INFO, loggerType = FileSystem, space = 1024 }
  ]
}
"#
        .into(),
    );
    m.insert(
        "deployments/function.defaults.conf",
        "conf {\n  aliasName = \"live\"\n  memorySizeInKb = 16384\n  environmentVariables { GROUP_ID = ${GROUP_ID} }\n}\n".into(),
    );
    m.insert(
        "deployments/test.conf",
        "conf {\n  functions = [\"F\"]\n}\n".into(),
    );
    m.insert(
        "functions/F/function.conf",
        "conf {\n  language = \"PYTHON3_8\"\n  functionName = \"F\"\n  handlerName = \"main.handler\"\n  pinned = false\n  timeoutInSeconds = 3\n}\n".into(),
    );
    m.insert(
        "functions/F/main.py",
        "def handler(event, context):\n    return event\n".into(),
    );
    m.insert(
        "functions/G/main.py",
        "def handler(event, context):\n    return event\n".into(),
    );
    m
}

/// A second function, for cross-function rules.
const G_CONF: &str = "conf {\n  language = \"PYTHON3_8\"\n  functionName = \"G\"\n  handlerName = \"main.handler\"\n  pinned = false\n  timeoutInSeconds = 3\n}\n";

struct Case {
    name: &'static str,
    files: BTreeMap<&'static str, String>,
    args: Vec<&'static str>,
    code: i32,
    expect: Vec<&'static str>,
}

fn case(name: &'static str) -> Case {
    Case {
        name,
        files: base(),
        args: vec!["plan", "-g", "g", "-d", "deployments/test.conf"],
        code: 3,
        expect: vec![],
    }
}

impl Case {
    /// Replaces line `n` (1-based) of `file`.
    fn line(mut self, file: &'static str, n: usize, text: &str) -> Case {
        let content = self
            .files
            .get(file)
            .unwrap_or_else(|| panic!("{file} not in project"))
            .clone();
        let mut lines: Vec<String> = content.lines().map(String::from).collect();
        lines[n - 1] = text.to_string();
        self.files.insert(file, lines.join("\n") + "\n");
        self
    }
    fn file(mut self, path: &'static str, text: &str) -> Case {
        self.files.insert(path, text.to_string());
        self
    }
    fn remove(mut self, path: &'static str) -> Case {
        self.files.remove(path);
        self
    }
    fn args(mut self, args: &[&'static str]) -> Case {
        self.args = args.to_vec();
        self
    }
    fn code(mut self, c: i32) -> Case {
        self.code = c;
        self
    }
    fn expect(mut self, parts: &[&'static str]) -> Case {
        self.expect = parts.to_vec();
        self
    }
}

fn cases() -> Vec<Case> {
    const D: &str = "deployments/deployment.defaults.conf";
    const FD: &str = "deployments/function.defaults.conf";
    const T: &str = "deployments/test.conf";
    const F: &str = "functions/F/function.conf";
    const TWO: &str = "conf {\n  functions = [\"F\", \"G\"]\n}\n";
    vec![
        // Syntax errors at known lines, in each kind of file.
        case("syntax: deployment file without closing brace").file(T, "conf {\n  functions = [\"F\"]\n").expect(&["deployments/test.conf:3", "syntax error"]),
        case("syntax: garbage in defaults").line(D, 5, "      name = \"x\" ]]] oops").expect(&["deployments/deployment.defaults.conf:5", "syntax error"]),
        case("syntax: function.conf").line(F, 3, "  functionName = = \"F\"").expect(&["functions/F/function.conf:3", "syntax error"]),
        case("syntax: function defaults").line(FD, 3, "  memorySizeInKb = {").expect(&["deployments/function.defaults.conf", "syntax error"]),
        case("syntax: inside an included file")
            .file(T, "include \"inc.conf\"\nconf {\n  functions = [\"F\"]\n}\n")
            .file("deployments/inc.conf", "x = 1\ny = [1, 2\n")
            .expect(&["deployments/inc.conf:", "syntax error"]),
        case("required include missing").file(T, "include required(\"nope.conf\")\nconf.functions = [\"F\"]\n").expect(&["deployments/test.conf:1", "nope.conf"]),
        case("syntax: missing open brace").line(D, 3, "  core").expect(&["deployments/deployment.defaults.conf:", "syntax error"]),
        // Unknown enumerations.
        case("unknown language").line(F, 2, "  language = \"COBOL\"").expect(&["functions/F/function.conf:2", "conf.language", "COBOL"]),
        case("language version ggp does not know").line(F, 2, "  language = \"PYTHON3_99\"").expect(&["functions/F/function.conf:2", "conf.language"]),
        case("unknown encoding type").line(F, 5, "  pinned = false, encodingType = Xml").expect(&["functions/F/function.conf:5", "conf.encodingType"]),
        case("unknown target").line(D, 2, "  target = v3").expect(&["deployments/deployment.defaults.conf:2", "conf.target"]),
        case("unknown logger type").line(D, 14, "    { component = Lambda, loggerLevel = INFO, loggerType = Syslog }").expect(&["deployments/deployment.defaults.conf:14", "conf.loggers[0].loggerType"]),
        case("unknown logger level").line(D, 14, "    { component = Lambda, loggerLevel = LOUD, loggerType = AWSCloudWatch }").expect(&["deployments/deployment.defaults.conf:14", "conf.loggers[0].loggerLevel"]),
        case("unknown logger component").line(D, 14, "    { component = Kernel, loggerLevel = INFO, loggerType = AWSCloudWatch }").expect(&["deployments/deployment.defaults.conf:14", "conf.loggers[0].component"]),
        // Wrong types.
        case("memory is not a number").line(F, 5, "  pinned = false, memorySizeInKb = \"lots\"").expect(&["functions/F/function.conf:5", "conf.memorySizeInKb", "lots"]),
        case("pinned is not a boolean").line(F, 5, "  pinned = \"maybe\"").expect(&["functions/F/function.conf:5", "conf.pinned"]),
        case("timeout is a list").line(F, 6, "  timeoutInSeconds = [1]").expect(&["functions/F/function.conf:6", "conf.timeoutInSeconds"]),
        case("functions is a string").line(T, 2, "  functions = \"F\"").expect(&["deployments/test.conf:2", "conf.functions"]),
        case("loggers is an object").line(D, 13, "  loggers = { a = 1 }").line(D, 14, "").line(D, 15, "").expect(&["deployments/deployment.defaults.conf:13", "conf.loggers"]),
        case("environment variables is a list").line(F, 5, "  pinned = false, environmentVariables = [1]").expect(&["functions/F/function.conf:5", "conf.environmentVariables"]),
        case("device resources hold strings").line(F, 5, "  pinned = false, localDeviceResources = [\"/dev/x\"]").expect(&["functions/F/function.conf:5", "conf.localDeviceResources[0]"]),
        case("role name is an object")
            .line(D, 11, "  lambda.role { name { x = 1 }, assumeRolePolicy = { Version = \"2012-10-17\", Statement = [] } }")
            .expect(&["deployments/deployment.defaults.conf:11", "conf.lambda.role.name", "expected a string"]),
        case("negative uid").line(F, 5, "  pinned = false, uid = -1").expect(&["functions/F/function.conf:5", "conf.uid"]),
        // Missing required keys.
        case("missing functionName").line(F, 3, "").expect(&["functions/F/function.conf:1", "conf.functionName", "required key is missing"]),
        case("missing handlerName").line(F, 4, "").expect(&["functions/F/function.conf:1", "conf.handlerName", "required"]),
        case("missing language").line(F, 2, "").expect(&["functions/F/function.conf:1", "conf.language", "required"]),
        case("missing timeout").line(F, 6, "").expect(&["functions/F/function.conf:1", "conf.timeoutInSeconds", "required"]),
        case("missing pinned").line(F, 5, "").expect(&["functions/F/function.conf:1", "conf.pinned", "required"]),
        // The inline policy refers to the name, so the substitution is what fails first.
        case("missing core role name").line(D, 5, "").expect(&["deployments/deployment.defaults.conf:8", "${conf.core.role.name}", "undefined substitution"]),
        case("missing service role name")
            .line(D, 12, "  service.role { assumeRolePolicy = { Version = \"2012-10-17\", Statement = [] } }")
            .expect(&["deployments/deployment.defaults.conf:12", "conf.service.role.name", "required"]),
        case("missing role alias").line(D, 6, "").expect(&["deployments/deployment.defaults.conf:4", "conf.core.role.alias", "required"]),
        case("missing lambda assume-role policy").line(D, 11, "  lambda.role { name = \"lambda-role\" }").expect(&["deployments/deployment.defaults.conf:11", "conf.lambda.role.assumeRolePolicy"]),
        case("missing connector ARN")
            .file(T, "conf {\n  functions = [\"F\"]\n  connectors = [\"c\"]\n}\n")
            .file("connectors/c.conf", "conf {\n  connector {\n    parameters { A = \"1\" }\n  }\n}\n")
            .expect(&["connectors/c.conf:2", "conf.connector.connectorArn", "required"]),
        // Substitutions.
        case("undefined substitution in a function").line(F, 5, "  pinned = ${NOPE_NOT_SET}").expect(&["functions/F/function.conf:5", "NOPE_NOT_SET"]),
        case("undefined self reference in defaults")
            .line(D, 8, "      iamPolicy = { Resource = [\"arn:aws:iam::\"${ACCOUNT_ID}\":role/\"${conf.core.role.nmae}] }")
            .expect(&["deployments/deployment.defaults.conf:8", "conf.core.role.nmae"]),
        case("cyclic substitution").file(T, "conf {\n  functions = [\"F\"]\n  a = ${conf.b}\n  b = ${conf.a}\n}\n").expect(&["deployments/test.conf:", "circular"]),
        case("undefined substitution inside an included file")
            .file(T, "include \"inc.conf\"\nconf {\n  functions = [\"F\"]\n}\n")
            .file("deployments/inc.conf", "x = 1\ny = ${ALSO_NOT_SET}\n")
            .expect(&["deployments/inc.conf:2", "ALSO_NOT_SET"]),
        // Files and folders.
        case("unknown function folder").line(T, 2, "  functions = [\"Nope\"]").expect(&["deployments/test.conf:2", "conf.functions[0]", "functions/Nope does not exist"]),
        case("function folder without function.conf").line(T, 2, "  functions = [\"G\"]").expect(&["deployments/test.conf:2", "functions/G/function.conf does not exist"]),
        case("unknown connector").file(T, "conf {\n  functions = [\"F\"]\n  connectors = [\"nope\"]\n}\n").expect(&["deployments/test.conf:3", "conf.connectors[0]", "connectors/nope.conf"]),
        case("deployment file not found").args(&["plan", "-g", "g", "-d", "deployments/missing.conf"]).expect(&["deployments/missing.conf", "not found"]),
        case("bad architecture").args(&["plan", "-g", "g", "-d", "deployments/test.conf", "-a", "X86_64,SPARC"]).code(2).expect(&["--arch", "SPARC"]),
        // Handlers.
        case("missing handler file").line(F, 4, "  handlerName = \"nope.handler\"").expect(&["functions/F/function.conf:4", "conf.handlerName", "nope.py"]),
        case("handler function not defined").line(F, 4, "  handlerName = \"main.missing\"").expect(&["functions/F/function.conf:4", "conf.handlerName", "missing"]),
        case("node handler file missing")
            .line(F, 2, "  language = \"NODEJS12_X\"")
            .line(F, 4, "  handlerName = \"index.handler\"")
            .expect(&["functions/F/function.conf:4", "index.js"]),
        case("executable without build.sh, zip or program").line(F, 2, "  language = \"EXECUTABLE\"").line(F, 4, "  handlerName = \"prog\"").expect(&["functions/F/function.conf:4", "build.sh"]),
        // Resources.
        case("duplicate volume destination")
            .file(T, TWO)
            .file("functions/G/function.conf", G_CONF)
            .line(F, 5, "  pinned = false, localVolumeResources = [{ sourcePath = \"/a\", destinationPath = \"/data\" }]")
            .file("functions/G/function.conf", &G_CONF.replace("  pinned = false", "  pinned = false, localVolumeResources = [{ sourcePath = \"/b\", destinationPath = \"/data\" }]"))
            .expect(&["functions/G/function.conf:5", "destinationPath", "/data"]),
        case("one source mounted at two destinations")
            .line(F, 5, "  pinned = false, localVolumeResources = [{ sourcePath = \"/a\", destinationPath = \"/x\" }, { sourcePath = \"/a\", destinationPath = \"/y\" }]")
            .expect(&["functions/F/function.conf:5", "conf.localVolumeResources[1].sourcePath"]),
        case("device resource outside /dev").line(F, 5, "  pinned = false, localDeviceResources = [{ path = \"/tmp/tty\" }]").expect(&["functions/F/function.conf:5", "conf.localDeviceResources[0].path", "/dev"]),
        case("relative volume path").line(F, 5, "  pinned = false, localVolumeResources = [{ sourcePath = \"data\" }]").expect(&["functions/F/function.conf:5", "sourcePath", "absolute"]),
        case("volume under /sys").line(F, 5, "  pinned = false, localVolumeResources = [{ sourcePath = \"/sys/class\" }]").expect(&["functions/F/function.conf:5", "/proc or /sys"]),
        case("S3 resource without s3:// uri").line(F, 5, "  pinned = false, localS3Resources = [{ uri = \"http://x/y\", path = \"/m\" }]").expect(&["functions/F/function.conf:5", "conf.localS3Resources[0].uri"]),
        case("SageMaker ARN that is not a training job")
            .line(F, 5, "  pinned = false, localSageMakerResources = [{ arn = \"arn:aws:sagemaker:us-east-1:1:model/x\", path = \"/m\" }]")
            .expect(&["functions/F/function.conf:5", "training-job"]),
        // Loggers.
        case("FileSystem logger without space").line(D, 14, "    { component = Lambda, loggerLevel = INFO, loggerType = FileSystem }").expect(&["deployments/deployment.defaults.conf:14", "conf.loggers[0].space", "needs"]),
        case("CloudWatch logger with space").line(D, 14, "    { component = Lambda, loggerLevel = INFO, loggerType = AWSCloudWatch, space = 10 }").expect(&["deployments/deployment.defaults.conf:14", "conf.loggers[0].space", "must not"]),
        // Other rules.
        case("duplicate function names")
            .file(T, TWO)
            .file("functions/G/function.conf", &G_CONF.replace("functionName = \"G\"", "functionName = \"F\""))
            .expect(&["functions/G/function.conf:3", "conf.functionName", "functions/F"]),
        case("invalid environment variable name").line(F, 5, "  pinned = false, environmentVariables { \"BAD-NAME\" = 1 }").expect(&["functions/F/function.conf:5", "BAD-NAME"]),
        case("zero memory").line(F, 5, "  pinned = false, memorySizeInKb = 0").expect(&["functions/F/function.conf:5", "conf.memorySizeInKb"]),
        case("connector ARN that is not a connector")
            .file(T, "conf {\n  functions = [\"F\"]\n  connectors = [\"c\"]\n}\n")
            .file("connectors/c.conf", "conf {\n  connector {\n    connectorArn = \"arn:aws:lambda:x\"\n  }\n}\n")
            .expect(&["connectors/c.conf:3", "conf.connector.connectorArn"]),
        case("no defaults file: role name missing").remove(D).expect(&["conf.core.role.name", "required"]),
    ]
}

fn write_project(dir: &Path, files: &BTreeMap<&'static str, String>) {
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("ggp")
        .unwrap()
        .current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn the_base_project_is_valid() {
    let d = tempfile::tempdir().unwrap();
    write_project(d.path(), &base());
    let (code, out, err) = run(
        d.path(),
        &["plan", "-g", "g", "-d", "deployments/test.conf"],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("g-F"), "{out}");
}

#[test]
fn bad_inputs_name_file_line_and_key() {
    let cases = cases();
    assert!(
        cases.len() >= 40,
        "the table must hold at least 40 cases, has {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for c in &cases {
        let d = tempfile::tempdir().unwrap();
        write_project(d.path(), &c.files);
        let (code, _out, err) = run(d.path(), &c.args);
        let missing: Vec<_> = c.expect.iter().filter(|e| !err.contains(*e)).collect();
        if code != c.code || !missing.is_empty() || err.contains("panicked") {
            failures.push(format!(
                "case '{}': exit {code} (want {}), missing {missing:?} in stderr:\n{err}",
                c.name, c.code
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn unknown_keys_are_warned_with_a_suggestion_and_location() {
    let d = tempfile::tempdir().unwrap();
    let c = case("typo").line(
        "functions/F/function.conf",
        5,
        "  pinned = false, memorySizeInKB = 1024, zzzUnrelated = 1",
    );
    write_project(d.path(), &c.files);
    let (code, _out, err) = run(
        d.path(),
        &["plan", "-g", "g", "-d", "deployments/test.conf"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("functions/F/function.conf:5"), "{err}");
    assert!(
        err.contains("conf.memorySizeInKB (did you mean memorySizeInKb?)"),
        "{err}"
    );
    assert!(err.contains("conf.zzzUnrelated (ignored)"), "{err}");
}
