//! The Lambda package: the tar copied out of the image, checked and written as a deterministic zip.
//!
//! Deterministic means: entries sorted by path, one timestamp for all (SOURCE_DATE_EPOCH, else
//! 1980-01-01T00:00:00), modes 0644/0755, no directory entries, no `__pycache__`/`.pyc`, no
//! `*.dist-info/direct_url.json` (it records absolute install paths), `RECORD` rewritten without the files
//! removed, and deflate from flate2's pure-Rust backend pinned in Cargo.toml, so the bytes do not depend on
//! which other crates are built alongside.
//!
//! The checks: the handler exists in the package (an executable one is executable), and no native Python
//! extension is built for another Python version than the function's. ELF objects for another machine are
//! reported as warnings (some packages ship prebuilt binaries for several platforms on purpose).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use sha2::{Digest, Sha256};

use crate::arch::Arch;
use crate::language::{Family, Language};

/// What the package is checked against.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    pub language: Language,
    pub handler: &'a str,
    pub arch: Arch,
    /// SOURCE_DATE_EPOCH, seconds.
    pub epoch: Option<i64>,
}

/// A written package.
#[derive(Debug, Clone)]
pub struct Packaged {
    pub zip: Vec<u8>,
    pub sha256: String,
    pub files: usize,
    pub warnings: Vec<String>,
}

/// A package entry: a byte range of the tar, or a symbolic link.
#[derive(Debug, Clone)]
enum Entry {
    File { start: usize, len: usize, mode: u32 },
    Link { target: String },
}

/// Hex of a sha256.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the tar that `GET /containers/{id}/archive?path=/ggp/package` returns (members `package/…`).
fn read_tar(tar: &[u8]) -> Result<BTreeMap<String, Entry>, String> {
    let mut out = BTreeMap::new();
    let mut archive = tar::Archive::new(tar);
    let entries = archive
        .entries()
        .map_err(|e| format!("reading the package tar: {e}"))?;
    for e in entries {
        let e = e.map_err(|e| format!("reading the package tar: {e}"))?;
        let path = e
            .path()
            .map_err(|e| format!("reading the package tar: {e}"))?
            .to_string_lossy()
            .to_string();
        // Strip the copied folder's own name.
        let rel = match path.split_once('/') {
            Some((_, rest)) => rest.trim_end_matches('/').to_string(),
            None => continue,
        };
        if rel.is_empty() || rel.split('/').any(|c| c == ".." || c.is_empty()) {
            continue;
        }
        let header = e.header();
        let mode = header.mode().unwrap_or(0o644);
        match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let start = e.raw_file_position() as usize;
                let len = e.size() as usize;
                if start + len > tar.len() {
                    return Err(format!("the package tar is truncated at {rel}"));
                }
                out.insert(rel, Entry::File { start, len, mode });
            }
            tar::EntryType::Link => {
                let target = link_target(&e);
                let target = target
                    .split_once('/')
                    .map(|(_, r)| r.to_string())
                    .unwrap_or(target);
                if let Some(Entry::File { start, len, .. }) = out.get(&target).cloned() {
                    out.insert(rel, Entry::File { start, len, mode });
                }
            }
            tar::EntryType::Symlink => {
                out.insert(
                    rel,
                    Entry::Link {
                        target: link_target(&e),
                    },
                );
            }
            _ => {}
        }
    }
    Ok(out)
}

fn link_target<R: std::io::Read>(e: &tar::Entry<R>) -> String {
    e.link_name()
        .ok()
        .flatten()
        .map(|p| p.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// Files a package never carries: byte code and install-time records with absolute paths.
fn dropped(path: &str) -> bool {
    path.split('/').any(|c| c == "__pycache__")
        || path.ends_with(".pyc")
        || path.ends_with(".pyo")
        || (path.ends_with("/direct_url.json")
            && path
                .rsplit('/')
                .nth(1)
                .is_some_and(|d| d.ends_with(".dist-info")))
}

/// The path field of a RECORD line (CSV; quoted when it holds a comma).
fn record_path(line: &str) -> String {
    if let Some(rest) = line.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    out.push('"');
                    chars.next();
                } else {
                    break;
                }
            } else {
                out.push(c);
            }
        }
        out
    } else {
        line.split(',').next().unwrap_or("").to_string()
    }
}

/// `a/b/../c` → `a/c` (RECORD paths are relative to the package root and may climb out of the dist-info).
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

/// RECORD without lines for files the package does not hold (removed byte code, direct_url.json) or with
/// absolute paths.
fn rewrite_record(text: &str, present: &dyn Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let p = record_path(line);
        if p.is_empty() || p.starts_with('/') || !present(&normalize(&p)) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The zip timestamp: SOURCE_DATE_EPOCH clamped to what zip can hold, else 1980-01-01T00:00:00.
pub fn timestamp(epoch: Option<i64>) -> zip::DateTime {
    const MIN: i64 = 315_532_800; // 1980-01-01
    const MAX: i64 = 4_354_819_198; // 2107-12-31T23:59:58
    let Some(e) = epoch else {
        return zip::DateTime::default();
    };
    let e = e.clamp(MIN, MAX);
    let (y, mo, d) = civil(e.div_euclid(86_400));
    let s = e.rem_euclid(86_400);
    zip::DateTime::from_date_and_time(
        y as u16,
        mo as u8,
        d as u8,
        (s / 3600) as u8,
        (s % 3600 / 60) as u8,
        (s % 60) as u8,
    )
    .unwrap_or_default()
}

/// The ELF machine of `data`, if it is an ELF object.
pub fn elf_machine(data: &[u8]) -> Option<u16> {
    if data.len() < 20 || &data[..4] != b"\x7fELF" {
        return None;
    }
    let bytes = [data[18], data[19]];
    Some(if data[5] == 2 {
        u16::from_be_bytes(bytes)
    } else {
        u16::from_le_bytes(bytes)
    })
}

/// True when the package zip at `path` holds an ELF object (a C extension, a Node addon, an
/// executable): such a package runs only on the architecture it was built for.
pub fn zip_has_native_code(path: &std::path::Path) -> Result<bool, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", path.display()))?;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if !entry.is_file() {
            continue;
        }
        let mut head = Vec::with_capacity(20);
        (&mut entry)
            .take(20)
            .read_to_end(&mut head)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if elf_machine(&head).is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `x.cpython-311-arm-linux-gnueabihf.so` → (3, 11).
fn cpython_tag(name: &str) -> Option<(u8, u8)> {
    let rest = name.split(".cpython-").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() < 2 {
        return None;
    }
    let major = digits[..1].parse().ok()?;
    let minor = digits[1..].parse().ok()?;
    Some((major, minor))
}

/// Which distribution installed `path`, from the dist-info RECORDs (else the top-level folder).
fn owner(path: &str, owners: &HashMap<String, String>) -> String {
    owners
        .get(path)
        .cloned()
        .unwrap_or_else(|| path.split('/').next().unwrap_or(path).to_string())
}

/// Checks the package and writes it as a deterministic zip.
pub fn package(tar: &[u8], spec: &Spec) -> Result<Packaged, String> {
    let mut entries = read_tar(tar)?;
    entries.retain(|p, _| !dropped(p));
    let data = |e: &Entry| match e {
        Entry::File { start, len, .. } => &tar[*start..*start + *len],
        Entry::Link { .. } => &[][..],
    };

    // RECORD files: rewritten against what is left; their lines also tell who owns each file.
    let mut owners: HashMap<String, String> = HashMap::new();
    let mut rewritten: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (path, e) in &entries {
        let Some(dist_dir) = path.strip_suffix("/RECORD") else {
            continue;
        };
        if !dist_dir.ends_with(".dist-info") {
            continue;
        }
        let text = String::from_utf8_lossy(data(e)).to_string();
        let base = dist_dir.rsplit_once('/').map(|(b, _)| b).unwrap_or("");
        let dist = dist_dir
            .rsplit('/')
            .next()
            .unwrap_or(dist_dir)
            .split('-')
            .next()
            .unwrap_or(dist_dir)
            .to_string();
        let join = |p: &str| {
            normalize(&if base.is_empty() {
                p.to_string()
            } else {
                format!("{base}/{p}")
            })
        };
        for line in text.lines() {
            owners.insert(join(&record_path(line)), dist.clone());
        }
        let new = rewrite_record(&text, &|p| entries.contains_key(&join(p)));
        if new != text {
            rewritten.insert(path.clone(), new.into_bytes());
        }
    }

    let mut warnings = Vec::new();
    let mut foreign: Vec<String> = Vec::new();
    for (path, e) in &entries {
        let name = path.rsplit('/').next().unwrap_or(path);
        if let (Language::Python(fmaj, fmin), Some((maj, min))) = (spec.language, cpython_tag(name))
        {
            if name.ends_with(".so") && (maj, min) != (fmaj, fmin) {
                let dist = owner(path, &owners);
                return Err(format!(
                    "{dist} was built as a CPython {maj}.{min} extension ({path}), which Python {fmaj}.{fmin} \
                     cannot load: no {arch} wheel of {dist} exists for Python {fmaj}.{fmin}, so it was compiled \
                     with the builder image's Python {maj}.{min}. Fix: set buildImage in the function's \
                     function.conf to an image with Python {fmaj}.{fmin} for {arch} (e.g. buildImage = \
                     \"my/python{fmaj}{fmin}-builder:{{debarch}}\"), or pin a version of {dist} that has such a wheel",
                    arch = spec.arch,
                ));
            }
        }
        if let Some(m) = elf_machine(data(e)) {
            if m != spec.arch.elf_machine() {
                // A Python extension module for another machine cannot load: that is a wrong package.
                if spec.language.family() == Family::Python && name.ends_with(".so") {
                    return Err(format!(
                        "{path} (from {}) is native code for ELF machine {m}, not for {} ({})",
                        owner(path, &owners),
                        spec.arch,
                        spec.arch.elf_machine()
                    ));
                }
                foreign.push(format!("{path} (e_machine {m})"));
            }
        }
    }
    if !foreign.is_empty() {
        warnings.push(format!(
            "{} ELF object(s) are not for {} (e_machine {}): {}{}",
            foreign.len(),
            spec.arch,
            spec.arch.elf_machine(),
            foreign
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if foreign.len() > 3 { ", …" } else { "" }
        ));
    }
    check_handler(&entries, spec)?;

    let time = timestamp(spec.epoch);
    let base = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(time);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let fail = |e: &dyn std::fmt::Display| format!("writing the zip: {e}");
    for (path, e) in &entries {
        match e {
            Entry::File { mode, .. } => {
                let bytes = rewritten
                    .get(path)
                    .map(Vec::as_slice)
                    .unwrap_or_else(|| data(e));
                let perm = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
                let opts = base
                    .unix_permissions(perm)
                    .large_file(bytes.len() as u64 >= u32::MAX as u64);
                w.start_file(path.as_str(), opts).map_err(|e| fail(&e))?;
                w.write_all(bytes).map_err(|e| fail(&e))?;
            }
            Entry::Link { target } => {
                w.add_symlink(path.as_str(), target.as_str(), base.unix_permissions(0o777))
                    .map_err(|e| fail(&e))?;
            }
        }
    }
    let zip = w.finish().map_err(|e| fail(&e))?.into_inner();
    Ok(Packaged {
        sha256: hex(&Sha256::digest(&zip)),
        files: entries.len(),
        zip,
        warnings,
    })
}

/// The handler must be in the package: `module.func` → `module.py`; `file.handler` → `file.js`;
/// `pkg.Class::method` → `pkg/Class.class`; an executable's handler is a file with an execute bit.
fn check_handler(entries: &BTreeMap<String, Entry>, spec: &Spec) -> Result<(), String> {
    let h = spec.handler;
    let has = |p: &str| entries.contains_key(p);
    let (candidates, what): (Vec<String>, &str) = match spec.language.family() {
        Family::Python => {
            let module = h
                .rsplit_once('.')
                .map(|(m, _)| m)
                .unwrap_or(h)
                .replace('.', "/");
            (
                vec![format!("{module}.py"), format!("{module}/__init__.py")],
                "module",
            )
        }
        Family::Node => {
            let file = h.rsplit_once('.').map(|(m, _)| m).unwrap_or(h);
            (
                ["js", "mjs", "cjs"]
                    .iter()
                    .map(|x| format!("{file}.{x}"))
                    .collect(),
                "file",
            )
        }
        Family::Java => {
            let class = h.split("::").next().unwrap_or(h).replace('.', "/");
            (vec![format!("{class}.class")], "class")
        }
        Family::Executable => {
            let path = h.trim_start_matches("./").to_string();
            return match entries.get(&path) {
                Some(Entry::File { mode, .. }) if mode & 0o111 != 0 => Ok(()),
                Some(Entry::File { .. }) => Err(format!(
                    "handler {h} is in the package but not executable (chmod +x it in build.sh)"
                )),
                Some(Entry::Link { target }) => {
                    if has(&normalize(&format!(
                        "{}/{target}",
                        path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
                    ))) {
                        Ok(())
                    } else {
                        Err(format!("handler {h} is a dangling symbolic link to {target}"))
                    }
                }
                None => Err(format!(
                    "handler {h} is not in the package (build.sh must write it to $GGP_OUT); the package holds: {}",
                    listing(entries)
                )),
            };
        }
    };
    if candidates.iter().any(|c| has(c)) {
        return Ok(());
    }
    // A compiled Python module (`module.cpython-38-….so`, `module.abi3.so`) also serves.
    if spec.language.family() == Family::Python {
        let stem = &candidates[0][..candidates[0].len() - 3];
        if entries
            .keys()
            .any(|k| k.starts_with(&format!("{stem}.")) && k.ends_with(".so"))
        {
            return Ok(());
        }
    }
    Err(format!(
        "handler {h}: the package has no {what} {} ; it holds: {}",
        candidates.join(" or "),
        listing(entries)
    ))
}

/// The first few top-level names, for error messages.
fn listing(entries: &BTreeMap<String, Entry>) -> String {
    let mut top: Vec<&str> = entries
        .keys()
        .map(|k| k.split('/').next().unwrap_or(k))
        .collect();
    top.dedup();
    if top.is_empty() {
        return "nothing".into();
    }
    let more = top.len() > 8;
    top.truncate(8);
    format!("{}{}", top.join(", "), if more { ", …" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar as the engine returns it: everything under `package/`, in no particular order.
    fn tar(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        b.append_data(&mut h, "package/", &[][..]).unwrap();
        for (p, data, mode) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(*mode);
            h.set_mtime(1_700_000_000 + data.len() as u64);
            b.append_data(&mut h, format!("package/{p}"), *data)
                .unwrap();
        }
        b.into_inner().unwrap()
    }

    fn spec(language: &str, handler: &'static str) -> Spec<'static> {
        Spec {
            language: language.parse().unwrap(),
            handler,
            arch: Arch::Armv8,
            epoch: None,
        }
    }

    fn names(zip: &[u8]) -> Vec<(String, u32)> {
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        (0..z.len())
            .map(|i| {
                let f = z.by_index(i).unwrap();
                (
                    f.name().unwrap().to_string(),
                    f.unix_mode().unwrap() & 0o777,
                )
            })
            .collect()
    }

    const RECORD: &str = "six.py,sha256=abc,100\n\
        six-1.16.0.dist-info/RECORD,,\n\
        six-1.16.0.dist-info/direct_url.json,sha256=x,50\n\
        __pycache__/six.cpython-311.pyc,,\n\
        /usr/local/bin/tool,sha256=y,1\n";

    #[test]
    fn normalizes_sorts_drops_bytecode_and_rewrites_record() {
        let t = tar(&[
            (
                "six-1.16.0.dist-info/direct_url.json",
                b"{\"url\": \"file:///ggp/wheels/six.whl\"}",
                0o644,
            ),
            ("six-1.16.0.dist-info/RECORD", RECORD.as_bytes(), 0o644),
            ("__pycache__/six.cpython-311.pyc", b"junk", 0o644),
            ("six.py", b"# six", 0o600),
            ("hello.py", b"def h(e, c): pass", 0o664),
            ("bin/tool", b"#!/bin/sh", 0o700),
        ]);
        let p = package(&t, &spec("PYTHON3_8", "hello.h")).unwrap();
        assert_eq!(
            names(&p.zip),
            vec![
                ("bin/tool".to_string(), 0o755),
                ("hello.py".to_string(), 0o644),
                ("six-1.16.0.dist-info/RECORD".to_string(), 0o644),
                ("six.py".to_string(), 0o644),
            ]
        );
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(&p.zip)).unwrap();
        let mut record = String::new();
        std::io::Read::read_to_string(
            &mut z.by_name("six-1.16.0.dist-info/RECORD").unwrap(),
            &mut record,
        )
        .unwrap();
        assert_eq!(
            record,
            "six.py,sha256=abc,100\nsix-1.16.0.dist-info/RECORD,,\n"
        );
        for i in 0..z.len() {
            let f = z.by_index(i).unwrap();
            assert_eq!(
                f.last_modified().unwrap(),
                zip::DateTime::default(),
                "{}",
                f.name().unwrap()
            );
        }
    }

    #[test]
    fn same_content_gives_the_same_bytes_whatever_the_order_mtime_or_mode_noise() {
        let a = tar(&[("b.py", b"B", 0o664), ("a.py", b"def h(e, c): pass", 0o644)]);
        let b = tar(&[("a.py", b"def h(e, c): pass", 0o600), ("b.py", b"B", 0o644)]);
        let pa = package(&a, &spec("PYTHON3_8", "a.h")).unwrap();
        let pb = package(&b, &spec("PYTHON3_8", "a.h")).unwrap();
        assert_eq!(pa.zip, pb.zip);
        assert_eq!(pa.sha256, pb.sha256);
        assert_eq!(pa.sha256.len(), 64);
    }

    #[test]
    fn source_date_epoch_sets_every_timestamp() {
        let t = tar(&[("a.py", b"def h(e, c): pass", 0o644)]);
        let mut s = spec("PYTHON3_8", "a.h");
        s.epoch = Some(1_700_000_000); // 2023-11-14T22:13:20Z
        let p = package(&t, &s).unwrap();
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(&p.zip)).unwrap();
        let d = z.by_index(0).unwrap().last_modified().unwrap();
        assert_eq!(
            (
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minute(),
                d.second()
            ),
            (2023, 11, 14, 22, 13, 20)
        );
        assert_eq!(
            timestamp(Some(0)),
            timestamp(Some(315_532_800)),
            "clamped to 1980"
        );
    }

    #[test]
    fn version_specific_extension_for_another_python_is_refused_naming_the_package() {
        let record = "Crypto/Cipher/_raw_aes.cpython-311-arm-linux-gnueabihf.so,,\n";
        let t = tar(&[
            ("hello.py", b"def h(e, c): pass", 0o644),
            (
                "Crypto/Cipher/_raw_aes.cpython-311-arm-linux-gnueabihf.so",
                b"\x7fELF",
                0o755,
            ),
            (
                "pycryptodome-3.21.0.dist-info/RECORD",
                record.as_bytes(),
                0o644,
            ),
        ]);
        let err = package(&t, &spec("PYTHON3_8", "hello.h")).unwrap_err();
        assert!(err.contains("pycryptodome"), "{err}");
        assert!(
            err.contains("CPython 3.11") && err.contains("Python 3.8"),
            "{err}"
        );
        assert!(err.contains("buildImage"), "{err}");
        // abi3 objects and objects for the function's own version are fine
        let t = tar(&[
            ("hello.py", b"def h(e, c): pass", 0o644),
            ("Crypto/_raw_aes.abi3.so", b"x", 0o755),
            ("m.cpython-38-aarch64-linux-gnu.so", b"x", 0o755),
        ]);
        package(&t, &spec("PYTHON3_8", "hello.h")).unwrap();
    }

    #[test]
    fn missing_handlers_are_named_per_language() {
        let t = tar(&[("other.py", b"", 0o644)]);
        let e = package(&t, &spec("PYTHON3_8", "hello.function_handler")).unwrap_err();
        assert!(e.contains("hello.py") && e.contains("other.py"), "{e}");
        let t = tar(&[("index.js", b"", 0o644)]);
        package(&t, &spec("NODEJS12_X", "index.handler")).unwrap();
        assert!(package(&t, &spec("NODEJS12_X", "app.handler"))
            .unwrap_err()
            .contains("app.js"));
        let t = tar(&[("com/x/H.class", b"", 0o644)]);
        package(&t, &spec("JAVA8", "com.x.H::handleRequest")).unwrap();
        assert!(package(&t, &spec("JAVA8", "com.x.G::h")).is_err());
        let t = tar(&[("hello", b"\x7fELF", 0o644)]);
        assert!(package(&t, &spec("EXECUTABLE", "hello"))
            .unwrap_err()
            .contains("not executable"));
        let t = tar(&[("README", b"", 0o644)]);
        assert!(package(&t, &spec("EXECUTABLE", "hello"))
            .unwrap_err()
            .contains("GGP_OUT"));
    }

    #[test]
    fn elf_headers_are_read_and_foreign_objects_warned_about() {
        let mut x86 = vec![0u8; 64];
        x86[..4].copy_from_slice(b"\x7fELF");
        x86[5] = 1;
        x86[18] = 62;
        assert_eq!(elf_machine(&x86), Some(62));
        assert_eq!(elf_machine(b"#!/bin/sh"), None);
        let t = tar(&[("hello", &x86, 0o755)]);
        let p = package(&t, &spec("EXECUTABLE", "hello")).unwrap();
        assert_eq!(p.warnings.len(), 1);
        assert!(p.warnings[0].contains("ARM64"), "{:?}", p.warnings);
        // In a Python package an extension for another machine is an error, naming its distribution.
        let record = "fast.abi3.so,,\n";
        let t = tar(&[
            ("a.py", b"def h(e, c): pass", 0o644),
            ("fast.abi3.so", &x86, 0o755),
            ("fast-1.0.dist-info/RECORD", record.as_bytes(), 0o644),
        ]);
        let e = package(&t, &spec("PYTHON3_8", "a.h")).unwrap_err();
        assert!(
            e.contains("fast.abi3.so (from fast)") && e.contains("ELF machine 62"),
            "{e}"
        );
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_675), (2023, 11, 14));
        assert_eq!(civil(-1), (1969, 12, 31));
    }
}
