//! `psoxy replay`: sends objects already in an input bucket to the deployed bulk function
//! again ([`crate::bulk::replay`]), by prefix and optionally by age, with a dry run, progress
//! and a summary.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, Utc};
use tokio::task::JoinSet;

use super::args::ReplayArgs;
use super::{CliError, EXIT_FAILED, EXIT_OK};
#[cfg(feature = "aws")]
use crate::bulk::replay::ReplayFunction;
use crate::bulk::replay::{ReplayError, Replayed};
#[cfg(feature = "aws")]
use crate::storage::s3::{env_client, list_objects};
use crate::storage::ListedObject;

/// Runs `psoxy replay`.
pub fn run(args: ReplayArgs) -> Result<i32, CliError> {
    let (scheme, bucket, prefix) = parse_location(&args.location)?;
    let since = args
        .modified_since
        .as_deref()
        .map(|when| parse_since(when, SystemTime::now()))
        .transpose()?;
    match (scheme, &args.function, &args.service_url) {
        ("s3", _, Some(_)) => {
            return Err(CliError(
                "--service-url is for gs:// buckets (the Cloud Run service); s3:// objects go to --function".into(),
            ))
        }
        ("gs", Some(_), _) => {
            return Err(CliError(
                "--function is for s3:// buckets (the Lambda function); gs:// objects go to --service-url".into(),
            ))
        }
        ("s3", None, _) if !args.dry_run => {
            return Err(CliError(
                "name the deployed bulk function with --function (or list with --dry-run)".into(),
            ))
        }
        ("gs", _, None) if !args.dry_run => {
            return Err(CliError(
                "give the Cloud Run bulk service's URL with --service-url (or list with --dry-run)"
                    .into(),
            ))
        }
        _ => {}
    }
    if args.concurrency == 0 {
        return Err(CliError("--concurrency must be at least 1".into()));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(replay(&args, scheme, &bucket, &prefix, since))
}

/// Where objects are replayed through.
#[derive(Clone)]
enum Target {
    #[cfg(feature = "aws")]
    Function(ReplayFunction),
    #[cfg(feature = "gcp")]
    Service(crate::bulk::replay::ReplayService),
}

impl Target {
    fn name(&self) -> &str {
        match self {
            #[cfg(feature = "aws")]
            Target::Function(f) => f.name(),
            #[cfg(feature = "gcp")]
            Target::Service(s) => s.name(),
        }
    }

    async fn replay(
        &self,
        bucket: &str,
        object: &ListedObject,
        id: &str,
    ) -> Result<Replayed, ReplayError> {
        match self {
            #[cfg(feature = "aws")]
            Target::Function(f) => f.replay(bucket, object, id).await,
            #[cfg(feature = "gcp")]
            Target::Service(s) => s.replay(bucket, object, id).await,
        }
    }
}

/// The objects under `scheme://bucket/prefix`, and where they would be replayed through.
async fn list(
    args: &ReplayArgs,
    scheme: &str,
    bucket: &str,
    prefix: &str,
) -> Result<(Vec<ListedObject>, Option<Target>), CliError> {
    let cannot = |e: &dyn std::fmt::Display| {
        CliError(format!("cannot list {scheme}://{bucket}/{prefix}: {e}"))
    };
    #[cfg(not(feature = "aws"))]
    if scheme == "s3" {
        return Err(cannot(&crate::features::NotBuilt::aws("s3://")));
    }
    #[cfg(feature = "aws")]
    if scheme == "s3" {
        let sdk = crate::aws_sdk::sdk_config().await;
        let s3 = env_client(&sdk);
        let listed = list_objects(&s3, bucket, prefix)
            .await
            .map_err(|e| cannot(&e))?;
        let target = args
            .function
            .as_deref()
            .map(|f| Target::Function(ReplayFunction::new(&sdk, f)));
        return Ok((listed, target));
    }
    #[cfg(feature = "gcp")]
    {
        let emulator = super::env(crate::storage::gcs::EMULATOR_HOST);
        let objects =
            crate::storage::gcs::GcsObjects::new(emulator.as_deref()).map_err(|e| cannot(&e))?;
        let listed = objects
            .list_all(bucket, prefix)
            .await
            .map_err(|e| cannot(&e))?;
        let target = match args.service_url.as_deref() {
            Some(url) => Some(Target::Service(
                crate::bulk::replay::ReplayService::new(url, args.id_token.clone())
                    .map_err(|e| CliError(format!("cannot make an HTTP client: {e}")))?,
            )),
            None => None,
        };
        Ok((listed, target))
    }
    #[cfg(not(feature = "gcp"))]
    Err(cannot(&crate::features::NotBuilt::gcp("gs://")))
}

async fn replay(
    args: &ReplayArgs,
    scheme: &str,
    bucket: &str,
    prefix: &str,
    since: Option<SystemTime>,
) -> Result<i32, CliError> {
    let (listed, target) = list(args, scheme, bucket, prefix).await?;
    let total = listed.len();
    let (chosen, older): (Vec<ListedObject>, Vec<ListedObject>) = listed
        .into_iter()
        // Zero-byte keys ending in `/` are the "folders" of the S3 console.
        .filter(|o| !(o.key.ends_with('/') && o.size == 0))
        .partition(|o| match since {
            None => true,
            Some(since) => o.last_modified.is_some_and(|t| t >= since),
        });
    let bytes: u64 = chosen.iter().map(|o| o.size).sum();
    let window = since.map_or(String::new(), |t| {
        format!(" modified since {}", DateTime::<Utc>::from(t).to_rfc3339())
    });

    let Some(function) = target.filter(|_| !args.dry_run) else {
        for o in &chosen {
            println!(
                "{scheme}://{bucket}/{}\t{}\t{}",
                o.key,
                o.size,
                o.last_modified
                    .map_or("-".into(), |t| DateTime::<Utc>::from(t).to_rfc3339())
            );
        }
        println!(
            "dry run: {} of {total} objects under {scheme}://{bucket}/{prefix}{window} ({}) would be replayed{}; nothing was invoked",
            chosen.len(),
            size(bytes),
            args.function
                .as_deref()
                .or(args.service_url.as_deref())
                .map_or(String::new(), |f| format!(" through {f}")),
        );
        return Ok(EXIT_OK);
    };

    if !args.quiet {
        eprintln!(
            "replaying {} objects ({}) under {scheme}://{bucket}/{prefix}{window} through {}, {} at a time ({} older skipped)",
            chosen.len(),
            size(bytes),
            function.name(),
            args.concurrency,
            older.len()
        );
    }
    let replay_id = format!(
        "replay-{:x}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    let started = std::time::Instant::now();
    let mut running = JoinSet::new();
    let mut pending = chosen.into_iter();
    let mut tally = Tally::default();
    let count = pending.len();
    loop {
        while running.len() < args.concurrency {
            let Some(object) = pending.next() else { break };
            let (function, bucket, id) = (function.clone(), bucket.to_owned(), replay_id.clone());
            running.spawn(async move {
                let outcome = function.replay(&bucket, &object, &id).await;
                (object, outcome)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (object, outcome) =
            joined.map_err(|e| CliError(format!("an invocation task failed: {e}")))?;
        tally.done += 1;
        let line = tally.record(scheme, bucket, &object, outcome);
        if !args.quiet || line.starts_with("failed") {
            eprintln!("[{}/{count}] {line}", tally.done);
        }
    }
    println!(
        "replayed {} objects under {scheme}://{bucket}/{prefix}{window} through {} in {:.1} s: {} sanitized, {} fanned out, {} skipped, {} failed",
        tally.done,
        function.name(),
        started.elapsed().as_secs_f64(),
        tally.sanitized,
        tally.fanned_out,
        tally.skipped,
        tally.failed
    );
    Ok(if tally.failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// Counts of outcomes.
#[derive(Default)]
struct Tally {
    done: usize,
    sanitized: usize,
    fanned_out: usize,
    skipped: usize,
    failed: usize,
}

impl Tally {
    /// Counts `outcome` (of an object in `scheme://bucket`, `scheme` `s3` or `gs`) and says it
    /// in one line.
    fn record(
        &mut self,
        scheme: &str,
        bucket: &str,
        object: &ListedObject,
        outcome: Result<Replayed, ReplayError>,
    ) -> String {
        match outcome {
            Ok(done) => {
                match done.status.as_str() {
                    "sanitized" => self.sanitized += 1,
                    "fanned-out" => self.fanned_out += 1,
                    _ => self.skipped += 1,
                }
                let outputs: Vec<String> = done
                    .outputs
                    .iter()
                    .map(|o| format!("{scheme}://{}/{} ({} rows)", o.bucket, o.key, o.rows))
                    .collect();
                if outputs.is_empty() {
                    format!("{scheme}://{bucket}/{}: {}", object.key, done.status)
                } else {
                    format!(
                        "{scheme}://{bucket}/{}: {} -> {}",
                        object.key,
                        done.status,
                        outputs.join(", ")
                    )
                }
            }
            Err(e) => {
                self.failed += 1;
                format!("failed: {e}")
            }
        }
    }
}

/// `s3://bucket[/prefix]` or `gs://bucket[/prefix]` as the scheme, the bucket and the key
/// prefix (kept as written: `exports/2026` selects `exports/2026-01.csv` too).
fn parse_location(location: &str) -> Result<(&'static str, String, String), CliError> {
    let (scheme, rest) = if let Some(rest) = location.strip_prefix("s3://") {
        ("s3", rest)
    } else if let Some(rest) = location.strip_prefix("gs://") {
        ("gs", rest)
    } else {
        return Err(CliError(format!(
            "{location}: give the input bucket as s3://bucket[/prefix] or gs://bucket[/prefix]"
        )));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(CliError(format!("{location}: no bucket name")));
    }
    Ok((scheme, bucket.to_owned(), prefix.to_owned()))
}

/// `--modified-since`: an RFC 3339 time, a date (midnight UTC), or an age before `now`
/// (`90m`, `36h`, `7d`).
fn parse_since(when: &str, now: SystemTime) -> Result<SystemTime, CliError> {
    let when = when.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(when) {
        return Ok(t.with_timezone(&Utc).into());
    }
    if let Ok(d) = NaiveDate::parse_from_str(when, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc().into());
        }
    }
    let unit = when.chars().last().unwrap_or(' ');
    let number: Option<u64> = when[..when.len() - unit.len_utf8().min(when.len())]
        .parse()
        .ok();
    let seconds = match (number, unit) {
        (Some(n), 'm') => n.checked_mul(60),
        (Some(n), 'h') => n.checked_mul(3600),
        (Some(n), 'd') => n.checked_mul(86_400),
        _ => None,
    };
    seconds
        .and_then(|s| now.checked_sub(Duration::from_secs(s)))
        .ok_or_else(|| {
            CliError(format!(
                "--modified-since {when}: give a time (2026-12-01T09:00:00Z), a date (2026-12-01) or an age (90m, 36h, 7d)"
            ))
        })
}

/// A byte count for people.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_keep_their_prefix_as_written() {
        assert_eq!(
            parse_location("s3://input/exports/2026").unwrap(),
            ("s3", "input".into(), "exports/2026".into())
        );
        assert_eq!(
            parse_location("gs://input").unwrap(),
            ("gs", "input".into(), String::new())
        );
        assert!(parse_location("file:///input/x").is_err());
        assert!(parse_location("s3:///x").is_err());
    }

    #[test]
    fn since_takes_times_dates_and_ages() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let t = parse_since("2026-12-01T09:30:00+01:00", now).unwrap();
        assert_eq!(
            DateTime::<Utc>::from(t).to_rfc3339(),
            "2026-12-01T08:30:00+00:00"
        );
        let d = parse_since("2026-12-01", now).unwrap();
        assert_eq!(
            DateTime::<Utc>::from(d).to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_since("36h", now).unwrap(),
            now - Duration::from_secs(36 * 3600)
        );
        assert_eq!(
            parse_since("7d", now).unwrap(),
            now - Duration::from_secs(7 * 86_400)
        );
        assert_eq!(
            parse_since("90m", now).unwrap(),
            now - Duration::from_secs(90 * 60)
        );
        for bad in ["yesterday", "", "d", "12x", "2026-13-01"] {
            assert!(parse_since(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_read_as_people_count() {
        assert_eq!(size(12), "12 bytes");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 << 20), "3.0 MiB");
    }
}
