//! Repository rules enforced as tests: crate layering points one way, every Rust file starts
//! with a `//!` module doc, and the default data dir stays out of git.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The crates each crate may depend on (normal dependencies; dev-dependencies are free).
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("eni-types", &[][..]),
        ("eni-ipam", &[][..]),
        ("eni-sign", &[][..]),
        ("eni-store", &["eni-types"][..]),
        ("eni-store-sqlite", &["eni-store", "eni-types"][..]),
        ("eni-store-postgres", &["eni-store", "eni-types"][..]),
        ("eni-core", &["eni-types", "eni-ipam", "eni-store"][..]),
        ("eni-api", &["eni-types", "eni-sign", "eni-core"][..]),
        ("eni-dataplane", &[][..]),
        // The agent never reads the database: it knows the control plane only through HTTP.
        ("eni-agent", &["eni-types", "eni-dataplane"][..]),
        (
            "eni",
            &[
                "eni-types",
                "eni-store",
                "eni-store-sqlite",
                "eni-store-postgres",
                "eni-core",
                "eni-api",
                "eni-agent",
                "eni-dataplane",
            ][..],
        ),
    ])
}

#[test]
fn crate_dependencies_point_one_way() {
    let allowed = allowed();
    let crates = root().join("crates");
    let mut seen = 0;
    for entry in std::fs::read_dir(&crates).unwrap() {
        let dir = entry.unwrap().path();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        let rules = allowed
            .get(name.as_str())
            .unwrap_or_else(|| panic!("crate {name} has no layering rule in tidy.rs"));
        seen += 1;
        // Only the [dependencies] table counts.
        let deps = manifest
            .split("\n[")
            .find(|s| s.starts_with("dependencies]"))
            .unwrap_or("");
        for line in deps.lines().skip(1) {
            let dep = line.split(['=', '.', ' ']).next().unwrap_or("").trim();
            if dep.starts_with("eni") {
                assert!(rules.contains(&dep), "{name} must not depend on {dep}");
            }
        }
    }
    assert_eq!(seen, allowed.len(), "a crate in the rules no longer exists");
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    assert!(files.len() > 20);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} does not start with //!",
            f.display()
        );
    }
}

/// `eni serve`'s default data dir, made in the checkout by README's quick start, holds secrets:
/// git must never offer to commit it.
#[test]
fn the_default_data_dir_is_ignored_by_git() {
    let ignore = std::fs::read_to_string(root().join(".gitignore")).unwrap();
    assert!(
        ignore
            .lines()
            .map(str::trim)
            .any(|l| matches!(l, "/eni-data/" | "eni-data/" | "/eni-data" | "eni-data")),
        ".gitignore does not list eni-data/"
    );
}
