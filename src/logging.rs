//! Logging setup shared by the shells: JSON lines for the Lambda functions (one object per
//! event, as CloudWatch expects), JSON lines in Cloud Logging's shape for the Cloud Run
//! services, plain text on stderr for the command line. The level comes from
//! `RUST_LOG` when it is set, else the shell's default.

use crate::settings::catalog::RUST_LOG;
use crate::settings::{Flags, Settings};

/// Crates that log whole invocation events (a webhook's payload and token, an API request's
/// headers) at debug or trace level: never below `info`, whatever `RUST_LOG` says.
const EVENT_LOGGERS: &[&str] = &["lambda_runtime", "lambda_runtime_api_client"];

/// The `RUST_LOG` filter, else `default`; the [`EVENT_LOGGERS`] capped at `info`.
fn filter(default: &str) -> tracing_subscriber::EnvFilter {
    let settings = Settings::from_sources(&[&RUST_LOG], &Flags::new(), &|name| {
        std::env::var(name).ok()
    });
    let mut filter = settings
        .get(&RUST_LOG)
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default));
    for target in EVENT_LOGGERS {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Makes a panic log one error line with its place in the code, never its message: a panic's
/// message may quote the value being processed, and the functions' logs leave the company
/// (CloudWatch, Cloud Logging). The default hook would print the message on stderr.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%location, "a thread panicked (its message is not logged)");
    }));
}

/// Logs as JSON lines on stdout, level `info` unless `RUST_LOG` says otherwise (the Lambda
/// functions); panics are logged without their message ([`quiet_panics`]).
pub fn init_json_logs() {
    quiet_panics();
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

/// Logs as JSON lines on stdout in the shape Cloud Logging reads from Cloud Run: `severity`
/// (`DEBUG`, `INFO`, `WARNING`, `ERROR`), `message`, `time`, and the event's fields beside
/// them; level `info` unless `RUST_LOG` says otherwise; panics are logged without their
/// message ([`quiet_panics`]).
pub fn init_cloud_logs() {
    quiet_panics();
    let _ = tracing_subscriber::fmt()
        .event_format(CloudLogging)
        .with_env_filter(filter("info"))
        .try_init();
}

/// The Cloud Logging line format (see [`init_cloud_logs`]).
pub struct CloudLogging;

/// Cloud Logging's name of a level.
fn severity(level: &tracing::Level) -> &'static str {
    match *level {
        tracing::Level::ERROR => "ERROR",
        tracing::Level::WARN => "WARNING",
        tracing::Level::INFO => "INFO",
        _ => "DEBUG",
    }
}

/// Collects an event's fields into a JSON object.
struct JsonFields(serde_json::Map<String, serde_json::Value>);

impl tracing::field::Visit for JsonFields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            serde_json::Value::String(format!("{value:?}")),
        );
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), serde_json::Value::from(value));
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0
            .insert(field.name().to_owned(), serde_json::Value::from(value));
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0
            .insert(field.name().to_owned(), serde_json::Value::from(value));
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0
            .insert(field.name().to_owned(), serde_json::Value::from(value));
    }
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for CloudLogging
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = JsonFields(serde_json::Map::new());
        event.record(&mut fields);
        let mut line = serde_json::Map::new();
        line.insert("severity".into(), severity(event.metadata().level()).into());
        line.insert(
            "message".into(),
            fields.0.remove("message").unwrap_or_default(),
        );
        line.insert(
            "time".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .into(),
        );
        for (k, v) in fields.0 {
            line.entry(k).or_insert(v);
        }
        writeln!(writer, "{}", serde_json::Value::Object(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Log lines written in memory.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_panic_is_logged_without_its_message() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        let previous = std::panic::take_hook();
        quiet_panics();
        let caught = tracing::subscriber::with_default(subscriber, || {
            std::panic::catch_unwind(|| panic!("alice@example.com is not valid"))
        });
        std::panic::set_hook(previous);
        assert!(caught.is_err());
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("a thread panicked"), "{text}");
        assert!(text.contains("src/logging.rs:"), "{text}");
        assert!(!text.contains("alice"), "{text}");
    }

    #[test]
    fn cloud_logging_lines() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(CloudLogging)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(bucket = "in", rows = 3_u64, "object failed");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["severity"], "WARNING");
        assert_eq!(line["message"], "object failed");
        assert_eq!(line["bucket"], "in");
        assert_eq!(line["rows"], 3);
        assert!(line["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
}
