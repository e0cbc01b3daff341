//! The progress bar on stderr: steps detected out of steps selected.
//!
//! Shown only when stderr is a terminal and the run is not `--quiet`, so
//! batch jobs' logs and pipelines never receive bar redraws.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

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
        bar.set_style(style());
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

/// The bar's look: plain text in the terminal's own colours (a colour
/// chosen here, black or white, vanishes on some terminal background).
fn style() -> ProgressStyle {
    ProgressStyle::with_template("stormtrack: [{bar:40}] {pos}/{len} steps {rate} eta {eta} {msg}")
        .expect("valid template")
        .with_key(
            "rate",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0}/s", state.per_sec());
            },
        )
        .progress_chars("=> ")
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use indicatif::TermLike;

    use super::*;

    /// A terminal that keeps what is drawn on it.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            120
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_bar_sets_no_colour_and_shows_the_rate() {
        console::set_colors_enabled(true);
        console::set_colors_enabled_stderr(true);
        let screen = Screen::default();
        let bar = ProgressBar::with_draw_target(
            Some(100),
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
        );
        bar.set_style(style());
        bar.inc(40);
        bar.tick();
        let drawn = screen.0.lock().unwrap().clone();
        assert!(drawn.contains("40/100 steps"), "{drawn:?}");
        assert!(drawn.contains("/s eta"), "{drawn:?}");
        assert!(!drawn.contains('\x1b'), "escape sequences drawn: {drawn:?}");
    }
}
