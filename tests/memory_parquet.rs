//! Parquet is processed one row group at a time: a file with 16x the row groups must not raise
//! peak RSS by more than a fixed allowance. (Its own test process, so the peak is this test's.)
#![cfg(feature = "parquet")]

mod common;
#[path = "support/pyarrow.rs"]
mod pyarrow;

use common::peak_rss_kb;
use psoxy::sanitize::StreamOptions;

#[test]
fn peak_memory_is_bounded_by_the_row_group_not_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // Row groups of 50,000 rows; the small file has 2 of them, the large one 32.
    pyarrow::exec(
        r#"
def table(n):
    ids = pa.array([f"E{i:08}" for i in range(n)])
    return pa.table({
        "id": ids,
        "email": pc.binary_join_element_wise(pc.utf8_lower(ids), "@acme.com", ""),
        "manager": pa.array([f"E{i // 10:08}" for i in range(n)]),
        "score": pa.array(range(n), pa.int64()),
        "dept": pa.array([["Eng", "Sales", "Ops"][i % 3] for i in range(n)]).dictionary_encode(),
    })
pq.write_table(table(100_000), "{dir}/small.parquet", row_group_size=50_000)
pq.write_table(table(1_600_000), "{dir}/large.parquet", row_group_size=50_000)
"#,
        dir.path(),
    );
    let sanitizer = common::sanitizer("columnsToPseudonymize: [id, email, manager]\n", "m", 2);
    let run = |name: &str| {
        let opts = StreamOptions {
            object_key: name.into(),
            shuffle: true,
            ..Default::default()
        };
        let input = std::fs::File::open(dir.path().join(name)).unwrap();
        sanitizer
            .sanitize_stream(input, std::io::sink(), &opts, &mut |_| {})
            .unwrap()
    };
    let small = run("small.parquet");
    let after_small = peak_rss_kb();
    let large = run("large.parquet");
    let after_large = peak_rss_kb();
    eprintln!(
        "Parquet {} rows ({} MB) -> peak {} MB; {} rows ({} MB) -> peak {} MB",
        small.rows,
        small.bytes_in / 1_000_000,
        after_small / 1024,
        large.rows,
        large.bytes_in / 1_000_000,
        after_large / 1024
    );
    assert_eq!(large.rows, 16 * small.rows);
    assert!(
        after_large < after_small + 48 * 1024,
        "peak RSS grew from {after_small} kB to {after_large} kB with 16x the row groups"
    );
}
