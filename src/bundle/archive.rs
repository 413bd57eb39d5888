//! Reproducible archives: the tar and tar.gz writer shared by the bundle, the OEM archive and the
//! script payload.
//!
//! Same entries in, same bytes out: entries are sorted by path component, every header has uid and
//! gid 0 with empty user and group names, the caller's fixed mtime, and a normalised mode (0755
//! for directories and executables, 0644 for other files, 0600 for secrets); the gzip header has no
//! time and no file name. The deflate backend is pinned in Cargo.toml (`rust_backend`), so the
//! bytes do not change with feature unification.
//!
//! Members that are already compressed (a `.tar.gz` core software archive, a `.deb`) go into the
//! gzip stream as stored deflate blocks instead of being compressed a second time: that is most of
//! a bundle's bytes, and deflating incompressible data costs time for nothing. The stream stays a
//! single standard gzip member that `gzip -d`, busybox and `tar -z` read.
//!
//! Not for: reading archives, or archives with hard links, devices or per-entry owners.

use std::collections::BTreeMap;
use std::io::{self, Write};

use bytes::Bytes;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// Mode of directories and executables.
pub const MODE_EXEC: u32 = 0o755;
/// Mode of ordinary files.
pub const MODE_FILE: u32 = 0o644;
/// Mode of private keys and files holding secrets.
pub const MODE_SECRET: u32 = 0o600;

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File(Bytes),
    Symlink(String),
}

/// One archive entry. Paths are relative, `/`-separated, without `.` or `..` components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub mode: u32,
    pub kind: Kind,
}

/// A set of entries, kept in archive order (component-wise by path, so a directory comes right
/// before its contents). Adding a file adds its parent directories (0755).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    entries: BTreeMap<Vec<String>, Entry>,
}

impl Tree {
    pub fn new() -> Tree {
        Tree::default()
    }

    /// Adds (or replaces) a file.
    pub fn file(&mut self, path: &str, mode: u32, data: impl Into<Bytes>) {
        self.insert(path, mode, Kind::File(data.into()));
    }

    /// Adds a symbolic link.
    pub fn symlink(&mut self, path: &str, target: &str) {
        self.insert(path, 0o777, Kind::Symlink(target.to_string()));
    }

    fn insert(&mut self, path: &str, mode: u32, kind: Kind) {
        let parts = components(path);
        assert!(!parts.is_empty(), "empty archive path");
        for n in 1..parts.len() {
            self.entries
                .entry(parts[..n].to_vec())
                .or_insert_with(|| Entry {
                    path: parts[..n].join("/"),
                    mode: MODE_EXEC,
                    kind: Kind::Dir,
                });
        }
        let path = parts.join("/");
        self.entries.insert(parts, Entry { path, mode, kind });
    }

    /// The entries in archive order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// The content of a file entry.
    pub fn get(&self, path: &str) -> Option<&Bytes> {
        match self.entries.get(&components(path)).map(|e| &e.kind) {
            Some(Kind::File(b)) => Some(b),
            _ => None,
        }
    }

    /// The same entries below `prefix/`.
    pub fn with_prefix(&self, prefix: &str) -> Tree {
        let mut out = Tree::new();
        for e in self.entries() {
            let path = format!("{prefix}/{}", e.path);
            match &e.kind {
                Kind::Dir => {
                    let parts = components(&path);
                    out.entries.insert(
                        parts,
                        Entry {
                            path,
                            mode: e.mode,
                            kind: Kind::Dir,
                        },
                    );
                }
                kind => out.insert(&path, e.mode, kind.clone()),
            }
        }
        if !out.entries.is_empty() {
            // the prefix directory itself, when the tree had no entry at its root
            out.entries
                .entry(components(prefix))
                .or_insert_with(|| Entry {
                    path: prefix.to_string(),
                    mode: MODE_EXEC,
                    kind: Kind::Dir,
                });
        }
        out
    }

    /// Adds every entry of `other`, replacing entries with the same path.
    pub fn merge(&mut self, other: &Tree) {
        for (k, v) in &other.entries {
            self.entries.insert(k.clone(), v.clone());
        }
    }
}

fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(|c| {
            assert!(c != "..", "archive path {path} has a .. component");
            c.to_string()
        })
        .collect()
}

/// One 512-byte header block for `entry`.
fn header(entry: &Entry, mtime: u64) -> io::Result<tar::Header> {
    let mut h = tar::Header::new_ustar();
    h.set_path(&entry.path)?;
    h.set_mode(entry.mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_username("")?;
    h.set_groupname("")?;
    h.set_mtime(mtime);
    match &entry.kind {
        Kind::Dir => {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
        }
        Kind::File(data) => {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(data.len() as u64);
        }
        Kind::Symlink(target) => {
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            h.set_link_name(target)?;
        }
    }
    h.set_device_major(0)?;
    h.set_device_minor(0)?;
    h.set_cksum();
    Ok(h)
}

const ZEROS: [u8; 1024] = [0; 1024];

/// Where the tar stream goes: plain, or a gzip stream that can store a member as is.
trait Sink {
    fn meta(&mut self, bytes: &[u8]) -> io::Result<()>;
    fn data(&mut self, bytes: &[u8]) -> io::Result<()>;
}

fn write_entries(tree: &Tree, mtime: u64, sink: &mut dyn Sink) -> io::Result<()> {
    for e in tree.entries() {
        sink.meta(header(e, mtime)?.as_bytes())?;
        if let Kind::File(data) = &e.kind {
            sink.data(data)?;
            let pad = (512 - data.len() % 512) % 512;
            sink.meta(&ZEROS[..pad])?;
        }
    }
    // end of archive: two zero blocks
    sink.meta(&ZEROS)
}

struct Plain<W: Write>(W);

impl<W: Write> Sink for Plain<W> {
    fn meta(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }
    fn data(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }
}

/// Writes `tree` as an uncompressed tar.
pub fn write_tar<W: Write>(tree: &Tree, mtime: u64, out: W) -> io::Result<W> {
    let mut sink = Plain(out);
    write_entries(tree, mtime, &mut sink)?;
    Ok(sink.0)
}

/// Writes `tree` as a gzip-compressed tar (deflate level 9 for text, stored blocks for members
/// that are already compressed).
pub fn write_tar_gz<W: Write>(tree: &Tree, mtime: u64, out: W) -> io::Result<W> {
    let mut gz = GzStream::new(out, Compression::best())?;
    write_entries(tree, mtime, &mut gz)?;
    gz.finish()
}

/// Members smaller than this are deflated even when compressed: a stored section costs a flush.
const STORE_MIN: usize = 4096;

/// True when `data` starts like a compressed format (gzip, zip, xz, bzip2, zstd, a .deb).
pub fn looks_compressed(data: &[u8]) -> bool {
    const MAGICS: &[&[u8]] = &[
        &[0x1f, 0x8b],
        b"PK\x03\x04",
        &[0xfd, b'7', b'z', b'X', b'Z', 0],
        b"BZh",
        &[0x28, 0xb5, 0x2f, 0xfd],
        b"!<arch>\n",
    ];
    MAGICS.iter().any(|m| data.starts_with(m))
}

/// A single gzip member whose deflate stream mixes compressed and stored blocks.
struct GzStream<W: Write> {
    out: W,
    z: Compress,
    crc: Crc,
    buf: Vec<u8>,
    /// The compressor holds input that is not yet flushed to a byte boundary.
    open: bool,
}

impl<W: Write> GzStream<W> {
    fn new(mut out: W, level: Compression) -> io::Result<GzStream<W>> {
        // magic, deflate, no flags, mtime 0, XFL 2 (best compression) or 0, OS 255 (unknown)
        let xfl = if level == Compression::best() { 2 } else { 0 };
        out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255])?;
        Ok(GzStream {
            out,
            z: Compress::new(level, false),
            crc: Crc::new(),
            buf: Vec::with_capacity(128 * 1024),
            open: false,
        })
    }

    /// Runs the compressor over `input` with `flush`, writing what it produces.
    fn run(&mut self, mut input: &[u8], flush: FlushCompress) -> io::Result<Status> {
        loop {
            self.buf.clear();
            let before = self.z.total_in();
            let status = self
                .z
                .compress_vec(input, &mut self.buf, flush)
                .map_err(io::Error::other)?;
            input = &input[(self.z.total_in() - before) as usize..];
            self.out.write_all(&self.buf)?;
            let full = self.buf.len() == self.buf.capacity();
            let done = match flush {
                FlushCompress::None => input.is_empty(),
                FlushCompress::Finish => status == Status::StreamEnd,
                _ => input.is_empty() && !full,
            };
            if done {
                return Ok(status);
            }
        }
    }

    fn deflate(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.crc.update(bytes);
        self.open = true;
        self.run(bytes, FlushCompress::None).map(|_| ())
    }

    /// Appends `bytes` as stored blocks. The compressor is flushed to a byte boundary first and
    /// started afresh afterwards, so its back-references never reach into data it did not see.
    fn store(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.open {
            self.run(&[], FlushCompress::Sync)?;
            self.z.reset();
            self.open = false;
        }
        self.crc.update(bytes);
        for chunk in bytes.chunks(0xffff) {
            let len = chunk.len() as u16;
            let [l0, l1] = len.to_le_bytes();
            let [n0, n1] = (!len).to_le_bytes();
            // BFINAL 0, BTYPE 00 (stored), padded to the byte boundary
            self.out.write_all(&[0, l0, l1, n0, n1])?;
            self.out.write_all(chunk)?;
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        if self.open || (self.z.total_in() == 0 && self.crc.amount() == 0) {
            self.run(&[], FlushCompress::Finish)?;
        } else {
            // the last section was stored: an empty final stored block ends the stream
            self.out.write_all(&[1, 0, 0, 0xff, 0xff])?;
        }
        let crc = self.crc.sum().to_le_bytes();
        let size = self.crc.amount().to_le_bytes();
        self.out.write_all(&crc)?;
        self.out.write_all(&size)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Sink for GzStream<W> {
    fn meta(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.deflate(bytes)
    }
    fn data(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.len() >= STORE_MIN && looks_compressed(bytes) {
            self.store(bytes)
        } else {
            self.deflate(bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample(big: Vec<u8>) -> Tree {
        let mut t = Tree::new();
        t.file("b/start.sh", MODE_EXEC, &b"#!/bin/sh\necho hi\n"[..]);
        t.file("a.txt", MODE_FILE, &b"hello\n"[..]);
        t.file("b/certs/core.key", MODE_SECRET, &b"KEY"[..]);
        t.file("b/core.tar.gz", MODE_FILE, big);
        t.symlink("b/link", "start.sh");
        t
    }

    /// Compressed-looking bytes that do not compress: a gzip magic then pseudo-random bytes.
    fn incompressible(n: usize) -> Vec<u8> {
        let mut v = vec![0x1f, 0x8b];
        let mut x: u64 = 0x9e3779b97f4a7c15;
        while v.len() < n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.truncate(n);
        v
    }

    fn read_back(gz: &[u8]) -> Vec<(String, u32, u64, u64, String, Vec<u8>)> {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut raw)
            .unwrap();
        let mut a = tar::Archive::new(&raw[..]);
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let h = e.header().clone();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.uid().unwrap() + h.gid().unwrap(),
                    h.mtime().unwrap(),
                    format!(
                        "{:?}|{}|{}",
                        h.entry_type(),
                        h.username().unwrap().unwrap_or(""),
                        h.groupname().unwrap().unwrap_or("")
                    ),
                    data,
                )
            })
            .collect()
    }

    #[test]
    fn entries_are_sorted_normalised_and_round_trip() {
        let big = incompressible(300_000);
        let gz = write_tar_gz(&sample(big.clone()), 0, Vec::new()).unwrap();
        let entries = read_back(&gz);
        let paths: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "a.txt",
                "b",
                "b/certs",
                "b/certs/core.key",
                "b/core.tar.gz",
                "b/link",
                "b/start.sh"
            ]
        );
        for (path, mode, ids, mtime, kind, _) in &entries {
            assert_eq!((*ids, *mtime), (0, 0), "{path}");
            assert!(kind.ends_with("||"), "{path}: names must be empty: {kind}");
            let want = match path.as_str() {
                "b/certs/core.key" => 0o600,
                "a.txt" | "b/core.tar.gz" => 0o644,
                "b/link" => 0o777,
                _ => 0o755,
            };
            assert_eq!(*mode, want, "{path}");
        }
        assert_eq!(entries[4].5, big, "the stored member reads back intact");
        assert_eq!(entries[6].5, b"#!/bin/sh\necho hi\n");
        // gzip header: no mtime, no name, OS 255
        assert_eq!(&gz[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
    }

    #[test]
    fn same_input_same_bytes_and_order_of_insertion_does_not_matter() {
        let big = incompressible(70_000);
        let a = write_tar_gz(&sample(big.clone()), 0, Vec::new()).unwrap();
        let mut t = Tree::new();
        t.symlink("b/link", "start.sh");
        t.file("b/core.tar.gz", MODE_FILE, big);
        t.file("b/certs/core.key", MODE_SECRET, &b"KEY"[..]);
        t.file("a.txt", MODE_FILE, &b"hello\n"[..]);
        t.file("b/start.sh", MODE_EXEC, &b"#!/bin/sh\necho hi\n"[..]);
        let b = write_tar_gz(&t, 0, Vec::new()).unwrap();
        assert_eq!(a, b);
        let c = write_tar_gz(&t, 1, Vec::new()).unwrap();
        assert_ne!(a, c, "the mtime is the caller's");
    }

    #[test]
    fn compressed_members_are_stored_not_deflated_again() {
        let big = incompressible(1_000_000);
        let gz = write_tar_gz(&sample(big), 0, Vec::new()).unwrap();
        // stored: 5 bytes of block header per 64 KiB, plus the small deflated rest
        assert!(gz.len() < 1_000_000 + 16 * 5 + 1024, "{}", gz.len());
        // gzip(1) agrees that the stream is valid (when it is installed)
        if let Ok(mut child) = std::process::Command::new("gzip")
            .args(["-t", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
        {
            child.stdin.take().unwrap().write_all(&gz).unwrap();
            assert!(
                child.wait().unwrap().success(),
                "gzip -t rejects the stream"
            );
        }
    }

    #[test]
    fn stream_ending_with_a_stored_member_and_empty_tree_are_valid() {
        let mut t = Tree::new();
        t.file("z.gz", MODE_FILE, incompressible(10_000));
        let mut sink = GzStream::new(Vec::new(), Compression::best()).unwrap();
        sink.store(&incompressible(10_000)).unwrap();
        let only_stored = sink.finish().unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&only_stored[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, incompressible(10_000));
        assert_eq!(
            read_back(&write_tar_gz(&t, 0, Vec::new()).unwrap()).len(),
            1
        );
        assert!(read_back(&write_tar_gz(&Tree::new(), 0, Vec::new()).unwrap()).is_empty());
    }

    #[test]
    fn plain_tar_and_prefix() {
        let t = sample(b"x".to_vec()).with_prefix("top");
        let tar = write_tar(&t, 7, Vec::new()).unwrap();
        assert_eq!(tar.len() % 512, 0);
        let mut a = tar::Archive::new(&tar[..]);
        let paths: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(paths[0], "top");
        assert!(paths.contains(&"top/b/certs/core.key".to_string()));
        assert_eq!(t.get("top/a.txt").unwrap().as_ref(), b"hello\n");
    }
}
