//! A local AWS (moto) on 127.0.0.1 for the configuration tests: SSM Parameter Store and
//! Secrets Manager. `scripts/python-tools.sh` installs moto into `target/pytools` when it is
//! not there yet; one server is started per test process and stops when the process exits
//! (it watches its standard input, which this process holds).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ssm::config::{Credentials, SharedCredentialsProvider};

struct Server {
    endpoint: String,
    _child: Mutex<(Child, ChildStdin)>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

/// The server's endpoint, `http://127.0.0.1:PORT` (started on first use).
pub fn endpoint() -> &'static str {
    &SERVER.get_or_init(start).endpoint
}

fn start() -> Server {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = crate::common::pytools_python();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut child = Command::new(python)
        .arg(root.join("scripts/moto_server.py"))
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start moto");
    let stdin = child.stdin.take().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("moto output");
    assert_eq!(line.trim(), "ready", "moto did not start");
    Server {
        endpoint: format!("http://127.0.0.1:{port}"),
        _child: Mutex::new((child, stdin)),
    }
}

/// AWS configuration pointing every client at the server (static test credentials).
pub fn sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "moto",
        )))
        .endpoint_url(endpoint())
        .http_client(psoxy::aws_sdk::https_client())
        .build()
}
