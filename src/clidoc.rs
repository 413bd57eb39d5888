//! Shell completions and man pages, generated at run time from the command-line definition
//! ([`crate::cli::Cli`]), so they say exactly what `--help` says: `ggp completions SHELL` and
//! `ggp man [--dir DIR]`. The release workflow ships their output in every archive.
//!
//! Not for: prose documentation (that is the README) or anything that reads the project.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// `ggp completions`: one shell's script on `out`, or (with `--dir`) every shell's written there
/// and the files listed on `out`. `None` when neither was asked for.
pub fn completions_cmd(
    args: &crate::cli::CompletionsArgs,
    out: &mut dyn Write,
) -> Option<io::Result<()>> {
    match (&args.dir, args.shell) {
        (Some(dir), _) => Some(completions_to_dir(dir).and_then(|f| list(&f, out))),
        (None, Some(shell)) => Some(completions(shell, out)),
        (None, None) => None,
    }
}

/// `ggp man`: ggp.1 on `out`, or (with `--dir`) every page written there and the files listed.
pub fn man_cmd(args: &crate::cli::ManArgs, out: &mut dyn Write) -> io::Result<()> {
    match &args.dir {
        Some(dir) => man_pages(dir).and_then(|f| list(&f, out)),
        None => man_page(out),
    }
}

fn list(files: &[PathBuf], out: &mut dyn Write) -> io::Result<()> {
    for f in files {
        writeln!(out, "{}", f.display())?;
    }
    Ok(())
}

/// The binary name completions are registered for.
const BIN: &str = "ggp";

/// The completion script for `shell`.
pub fn completions(shell: Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut cmd = Cli::command();
    // into memory first: clap_complete panics when its writer fails (`ggp completions bash | head`)
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut script);
    out.write_all(&script)?;
    out.flush()
}

/// The file a completion script is installed as, by convention of each shell.
pub fn completion_file_name(shell: Shell) -> String {
    match shell {
        Shell::Bash => format!("{BIN}.bash"),
        Shell::Zsh => format!("_{BIN}"),
        Shell::Fish => format!("{BIN}.fish"),
        Shell::PowerShell => format!("_{BIN}.ps1"),
        Shell::Elvish => format!("{BIN}.elv"),
        _ => format!("{BIN}.{shell}"),
    }
}

/// Every shell's script in `dir` (created if missing), named as [`completion_file_name`] says.
pub fn completions_to_dir(dir: &Path) -> io::Result<Vec<PathBuf>> {
    use clap::ValueEnum;
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for shell in Shell::value_variants() {
        let path = dir.join(completion_file_name(*shell));
        let mut file = io::BufWriter::new(std::fs::File::create(&path)?);
        completions(*shell, &mut file)?;
        written.push(path);
    }
    Ok(written)
}

/// `ggp.1`, the page of the top-level command (roff).
pub fn man_page(out: &mut dyn Write) -> io::Result<()> {
    clap_mangen::Man::new(command()).render(out)
}

/// `ggp.1` and one page per subcommand (`ggp-plan.1`, …) in `dir`, which is created if missing.
/// Returns the files written, top-level page first.
pub fn man_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut cmd = command();
    cmd.build();
    let mut written = vec![clap_mangen::Man::new(cmd.clone()).generate_to(dir)?];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written.push(clap_mangen::Man::new(sub.clone()).generate_to(dir)?);
    }
    Ok(written)
}

/// The definition as the pages describe it: no `help` subcommand (every command has `--help`).
fn command() -> clap::Command {
    Cli::command().disable_help_subcommand(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut buf = Vec::new();
        f(&mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    const SUBCOMMANDS: [&str; 11] = [
        "plan",
        "build",
        "deploy",
        "bundle",
        "destroy",
        "doctor",
        "status",
        "logs",
        "diagnose",
        "completions",
        "man",
    ];

    #[test]
    fn every_shell_completes_every_subcommand_and_ggp_flag() {
        for shell in Shell::value_variants() {
            let script = text(|b| completions(*shell, b));
            for word in
                SUBCOMMANDS
                    .iter()
                    .chain(&["group-name", "deployment-config", "project-dir"])
            {
                assert!(script.contains(word), "{shell}: {word} missing");
            }
        }
        let bash = text(|b| completions(Shell::Bash, b));
        assert!(bash.contains("complete -F _ggp"), "{bash:.300}");
        let zsh = text(|b| completions(Shell::Zsh, b));
        assert!(zsh.starts_with("#compdef ggp"), "{zsh:.100}");
    }

    #[test]
    fn man_pages_cover_the_subcommands_and_their_flags() {
        let page = text(|b| man_page(b));
        assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{page:.200}");
        assert!(page.contains(".TH ggp 1"), "{page:.300}");
        for sub in SUBCOMMANDS {
            assert!(page.contains(&format!("ggp\\-{sub}(1)")), "{sub} missing");
        }
        assert!(!page.contains("ggp\\-help(1)"));

        let dir = tempfile::tempdir().unwrap();
        let files = man_pages(dir.path()).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names[0], "ggp.1");
        assert_eq!(names.len(), 1 + SUBCOMMANDS.len(), "{names:?}");
        for sub in SUBCOMMANDS {
            assert!(names.contains(&format!("ggp-{sub}.1")), "{names:?}");
        }
        let plan = std::fs::read_to_string(dir.path().join("ggp-plan.1")).unwrap();
        assert!(plan.contains("\\-\\-deployment\\-config"), "{plan}");
        let top = std::fs::read_to_string(dir.path().join("ggp.1")).unwrap();
        assert_eq!(top, page, "the page on stdout is the file");
    }

    #[test]
    fn completion_files_are_named_as_each_shell_looks_for_them() {
        let dir = tempfile::tempdir().unwrap();
        let files = completions_to_dir(dir.path()).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["ggp.bash", "ggp.elv", "ggp.fish", "_ggp.ps1", "_ggp"]
        );
        let bash = std::fs::read_to_string(dir.path().join("ggp.bash")).unwrap();
        assert_eq!(bash, text(|b| completions(Shell::Bash, b)));
    }
}
