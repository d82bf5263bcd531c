"""Throughput of psoxy against DuckDB and Polars on the same job, and the targets of docs/performance.md.

The job: a deterministic HRIS CSV (10 columns, about 140 bytes a row) whose EMPLOYEE_ID,
EMPLOYEE_EMAIL and MANAGER_ID are replaced by base64url_nopad(SHA-256(value + salt)), i.e.
psoxy's URL_SAFE_HASH_ONLY pseudonyms. The generated emails are already canonical (lower case,
no `+tag`), so the peers' plain SHA-256 of the text gives the same cells psoxy gives; psoxy
still parses each email, the peers do not. Every tool runs as its own process with 2 threads;
wall time and peak RSS (wait4's ru_maxrss) are measured from outside, and every output is
checked to hold the same rows (psoxy shuffles rows within 500-row chunks, so rows are compared
as sorted lists) and, on a sample, the pseudonyms computed here with hashlib. Needs GNU time
(/usr/bin/time) for the peak RSS.

Then psoxy alone: gzip in and out, NDJSON with two pseudonymized paths, the peak RSS while
sanitizing a 2 GB CSV, and the start-up time of `psoxy --version`.

Run through benches/compare.sh, which installs the peers and builds psoxy.
"""

import argparse
import base64
import csv
import gzip
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SALT = "bench-salt"
THREADS = 2
PSEUDONYMIZED = ["EMPLOYEE_ID", "EMPLOYEE_EMAIL", "MANAGER_ID"]
HEADER = [
    "EMPLOYEE_ID", "EMPLOYEE_EMAIL", "MANAGER_ID", "MANAGER_EMAIL", "JOIN_DATE",
    "LEAVE_DATE", "DEPARTMENT", "JOB_TITLE", "LOCATION", "SNAPSHOT",
]
FIRST = ["olivia", "liam", "emma", "noah", "ava", "elijah", "sophia", "james", "mia", "lucas",
         "amelia", "mateo", "harper", "levi", "evelyn", "ezra"]
LAST = ["smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis",
        "rodriguez", "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson"]
DEPARTMENTS = [("Engineering", "Software Engineer"), ("Sales", "Account Executive"),
               ("Finance", "Financial Analyst"), ("People", "HR Business Partner"),
               ("Marketing", "Product Marketing Manager"), ("Support", "Support Specialist")]
LOCATIONS = ["San Francisco", "New York", "London", "Austin", "Toronto", "Berlin"]

TARGETS = {
    "csv_rows_per_s": 2_000_000,
    "csv_vs_duckdb": 4.0,
    "gzip_rows_per_s": 600_000,
    "ndjson_records_per_s": 500_000,
    "large_peak_rss_mb": 100,
    "startup_ms": 20,
}


def email(i: int) -> str:
    return f"{FIRST[i % 16]}.{LAST[(i // 16) % 15]}{i}@acme.com"


def hris_row(i: int) -> str:
    manager = i // 8
    department, title = DEPARTMENTS[i % 6]
    leave = f"2024-{i % 12 + 1:02}-15" if i % 11 == 0 else ""
    return (f"E{i:07},{email(i)},E{manager:07},{email(manager)},"
            f"20{10 + i % 14}-{i % 12 + 1:02}-{i % 28 + 1:02},{leave},{department},{title},"
            f"{LOCATIONS[i % 6]},2024-06-30\n")


def write_hris(path: Path, rows: int) -> None:
    with path.open("w", newline="") as out:
        out.write(",".join(HEADER) + "\n")
        chunk = []
        for i in range(rows):
            chunk.append(hris_row(i))
            if len(chunk) == 10_000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))


def write_events(path: Path, records: int) -> None:
    with path.open("w") as out:
        chunk = []
        for i in range(records):
            chunk.append(json.dumps({
                "id": f"evt_{i}",
                "start": f"2024-06-{i % 28 + 1:02}T{i % 24:02}:00:00Z",
                "durationMinutes": 30 + i % 4 * 15,
                "organizer": {"email": email(i)},
                "attendees": [{"email": email(i + 1)}, {"email": email(i + 2)}],
            }, separators=(",", ":")) + "\n")
            if len(chunk) == 10_000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))


def pseudonym(value: str) -> str:
    digest = hashlib.sha256((value + SALT).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class Run:
    """One measured process: wall seconds and peak resident set size."""

    def __init__(self, name, seconds, peak_rss_kb):
        self.name, self.seconds, self.peak_rss_kb = name, seconds, peak_rss_kb


def measure(name, argv, env=None, stdout_path=None, output=None) -> Run:
    """Runs argv under GNU time, whose %M is the peak RSS of argv alone (the RSS of a child
    forked from this Python process would start with this process's own memory).

    `output` (or `stdout_path`) is the file the run writes. A previous run's copy is deleted
    and the disk synced before the clock starts, so no tool pays for truncating an earlier
    output or for writing back another tool's."""
    for path in (output, stdout_path):
        if path is not None:
            Path(path).unlink(missing_ok=True)
    os.sync()
    rss_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"psoxy-compare-{os.getpid()}.rss"
    start = time.perf_counter()
    with open(stdout_path or os.devnull, "wb") as stdout:
        result = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *argv], env=env,
                                stdout=stdout, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{name} failed ({result.returncode}):\n{result.stderr.decode(errors='replace')}")
    peak_rss_kb = int(rss_file.read_text().split()[-1])
    rss_file.unlink()
    return Run(name, seconds, peak_rss_kb)


DUCKDB = """
import sys, duckdb
source, target, salt, threads = sys.argv[1:5]
con = duckdb.connect()
con.execute(f"SET threads = {int(threads)}")
def pseudonym(column):
    digest = f"to_base64(unhex(sha256({column} || '{salt}')))"
    return f"rtrim(replace(replace({digest}, '+', '-'), '/', '_'), '=') AS {column}"
replace = ", ".join(pseudonym(c) for c in sys.argv[5:])
con.execute(f"COPY (SELECT * REPLACE ({replace}) FROM read_csv('{source}', all_varchar = true, header = true)) "
            f"TO '{target}' (HEADER, DELIMITER ',')")
"""

POLARS = """
import sys, polars as pl, polars_hash  # noqa: F401 - registers the `chash` namespace
source, target, salt = sys.argv[1:4]
def pseudonym(column):
    digest = (pl.col(column) + salt).chash.sha2_256().str.decode("hex").bin.encode("base64")
    return (digest.str.replace_all("+", "-", literal=True).str.replace_all("/", "_", literal=True)
            .str.strip_chars_end("=").alias(column))
(pl.scan_csv(source, infer_schema=False)
   .with_columns([pseudonym(c) for c in sys.argv[4:]])
   .sink_csv(target))
"""


def read_rows(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, sorted(tuple(row) for row in reader)


def check_outputs(source: Path, outputs: dict) -> None:
    reference_name, reference = None, None
    for name, path in outputs.items():
        header, rows = read_rows(path)
        if header != HEADER:
            sys.exit(f"{name}: header {header} differs from the input's")
        if reference is None:
            reference_name, reference = name, rows
        elif rows != reference:
            diff = next(i for i, (a, b) in enumerate(zip(rows, reference)) if a != b) if len(rows) == len(reference) else None
            sys.exit(f"{name}: cells differ from {reference_name}'s"
                     + (f" (first at sorted row {diff}: {rows[diff]} vs {reference[diff]})" if diff is not None else
                        f" ({len(rows)} rows vs {len(reference)})"))
    # A sample of expected pseudonyms, computed here.
    expected = set()
    with source.open(newline="") as handle:
        reader = csv.DictReader(handle)
        for i, row in enumerate(reader):
            if i == 1000:
                break
            expected.add(tuple(pseudonym(row[c]) if c in PSEUDONYMIZED else row[c] for c in HEADER))
    missing = expected - set(reference)
    if missing:
        sys.exit(f"{len(missing)} of 1000 sampled rows do not carry the expected pseudonyms, e.g. {next(iter(missing))}")
    print(f"  outputs identical ({', '.join(outputs)}), {len(reference):,} rows; 1000 sampled rows match hashlib")


def mb(n_bytes: float) -> float:
    return n_bytes / 1e6


def table(rows, title):
    print(f"\n{title}")
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  " + "  ".join(str(cell).rjust(w) if i else str(cell).ljust(w) for i, (cell, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def verdict(name, value, target, higher_is_better=True, unit=""):
    ok = value >= target if higher_is_better else value <= target
    relation = ">=" if higher_is_better else "<="
    gap = "" if ok else f"  (missed by {abs(value - target) / target:.0%})"
    return (name, f"{value:,.1f}{unit}" if isinstance(value, float) else f"{value:,}{unit}",
            f"{relation} {target:,}{unit}", "PASS" if ok else "MISS" + gap)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--psoxy", required=True, help="the psoxy binary (release build)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the HRIS CSV (default 1,000,000)")
    parser.add_argument("--workdir", default="target/bench-compare", help="where inputs and outputs go")
    parser.add_argument("--skip-peers", action="store_true", help="psoxy only")
    parser.add_argument("--skip-large", action="store_true", help="skip the 2 GB memory measurement")
    parser.add_argument("--large-bytes", type=float, default=2e9, help="size of the large CSV (default 2e9)")
    args = parser.parse_args()

    psoxy = str(Path(args.psoxy).resolve())
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    rules = work / "rules.yaml"
    rules.write_text("columnsToPseudonymize: [" + ", ".join(PSEUDONYMIZED) + "]\npseudonymFormat: URL_SAFE_HASH_ONLY\n")
    event_rules = work / "events.yaml"
    event_rules.write_text("format: NDJSON\ntransforms:\n  - pseudonymize: [\"$.organizer.email\", \"$.attendees[*].email\"]\n")

    source = work / f"hris-{args.rows}.csv"
    if not source.exists():
        print(f"generating {source} ...", flush=True)
        write_hris(source, args.rows)
    size = source.stat().st_size
    print(f"input: {args.rows:,} rows, {mb(size):.1f} MB ({size / args.rows:.0f} bytes a row); "
          f"{THREADS} threads; {os.cpu_count()} cores")

    def psoxy_sanitize(name, rules_file, input_path, output_path, extra=()):
        # Written to standard output, redirected into the file, as the peers write theirs:
        # with `-o`, psoxy also fsyncs the file before renaming it into place.
        return measure(name, [psoxy, "sanitize", "--salt", SALT, "--rules", str(rules_file),
                              "--threads", str(THREADS), *extra, str(input_path)], stdout_path=output_path)

    runs, outputs = [], {}
    out = work / "psoxy.csv"
    runs.append(psoxy_sanitize("psoxy", rules, source, out))
    outputs["psoxy"] = out
    if not args.skip_peers:
        out = work / "duckdb.csv"
        runs.append(measure("duckdb", [sys.executable, "-c", DUCKDB, str(source), str(out), SALT, str(THREADS), *PSEUDONYMIZED],
                            output=out))
        outputs["duckdb"] = out
        out = work / "polars.csv"
        env = dict(os.environ, POLARS_MAX_THREADS=str(THREADS))
        runs.append(measure("polars", [sys.executable, "-c", POLARS, str(source), str(out), SALT, *PSEUDONYMIZED], env=env,
                            output=out))
        outputs["polars"] = out
    check_outputs(source, outputs)

    psoxy_seconds = runs[0].seconds
    rows = [("CSV -> CSV", "seconds", "rows/s", "MB/s", "peak RSS MB", "psoxy is")]
    for run in runs:
        ratio = "" if run.name == "psoxy" else f"{run.seconds / psoxy_seconds:.1f}x faster"
        rows.append((run.name, f"{run.seconds:.2f}", f"{args.rows / run.seconds:,.0f}",
                     f"{mb(size) / run.seconds:.0f}", f"{run.peak_rss_kb / 1024:.0f}", ratio))
    table(rows, f"CSV -> CSV, {args.rows:,} rows, 3 pseudonymized columns, {THREADS} threads")

    # gzip in, gzip out (Psoxy's default output)
    source_gz = work / f"hris-{args.rows}.csv.gz"
    if not source_gz.exists():
        with source.open("rb") as plain, gzip.open(source_gz, "wb", compresslevel=6) as packed:
            shutil.copyfileobj(plain, packed, 1 << 20)
    gz_run = psoxy_sanitize("psoxy gzip", rules, source_gz, work / "psoxy.csv.gz", extra=("--gzip",))
    check_outputs(source, {"psoxy gzip": work / "psoxy.csv.gz"})

    # NDJSON, two pseudonymized paths (three emails a record)
    events = work / f"events-{args.rows}.ndjson"
    if not events.exists():
        write_events(events, args.rows)
    nd_run = psoxy_sanitize("psoxy ndjson", event_rules, events, work / "psoxy.ndjson")
    with (work / "psoxy.ndjson").open() as handle:
        first = json.loads(handle.readline())
    if "@" not in first["organizer"]["email"] or not first["organizer"]["email"].startswith("t~"):
        sys.exit(f"NDJSON output not pseudonymized: {first}")

    rows = [("psoxy", "seconds", "items/s", "MB/s in", "peak RSS MB")]
    rows.append(("gzip -> gzip CSV", f"{gz_run.seconds:.2f}", f"{args.rows / gz_run.seconds:,.0f}",
                 f"{mb(size) / gz_run.seconds:.0f}", f"{gz_run.peak_rss_kb / 1024:.0f}"))
    rows.append(("NDJSON -> NDJSON", f"{nd_run.seconds:.2f}", f"{args.rows / nd_run.seconds:,.0f}",
                 f"{mb(events.stat().st_size) / nd_run.seconds:.0f}", f"{nd_run.peak_rss_kb / 1024:.0f}"))

    large_run = None
    if not args.skip_large:
        large = work / "hris-large.csv"
        if not large.exists() or large.stat().st_size < args.large_bytes:
            print(f"writing {large} ({args.large_bytes / 1e9:.1f} GB) ...", flush=True)
            body = source.read_bytes().split(b"\n", 1)[1]
            with large.open("wb") as handle:
                handle.write((",".join(HEADER) + "\n").encode())
                written = 0
                while written < args.large_bytes:
                    handle.write(body)
                    written += len(body)
        large_rows = sum(1 for _ in large.open("rb")) - 1
        # Output to stdout, thrown away: the measurement is memory, not disk.
        large_run = measure("psoxy large", [psoxy, "sanitize", "--salt", SALT, "--rules", str(rules),
                                            "--threads", str(THREADS), str(large)])
        rows.append((f"CSV {mb(large.stat().st_size) / 1000:.1f} GB -> stdout", f"{large_run.seconds:.2f}",
                     f"{large_rows / large_run.seconds:,.0f}", f"{mb(large.stat().st_size) / large_run.seconds:.0f}",
                     f"{large_run.peak_rss_kb / 1024:.0f}"))
    table(rows, "psoxy, other shapes")

    startups = []
    for _ in range(30):
        startups.append(measure("psoxy --version", [psoxy, "--version"]).seconds * 1000)
    startup_ms = statistics.median(startups)
    print(f"\npsoxy --version: median {startup_ms:.1f} ms over 30 runs (min {min(startups):.1f})")

    checks = [("target", "measured", "wanted", "")]
    checks.append(verdict("CSV rows/s", round(args.rows / psoxy_seconds), TARGETS["csv_rows_per_s"]))
    if not args.skip_peers:
        duck = next(r for r in runs if r.name == "duckdb")
        checks.append(verdict("CSV vs DuckDB", round(duck.seconds / psoxy_seconds, 2), TARGETS["csv_vs_duckdb"], unit="x"))
    checks.append(verdict("gzip rows/s", round(args.rows / gz_run.seconds), TARGETS["gzip_rows_per_s"]))
    checks.append(verdict("NDJSON records/s", round(args.rows / nd_run.seconds), TARGETS["ndjson_records_per_s"]))
    if large_run is not None:
        checks.append(verdict("2 GB peak RSS", round(large_run.peak_rss_kb / 1024, 1), TARGETS["large_peak_rss_mb"], False, " MB"))
    checks.append(verdict("startup", round(startup_ms, 1), TARGETS["startup_ms"], False, " ms"))
    table(checks, "targets")


if __name__ == "__main__":
    main()
