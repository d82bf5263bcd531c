//! `psoxy smoke`: checks a deployed bucket pair end to end. Uploads a sample generated from the
//! connector's rules ([`crate::bulk::smoke`]), waits for its sanitized copy, checks it (the
//! metadata, the columns, the values, and with the salt the pseudonyms byte for byte), prints
//! a verdict and deletes both objects.

use std::io::Read;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::Client;

use super::args::SmokeArgs;
use super::{env, pseudonym_lookup, pseudonymizer, shown, CliError, EXIT_FAILED, EXIT_OK};
use crate::bulk::smoke::{checks, sample, Expectation};
use crate::rules::{load_rules_bytes, sha256_hex, BulkRules};
use crate::sanitize::{Sanitizer, StreamOptions};
use crate::settings::catalog::PSOXY_SALT;
use crate::settings::Settings;
use crate::storage::s3::compose::delete_object;
use crate::storage::s3::{client_from_env, head_object};

/// How often the output bucket is looked at.
const POLL: Duration = Duration::from_secs(1);

/// Runs `psoxy smoke`.
pub fn run(args: SmokeArgs) -> Result<i32, CliError> {
    let text =
        std::fs::read(&args.rules).map_err(|e| CliError(format!("{}: {e}", shown(&args.rules))))?;
    let rules = match load_rules_bytes(&text)
        .map_err(|e| CliError(format!("{}: {e}", shown(&args.rules))))?
    {
        BulkRules::Columnar(c) => c,
        other => {
            return Err(CliError(format!(
                "{}: {} rules; psoxy smoke generates CSV samples for columnar rules (a bulk connector's columnsToPseudonymize, ...)",
                shown(&args.rules),
                other.kind()
            )))
        }
    };
    let (in_bucket, in_prefix) = location(&args.input, "--input")?;
    let (out_bucket, out_prefix) = location(&args.output, "--output")?;
    if args.rows == 0 {
        return Err(CliError("--rows must be at least 1".into()));
    }

    // The salt, if given, makes the expected output exact; otherwise a throwaway salt gives its
    // shape (which columns are hidden, the header, the rows).
    let given = pseudonym_lookup(&args.pseudonym);
    let salt_given = given.get(&PSOXY_SALT).is_some();
    let run_id = format!(
        "{:x}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
    );
    let pseudonyms = if salt_given {
        pseudonymizer(&given)?
    } else {
        let mut flags = super::pseudonym_flags(&args.pseudonym);
        flags.set(&PSOXY_SALT, Some(format!("psoxy-smoke-{run_id}")));
        pseudonymizer(&Settings::from_sources(
            crate::settings::PSEUDONYM_SETTINGS,
            &flags,
            &env,
        ))?
    };
    let sample = sample(&rules, &run_id, args.rows);
    let in_key = format!("{in_prefix}psoxy-smoke/{run_id}.csv");
    let out_key = format!("{out_prefix}psoxy-smoke/{run_id}.csv");
    let sanitizer = Sanitizer::new(&BulkRules::Columnar(rules), pseudonyms.clone(), 1)?;
    let mut local = Vec::new();
    let opts = StreamOptions {
        object_key: in_key.clone(),
        shuffle: true,
        ..Default::default()
    };
    sanitizer
        .sanitize_stream(sample.csv.as_slice(), &mut local, &opts, &mut |_| {})
        .map_err(|e| CliError(format!("the generated sample does not sanitize here: {e}")))?;
    let want = Expectation {
        local,
        salt_given,
        cells: sample.cells.clone(),
        original_key: format!("{in_bucket}/{in_key}"),
        rules_sha: sha256_hex(&text),
        salt_sha: salt_given.then(|| pseudonyms.salt_fingerprint()),
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let s3 = client_from_env().await;
        let trip = Trip {
            s3: &s3,
            input: (&in_bucket, &in_key),
            output: (&out_bucket, &out_key),
        };
        let result = trip.run(&args, &sample.csv, &want).await;
        if !args.keep {
            trip.clean_up().await;
        }
        result
    })
}

/// One upload and its sanitized copy.
struct Trip<'a> {
    s3: &'a Client,
    input: (&'a str, &'a str),
    output: (&'a str, &'a str),
}

impl Trip<'_> {
    async fn run(&self, args: &SmokeArgs, csv: &[u8], want: &Expectation) -> Result<i32, CliError> {
        let (in_bucket, in_key) = self.input;
        let (out_bucket, out_key) = self.output;
        if head_object(self.s3, out_bucket, out_key).await.is_ok() {
            return Err(CliError(format!(
                "s3://{out_bucket}/{out_key} exists before the upload; try again"
            )));
        }
        self.s3
            .put_object()
            .bucket(in_bucket)
            .key(in_key)
            .content_type("text/csv")
            .body(csv.to_vec().into())
            .send()
            .await
            .map_err(|e| {
                CliError(format!(
                    "cannot upload s3://{in_bucket}/{in_key}: {}",
                    crate::error_text::error_chain(&e)
                ))
            })?;
        println!(
            "uploaded s3://{in_bucket}/{in_key} ({} rows); waiting up to {} s for s3://{out_bucket}/{out_key}",
            args.rows, args.timeout
        );
        let started = Instant::now();
        let deadline = Duration::from_secs(args.timeout);
        let info = loop {
            match head_object(self.s3, out_bucket, out_key).await {
                Ok(info) => break info,
                Err(e) if e.is_not_found() && started.elapsed() < deadline => {
                    tokio::time::sleep(POLL).await
                }
                Err(e) if e.is_not_found() => {
                    println!(
                        "FAIL: no sanitized object after {} s: is the function subscribed to s3://{in_bucket}/{}? (its logs say why)",
                        args.timeout,
                        in_key.rsplit_once('/').map_or("", |(p, _)| p)
                    );
                    return Ok(EXIT_FAILED);
                }
                Err(e) => return Err(CliError(format!("cannot read the output: {e}"))),
            }
        };
        println!(
            "found s3://{out_bucket}/{out_key} after {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let body = self.read_output().await?;
        let mut failed = false;
        for check in checks(want, &body, &info.metadata) {
            let mark = match check.passed {
                Some(true) => "ok  ",
                Some(false) => {
                    failed = true;
                    "FAIL"
                }
                None => "--  ",
            };
            println!("  {mark} {}", check.what);
        }
        println!(
            "{}",
            if failed {
                "smoke test FAILED"
            } else {
                "smoke test passed"
            }
        );
        Ok(if failed { EXIT_FAILED } else { EXIT_OK })
    }

    /// The output object's bytes, gunzipped if they are gzip.
    async fn read_output(&self) -> Result<Vec<u8>, CliError> {
        let (bucket, key) = self.output;
        let fail =
            |e: &dyn std::fmt::Display| CliError(format!("cannot read s3://{bucket}/{key}: {e}"));
        let answer = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| fail(&crate::error_text::error_chain(&e)))?;
        let stored = answer
            .body
            .collect()
            .await
            .map_err(|e| fail(&e))?
            .into_bytes()
            .to_vec();
        if !crate::format::compression::is_gzip(&stored) {
            return Ok(stored);
        }
        let mut plain = Vec::new();
        flate2::read::MultiGzDecoder::new(stored.as_slice())
            .read_to_end(&mut plain)
            .map_err(|e| fail(&e))?;
        Ok(plain)
    }

    /// Deletes the sample and its sanitized copy (a missing one is no error).
    async fn clean_up(&self) {
        for (bucket, key) in [self.input, self.output] {
            match delete_object(self.s3, bucket, key).await {
                Ok(()) => println!("deleted s3://{bucket}/{key}"),
                Err(e) => eprintln!("warning: could not delete s3://{bucket}/{key}: {e}"),
            }
        }
    }
}

/// `s3://bucket[/prefix]` as the bucket and a prefix that is empty or ends in `/`.
fn location(text: &str, flag: &str) -> Result<(String, String), CliError> {
    let rest = text
        .strip_prefix("s3://")
        .ok_or_else(|| CliError(format!("{flag} {text}: give s3://bucket[/prefix]")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(CliError(format!("{flag} {text}: no bucket name")));
    }
    let prefix = match prefix.trim_end_matches('/') {
        "" => String::new(),
        p => format!("{p}/"),
    };
    Ok((bucket.to_owned(), prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_end_in_a_slash() {
        assert_eq!(
            location("s3://in/a/b", "--input").unwrap(),
            ("in".into(), "a/b/".into())
        );
        assert_eq!(
            location("s3://in/", "--input").unwrap(),
            ("in".into(), String::new())
        );
        assert!(location("in/a", "--input").is_err());
    }
}
