//! Containment for panics inside third-party decoders.
//!
//! The parquet crate asserts on some malformed inputs (a dictionary index wider than 32 bits,
//! for one) instead of returning an error. Such a file is bad input, not a bug of ours: it must
//! end in an error naming the object, not in a crashed process. [`contain`] runs a decoder call,
//! catches a panic and reports where the decoder stopped. The panic is not printed (a process
//! that prints "panicked" for a bad file looks broken); a panic anywhere else still reaches the
//! panic hook that was installed before, unchanged.
//!
//! The panic's message is not reported: some panics quote the data they failed on (a string
//! slice that splits a character prints the string), and error messages carry no data.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

thread_local! {
    /// Whether a [`contain`] call is running on this thread.
    static CONTAINING: Cell<bool> = const { Cell::new(false) };
    /// Where the last contained panic of this thread happened (`file:line`).
    static LOCATION: Cell<Option<String>> = const { Cell::new(None) };
}

/// A contained panic: where the decoder panicked. Its message is not kept (some panics quote
/// data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderPanic {
    /// The source location (`file:line`), or `unknown location`.
    pub location: String,
}

/// Runs `f`; a panic inside it becomes `Err` with the source location the decoder panicked
/// at.
pub fn contain<T>(f: impl FnOnce() -> T) -> Result<T, DecoderPanic> {
    install_hook();
    let outer = CONTAINING.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    CONTAINING.with(|c| c.set(outer));
    result.map_err(|_| DecoderPanic {
        location: LOCATION
            .with(Cell::take)
            .unwrap_or_else(|| "unknown location".into()),
    })
}

/// Installs, once per process, a panic hook that stays quiet for contained panics (recording
/// their location) and hands every other panic to the hook it replaced.
fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if CONTAINING.with(Cell::get) {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}", short(l.file()), l.line()));
                LOCATION.with(|c| c.set(location));
            } else {
                previous(info);
            }
        }));
    });
}

/// A source path from the cargo registry shortened to `crate-version/src/...`.
fn short(file: &str) -> &str {
    match file.rfind("/src/") {
        Some(src) => {
            let crate_start = file[..src].rfind('/').map_or(0, |i| i + 1);
            &file[crate_start..]
        }
        None => file,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_location_and_values_pass_through() {
        assert_eq!(contain(|| 7), Ok(7));
        let err = contain(|| -> u8 { panic!("secret cell value") })
            .unwrap_err()
            .location;
        assert!(err.starts_with("src/format/decoder_panic.rs:"), "{err}");
        assert!(!err.contains("secret"));
        // Nested: the inner one is contained, the outer goes on.
        let outer = contain(|| contain(|| -> u8 { panic!("inner") }).is_err());
        assert_eq!(outer, Ok(true));
    }

    #[test]
    fn registry_paths_are_shortened() {
        assert_eq!(
            short("/root/.cargo/registry/src/index.crates.io-1949/parquet-59.3.2/src/util/bit_util.rs"),
            "parquet-59.3.2/src/util/bit_util.rs"
        );
        assert_eq!(short("src/format/x.rs"), "src/format/x.rs");
        assert_eq!(short("lib.rs"), "lib.rs");
    }
}
