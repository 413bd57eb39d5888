//! `bench/imds/imds_server.py` (an IMDSv2 stand-in, standard library only) as a test fixture.
//!
//! `ImdsServer::start(&["--role", "r"])` runs it with the system `python3` on a free port and stops it
//! when dropped. See the script's header for its options. Not for: the AWS emulator (`emulator.rs`).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct ImdsServer {
    /// `http://127.0.0.1:PORT`, the value for `AWS_EC2_METADATA_SERVICE_ENDPOINT`
    pub url: String,
    child: Child,
}

impl ImdsServer {
    pub fn start(args: &[&str]) -> ImdsServer {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("bench")
            .join("imds")
            .join("imds_server.py");
        let mut child = Command::new("python3")
            .arg("-I")
            .arg(&script)
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3 {}: {e}", script.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read the IMDS server's first line");
        let Some(url) = line
            .trim()
            .strip_prefix("listening on ")
            .map(str::to_string)
        else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the IMDS server did not start: first line {line:?} (args {args:?})");
        };
        ImdsServer { url, child }
    }
}

impl Drop for ImdsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
