//! `psoxy watch`: the storage-triggered flow on local folders, for trying rules without AWS.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::sanitize_cmd::collect_files;
use super::{env, shown, CliError, WatchArgs, EXIT_FAILED, EXIT_OK};
use crate::bulk::{bulk_settings, BulkProcessor, BulkSettings, Outcome};
use crate::settings::catalog::{OUTPUT_BUCKET, PSOXY_SALT, RULES};
use crate::settings::{Flags, Settings};
use crate::storage::LocalStore;

/// The bucket name the input folder stands for (it appears in `psoxy-original-object-key`).
const INPUT_BUCKET: &str = "input";

/// Runs `psoxy watch`.
pub fn run(args: WatchArgs) -> Result<i32, CliError> {
    let mut flags = Flags::new();
    if let Some(path) = &args.rules {
        let text =
            std::fs::read_to_string(path).map_err(|e| CliError(format!("{}: {e}", shown(path))))?;
        flags.set(&RULES, Some(text));
    }
    flags.set(&PSOXY_SALT, args.salt.clone());
    // The output folder stands for the output bucket, whose name only matters to additional
    // transforms' sibling folders.
    let lookup = |name: &str| {
        env(name).or_else(|| (name == OUTPUT_BUCKET.name).then(|| "output".to_string()))
    };
    let settings =
        BulkSettings::from_settings(&Settings::from_sources(&bulk_settings(), &flags, &lookup))?;
    std::fs::create_dir_all(&args.output)
        .map_err(|e| CliError(format!("{}: {e}", shown(&args.output))))?;
    let mut buckets = HashMap::from([
        (INPUT_BUCKET.to_string(), args.input.clone()),
        (settings.output_bucket.clone(), args.output.clone()),
    ]);
    let parent = args
        .output
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    for extra in &settings.additional {
        buckets
            .entry(extra.bucket.clone())
            .or_insert_with(|| parent.join(&extra.bucket));
    }
    let store = LocalStore::new(buckets);
    // `--threads`, else `PSOXY_THREADS` (0: all cores), as the function reads it.
    let threads = if args.threads > 0 {
        args.threads
    } else {
        settings.threads
    };
    let processor = BulkProcessor::new(settings, threads)?;
    if !args.once {
        eprintln!(
            "watching {} (every {} s); sanitized files go to {}; Ctrl-C to stop",
            shown(&args.input),
            args.interval,
            shown(&args.output)
        );
    }
    // A file is processed once its size and modification time are unchanged between two
    // scans (so half-copied files are not read), and again whenever they change later.
    let mut last_seen: HashMap<PathBuf, (u64, SystemTime)> = HashMap::new();
    let mut done: HashMap<PathBuf, (u64, SystemTime)> = HashMap::new();
    let mut failures = 0;
    loop {
        let mut files = Vec::new();
        collect_files(&args.input, &args.input, &args.output, &mut files)
            .map_err(|e| CliError(format!("{}: {e}", shown(&args.input))))?;
        for rel in files {
            let Ok(meta) = std::fs::metadata(args.input.join(&rel)) else {
                continue;
            };
            let stamp = (
                meta.len(),
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            );
            let stable = args.once || last_seen.get(&rel) == Some(&stamp);
            last_seen.insert(rel.clone(), stamp);
            if !stable || done.get(&rel) == Some(&stamp) {
                continue;
            }
            done.insert(rel.clone(), stamp);
            let key = rel.to_string_lossy().replace('\\', "/");
            match processor.process(&store, INPUT_BUCKET, &key) {
                Ok(Outcome::Done { written, skipped }) => {
                    for w in written {
                        eprintln!(
                            "{key} -> {}/{}: {} rows, {} bytes",
                            w.bucket, w.key, w.stats.rows, w.stats.bytes_out
                        );
                    }
                    for s in skipped {
                        eprintln!("{key}: no fileRules template matches it for {s}; skipped");
                    }
                }
                Ok(Outcome::LoopGuard) => eprintln!("{key}: written by this instance; skipped"),
                Err(e) => {
                    eprintln!("error: {e}");
                    failures += 1;
                }
            }
        }
        if args.once {
            return Ok(if failures > 0 { EXIT_FAILED } else { EXIT_OK });
        }
        std::thread::sleep(Duration::from_secs_f64(args.interval.max(0.1)));
    }
}
