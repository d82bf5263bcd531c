//! The `psoxy` command line: argument parsing and the `sanitize` and `check` commands.

mod args;
mod check;
mod output;
mod progress;
#[cfg(any(feature = "aws", feature = "gcp"))]
mod replay;
mod sanitize_cmd;
mod serve;
#[cfg(feature = "aws")]
mod smoke;
mod watch;

use std::path::Path;
use std::sync::Arc;

use clap::Parser;

pub use args::{
    ApiKeyArgs, CheckArgs, Cli, Command, InputFormatArg, PseudonymArgs, ReplayArgs, SanitizeArgs,
    ServeArgs, SmokeArgs, WatchArgs,
};

use crate::format::DataFormat;
use crate::pseudonym::Pseudonymizer;
use crate::settings::catalog::{
    EMAIL_CANONICALIZATION, EMAIL_DOMAIN_HANDLING, PSOXY_ENCRYPTION_KEY, PSOXY_SALT,
};
use crate::settings::{pseudonym_settings, Flags, Settings, PSEUDONYM_SETTINGS};

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
    crate::logging::init_text_logs(if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "off"
    });
    let result = match cli.command {
        Command::Sanitize(args) => sanitize_cmd::run(args),
        Command::Check(args) => check::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Serve(args) => serve::run(args),
        #[cfg(any(feature = "aws", feature = "gcp"))]
        Command::Replay(args) => replay::run(args),
        #[cfg(not(any(feature = "aws", feature = "gcp")))]
        Command::Replay(_) => Err(CliError(
            "psoxy replay needs the `aws` (s3://) or `gcp` (gs://) feature, which this psoxy was built without; build it with the default features".into(),
        )),
        #[cfg(feature = "aws")]
        Command::Smoke(args) => smoke::run(args),
        #[cfg(not(feature = "aws"))]
        Command::Smoke(_) => Err(CliError(
            crate::features::NotBuilt::aws("psoxy smoke").to_string(),
        )),
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

/// The environment, as every command reads it.
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The pseudonym flags as settings flags (they win over the environment).
pub(crate) fn pseudonym_flags(args: &PseudonymArgs) -> Flags {
    let mut flags = Flags::new();
    flags
        .set(&PSOXY_SALT, args.salt.clone())
        .set(&PSOXY_ENCRYPTION_KEY, args.encryption_key.clone())
        .set(&EMAIL_CANONICALIZATION, args.email_canonicalization.clone())
        .set(&EMAIL_DOMAIN_HANDLING, args.email_domain_handling.clone());
    flags
}

/// The pseudonym settings of a file command: its flags, then the environment (`PSOXY_SALT`,
/// `SALT_EMAIL_DOMAINS`, ...).
pub(crate) fn pseudonym_lookup(args: &PseudonymArgs) -> Settings {
    Settings::from_sources(PSEUDONYM_SETTINGS, &pseudonym_flags(args), &env)
}

/// Builds the pseudonymizer from resolved pseudonym settings (the salt must be set).
pub(crate) fn pseudonymizer(settings: &Settings) -> Result<Arc<Pseudonymizer>, CliError> {
    let settings = pseudonym_settings(settings)?;
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
