//! GGP's flags that ggp does another way, through the `ggp` binary: each one is refused with exit
//! status 2 and a message naming ggp's way, instead of clap's generic "unexpected argument". No
//! AWS call is made (the command line is refused before anything runs).

use std::process::Command;

/// (the arguments, what the hint must say)
const TABLE: &[(&[&str], &str)] = &[
    (&["--query-group", "-g", "g"], "use `ggp status -g GROUP`"),
    (
        &["-g", "g", "--query-group", "--get-group-ca"],
        "use `ggp status -g GROUP`",
    ),
    (
        &["--get-group-ca"],
        "ggp status -g GROUP --target v1 --group-ca",
    ),
    (&["--list-functions"], "ggp status -g GROUP"),
    (&["--download-logs"], "ggp logs -g GROUP --since"),
    (&["--watch-logs"], "ggp logs -g GROUP --follow"),
    (&["--diagnose"], "ggp diagnose -g GROUP"),
    (
        &["--update-group", "-g", "g", "--add-function", "f"],
        "edit the deployment",
    ),
    (&["--add-subscription"], "and deploy again"),
    (
        &[
            "-g",
            "g",
            "-d",
            "deployments/x.conf",
            "--ec2-launch",
            "Ubuntu1804",
        ],
        "ggp does not launch EC2 instances",
    ),
    (
        &["--ec2-launch=AmazonLinux2"],
        "ggp does not launch EC2 instances",
    ),
    (&["--docker-launch"], "ggp does not start a core container"),
    (
        &["--launch", "pi@raspberrypi.local"],
        "ggp does not log in to devices",
    ),
    (
        &["--test-group", "-g", "g"],
        "ggp does not run AWS IoT Device Tester",
    ),
    (
        &["--hsi-bootstrap", "--vendor", "SoftHSM2"],
        "make the key and CSR in the HSM",
    ),
    (
        &["-g", "g", "-d", "deployments/x.conf", "--build-container"],
        "ggp does not build or push a core container image",
    ),
    (
        &["-g", "g", "-d", "deployments/x.conf", "-c"],
        "ggp does not build or push a core container image",
    ),
    (
        &["--push-container"],
        "ggp does not build or push a core container image",
    ),
    (&["--oem-json", "x.json"], "ggp bundle -g GROUP --oem"),
];

#[test]
fn each_ggp_only_flag_is_refused_with_ggp_s_way() {
    for (args, hint) in TABLE {
        let out = Command::new(env!("CARGO_BIN_EXE_ggp"))
            .env_clear()
            .args(*args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("is a flag of GGP that ggp does not take"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("hint: ") && err.contains(hint),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("unexpected argument"),
            "not clap's generic error: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn other_unknown_flags_keep_clap_s_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_ggp"))
        .env_clear()
        .args(["--no-such-flag"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("unexpected argument '--no-such-flag'"),
        "{err}"
    );
}
