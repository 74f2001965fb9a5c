//! The progress display of `vodpack package` on a terminal: one line for the whole run (samples,
//! ETA) and one per rendition being written (its id, bytes, bytes/s, ETA). Hidden when stderr is not
//! a terminal, with `--quiet` and with `--json`.
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::sync::Mutex;
use vodpack::package::run::Progress;

pub struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    renditions: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    /// A display drawn on stderr, or nothing at all when `hidden`.
    pub fn new(hidden: bool) -> Self {
        let multi = MultiProgress::with_draw_target(if hidden {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        });
        let total = multi.add(ProgressBar::new(0));
        total.set_style(
            ProgressStyle::with_template(
                "packaging [{bar:30}] {percent:>3}% {pos}/{len} samples, {elapsed} (ETA {eta})",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        Bars {
            multi,
            total,
            renditions: Mutex::new(HashMap::new()),
        }
    }

    fn bar(&self, id: &str) -> Option<ProgressBar> {
        self.renditions.lock().ok()?.get(id).cloned()
    }
}

impl Progress for Bars {
    fn start(&self, total_samples: u64) {
        self.total.set_length(total_samples);
    }
    fn advance(&self, samples: u64) {
        self.total.inc(samples);
    }
    fn finish(&self) {
        self.total.finish_and_clear();
        let _ = self.multi.clear();
    }
    fn rendition_start(&self, id: &str, _samples: u64, bytes: u64) {
        let bar = self.multi.add(ProgressBar::new(bytes));
        bar.set_style(
            ProgressStyle::with_template(
                "  {prefix:<16} [{bar:20}] {bytes}/{total_bytes} {bytes_per_sec} (ETA {eta})",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        bar.set_prefix(id.to_string());
        if let Ok(mut map) = self.renditions.lock() {
            map.insert(id.to_string(), bar);
        }
    }
    fn rendition_advance(&self, id: &str, samples: u64, bytes: u64) {
        self.total.inc(samples);
        if let Some(bar) = self.bar(id) {
            bar.inc(bytes);
        }
    }
    fn rendition_finish(&self, id: &str) {
        if let Some(bar) = self.renditions.lock().ok().and_then(|mut m| m.remove(id)) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}
