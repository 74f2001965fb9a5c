//! The I/O floor of a packaging run: reads each input once and writes its bytes `COPIES` times,
//! with no parsing and no encryption, on as many threads as the machine has cores (the inputs are
//! cut into 4 MiB pieces that the threads take in turn, so no core waits on a long file; each piece
//! goes to files of its own, as segments do, so no two threads write one file). `benches/two-scheme-cost.sh` runs it beside
//! `vodpack package`: with one copy it is what any one-scheme run must at least spend, with two
//! copies what a run writing two segment sets must at least spend.
//!
//! Usage: `cargo bench --bench copy_floor -- OUT_DIR COPIES INPUT...`
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (out, copies, inputs) = match args.as_slice() {
        [out, copies, inputs @ ..] if !inputs.is_empty() => match copies.parse::<usize>() {
            Ok(c) if c >= 1 => (PathBuf::from(out), c, inputs.to_vec()),
            _ => usage(),
        },
        _ => usage(),
    };
    std::fs::create_dir_all(&out).unwrap_or_else(|e| fail(&format!("{}: {e}", out.display())));
    // The pieces of all inputs, in order.
    let mut opened = Vec::new();
    let mut pieces = Vec::new();
    for (i, path) in inputs.iter().enumerate() {
        let input = File::open(path).unwrap_or_else(|e| fail(&format!("{path}: {e}")));
        let len = input.metadata().map_or(0, |m| m.len());
        opened.push(input);
        pieces.extend((0..len.div_ceil(PIECE)).map(|k| (i, k)));
    }
    let shared = Arc::new((opened, pieces, inputs, out));
    let next = Arc::new(AtomicUsize::new(0));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (next, shared) = (next.clone(), shared.clone());
            std::thread::spawn(move || {
                let (opened, pieces, inputs, out) = &*shared;
                let mut buf = vec![0u8; PIECE as usize];
                while let Some(&(i, k)) = pieces.get(next.fetch_add(1, Ordering::Relaxed)) {
                    copy_piece(&opened[i], out, (i, k), copies, &mut buf)
                        .unwrap_or_else(|e| fail(&format!("{}: {e}", inputs[i])));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
}

/// Bytes per piece: big enough that syscalls cost nothing, small enough to share work evenly.
const PIECE: u64 = 4 << 20;

/// Reads piece `k` of input `i` (one pread) and writes it to `copies` new files.
fn copy_piece(
    input: &File,
    out: &Path,
    (i, k): (usize, u64),
    copies: usize,
    buf: &mut [u8],
) -> std::io::Result<()> {
    let mut n = 0;
    while n < buf.len() {
        match input.read_at(&mut buf[n..], k * PIECE + n as u64)? {
            0 => break,
            got => n += got,
        }
    }
    for c in 0..copies {
        File::create(out.join(format!("{i}_{k}_{c}")))?.write_all(&buf[..n])?;
    }
    Ok(())
}

fn usage() -> ! {
    fail("usage: copy_floor OUT_DIR COPIES INPUT...")
}

fn fail(msg: &str) -> ! {
    eprintln!("copy_floor: {msg}");
    std::process::exit(2)
}
