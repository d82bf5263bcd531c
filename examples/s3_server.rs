//! A local S3-compatible server for trying the function without AWS, and for
//! `scripts/e2e-lambda.sh`: s3s (S3 over HTTP, SigV4) over s3s-fs (objects as files).
//!
//! ```sh
//! cargo run --example s3_server -- ROOT PORT
//! ```
//!
//! Serves `http://127.0.0.1:PORT` with access key `psoxy-test-access-key`, secret key
//! `psoxy-test-secret-key`, region `us-east-1`, path-style addresses. Every directory under
//! ROOT is a bucket and every file below it an object. Prints `ready http://127.0.0.1:PORT`
//! once it accepts requests and stops when its standard input closes (or at Ctrl-C).

#[path = "../tests/support/s3_server.rs"]
mod s3_server;

use std::io::Read;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(root), Some(port)) = (args.next(), args.next()) else {
        eprintln!("usage: s3_server ROOT PORT");
        std::process::exit(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("s3_server: PORT must be a number, not {port:?}");
        std::process::exit(2);
    };
    if let Err(e) = std::fs::create_dir_all(&root) {
        eprintln!("s3_server: cannot create {root}: {e}");
        std::process::exit(1);
    }
    let server = s3_server::start_in(std::path::Path::new(&root), port);
    println!("ready {}", server.endpoint);
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(server);
}
