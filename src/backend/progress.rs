//! The progress bar on stderr: steps detected out of steps selected.
//!
//! Shown only when stderr is a terminal and the run is not `--quiet`, so
//! batch jobs' logs and pipelines never receive bar redraws.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar, or nothing.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar over `steps` steps when `wanted` and stderr is a terminal.
    pub fn new(steps: usize, wanted: bool) -> Self {
        if !wanted || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(
            Some(steps as u64),
            ProgressDrawTarget::stderr_with_hz(4),
        );
        bar.set_style(
            ProgressStyle::with_template(
                "stormtrack: [{bar:40}] {pos}/{len} steps {per_sec:.0} eta {eta} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(500));
        Progress(Some(bar))
    }

    /// A bar that shows nothing.
    pub fn hidden() -> Self {
        Progress(None)
    }

    pub fn advance(&self, steps: usize) {
        if let Some(b) = &self.0 {
            b.inc(steps as u64);
        }
    }

    pub fn message(&self, msg: impl Into<String>) {
        if let Some(b) = &self.0 {
            b.set_message(msg.into());
        }
    }

    /// Removes the bar, leaving the terminal as it was.
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
