//! reader -> batches -> parallel transform (rayon) -> ordered writer, with bounded memory.
//!
//! The calling thread reads batches and writes results; workers on a rayon pool transform
//! batches. At most `max_in_flight` batches exist at once (read, being transformed, or waiting
//! to be written in order), so memory is bounded by the batch size, not the input size.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

/// A worker panicked while transforming a batch (a bug; reported as an error, not a crash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerPanic;

/// Runs `work` over every batch `next` yields, on `pool`, and passes results to `sink` in the
/// order the batches were read. Stops at the first error (from reading, a worker, or the sink),
/// waits for batches already started, and returns the error of the earliest batch.
///
/// Must not be called from a thread of `pool` itself.
pub fn run_ordered<B, R, E>(
    pool: &rayon::ThreadPool,
    max_in_flight: usize,
    mut next: impl FnMut() -> Result<Option<B>, E>,
    work: impl Fn(u64, B) -> Result<R, E> + Sync,
    mut sink: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    B: Send,
    R: Send,
    E: Send + From<WorkerPanic>,
{
    let max_in_flight = max_in_flight.max(1);
    let work = &work;
    pool.in_place_scope(|scope| {
        let (tx, rx) = mpsc::channel::<(u64, Result<R, E>)>();
        let mut next_seq = 0u64;
        let mut next_write = 0u64;
        let mut in_flight = 0usize;
        let mut done: BTreeMap<u64, R> = BTreeMap::new();
        let mut error: Option<(u64, E)> = None;
        let mut eof = false;
        loop {
            while !eof && error.is_none() && in_flight + done.len() < max_in_flight {
                match next() {
                    Ok(Some(batch)) => {
                        let tx = tx.clone();
                        let seq = next_seq;
                        scope.spawn(move |_| {
                            let result = catch_unwind(AssertUnwindSafe(|| work(seq, batch)))
                                .unwrap_or_else(|_panic| Err(E::from(WorkerPanic)));
                            let _ = tx.send((seq, result));
                        });
                        next_seq += 1;
                        in_flight += 1;
                    }
                    Ok(None) => eof = true,
                    Err(e) => error = Some((next_seq, e)),
                }
            }
            if in_flight == 0 {
                break;
            }
            let Ok((seq, result)) = rx.recv() else { break };
            in_flight -= 1;
            match result {
                Ok(r) => {
                    done.insert(seq, r);
                }
                Err(e) => {
                    if error.as_ref().is_none_or(|(s, _)| seq < *s) {
                        error = Some((seq, e));
                    }
                }
            }
            while error.as_ref().is_none_or(|(s, _)| next_write < *s) {
                let Some(r) = done.remove(&next_write) else {
                    break;
                };
                if let Err(e) = sink(r) {
                    error = Some((next_write, e));
                    break;
                }
                next_write += 1;
            }
            if error.is_some() {
                done.clear();
            }
        }
        match error {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum E {
        At(u64),
        Panic,
    }
    impl From<WorkerPanic> for E {
        fn from(_: WorkerPanic) -> Self {
            E::Panic
        }
    }

    fn pool(n: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    }

    #[test]
    fn keeps_order_with_uneven_work() {
        for threads in [1, 2, 4] {
            let mut i = 0u64;
            let mut out = Vec::new();
            run_ordered(
                &pool(threads),
                3,
                || {
                    i += 1;
                    Ok::<_, E>((i <= 50).then_some(i))
                },
                |_, b| {
                    std::thread::sleep(std::time::Duration::from_micros((b * 37 % 11) * 100));
                    Ok(b * 10)
                },
                |r| {
                    out.push(r);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(out, (1..=50).map(|b| b * 10).collect::<Vec<_>>());
        }
    }

    #[test]
    fn earliest_error_wins_and_later_output_is_not_written() {
        let mut i = 0u64;
        let mut out = Vec::new();
        let r = run_ordered(
            &pool(2),
            4,
            || {
                i += 1;
                Ok((i <= 20).then_some(i))
            },
            |_, b| {
                if b == 7 || b == 9 {
                    Err(E::At(b))
                } else {
                    Ok(b)
                }
            },
            |r| {
                out.push(r);
                Ok(())
            },
        );
        assert_eq!(r, Err(E::At(7)));
        assert_eq!(out, (1..7).collect::<Vec<_>>());
    }

    #[test]
    fn worker_panic_becomes_error() {
        let mut i = 0u64;
        let r: Result<(), E> = run_ordered(
            &pool(2),
            2,
            || {
                i += 1;
                Ok((i <= 3).then_some(i))
            },
            |_, b| if b == 2 { panic!("boom") } else { Ok(b) },
            |_| Ok(()),
        );
        assert_eq!(r, Err(E::Panic));
    }

    #[test]
    fn read_error_stops() {
        let mut i = 0u64;
        let r = run_ordered(
            &pool(2),
            2,
            || {
                i += 1;
                if i == 5 {
                    Err(E::At(99))
                } else {
                    Ok(Some(i))
                }
            },
            |_, b| Ok(b),
            |_| Ok(()),
        );
        assert_eq!(r, Err(E::At(99)));
    }
}
