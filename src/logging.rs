//! Logging setup shared by the shells: JSON lines for the functions (one object per event, as
//! CloudWatch expects), plain text on stderr for the command line. The level comes from
//! `RUST_LOG` when it is set, else the shell's default.

use crate::settings::catalog::RUST_LOG;
use crate::settings::{Flags, Settings};

/// The `RUST_LOG` filter, else `default`.
fn filter(default: &str) -> tracing_subscriber::EnvFilter {
    let settings = Settings::from_sources(&[&RUST_LOG], &Flags::new(), &|name| {
        std::env::var(name).ok()
    });
    settings
        .get(&RUST_LOG)
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default))
}

/// Logs as JSON lines on stdout, level `info` unless `RUST_LOG` says otherwise (the Lambda
/// functions).
pub fn init_json_logs() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter("info"))
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Logs as text on stderr at level `default` unless `RUST_LOG` says otherwise; colors only
/// on a terminal (the command line: user messages use plain stderr).
pub fn init_text_logs(default: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(default))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
