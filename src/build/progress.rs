//! Build progress: one spinner per job on a terminal (indicatif), plain `[build] F ARCH: …` lines otherwise
//! (and always with `--json`, whose stdout is the artifact list). Everything goes to stderr.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// indicatif bars (stderr is a terminal).
    Bars,
    /// One line per event.
    Lines,
    /// Nothing but errors (which `main` prints).
    Quiet,
}

pub struct Progress {
    mode: Mode,
    /// Also show every line of build output (plain mode) / as the bar message (bars).
    verbose: bool,
    multi: MultiProgress,
}

impl Progress {
    pub fn new(mode: Mode, verbose: bool) -> Progress {
        let multi = MultiProgress::with_draw_target(match mode {
            Mode::Bars => ProgressDrawTarget::stderr(),
            _ => ProgressDrawTarget::hidden(),
        });
        Progress {
            mode,
            verbose,
            multi,
        }
    }

    /// Bars on a terminal unless `--json`; quiet with `-q`.
    pub fn detect(json: bool, quiet: bool, verbose: bool) -> Progress {
        let mode = if quiet {
            Mode::Quiet
        } else if !json && std::io::stderr().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        };
        Progress::new(mode, verbose)
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// A message not tied to a job.
    pub fn note(&self, msg: &str) {
        match self.mode {
            Mode::Bars => {
                let _ = self.multi.println(msg);
            }
            Mode::Lines => line(&format!("[build] {msg}")),
            Mode::Quiet => {}
        }
    }

    pub fn job(&self, function: &str, arch: &str) -> JobProgress {
        let prefix = format!("{function} {arch}");
        let bar = (self.mode == Mode::Bars).then(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner:.cyan} {prefix:.bold} [{elapsed}] {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(prefix.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        JobProgress {
            mode: self.mode,
            verbose: self.verbose,
            prefix,
            bar,
            step: std::sync::Mutex::new(String::new()),
        }
    }
}

fn line(s: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{s}");
}

/// Progress of one function × architecture.
pub struct JobProgress {
    mode: Mode,
    verbose: bool,
    prefix: String,
    bar: Option<ProgressBar>,
    step: std::sync::Mutex<String>,
}

impl JobProgress {
    /// A new phase of the job (always shown).
    pub fn step(&self, msg: &str) {
        if let Ok(mut s) = self.step.lock() {
            *s = msg.to_string();
        }
        match (&self.bar, self.mode) {
            (Some(b), _) => b.set_message(msg.to_string()),
            (None, Mode::Lines) => line(&format!("[build] {}: {msg}", self.prefix)),
            _ => {}
        }
    }

    /// A line of build output: the bar shows the latest; plain mode prints it with -v.
    pub fn output(&self, out: &str) {
        match (&self.bar, self.mode) {
            (Some(b), _) => {
                let step = self.step.lock().map(|s| s.clone()).unwrap_or_default();
                let out: String = out.chars().take(100).collect();
                b.set_message(format!("{step}: {out}"));
            }
            (None, Mode::Lines) if self.verbose => {
                line(&format!("[build] {}:   {out}", self.prefix))
            }
            _ => {}
        }
    }

    pub fn warn(&self, msg: &str) {
        match (&self.bar, self.mode) {
            (Some(b), _) => b.println(format!("warning: {}: {msg}", self.prefix)),
            (None, Mode::Quiet) => {}
            (None, _) => line(&format!("[build] {}: warning: {msg}", self.prefix)),
        }
    }

    pub fn done(&self, msg: &str) {
        match (&self.bar, self.mode) {
            (Some(b), _) => b.finish_with_message(format!("✔ {msg}")),
            (None, Mode::Lines) => line(&format!("[build] {}: {msg}", self.prefix)),
            _ => {}
        }
    }

    pub fn failed(&self, msg: &str) {
        match (&self.bar, self.mode) {
            (Some(b), _) => b.abandon_with_message(format!("✘ {msg}")),
            (None, Mode::Lines) => line(&format!("[build] {}: FAILED: {msg}", self.prefix)),
            _ => {}
        }
    }
}
