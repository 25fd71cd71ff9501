//! No top-level module of the library imports one that imports it back.
//!
//! Reads every `crate::<module>` path in `src/**/*.rs` (the library: `main.rs` and `src/cli/`
//! belong to the `mailoauth` binary, whose `crate` is another one), builds the graph of the
//! top-level modules (a folder or a file directly under `src/`) and fails on any cycle, naming
//! its modules and one file of each edge. Comments are skipped, so a doc link is no import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Edges `from -> to` with one file that makes each.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of `text` without `//` comments (line, doc) and `/* */` blocks; string literals
/// are kept, which is harmless: no literal of the library spells `crate::`.
fn code_only(text: &str) -> String {
    let mut out = String::new();
    let mut in_block = 0usize;
    for line in text.lines() {
        let mut rest = line;
        let mut kept = String::new();
        loop {
            if in_block > 0 {
                match rest.find("*/") {
                    Some(i) => {
                        in_block -= 1;
                        rest = &rest[i + 2..];
                    }
                    None => break,
                }
            } else {
                let line_comment = rest.find("//");
                let block = rest.find("/*");
                match (line_comment, block) {
                    (Some(l), b) if b.is_none_or(|b| l < b) => {
                        kept.push_str(&rest[..l]);
                        break;
                    }
                    (_, Some(b)) => {
                        kept.push_str(&rest[..b]);
                        in_block += 1;
                        rest = &rest[b + 2..];
                    }
                    _ => {
                        kept.push_str(rest);
                        break;
                    }
                }
            }
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// Every top-level module a piece of code names through `crate::`: `crate::a::b`,
/// `crate::{a, b::c}` and nested groups `crate::{a::{x, y}, b}` (only the first segment of each
/// path inside the outer group counts).
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while let Some(off) = code[i..].find("crate::") {
        let start = i + off;
        i = start + "crate::".len();
        // `mailoauth::crate::` does not exist; `$crate::` (macros) means this crate too.
        if start > 0 {
            let before = bytes[start - 1] as char;
            if before.is_ascii_alphanumeric() || before == '_' {
                continue;
            }
        }
        if code[i..].starts_with('{') {
            // A group: split its top level on commas.
            let mut depth = 0;
            let mut item = String::new();
            for c in code[i..].chars() {
                match c {
                    '{' => {
                        depth += 1;
                        if depth > 1 {
                            item.push(c);
                        }
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            push_first(&item, &mut found);
                            break;
                        }
                        item.push(c);
                    }
                    ',' if depth == 1 => {
                        push_first(&item, &mut found);
                        item.clear();
                    }
                    _ => item.push(c),
                }
            }
        } else {
            push_first(&code[i..], &mut found);
        }
    }
    found
}

fn push_first(path: &str, found: &mut BTreeSet<String>) {
    let name: String = path
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if !name.is_empty() && name != "self" {
        found.insert(name);
    }
}

/// The top-level module of a file under `src/`: `src/a.rs` and `src/a/...` are `a`.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

fn library_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut graph = Graph::new();
    for file in files {
        let Some(from) = top_module(src, &file) else {
            continue;
        };
        // The binary's files: `crate` there is the binary.
        if from == "main" || from == "cli" || from == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for to in crate_paths(&code_only(&text)) {
            if to != from {
                graph
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_insert_with(|| file.strip_prefix(src).unwrap().display().to_string());
            }
        }
    }
    graph
}

/// Every cycle of the graph, each as its modules in order (found once, from its smallest name).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    fn walk(
        graph: &Graph,
        start: &str,
        node: &str,
        path: &mut Vec<String>,
        out: &mut Vec<Vec<String>>,
    ) {
        for next in graph.get(node).into_iter().flat_map(|e| e.keys()) {
            if next == start {
                out.push(path.clone());
            } else if next.as_str() > start && !path.contains(next) {
                path.push(next.clone());
                walk(graph, start, next, path, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    for start in graph.keys() {
        let mut path = vec![start.clone()];
        walk(graph, start, start, &mut path, &mut out);
    }
    out
}

fn describe(graph: &Graph, cycle: &[String]) -> String {
    let mut steps = Vec::new();
    for (i, from) in cycle.iter().enumerate() {
        let to = &cycle[(i + 1) % cycle.len()];
        let file = &graph[from][to];
        steps.push(format!("{from} -> {to} (src/{file})"));
    }
    steps.join(", ")
}

#[test]
fn no_top_level_module_imports_one_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = library_graph(&src);
    // The reader sees the imports the library really has (a broken reader finds no cycle).
    assert!(
        graph
            .get("oauth")
            .is_some_and(|e| e.contains_key("provider")),
        "the reader found no oauth -> provider import: {graph:?}"
    );
    let found = cycles(&graph);
    let text: Vec<String> = found.iter().map(|c| describe(&graph, c)).collect();
    assert!(
        found.is_empty(),
        "module cycles in src/ (break each by moving the shared piece down):\n  {}",
        text.join("\n  ")
    );
}

#[test]
fn the_reader_finds_grouped_and_nested_paths_and_skips_comments() {
    let code = code_only(
        "use crate::{a::x, b::{c, d}, self};\n// crate::z\n/* crate::y */ let v = crate::e::f();\n/// [`crate::w`]\n",
    );
    let found: Vec<String> = crate_paths(&code).into_iter().collect();
    assert_eq!(found, ["a", "b", "e"]);
    let mut g = Graph::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        g.entry(a.into())
            .or_default()
            .insert(b.into(), "f.rs".into());
    }
    assert_eq!(cycles(&g), vec![vec!["a", "b", "c"]]);
}
