//! Progress on stderr for long runs: rows and MB/s, only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::sanitize::Stats;

/// Throttled progress line for one input.
pub struct Progress {
    enabled: bool,
    name: String,
    started: Instant,
    last: Instant,
    printed: bool,
}

const EVERY: Duration = Duration::from_millis(250);

impl Progress {
    /// Progress for `name`; silent when `quiet` or stderr is not a terminal.
    pub fn new(name: &str, quiet: bool) -> Self {
        let now = Instant::now();
        Progress {
            enabled: !quiet && std::io::stderr().is_terminal(),
            name: name.to_string(),
            started: now,
            last: now,
            printed: false,
        }
    }

    /// Called after each batch; prints at most every 250 ms.
    pub fn update(&mut self, stats: &Stats) {
        if self.enabled && self.last.elapsed() >= EVERY {
            self.last = Instant::now();
            self.printed = true;
            eprint!("\r\x1b[2K{}", self.line(stats));
            let _ = std::io::stderr().flush();
        }
    }

    /// Ends the line with final figures (only if progress was shown or the run was long).
    pub fn finish(&mut self, stats: &Stats) {
        if self.enabled {
            eprintln!("\r\x1b[2K{} done", self.line(stats));
        }
    }

    /// Clears a partial progress line (before printing an error).
    pub fn abandon(&mut self) {
        if self.enabled && self.printed {
            eprint!("\r\x1b[2K");
        }
    }

    fn line(&self, s: &Stats) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let mb = s.bytes_in as f64 / 1e6;
        format!(
            "{}: {} rows, {:.1} MB read, {:.1} MB/s, {:.0} rows/s",
            self.name,
            s.rows,
            mb,
            mb / secs,
            s.rows as f64 / secs
        )
    }
}
