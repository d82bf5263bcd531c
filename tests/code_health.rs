//! The shape of the code, checked so it cannot drift back: no library function returns
//! `Result<_, String>` (errors are typed and keep their source), and no two modules depend on
//! each other (the module graph of `src/` has no cycle). Run with `--nocapture` to see the
//! counts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The text of a file without comments, string contents and char literals (so neither a doc
/// comment nor a message can look like code).
fn code_of(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        }
        if c == 'r' && (next == Some('"') || next == Some('#')) {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) == Some(&'"') {
                j += 1;
                loop {
                    if j >= chars.len() {
                        break;
                    }
                    if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                out.push_str("\"\"");
                i = j;
                continue;
            }
        }
        if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                if chars[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j + 1;
            continue;
        }
        if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'), not a lifetime ('a).
            let close = if next == Some('\\') {
                (i + 2..chars.len().min(i + 12)).find(|&j| chars[j] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            if let Some(end) = close {
                out.push_str("' '");
                i = end + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The generic arguments after `Result<` at `start` (the index of `<`), split at top-level
/// commas.
fn generic_args(code: &str, start: usize) -> Vec<String> {
    let mut depth = 0;
    let mut args = vec![String::new()];
    for c in code[start..].chars() {
        match c {
            '<' | '(' | '[' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            '>' | ')' | ']' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => {
                args.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = args.last_mut() {
            last.push(c);
        }
    }
    args.into_iter().map(|a| a.trim().to_owned()).collect()
}

#[test]
fn no_function_returns_a_string_error() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut found = Vec::new();
    for file in &files {
        let code = code_of(&std::fs::read_to_string(file).expect("read"));
        for (at, _) in code.match_indices("Result<") {
            let args = generic_args(&code, at + "Result".len());
            if args.len() == 2 && matches!(args[1].as_str(), "String" | "std::string::String") {
                let line = code[..at].matches('\n').count() + 1;
                found.push(format!(
                    "{}:{line}: Result<{}, {}>",
                    file.strip_prefix(src()).unwrap_or(file).display(),
                    args[0],
                    args[1]
                ));
            }
        }
    }
    println!("Result<_, String> in src/: {}", found.len());
    assert!(
        found.is_empty(),
        "errors must be typed:\n{}",
        found.join("\n")
    );
}

/// The module a file defines: `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `lib.rs` is the
/// crate root.
fn module_of(file: &Path) -> Option<Vec<String>> {
    let rel = file.strip_prefix(src()).ok()?;
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.first().is_some_and(|p| p == "bin") {
        return None; // binaries are shells over the crate, not modules of it
    }
    if parts.last().is_some_and(|p| p == "tests.rs") {
        return None; // a test module (`#[cfg(test)] mod tests;`), not library structure
    }
    let last = parts.pop()?;
    match last.as_str() {
        "lib.rs" | "mod.rs" => {}
        name => parts.push(name.trim_end_matches(".rs").to_owned()),
    }
    Some(parts)
}

/// The code of a file without its test module (`#[cfg(test)] mod ...` to the end), which is
/// not part of the library's structure.
fn library_code(code: &str) -> &str {
    let mut from = 0;
    while let Some(at) = code[from..].find("#[cfg(test)]") {
        let at = from + at;
        if code[at..]
            .trim_start_matches("#[cfg(test)]")
            .trim_start()
            .starts_with("mod ")
        {
            return &code[..at];
        }
        from = at + 1;
    }
    code
}

/// Every path a file's code names from `crate`, `super` or `self`, as written (segments),
/// including those inside `use` trees.
fn named_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < bytes.len() {
        let starts = ["crate", "super", "self"].iter().find(|w| {
            let w: Vec<char> = w.chars().collect();
            bytes[i..].starts_with(&w)
                && (i == 0 || !is_ident(bytes[i - 1]))
                && bytes.get(i + w.len()) == Some(&':')
                && bytes.get(i + w.len() + 1) == Some(&':')
        });
        let Some(word) = starts else {
            i += 1;
            continue;
        };
        let (paths, end) = parse_tree(&bytes, i, vec![], word);
        out.extend(paths);
        i = end.max(i + 1);
    }
    out
}

/// Every `use` statement's paths: whether it re-exports (`pub use`), and each full path of
/// its tree (relative ones too: `use child::Item`).
fn use_statements(code: &str) -> Vec<(bool, Vec<String>)> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    for line_start in std::iter::once(0).chain(code.match_indices('\n').map(|(i, _)| i + 1)) {
        let rest = &code[line_start..];
        let trimmed = rest.trim_start();
        let indent = rest.len() - trimmed.len();
        let (is_pub, after) = if let Some(t) = trimmed.strip_prefix("pub") {
            let t = if t.starts_with('(') {
                match t.find(')') {
                    Some(close) => &t[close + 1..],
                    None => continue,
                }
            } else {
                t
            };
            (true, t.trim_start())
        } else {
            (false, trimmed)
        };
        let Some(tree) = after.strip_prefix("use ") else {
            continue;
        };
        let offset = line_start + indent + (trimmed.len() - tree.len());
        let start = code[..offset].chars().count();
        let (paths, _) = parse_tree(&chars, start, vec![], "");
        out.extend(paths.into_iter().map(|p| (is_pub, p)));
    }
    out
}

/// Parses a path (possibly a `use` tree with `{...}`) starting at `i`; returns the full
/// paths it names and where it ends.
fn parse_tree(
    chars: &[char],
    mut i: usize,
    prefix: Vec<String>,
    _w: &str,
) -> (Vec<Vec<String>>, usize) {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut segments = prefix;
    loop {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        if chars.get(i) == Some(&'{') {
            i += 1;
            let mut all = Vec::new();
            loop {
                while chars.get(i).is_some_and(|c| c.is_whitespace() || *c == ',') {
                    i += 1;
                }
                if chars.get(i) == Some(&'}') || i >= chars.len() {
                    return (all, i + 1);
                }
                let (paths, end) = parse_tree(chars, i, segments.clone(), "");
                all.extend(paths);
                i = end;
                // Skip `as alias` and anything up to the next separator.
                while chars
                    .get(i)
                    .is_some_and(|c| *c != ',' && *c != '}' && *c != '{')
                {
                    i += 1;
                }
            }
        }
        let start = i;
        while chars.get(i).copied().is_some_and(is_ident) {
            i += 1;
        }
        if i == start {
            return (vec![segments], i);
        }
        segments.push(chars[start..i].iter().collect());
        if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
            i += 2;
            continue;
        }
        return (vec![segments], i);
    }
}

/// Names a module re-exports (`pub use child::Item`), with the module the item comes from.
type Reexports = BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>;

/// The module a path (named from module `from`) refers to: the longest prefix that is a
/// module, followed through re-exports (`jsonpath::Selector` is `jsonpath::parse`'s). A path
/// that starts with neither `crate`, `super`, `self` nor a child module is another crate's.
fn resolve(
    from: &[String],
    path: &[String],
    modules: &BTreeSet<Vec<String>>,
    reexports: &Reexports,
) -> Option<Vec<String>> {
    let mut base: Vec<String> = from.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        Some(first) => {
            let mut child = base.clone();
            child.push(first.to_owned());
            if !modules.contains(&child) {
                return None;
            }
        }
        None => return None,
    }
    let mut best: Option<(Vec<String>, usize)> = None;
    let mut candidate = base.clone();
    if modules.contains(&candidate) {
        best = Some((candidate.clone(), 0));
    }
    for (i, seg) in rest.iter().enumerate() {
        candidate.push(seg.clone());
        if modules.contains(&candidate) {
            best = Some((candidate.clone(), i + 1));
        }
    }
    let (mut module, mut used) = best?;
    for _ in 0..4 {
        let Some(item) = rest.get(used) else { break };
        let Some(origin) = reexports.get(&module).and_then(|r| r.get(item)) else {
            break;
        };
        module = origin.clone();
        used = rest.len();
    }
    Some(module)
}

fn is_prefix(a: &[String], b: &[String]) -> bool {
    a.len() <= b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Strongly connected components of more than one module (Tarjan).
fn cycles(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    struct State<'g> {
        graph: &'g BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'g Vec<String>, usize>,
        low: BTreeMap<&'g Vec<String>, usize>,
        stack: Vec<&'g Vec<String>>,
        on_stack: BTreeSet<&'g Vec<String>>,
        next: usize,
        out: Vec<Vec<Vec<String>>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g Vec<String>) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(edges) = s.graph.get(v) {
            for w in edges {
                let Some((w, _)) = s.graph.get_key_value(w) else {
                    continue;
                };
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(lw));
                } else if s.on_stack.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(iw));
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// The module graph of `src/`: an edge for every path one module names into another, except
/// between a module and its own ancestors or descendants (a parent re-exporting its child, a
/// child using its parent's items: the tree itself).
fn module_graph(collapse_to: Option<usize>) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut modules = BTreeSet::new();
    let mut code = BTreeMap::new();
    for file in &files {
        if let Some(m) = module_of(file) {
            modules.insert(m.clone());
            let text = code_of(&std::fs::read_to_string(file).expect("read"));
            code.insert(m, library_code(&text).to_owned());
        }
    }
    // What each module re-exports, and from where (resolved without re-exports first, then
    // once more so chains of re-exports resolve).
    let mut reexports: Reexports = BTreeMap::new();
    for _ in 0..2 {
        let mut next: Reexports = BTreeMap::new();
        for (m, text) in &code {
            for (is_pub, path) in use_statements(text) {
                let Some(name) = path.last() else { continue };
                if !is_pub || name == "self" {
                    continue;
                }
                if let Some(origin) =
                    resolve(m, &path[..path.len() - 1], &modules, &reexports).filter(|o| o != m)
                {
                    next.entry(m.clone())
                        .or_default()
                        .insert(name.clone(), origin);
                }
            }
        }
        reexports = next;
    }
    let shorten = |m: Vec<String>| match collapse_to {
        Some(n) => m.into_iter().take(n).collect(),
        None => m,
    };
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (m, text) in &code {
        let node = shorten(m.clone());
        graph.entry(node.clone()).or_default();
        let uses = use_statements(text).into_iter().map(|(_, p)| p);
        for path in named_paths(text).into_iter().chain(uses) {
            let Some(target) = resolve(m, &path, &modules, &reexports) else {
                continue;
            };
            if is_prefix(&target, m) || is_prefix(m, &target) {
                continue;
            }
            let target = shorten(target);
            if target != node && !is_prefix(&target, &node) && !is_prefix(&node, &target) {
                graph.entry(node.clone()).or_default().insert(target);
            }
        }
    }
    graph
}

fn show(cycles: &[Vec<Vec<String>>]) -> String {
    cycles
        .iter()
        .map(|c| {
            c.iter()
                .map(|m| m.join("::"))
                .collect::<Vec<_>>()
                .join(" <-> ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn no_two_modules_depend_on_each_other() {
    let graph = module_graph(None);
    let edges: usize = graph.values().map(BTreeSet::len).sum();
    let found = cycles(&graph);
    println!(
        "module graph: {} modules, {edges} dependencies, {} cycles",
        graph.len(),
        found.len()
    );
    assert!(found.is_empty(), "module cycles:\n{}", show(&found));
}

#[test]
fn the_top_level_modules_are_layered() {
    // The same at the granularity of src/'s top-level modules (rules, transform, api, ...):
    // the core never depends on a shell or a mode.
    let graph = module_graph(Some(1));
    let found = cycles(&graph);
    for (m, deps) in &graph {
        println!(
            "{} -> {}",
            m.join("::"),
            deps.iter()
                .map(|d| d.join("::"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    assert!(
        found.is_empty(),
        "cycles between top-level modules:\n{}",
        show(&found)
    );
}

#[test]
fn the_checker_sees_a_cycle_and_a_string_error() {
    // The checker itself: a cycle and a string error it must find.
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let a = vec!["a".to_owned()];
    let b = vec!["b".to_owned()];
    graph.entry(a.clone()).or_default().insert(b.clone());
    graph.entry(b.clone()).or_default().insert(a.clone());
    assert_eq!(cycles(&graph).len(), 1);
    let code =
        code_of("fn f() -> Result<Vec<(u8, String)>, String> { todo!() } // Result<(), String>");
    let at = code.find("Result<").unwrap();
    assert_eq!(generic_args(&code, at + 6), ["Vec<(u8, String)>", "String"]);
    assert_eq!(code.matches("Result<").count(), 1, "comments are not code");
    let uses = use_statements("pub use child::{A, b::C};\n    use std::fmt;\n");
    assert_eq!(uses[0], (true, vec!["child".to_owned(), "A".to_owned()]));
    assert_eq!(uses[2], (false, vec!["std".to_owned(), "fmt".to_owned()]));
    let paths =
        named_paths("use super::{a, b::{c, d as e}};\nuse crate::x::y;\nlet z = self::q::r();");
    assert!(
        paths.contains(&vec!["super".to_owned(), "b".to_owned(), "d".to_owned()]),
        "{paths:?}"
    );
    assert!(paths.contains(&vec!["crate".to_owned(), "x".to_owned(), "y".to_owned()]));
    assert!(paths.contains(&vec!["self".to_owned(), "q".to_owned(), "r".to_owned()]));
}
