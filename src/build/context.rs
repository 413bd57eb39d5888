//! A function's source files: which ones count, their content hash, and the tar context streamed to the engine.
//!
//! The same file list feeds the cache key and the build context, so what is hashed is exactly what is built.
//! The tar is deterministic (sorted, fixed mtime/owner, modes 0644/0755) and produced on a blocking thread
//! into a bounded channel: nothing is written to a temporary folder and memory stays at a few chunks.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::Stream;
use sha2::{Digest, Sha256};

/// Folder and file names never sent to the engine: installed dependencies are rebuilt inside the container,
/// caches and VCS data are not part of a function.
const SKIP_NAMES: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "venv",
    ".venv",
    "__pycache__",
    ".gradle",
    ".idea",
    ".vscode",
    ".DS_Store",
    ".pytest_cache",
    ".mypy_cache",
];

/// A file of the function folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Relative path with `/` separators.
    pub rel: String,
    pub abs: PathBuf,
    pub kind: SourceKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    File { executable: bool, sha256: [u8; 32] },
    Symlink { target: String },
}

/// Lists the files of `dir` that belong to the function, sorted. `function.conf` is left out: its
/// build-relevant keys are hashed separately, so changing a timeout does not rebuild anything.
pub fn collect(dir: &Path) -> std::io::Result<Vec<SourceFile>> {
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.retain(|f| f.rel != "function.conf");
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<SourceFile>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        if SKIP_NAMES.contains(&name.as_str()) || name.ends_with(".pyc") || name.ends_with(".pyo") {
            continue;
        }
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let abs = e.path();
        let meta = std::fs::symlink_metadata(&abs)?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&abs)?.to_string_lossy().to_string();
            out.push(SourceFile {
                rel,
                abs,
                kind: SourceKind::Symlink { target },
            });
        } else if meta.is_dir() {
            walk(&abs, &rel, out)?;
        } else if meta.is_file() {
            use std::os::unix::fs::PermissionsExt;
            let data = std::fs::read(&abs)?;
            out.push(SourceFile {
                rel,
                abs,
                kind: SourceKind::File {
                    executable: meta.permissions().mode() & 0o111 != 0,
                    sha256: Sha256::digest(&data).into(),
                },
            });
        }
    }
    Ok(())
}

/// Feeds the file list into a hasher (path, type, mode, content hash), in order.
pub fn hash_into(files: &[SourceFile], h: &mut Sha256) {
    for f in files {
        h.update(f.rel.as_bytes());
        h.update([0]);
        match &f.kind {
            SourceKind::File { executable, sha256 } => {
                h.update(if *executable { b"x" } else { b"f" });
                h.update(sha256);
            }
            SourceKind::Symlink { target } => {
                h.update(b"l");
                h.update(target.as_bytes());
            }
        }
        h.update([0]);
    }
}

/// One member of the build context.
#[derive(Debug, Clone)]
pub enum Member {
    /// A file from disk, at `path` in the context.
    Disk { path: String, source: SourceFile },
    /// Generated content (Dockerfile, scripts, an expanded archive member).
    Bytes {
        path: String,
        data: Vec<u8>,
        executable: bool,
    },
    /// A symbolic link.
    Link { path: String, target: String },
    /// The members of a zip or jar on disk, under `prefix/`, expanded while the tar is streamed.
    Archive { prefix: String, zip: PathBuf },
}

impl Member {
    fn path(&self) -> &str {
        match self {
            Member::Disk { path, .. } | Member::Bytes { path, .. } | Member::Link { path, .. } => {
                path
            }
            Member::Archive { prefix, .. } => prefix,
        }
    }
}

/// Writes bytes into a channel in chunks, blocking when the engine reads slower than the tar is made.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

const CHUNK: usize = 256 * 1024;

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.blocking_send(chunk).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the engine stopped reading the build context",
            )
        })
    }
}

fn write_tar(members: Vec<Member>, w: ChannelWriter) -> std::io::Result<()> {
    let mut members = members;
    members.sort_by(|a, b| a.path().cmp(b.path()));
    let mut tar = tar::Builder::new(w);
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    for m in members {
        match m {
            Member::Disk { path, source } => match &source.kind {
                SourceKind::File { executable, .. } => {
                    let data = std::fs::read(&source.abs)?;
                    append(&mut tar, &path, &data, *executable)?;
                }
                SourceKind::Symlink { target } => link(&mut tar, &path, target)?,
            },
            Member::Bytes {
                path,
                data,
                executable,
            } => append(&mut tar, &path, &data, executable)?,
            Member::Link { path, target } => link(&mut tar, &path, &target)?,
            Member::Archive { prefix, zip } => expand(&mut tar, &prefix, &zip)?,
        }
    }
    let mut w = tar.into_inner()?;
    w.flush()
}

fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    data: &[u8],
    executable: bool,
) -> std::io::Result<()> {
    let mut h = header(
        tar::EntryType::Regular,
        data.len() as u64,
        if executable { 0o755 } else { 0o644 },
    );
    tar.append_data(&mut h, path, data)
}

fn link<W: Write>(tar: &mut tar::Builder<W>, path: &str, target: &str) -> std::io::Result<()> {
    let mut h = header(tar::EntryType::Symlink, 0, 0o777);
    tar.append_link(&mut h, path, target)
}

/// Copies the members of a zip into the tar under `prefix/`, keeping execute bits and symbolic links.
fn expand<W: Write>(tar: &mut tar::Builder<W>, prefix: &str, zip: &Path) -> std::io::Result<()> {
    let bad = |e: zip::result::ZipError| std::io::Error::other(format!("{}: {e}", zip.display()));
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip)?).map_err(bad)?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(bad)?;
        if entry.is_dir() {
            continue;
        }
        let Some(name) = entry.enclosed_name() else {
            return Err(std::io::Error::other(format!(
                "{}: unsafe member name {}",
                zip.display(),
                String::from_utf8_lossy(entry.name_raw())
            )));
        };
        let path = format!("{prefix}/{}", name.to_string_lossy());
        let mode = entry.unix_mode().unwrap_or(0o644);
        let mut data = Vec::with_capacity(entry.size() as usize);
        std::io::Read::read_to_end(&mut entry, &mut data)?;
        if entry.is_symlink() {
            link(tar, &path, &String::from_utf8_lossy(&data))?;
        } else {
            append(tar, &path, &data, mode & 0o111 != 0)?;
        }
    }
    Ok(())
}

/// Streams the members as an uncompressed tar, produced on a blocking thread as the engine reads it.
/// Returns the stream and a handle that reports a failure to read a source file.
pub fn stream(
    members: Vec<Member>,
) -> (
    impl Stream<Item = Bytes> + Send + 'static,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let handle = tokio::task::spawn_blocking(move || {
        write_tar(
            members,
            ChannelWriter {
                tx,
                buf: Vec::with_capacity(CHUNK),
            },
        )
    });
    let body =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
    (body, handle)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::write(p.join("function.conf"), "conf {}").unwrap();
        std::fs::write(p.join("b.py"), "print(1)").unwrap();
        std::fs::create_dir_all(p.join("pkg/__pycache__")).unwrap();
        std::fs::write(p.join("pkg/__pycache__/x.cpython-311.pyc"), "junk").unwrap();
        std::fs::write(p.join("pkg/a.py"), "A").unwrap();
        std::fs::create_dir_all(p.join("node_modules/x")).unwrap();
        std::fs::write(p.join("node_modules/x/index.js"), "").unwrap();
        std::fs::write(p.join("run.sh"), "#!/bin/sh").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p.join("run.sh"), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink("b.py", p.join("link.py")).unwrap();
        d
    }

    #[test]
    fn collects_sources_without_config_caches_or_installed_deps() {
        let d = tree();
        let files = collect(d.path()).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(names, vec!["b.py", "link.py", "pkg/a.py", "run.sh"]);
        assert!(matches!(
            files[3].kind,
            SourceKind::File {
                executable: true,
                ..
            }
        ));
        assert!(matches!(&files[1].kind, SourceKind::Symlink { target } if target == "b.py"));
    }

    #[test]
    fn hash_changes_with_content_and_mode_not_with_mtime() {
        let d = tree();
        let hash = |p: &Path| {
            let mut h = Sha256::new();
            hash_into(&collect(p).unwrap(), &mut h);
            h.finalize().to_vec()
        };
        let h0 = hash(d.path());
        // mtime only
        let f = std::fs::File::options()
            .write(true)
            .open(d.path().join("b.py"))
            .unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(hash(d.path()), h0);
        // the config file is not a source
        std::fs::write(
            d.path().join("function.conf"),
            "conf { timeoutInSeconds = 9 }",
        )
        .unwrap();
        assert_eq!(hash(d.path()), h0);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            d.path().join("b.py"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let h1 = hash(d.path());
        assert_ne!(h1, h0);
        std::fs::write(d.path().join("pkg/a.py"), "B").unwrap();
        assert_ne!(hash(d.path()), h1);
    }

    /// The streamed tar and its (path, mode, mtime) entries.
    pub(crate) async fn streamed(members: Vec<Member>) -> (Vec<u8>, Vec<(String, u32, u64)>) {
        let (body, handle) = stream(members);
        let tar: Vec<u8> = body.collect::<Vec<Bytes>>().await.concat();
        handle.await.unwrap().unwrap();
        let mut ar = tar::Archive::new(&tar[..]);
        let entries = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().to_string_lossy().to_string(),
                    e.header().mode().unwrap(),
                    e.header().mtime().unwrap(),
                )
            })
            .collect();
        (tar, entries)
    }

    #[tokio::test]
    async fn streamed_tar_is_sorted_and_deterministic() {
        let d = tree();
        let files = collect(d.path()).unwrap();
        let make = || {
            let mut m: Vec<Member> = files
                .iter()
                .map(|f| Member::Disk {
                    path: format!("src/{}", f.rel),
                    source: f.clone(),
                })
                .collect();
            m.push(Member::Bytes {
                path: ".ggp/Dockerfile".into(),
                data: b"FROM scratch\n".to_vec(),
                executable: false,
            });
            m
        };
        let (first, entries) = streamed(make()).await;
        let (second, _) = streamed(make()).await;
        assert_eq!(first, second);
        let paths: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                ".ggp/Dockerfile",
                "src/b.py",
                "src/link.py",
                "src/pkg/a.py",
                "src/run.sh"
            ]
        );
        assert_eq!(entries[4].1, 0o755);
        assert_eq!(entries[1].1, 0o644);
        assert!(entries.iter().all(|e| e.2 == 0));
    }
}
