//! Python functions: requirements vendored with `pip install --target` for the function's Python and the
//! target architecture.
//!
//! First attempt: wheels only, chosen for another interpreter and platform (`--platform`, `--python-version`,
//! `--implementation cp`, `--only-binary=:all:`) in a stage of the engine's own architecture, so nothing is
//! emulated. When some requirement has no such wheel, the second attempt builds wheels with the image's own
//! Python in a container of the target architecture (under emulation on a foreign engine). `--require-hashes`
//! and hashes in the requirement files are pip's to enforce; ggp passes the files unchanged.

use std::collections::BTreeSet;
use std::path::Path;

use super::context::{Member, SourceFile};
use super::recipe::{
    final_stage, has_source, script, src_members, work_dockerfile, Images, Input, Recipe,
    PACKAGE_DIR, PYTHON_SH,
};

/// pip's words for "no distribution fits": the cue to build under emulation instead.
const NO_WHEEL: &[&str] = &[
    "No matching distribution found",
    "Could not find a version that satisfies",
];

pub fn recipes(input: &Input, images: &Images) -> Result<Vec<Recipe>, String> {
    let crate::language::Language::Python(major, minor) = input.f.language else {
        return Err("not a Python function".into());
    };
    if !has_source(input.sources, "requirements.txt") {
        let df = final_stage(images, &[&format!("COPY src/ {PACKAGE_DIR}/")]);
        return Ok(vec![Recipe {
            label: "no requirements",
            dockerfile: df,
            members: src_members(input.sources, "src"),
            uses_native: false,
            fallback_when: &[],
        }]);
    }
    let req = requirement_files(input.dir, input.sources)?;
    let version = format!("{major}.{minor}");
    let tags: Vec<&str> = input.arch.wheel_platforms().to_vec();
    let mut cross_args = vec!["cross", version.as_str()];
    cross_args.extend(tags.iter().copied());
    let attempt =
        |native: bool, args: &[&str], label: &'static str, fallback: &'static [&'static str]| {
            let df = work_dockerfile(
                images,
                native,
                "req",
                ("python.sh", args),
                &[
                    &format!("COPY --from=work /ggp/deps/ {PACKAGE_DIR}/"),
                    &format!("COPY src/ {PACKAGE_DIR}/"),
                ],
            );
            let mut members = src_members(input.sources, "src");
            members.extend(
                input
                    .sources
                    .iter()
                    .filter(|s| req.files.contains(&s.rel))
                    .map(|s| Member::Disk {
                        path: format!("req/{}", s.rel),
                        source: s.clone(),
                    }),
            );
            members.push(script("python.sh", PYTHON_SH));
            Recipe {
                label,
                dockerfile: df,
                members,
                uses_native: native,
                fallback_when: fallback,
            }
        };
    let emulated = attempt(
        false,
        &["emulated"],
        "wheels built in a target-architecture container",
        &[],
    );
    if req.from_source {
        return Ok(vec![emulated]);
    }
    Ok(vec![
        attempt(true, &cross_args, "cross-platform wheels", NO_WHEEL),
        emulated,
    ])
}

/// What the requirement files need.
#[derive(Debug, PartialEq, Eq)]
struct Requirements {
    /// requirements.txt and the files it includes (`-r`, `-c`), relative to the function folder; every
    /// source file when a requirement names a local path.
    files: BTreeSet<String>,
    /// Some requirement is built from source whatever `--only-binary` says (a local path, a VCS or direct
    /// URL), so only a build in a target-architecture container gives objects for the right machine.
    from_source: bool,
}

fn requirement_files(dir: &Path, sources: &[SourceFile]) -> Result<Requirements, String> {
    let mut seen = BTreeSet::new();
    let mut from_source = false;
    let mut todo = vec!["requirements.txt".to_string()];
    while let Some(rel) = todo.pop() {
        if !seen.insert(rel.clone()) {
            continue;
        }
        let text = std::fs::read_to_string(dir.join(&rel)).map_err(|e| format!("{rel}: {e}"))?;
        let base = Path::new(&rel).parent().unwrap_or(Path::new(""));
        for line in text.lines() {
            let line = line.split(" #").next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let included = include_target(line);
            if let Some(p) = included {
                if p.contains("://") {
                    continue;
                }
                let joined = base.join(&p).to_string_lossy().to_string();
                if !sources.iter().any(|s| s.rel == joined) {
                    return Err(format!(
                        "{rel} includes {p}, which is not in the function folder"
                    ));
                }
                todo.push(joined);
            } else if names_local_path(line) {
                return Ok(Requirements {
                    files: sources.iter().map(|s| s.rel.clone()).collect(),
                    from_source: true,
                });
            } else if !line.starts_with('-') && (line.contains("://") || line.contains(" @ ")) {
                from_source = true;
            }
        }
    }
    Ok(Requirements {
        files: seen,
        from_source,
    })
}

/// The file a `-r`/`--requirement`/`-c`/`--constraint` line includes.
fn include_target(line: &str) -> Option<String> {
    let mut tokens = line.split_whitespace();
    let first = tokens.next()?;
    for opt in ["--requirement", "--constraint", "-r", "-c"] {
        if first == opt {
            return tokens.next().map(str::to_string);
        }
        if let Some(rest) = first.strip_prefix(opt) {
            let rest = rest.strip_prefix('=').unwrap_or(rest);
            if !rest.is_empty() && (opt.len() == 2 || first.contains('=')) {
                return Some(rest.to_string());
            }
        }
    }
    None
}

/// A requirement line that installs from the function folder (`./lib`, `file:`, a wheel or sdist path).
fn names_local_path(line: &str) -> bool {
    if line.starts_with('-') {
        return ["-e ", "--editable"].iter().any(|p| line.starts_with(p));
    }
    line.starts_with('.')
        || line.starts_with('/')
        || line.starts_with("file:")
        || (!line.contains("://")
            && [".whl", ".tar.gz", ".zip"]
                .iter()
                .any(|s| line.split(';').next().unwrap_or("").trim().ends_with(s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::build::context::collect;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, c) in files {
            let p = d.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, c).unwrap();
        }
        d
    }

    #[test]
    fn included_requirement_files_are_followed() {
        let d = project(&[
            (
                "requirements.txt",
                "-r base.txt\n--constraint=pins/c.txt\nsix==1.16.0 # pure\n",
            ),
            ("base.txt", "pycryptodome==3.21.0 --hash=sha256:abc\n"),
            ("pins/c.txt", "six<2\n"),
            ("hello.py", ""),
        ]);
        let s = collect(d.path()).unwrap();
        let r = requirement_files(d.path(), &s).unwrap();
        assert_eq!(
            r.files.into_iter().collect::<Vec<_>>(),
            vec!["base.txt", "pins/c.txt", "requirements.txt"]
        );
        assert!(!r.from_source);
    }

    #[test]
    fn local_paths_need_the_whole_folder_and_missing_includes_fail() {
        let d = project(&[
            ("requirements.txt", "./libs/mylib\n"),
            ("libs/mylib/setup.py", ""),
            ("h.py", ""),
        ]);
        let s = collect(d.path()).unwrap();
        let r = requirement_files(d.path(), &s).unwrap();
        assert_eq!((r.files.len(), r.from_source), (3, true));
        let d = project(&[("requirements.txt", "x @ git+https://example.com/x.git\n")]);
        let s = collect(d.path()).unwrap();
        assert!(requirement_files(d.path(), &s).unwrap().from_source);
        let d = project(&[("requirements.txt", "-r missing.txt\n")]);
        let s = collect(d.path()).unwrap();
        assert!(requirement_files(d.path(), &s)
            .unwrap_err()
            .contains("missing.txt"));
    }

    #[test]
    fn cross_attempt_first_then_emulated_with_the_function_python_version() {
        let d = project(&[
            ("requirements.txt", "six==1.16.0\n"),
            ("hello.py", "def h(e, c):\n  pass\n"),
        ]);
        let s = collect(d.path()).unwrap();
        let f = crate::build::tests::function("HelloPython", "PYTHON3_8", "hello.h");
        let input = Input {
            f: &f,
            arch: Arch::Armv8,
            dir: d.path(),
            sources: &s,
        };
        let r = recipes(&input, &crate::build::recipe::tests::images()).unwrap();
        assert_eq!(r.len(), 2);
        assert!(r[0].uses_native && !r[1].uses_native);
        assert!(
            r[0].dockerfile
                .contains("\"cross\", \"3.8\", \"manylinux2014_aarch64\""),
            "{}",
            r[0].dockerfile
        );
        assert!(r[0]
            .dockerfile
            .starts_with("FROM --platform=linux/amd64 ggp/builder:bookworm-amd64 AS work"));
        assert!(r[1]
            .dockerfile
            .starts_with("FROM --platform=linux/arm/v7 ggp/builder:bookworm-armhf AS work"));
        assert!(!r[0].fallback_when.is_empty() && r[1].fallback_when.is_empty());

        // Built from source whatever --only-binary says: only the target-architecture build is right.
        std::fs::write(d.path().join("requirements.txt"), "./lib\n").unwrap();
        let s = collect(d.path()).unwrap();
        let input = Input {
            f: &f,
            arch: Arch::Armv8,
            dir: d.path(),
            sources: &s,
        };
        let r = recipes(&input, &crate::build::recipe::tests::images()).unwrap();
        assert_eq!(r.len(), 1);
        assert!(!r[0].uses_native);
    }
}
