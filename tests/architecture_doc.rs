//! docs/ARCHITECTURE.md names every file of the code folders, so the map stays true: a file
//! added (or renamed) without its line in the map fails here. Files whose names repeat in every
//! folder (`mod.rs`, `tests.rs`, ...) count through their folder's name; generated and data
//! folders are named as a whole.

use std::path::{Path, PathBuf};

/// Folders whose files are listed one by one.
const ROOTS: &[&str] = &[
    "src",
    "src-tauri/src",
    "ui/src",
    "tests",
    "scripts",
    "benches",
    "fuzz/fuzz_targets",
];

/// Folders named as a whole (generated files, data, the peers' own dependencies).
const WHOLE: &[&str] = &[
    "ui/src/lib/ipc/bindings",
    "src/diagnosis/entries",
    "src/provider/profiles",
    "src/provider/checklists",
    "src/probe/testdata",
    "src/validate/testdata",
    "tests/peers/op/node_modules",
    "tests/peers/dovecot",
    "tests/peers/postfix",
    "tests/peers/demo",
];

/// Names that repeat in many folders: the folder's own name must be in the map.
const SHARED: &[&str] = &["mod.rs", "tests.rs", "package.json", "package-lock.json"];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let rel = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if WHOLE.iter().any(|w| rel == *w) {
            continue;
        }
        // Links (a worktree's node_modules) and build output are not part of the tree.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            continue;
        }
        if meta.is_dir() {
            files(&path, out);
        } else {
            out.push(PathBuf::from(rel));
        }
    }
}

#[test]
fn every_file_of_the_code_folders_is_named_in_the_architecture_map() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap();
    let mut all = Vec::new();
    for r in ROOTS {
        files(&root.join(r), &mut all);
    }
    assert!(all.len() > 100, "the walk found too few files: {all:?}");
    let mut missing = Vec::new();
    for f in &all {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        let named = if SHARED.contains(&name.as_str()) {
            let folder = f.parent().unwrap().file_name().unwrap().to_string_lossy();
            map.contains(&format!("{folder}/"))
        } else {
            // `AuthorizeStep.svelte` may be listed as `AuthorizeStep`; `x_tests.rs` as `*_tests.rs`.
            map.contains(&name)
                || (name.ends_with(".svelte") && map.contains(&stem))
                || (name.ends_with("_tests.rs") && map.contains("*_tests.rs"))
        };
        if !named {
            missing.push(f.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md does not name these files; add a line for each:\n  {}",
        missing.join("\n  ")
    );
}
