//! `psoxy sanitize`: files, directories and stdin.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::output::{Buffered, Destination};
use super::progress::Progress;
use super::{
    format_override, pseudonym_lookup, pseudonymizer, shown, CliError, SanitizeArgs, EXIT_FAILED,
    EXIT_OK,
};
use crate::format::DataFormat;
use crate::rules::{load_rules_file, BulkRules, ColumnarRules};
use crate::sanitize::RuleEngine;
use crate::sanitize::{SanitizeError, Sanitizer, StreamOptions};

/// Exit status when stdout is closed early (128 + SIGPIPE, what a shell reports for it).
const EXIT_BROKEN_PIPE: i32 = 141;

/// Runs `psoxy sanitize`.
pub fn run(args: SanitizeArgs) -> Result<i32, CliError> {
    let rules = effective_rules(&args)?;
    let settings = pseudonym_lookup(&args.pseudonym);
    if settings
        .get(&crate::settings::catalog::PSOXY_SALT)
        .is_none()
    {
        return Err(CliError("no salt: pass --salt or set PSOXY_SALT (use your deployment's salt so pseudonyms match)".into()));
    }
    let pseudonymizer = pseudonymizer(&settings)?;
    let job = Job {
        args: &args,
        engines: RuleEngine::new(rules, pseudonymizer, args.threads)?,
    };
    if args.input.as_os_str() == "-" {
        let (_, sanitizer) = job.engines.for_key("stdin")?.ok_or_else(|| {
            CliError("stdin: no fileRules template matches `stdin`; pass a file instead".into())
        })?;
        job.one(&sanitizer, None, "stdin", args.output.as_deref())?;
        return Ok(EXIT_OK);
    }
    let meta = std::fs::metadata(&args.input)
        .map_err(|e| CliError(format!("{}: {e}", shown(&args.input))))?;
    if meta.is_dir() {
        return job.directory();
    }
    let name = args
        .input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let select_key = args.input.to_string_lossy().replace('\\', "/");
    let select_key = select_key.strip_prefix("./").unwrap_or(&select_key);
    let (_, sanitizer) = job.engines.for_key(select_key)?.ok_or_else(|| {
        CliError(format!(
            "{select_key}: no fileRules template of the rules matches this path"
        ))
    })?;
    job.one(&sanitizer, Some(&args.input), &name, args.output.as_deref())?;
    Ok(EXIT_OK)
}

/// Rules from `--rules` plus Psoxy-style `-p` / `-r` columns.
fn effective_rules(args: &SanitizeArgs) -> Result<BulkRules, CliError> {
    let mut rules = match &args.rules {
        Some(path) => {
            load_rules_file(path).map_err(|e| CliError(format!("{}: {e}", shown(path))))?
        }
        None if args.pseudonymize.is_empty() && args.redact.is_empty() => {
            return Err(CliError(
                "no rules: pass --rules FILE, or columns with -p COLUMN / -r COLUMN (see --help)"
                    .into(),
            ))
        }
        None => BulkRules::Columnar(ColumnarRules::default()),
    };
    if let BulkRules::Columnar(c) = &mut rules {
        c.columns_to_pseudonymize
            .extend(args.pseudonymize.iter().cloned());
        c.columns_to_redact.extend(args.redact.iter().cloned());
        if let Some(f) = &args.pseudonym_format {
            c.pseudonym_format = f
                .parse()
                .map_err(|_| CliError(format!("invalid --pseudonym-format {f}")))?;
        }
    } else if !args.pseudonymize.is_empty()
        || !args.redact.is_empty()
        || args.pseudonym_format.is_some()
    {
        return Err(CliError(format!(
            "-p, -r and --pseudonym-format apply to columnar rules; the rules file holds {}",
            rules.kind()
        )));
    }
    Ok(rules)
}

struct Job<'a> {
    args: &'a SanitizeArgs,
    engines: RuleEngine,
}

impl Job<'_> {
    /// Sanitizes one input (a file, or stdin when `input` is `None`) to `output` or stdout.
    fn one(
        &self,
        sanitizer: &Sanitizer,
        input: Option<&Path>,
        key: &str,
        output: Option<&Path>,
    ) -> Result<(), CliError> {
        let label = input.map_or_else(|| "stdin".to_string(), shown);
        let fail = |e: &dyn std::fmt::Display| CliError(format!("{label}: {e}"));
        if let (Some(i), Some(o)) = (input, output) {
            if same_file(i, o) {
                return Err(fail(&"output would overwrite the input; choose another -o"));
            }
        }
        let gzip_output =
            self.args.gzip || output.is_some_and(|o| o.to_string_lossy().ends_with(".gz"));
        let opts = StreamOptions {
            object_key: key.to_string(),
            format: format_override(self.args.input_format),
            shuffle: !self.args.no_shuffle,
            gzip_output,
            content_type: None,
            output_format: super::output_format(self.args.output_format),
            input_encoding: self.args.input_encoding.unwrap_or_default(),
            ..Default::default()
        };
        sanitizer.resolve_format(&opts).map_err(|e| fail(&e))?;
        let dest = match output {
            Some(path) => Destination::file(path).map_err(|e| {
                fail(&format!(
                    "cannot create output next to {}: {e}",
                    shown(path)
                ))
            })?,
            None => Destination::stdout(),
        };
        let mut out = Buffered::new(dest);
        let mut progress = Progress::new(&label, self.args.quiet);
        let result = match input {
            Some(path) => {
                let file = File::open(path).map_err(|e| fail(&e))?;
                sanitizer.sanitize_stream(file, &mut out, &opts, &mut |s| progress.update(s))
            }
            None => sanitizer.sanitize_stream(std::io::stdin(), &mut out, &opts, &mut |s| {
                progress.update(s)
            }),
        };
        match result {
            Ok(stats) => {
                out.commit()
                    .map_err(|e| fail(&format!("cannot write output: {e}")))?;
                progress.finish(&stats);
                Ok(())
            }
            Err(SanitizeError::Write(e))
                if output.is_none() && e.kind() == std::io::ErrorKind::BrokenPipe =>
            {
                // The reader of stdout went away (`| head`): stop quietly, as Unix tools do.
                std::process::exit(EXIT_BROKEN_PIPE)
            }
            Err(e) => {
                progress.abandon();
                drop(out); // a temporary output file is deleted here
                Err(fail(&e))
            }
        }
    }

    /// Sanitizes every file under the input directory into the same relative paths under -o.
    fn directory(&self) -> Result<i32, CliError> {
        let root = &self.args.input;
        let out_root = self.args.output.as_deref().ok_or_else(|| {
            CliError(format!(
                "{} is a directory: give -o DIR for the sanitized copies",
                shown(root)
            ))
        })?;
        if same_file(root, out_root) {
            return Err(CliError("-o must not be the input directory".into()));
        }
        let mut files = Vec::new();
        collect_files(root, root, out_root, &mut files)
            .map_err(|e| CliError(format!("{}: {e}", shown(root))))?;
        let (mut ok, mut failed, mut skipped) = (0, 0, 0);
        let mut written_paths: std::collections::HashSet<PathBuf> = Default::default();
        let forced = format_override(self.args.input_format);
        for rel in files {
            let key = rel.to_string_lossy().replace('\\', "/");
            let format = forced.or_else(|| DataFormat::from_name(&key));
            let opts = StreamOptions {
                object_key: key.clone(),
                format,
                shuffle: false,
                gzip_output: false,
                content_type: None,
                output_format: super::output_format(self.args.output_format),
                input_encoding: self.args.input_encoding.unwrap_or_default(),
                ..Default::default()
            };
            if format.is_none() {
                eprintln!("skipping {key}: not a .csv, .tsv, .ndjson, .jsonl, .json or .parquet file (use --input-format to force one)");
                skipped += 1;
                continue;
            }
            let sanitizer = match self.engines.for_key(&key) {
                Ok(Some((_, s))) => s,
                Ok(None) => {
                    eprintln!("skipping {key}: no fileRules template matches it");
                    skipped += 1;
                    continue;
                }
                Err(e) => {
                    eprintln!("error: {key}: {e}");
                    failed += 1;
                    continue;
                }
            };
            let written = match sanitizer.resolve_output_format(&opts) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("skipping {key}: {e}");
                    skipped += 1;
                    continue;
                }
            };
            let mut out_path = out_root.join(converted_name(&rel, format, written));
            if self.args.gzip
                && !written.compresses_itself()
                && !out_path.to_string_lossy().ends_with(".gz")
            {
                out_path.as_mut_os_string().push(".gz");
            }
            if !written_paths.insert(out_path.clone()) {
                eprintln!(
                    "error: {key}: its output {} was already written from another input (two inputs convert to the same name)",
                    shown(&out_path)
                );
                failed += 1;
                continue;
            }
            match self.one(&sanitizer, Some(&root.join(&rel)), &key, Some(&out_path)) {
                Ok(()) => ok += 1,
                Err(CliError(msg)) => {
                    eprintln!("error: {msg}");
                    failed += 1;
                }
            }
        }
        if !self.args.quiet {
            eprintln!("{ok} file(s) sanitized, {failed} failed, {skipped} skipped");
        }
        Ok(if failed > 0 { EXIT_FAILED } else { EXIT_OK })
    }
}

/// Regular files below `dir`, relative to `root`, sorted; skips hidden entries and `exclude`.
pub(crate) fn collect_files(
    root: &Path,
    dir: &Path,
    exclude: &Path,
    out: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') || same_file(&path, exclude) {
            continue;
        }
        let ty = entry.file_type()?;
        if ty.is_dir() {
            collect_files(root, &path, exclude, out)?;
        } else if ty.is_file() {
            if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_path_buf());
            }
        }
    }
    Ok(())
}

pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The output's relative path: the input's, with the extension of the output format when it
/// converts (`hris.parquet` written as CSV becomes `hris.csv`; a `.gz` suffix is kept).
fn converted_name(rel: &Path, input: Option<DataFormat>, output: DataFormat) -> PathBuf {
    let same = match (input, output) {
        (Some(DataFormat::Csv { .. }), DataFormat::Csv { .. }) => true,
        (Some(i), o) => i == o,
        (None, _) => true,
    };
    if same {
        return rel.to_path_buf();
    }
    let name = rel.to_string_lossy();
    let (stem, gz) = match name.strip_suffix(".gz") {
        Some(s) => (s, ".gz"),
        None => (&*name, ""),
    };
    let stem = stem.rsplit_once('.').map_or(stem, |(s, _)| s);
    let ext = match output {
        DataFormat::Csv { .. } => "csv",
        DataFormat::Ndjson => "ndjson",
        DataFormat::JsonArray => "json",
        DataFormat::Parquet => "parquet",
    };
    let gz = if output.compresses_itself() { "" } else { gz };
    PathBuf::from(format!("{stem}.{ext}{gz}"))
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn converted_names_take_the_output_extension() {
        let p = |s: &str, i, o| converted_name(Path::new(s), Some(i), o);
        let csv = DataFormat::Csv { delimiter: b',' };
        assert_eq!(
            p("a/hris.parquet", DataFormat::Parquet, csv),
            PathBuf::from("a/hris.csv")
        );
        assert_eq!(
            p("e.json.gz", DataFormat::JsonArray, DataFormat::Ndjson),
            PathBuf::from("e.ndjson.gz")
        );
        assert_eq!(p("x.csv", csv, csv), PathBuf::from("x.csv"));
        assert_eq!(
            p("x.parquet", DataFormat::Parquet, DataFormat::Parquet),
            PathBuf::from("x.parquet")
        );
    }
}
