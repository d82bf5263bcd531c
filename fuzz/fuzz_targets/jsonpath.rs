//! JSONPath: the input is `<path>\n<json>`. The path is compiled, then evaluated on the
//! document with `select`, `for_each_mut` (reading, then replacing) and `delete`, checking
//! the documented relations between them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use psoxy::jsonpath::JsonPath;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (path_bytes, json_bytes) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"{}"[..]),
    };
    let Ok(path_text) = std::str::from_utf8(path_bytes) else {
        return;
    };
    let Ok(path) = JsonPath::parse(path_text) else {
        return;
    };
    assert_eq!(path.as_str(), path_text);
    assert_eq!(path.to_string(), path_text);
    let _ = path.segments().len();
    let definite = path.is_definite();

    let Ok(doc) = serde_json::from_slice::<Value>(json_bytes) else {
        return;
    };

    let selected = path.select(&doc).len();
    if definite {
        assert!(selected <= 1, "a definite path matched {selected} nodes");
    }

    // Visiting must reach exactly the selected nodes, each once.
    let mut copy = doc.clone();
    let mut visits = 0usize;
    path.for_each_mut::<()>(&mut copy, &mut |_| {
        visits += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(visits, selected, "for_each_mut and select disagree");
    assert_eq!(copy, doc, "a read-only visit changed the document");

    // Replacing nodes while visiting must still visit each matched node once.
    let mut replaced = doc.clone();
    let mut visits = 0usize;
    path.for_each_mut::<()>(&mut replaced, &mut |v| {
        visits += 1;
        *v = Value::String("x".into());
        Ok(())
    })
    .unwrap();
    assert_eq!(visits, selected, "replacing nodes changed what was visited");

    // Stopping at the first error.
    let mut stopped = doc.clone();
    let mut calls = 0usize;
    let r = path.for_each_mut::<&str>(&mut stopped, &mut |_| {
        calls += 1;
        Err("stop")
    });
    assert_eq!(r.is_err(), selected > 0);
    assert!(calls <= 1);

    let mut pruned = doc.clone();
    let removed = path.delete(&mut pruned);
    assert!(
        removed <= selected,
        "deleted {removed} of {selected} matches"
    );
    if removed == 0 {
        assert_eq!(pruned, doc, "nothing deleted but the document changed");
    }
});
