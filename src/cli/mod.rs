//! The `psoxy` command line: argument parsing and the `sanitize` and `check` commands.

mod args;
mod check;
mod check_api;
mod output;
mod progress;
mod sanitize_cmd;
mod serve;
mod watch;

use std::path::Path;
use std::sync::Arc;

use clap::Parser;

pub use args::{
    ApiKeyArgs, CheckArgs, Cli, Command, InputFormatArg, PseudonymArgs, SanitizeArgs, ServeArgs,
    WatchArgs,
};

use crate::format::DataFormat;
use crate::pseudonym::{PseudonymSettings, Pseudonymizer};

/// Exit status for success.
pub const EXIT_OK: i32 = 0;
/// Exit status for a failed run (bad rules, bad input, I/O).
pub const EXIT_FAILED: i32 = 1;
/// Exit status of `check --strict` when there are warnings.
pub const EXIT_WARNINGS: i32 = 3;

/// A failure reported to the user as `error: ...`.
#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

/// Runs the CLI with the process's arguments; returns the exit status.
pub fn main() -> i32 {
    let cli = Cli::parse();
    // The proxy logs (an audit line per request) by default; the file commands stay quiet.
    init_logging(if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "off"
    });
    let result = match cli.command {
        Command::Sanitize(args) => sanitize_cmd::run(args),
        Command::Check(args) => check::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Serve(args) => serve::run(args),
        Command::ApiKey(args) => serve::new_key(args),
    };
    match result {
        Ok(code) => code,
        Err(CliError(msg)) => {
            eprintln!("error: {msg}");
            EXIT_FAILED
        }
    }
}

/// Logs go to stderr at level `default` unless `RUST_LOG` says otherwise (user messages use
/// plain stderr).
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Builds the pseudonymizer from flags and the environment (`SALT_EMAIL_DOMAINS`,
/// `ENCRYPTION_KEY_EMAIL_DOMAINS`, `SALT_IP`, `ENCRYPTION_KEY_IP`).
pub(crate) fn pseudonymizer(
    args: &PseudonymArgs,
    salt: String,
) -> Result<Arc<Pseudonymizer>, CliError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let settings = PseudonymSettings {
        salt,
        encryption_key: args.encryption_key.clone().filter(|k| !k.is_empty()),
        email_canonicalization: args
            .email_canonicalization
            .parse()
            .map_err(|_| CliError("invalid --email-canonicalization".into()))?,
        email_domain_handling: args
            .email_domain_handling
            .parse()
            .map_err(|_| CliError("invalid --email-domain-handling".into()))?,
        salt_email_domains: env("SALT_EMAIL_DOMAINS"),
        encryption_key_email_domains: env("ENCRYPTION_KEY_EMAIL_DOMAINS"),
        salt_ip: env("SALT_IP"),
        encryption_key_ip: env("ENCRYPTION_KEY_IP"),
    };
    Ok(Arc::new(Pseudonymizer::new(&settings)?))
}

/// The format asked for by `--output-format`, if any.
pub(crate) fn output_format(arg: Option<args::OutputFormatArg>) -> Option<DataFormat> {
    Some(match arg? {
        args::OutputFormatArg::Csv => DataFormat::Csv { delimiter: b',' },
        args::OutputFormatArg::Ndjson => DataFormat::Ndjson,
        args::OutputFormatArg::JsonArray => DataFormat::JsonArray,
        args::OutputFormatArg::Parquet => DataFormat::Parquet,
    })
}

/// The format forced by `--input-format`, if any.
pub(crate) fn format_override(arg: Option<InputFormatArg>) -> Option<DataFormat> {
    match arg? {
        InputFormatArg::Auto => None,
        InputFormatArg::Csv => Some(DataFormat::Csv { delimiter: b',' }),
        InputFormatArg::Tsv => Some(DataFormat::Csv { delimiter: b'\t' }),
        InputFormatArg::Ndjson => Some(DataFormat::Ndjson),
        InputFormatArg::JsonArray => Some(DataFormat::JsonArray),
        InputFormatArg::Parquet => Some(DataFormat::Parquet),
    }
}

/// A path as shown in messages.
pub(crate) fn shown(path: &Path) -> String {
    path.display().to_string()
}
