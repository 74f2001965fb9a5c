//! SIGINT/SIGTERM turned into the library's cancellation flag (`vodpack::cancel`): the run
//! stops between segments and cleans up through its ordinary error path.

/// SIGINT/SIGTERM ask the run to stop (it removes its staging folder and exits 130/143); a
/// second signal ends the process at once.
pub fn stop_on_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let flag = vodpack::cancel::flag();
    let again = Arc::new(AtomicBool::new(false));
    for (sig, code) in [(SIGINT, 130), (SIGTERM, 143)] {
        // Registered first so that it sees `again` as set only from the second signal on.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, code, again.clone());
        let _ = signal_hook::flag::register(sig, again.clone());
        let _ = signal_hook::flag::register_usize(sig, flag.clone(), sig as usize);
    }
}
