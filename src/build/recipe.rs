//! Recipes: the Dockerfile and context members that build one function for one architecture.
//!
//! Every recipe ends in the same final stage: the target architecture's builder image with the Lambda package
//! at [`PACKAGE_DIR`]. Work that needs no emulation (cross-platform wheels, Java) runs in a stage of the engine's
//! own architecture; work that compiles or runs target code (emulated wheels, npm, build.sh) runs in a stage
//! of the target architecture. Stages name their platform in `FROM --platform=…` because the classic builder
//! refuses `COPY --from` between platforms when the build itself names one.
//!
//! Not for: talking to the engine, or packaging (that is `package`).

use std::path::Path;

use super::context::{Member, SourceFile, SourceKind};
use crate::arch::Arch;
use crate::config::FunctionConf;

/// Where the final image holds the function and its vendored dependencies.
pub const PACKAGE_DIR: &str = "/ggp/package";

pub const PYTHON_SH: &str = include_str!("scripts/python.sh");
pub const NODE_SH: &str = include_str!("scripts/node.sh");
pub const EXECUTABLE_SH: &str = include_str!("scripts/executable.sh");
pub const JAVA_SH: &str = include_str!("scripts/java.sh");

/// The images a recipe builds from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    pub target: String,
    pub target_platform: String,
    /// The builder for the engine's own architecture (for work that needs no emulation).
    pub native: String,
    pub native_platform: String,
}

/// One way to build the function.
#[derive(Debug, Clone)]
pub struct Recipe {
    /// What this attempt does, for progress and errors (`cross-platform wheels`, `emulated build`, …).
    pub label: &'static str,
    pub dockerfile: String,
    pub members: Vec<Member>,
    /// Whether the recipe uses the native builder image.
    pub uses_native: bool,
    /// When the build fails with output containing one of these, the next recipe is tried.
    pub fallback_when: &'static [&'static str],
}

/// What a recipe is made from.
pub struct Input<'a> {
    pub f: &'a FunctionConf,
    pub arch: Arch,
    pub dir: &'a Path,
    pub sources: &'a [SourceFile],
}

pub(super) fn src_members(sources: &[SourceFile], prefix: &str) -> Vec<Member> {
    sources
        .iter()
        .map(|s| Member::Disk {
            path: format!("{prefix}/{}", s.rel),
            source: s.clone(),
        })
        .collect()
}

pub(super) fn script(name: &str, text: &str) -> Member {
    Member::Bytes {
        path: format!(".ggp/{name}"),
        data: text.as_bytes().to_vec(),
        executable: true,
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// `RUN ["/bin/sh", "/ggp/.ggp/<script>", args…]` (exec form: no shell quoting of arguments).
fn run(script: &str, args: &[&str]) -> String {
    let mut parts = vec![quote("/bin/sh"), quote(&format!("/ggp/.ggp/{script}"))];
    parts.extend(args.iter().map(|a| quote(a)));
    format!("RUN [{}]\n", parts.join(", "))
}

fn from(platform: &str, image: &str, stage: Option<&str>) -> String {
    match stage {
        Some(s) => format!("FROM --platform={platform} {image} AS {s}\n"),
        None => format!("FROM --platform={platform} {image}\n"),
    }
}

/// The final stage: the target builder with the package copied in from `work` (or from the context).
pub(super) fn final_stage(images: &Images, copies: &[&str]) -> String {
    let mut s = from(&images.target_platform, &images.target, None);
    for c in copies {
        s.push_str(c);
        s.push('\n');
    }
    s
}

/// All recipes for a function, in the order to try them.
pub fn recipes(input: &Input, images: &Images) -> Result<Vec<Recipe>, String> {
    use crate::language::Family;
    match input.f.language.family() {
        Family::Python => super::python::recipes(input, images),
        Family::Node => Ok(vec![node(input, images)]),
        Family::Executable => super::executable::recipes(input, images),
        Family::Java => super::java::recipes(input, images),
    }
}

/// Node: `npm ci` (or `npm install`) in a container of the target architecture.
fn node(input: &Input, images: &Images) -> Recipe {
    let mut df = from(&images.target_platform, &images.target, Some("work"));
    df.push_str("COPY .ggp/ /ggp/.ggp/\n");
    df.push_str(&format!("COPY src/ {PACKAGE_DIR}/\n"));
    df.push_str(&format!("WORKDIR {PACKAGE_DIR}\n"));
    df.push_str(&run("node.sh", &[]));
    df.push_str(&final_stage(
        images,
        &[&format!("COPY --from=work {PACKAGE_DIR}/ {PACKAGE_DIR}/")],
    ));
    let mut members = src_members(input.sources, "src");
    members.push(script("node.sh", NODE_SH));
    Recipe {
        label: "npm in a target-architecture container",
        dockerfile: df,
        members,
        uses_native: false,
        fallback_when: &[],
    }
}

/// A recipe whose package is given as context members under `pkg/` (prebuilt archives, plain files).
pub fn prebuilt(images: &Images, label: &'static str, members: Vec<Member>) -> Recipe {
    let df = final_stage(images, &[&format!("COPY pkg/ {PACKAGE_DIR}/")]);
    Recipe {
        label,
        dockerfile: df,
        members,
        uses_native: false,
        fallback_when: &[],
    }
}

/// A work stage that runs `script` on the context folder `workdir` (copied to `/ggp/src`), then the final
/// stage with `copies` (`COPY --from=work …`).
pub(super) fn work_dockerfile(
    images: &Images,
    native: bool,
    workdir: &str,
    (script, args): (&str, &[&str]),
    copies: &[&str],
) -> String {
    let (platform, image) = if native {
        (&images.native_platform, &images.native)
    } else {
        (&images.target_platform, &images.target)
    };
    let mut df = from(platform, image, Some("work"));
    df.push_str("COPY .ggp/ /ggp/.ggp/\n");
    df.push_str(&format!("COPY {workdir}/ /ggp/src/\n"));
    df.push_str("WORKDIR /ggp/src\n");
    df.push_str(&run(script, args));
    df.push_str(&final_stage(images, copies));
    df
}

/// A recipe that runs `script` in a work stage and copies its `/ggp/package` into the final stage.
pub fn scripted(
    input: &Input,
    images: &Images,
    native: bool,
    label: &'static str,
    (name, text): (&str, &str),
    args: &[&str],
) -> Recipe {
    let df = work_dockerfile(
        images,
        native,
        "src",
        (name, args),
        &[&format!("COPY --from=work {PACKAGE_DIR}/ {PACKAGE_DIR}/")],
    );
    let mut members = src_members(input.sources, "src");
    members.push(script(name, text));
    Recipe {
        label,
        dockerfile: df,
        members,
        uses_native: native,
        fallback_when: &[],
    }
}

/// A zip or jar on disk as the package (expanded under `pkg/` while the context streams). Only the central
/// directory is read here, to refuse archives that are not zips or whose names leave the package.
pub fn expand_archive(path: &Path) -> Result<Vec<Member>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let zip = zip::ZipArchive::new(file)
        .map_err(|e| format!("{}: not a zip file: {e}", path.display()))?;
    for name in zip.file_names() {
        let name = name.map_err(|e| format!("{}: {e}", path.display()))?;
        let p = Path::new(name.as_ref());
        if p.is_absolute()
            || p.components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(format!("{}: unsafe member name {name}", path.display()));
        }
    }
    Ok(vec![Member::Archive {
        prefix: "pkg".into(),
        zip: path.to_path_buf(),
    }])
}

/// The function's own files placed under `pkg/` (a package that needs no build step).
pub fn files_as_package(sources: &[SourceFile]) -> Vec<Member> {
    sources
        .iter()
        .map(|s| match &s.kind {
            SourceKind::File { .. } => Member::Disk {
                path: format!("pkg/{}", s.rel),
                source: s.clone(),
            },
            SourceKind::Symlink { target } => Member::Link {
                path: format!("pkg/{}", s.rel),
                target: target.clone(),
            },
        })
        .collect()
}

pub(super) fn has_source(sources: &[SourceFile], rel: &str) -> bool {
    sources.iter().any(|s| s.rel == rel)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn images() -> Images {
        Images {
            target: "ggp/builder:bookworm-armhf".into(),
            target_platform: "linux/arm/v7".into(),
            native: "ggp/builder:bookworm-amd64".into(),
            native_platform: "linux/amd64".into(),
        }
    }

    #[test]
    fn run_lines_use_exec_form_with_json_quoting() {
        assert_eq!(
            run("java.sh", &["Fn", "build/libs/a b.jar"]),
            "RUN [\"/bin/sh\", \"/ggp/.ggp/java.sh\", \"Fn\", \"build/libs/a b.jar\"]\n"
        );
    }

    #[test]
    fn every_stage_names_its_platform() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("index.js"), "").unwrap();
        let sources = super::super::context::collect(d.path()).unwrap();
        let f = crate::build::tests::function("Node", "NODEJS12_X", "index.handler");
        let r = recipes(
            &Input {
                f: &f,
                arch: Arch::Armv7lRaspbian,
                dir: d.path(),
                sources: &sources,
            },
            &images(),
        )
        .unwrap();
        assert_eq!(r.len(), 1);
        for line in r[0].dockerfile.lines().filter(|l| l.starts_with("FROM")) {
            assert!(line.contains("--platform=linux/arm/v7"), "{line}");
        }
        assert!(r[0].dockerfile.contains("node.sh"));
    }

    #[tokio::test]
    async fn archives_expand_with_modes_and_refuse_escaping_names() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.zip");
        let mut w = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
        let o = zip::write::SimpleFileOptions::default();
        w.start_file("bin/run", o.unix_permissions(0o755)).unwrap();
        std::io::Write::write_all(&mut w, b"#!/bin/sh").unwrap();
        w.start_file("data.txt", o.unix_permissions(0o600)).unwrap();
        w.finish().unwrap();
        let m = expand_archive(&p).unwrap();
        let (_, entries) = crate::build::context::tests::streamed(m).await;
        let got: Vec<(String, u32)> = entries.into_iter().map(|(p, m, _)| (p, m)).collect();
        assert_eq!(
            got,
            vec![
                ("pkg/bin/run".into(), 0o755),
                ("pkg/data.txt".into(), 0o644)
            ]
        );

        let bad = d.path().join("bad.zip");
        let mut w = zip::ZipWriter::new(std::fs::File::create(&bad).unwrap());
        w.start_file("../escape", o).unwrap();
        w.finish().unwrap();
        assert!(expand_archive(&bad).unwrap_err().contains("unsafe"));
    }
}
