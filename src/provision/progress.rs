//! Provisioning progress on stderr, as builds have it: each change as it is made, and each wait.
//!
//! When stderr is not a terminal (CI logs, `--json`), a line per step: `[deploy] created iot-thing
//! g_Core`, `[deploy] waiting for deployment 1a2b of group g`, then `[deploy] deployment 1a2b of
//! group g: Success after 12s`, and every 30 s of a long wait `still waiting … (60s)`. On a
//! terminal, the same changes as lines above one spinner that names what is awaited and shows the
//! time elapsed. With `-q`, nothing. stdout (the report, `--json`) is never touched.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A spinner for waits, lines above it (stderr is a terminal).
    Spinner,
    /// One line per event.
    Lines,
    /// Nothing.
    Quiet,
}

/// A run's progress reporter; clones report to the same place.
#[derive(Debug, Clone)]
pub struct Progress {
    mode: Mode,
    label: &'static str,
    /// The spinner of the wait in progress (spinner mode).
    bar: Arc<Mutex<Option<ProgressBar>>>,
}

/// How often a long wait says it is still waiting, in line mode.
const STILL_WAITING: Duration = Duration::from_secs(30);

impl Progress {
    pub fn new(mode: Mode, label: &'static str) -> Progress {
        Progress {
            mode,
            label,
            bar: Arc::new(Mutex::new(None)),
        }
    }

    /// Reports nothing (library callers and tests that do not ask for progress).
    pub fn quiet() -> Progress {
        Progress::new(Mode::Quiet, "")
    }

    /// A spinner on a terminal unless `--json`; lines otherwise; nothing with `-q`. `label` names
    /// the command (`deploy`, `destroy`).
    pub fn detect(label: &'static str, json: bool, quiet: bool) -> Progress {
        let mode = if quiet {
            Mode::Quiet
        } else if !json && std::io::stderr().is_terminal() {
            Mode::Spinner
        } else {
            Mode::Lines
        };
        Progress::new(mode, label)
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// One event: printed as a line (above the spinner when one is shown).
    pub fn line(&self, msg: &str) {
        let text = format!("[{}] {msg}", self.label);
        match self.mode {
            Mode::Quiet => {}
            Mode::Spinner => match self.bar.lock().ok().and_then(|b| b.clone()) {
                Some(bar) => bar.println(text),
                None => eprint_line(&text),
            },
            Mode::Lines => eprint_line(&text),
        }
    }

    /// A wait for `what` (e.g. `deployment 1a2b of group g`): shown until [`Waiting::done`] or
    /// the guard is dropped.
    pub fn wait(&self, what: impl Into<String>) -> Waiting {
        let what = what.into();
        match self.mode {
            Mode::Quiet => {}
            Mode::Lines => self.line(&format!("waiting for {what}")),
            Mode::Spinner => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("{spinner:.cyan} waiting for {msg} [{elapsed}]")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_message(what.clone());
                bar.enable_steady_tick(Duration::from_millis(120));
                if let Ok(mut b) = self.bar.lock() {
                    *b = Some(bar);
                }
            }
        }
        Waiting {
            progress: self.clone(),
            what,
            started: Instant::now(),
            last_line: Mutex::new(Instant::now()),
            finished: false,
        }
    }
}

fn eprint_line(s: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{s}");
}

/// A wait in progress.
#[derive(Debug)]
pub struct Waiting {
    progress: Progress,
    what: String,
    started: Instant,
    last_line: Mutex<Instant>,
    finished: bool,
}

impl Waiting {
    /// Another poll found it not finished yet (`status`: what it is now): a long wait says so
    /// every 30 s in line mode; the spinner shows the status.
    pub fn still(&self, status: &str) {
        let p = &self.progress;
        match p.mode {
            Mode::Quiet => {}
            Mode::Spinner => {
                if let Some(bar) = p.bar.lock().ok().and_then(|b| b.clone()) {
                    bar.set_message(format!("{} ({status})", self.what));
                }
            }
            Mode::Lines => {
                let Ok(mut last) = self.last_line.lock() else {
                    return;
                };
                if last.elapsed() >= STILL_WAITING {
                    *last = Instant::now();
                    p.line(&format!(
                        "still waiting for {} ({status}, {}s)",
                        self.what,
                        self.started.elapsed().as_secs()
                    ));
                }
            }
        }
    }

    /// The wait ended with `outcome` (e.g. `Success`).
    pub fn done(mut self, outcome: &str) {
        self.finish(outcome);
    }

    fn finish(&mut self, outcome: &str) {
        if self.finished {
            return;
        }
        self.finished = true;
        let p = &self.progress;
        if let Some(bar) = p.bar.lock().ok().and_then(|mut b| b.take()) {
            bar.finish_and_clear();
        }
        p.line(&format!(
            "{}: {outcome} after {}s",
            self.what,
            self.started.elapsed().as_secs()
        ));
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.finish("stopped waiting");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_progress_prints_nothing_and_waits_end_once() {
        let p = Progress::quiet();
        assert_eq!(p.mode(), Mode::Quiet);
        p.line("created something");
        let w = p.wait("a deployment");
        w.still("InProgress");
        w.done("Success");
    }

    #[test]
    fn a_wait_in_spinner_mode_leaves_no_spinner_behind() {
        let p = Progress::new(Mode::Spinner, "deploy");
        let w = p.wait("a deployment");
        assert!(p.bar.lock().unwrap().is_some());
        w.still("InProgress");
        drop(w);
        assert!(p.bar.lock().unwrap().is_none());
    }
}
