//! Positional reads of an input, local or in object storage.
//!
//! The packager reads an input by offset (`pread`): box headers while scanning, `moov` and
//! `moof` boxes, then the sample bytes of each fragment. [`Source`] gives that one operation for
//! a local file (`pread`) and for an object (ranged GETs). An object is never downloaded whole:
//! each read that misses fetches its range, extended by a read-ahead when the reads run forward
//! (sample data), kept in a few blocks per input; a scattered small read (a box header) fetches
//! only a small block. The blocks of all inputs share one budget (peak memory stays small
//! however many inputs a job has, docs/object-storage.md), and each response is streamed into
//! its block.
use super::store::Bucket;
use super::url::ObjectUrl;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How far a forward read is extended (one GET per this many bytes of sample data), and the
/// size of every kept block.
const READ_AHEAD: u64 = 1 << 20;
/// What a read that jumps somewhere fetches at least (a box header and what follows it).
const SMALL_READ: u64 = 64 << 10;
/// Blocks kept per object input at most (renditions of one muxed input read at a few places at
/// once).
const BLOCKS: usize = 4;
/// Blocks kept by all object inputs together (8 MiB): beyond it an input reuses its own least
/// recently used block; an input always may hold one.
const BUDGET_BLOCKS: usize = 8;

/// Blocks held by all object inputs of the process.
static BLOCKS_HELD: AtomicUsize = AtomicUsize::new(0);

/// An input to read by offset.
#[derive(Debug)]
pub enum Source {
    /// A local file.
    File(std::fs::File),
    /// An object read with ranged GETs.
    Object(ObjectSource),
}

impl From<std::fs::File> for Source {
    fn from(f: std::fs::File) -> Source {
        Source::File(f)
    }
}

/// An object in a bucket, its length, and the blocks read last.
#[derive(Debug)]
pub struct ObjectSource {
    bucket: Bucket,
    key: String,
    len: u64,
    cache: Mutex<Cache>,
}

/// Bytes `start..start + len` of the object, in a buffer of [`READ_AHEAD`] bytes that is
/// allocated once and refilled (no allocation per GET, so no heap growth from freed responses).
#[derive(Debug)]
struct Block {
    start: u64,
    len: usize,
    buf: Box<[u8]>,
}

#[derive(Debug, Default)]
struct Cache {
    /// Most recently used last.
    blocks: Vec<Block>,
    /// Where the last read ended (a read starting near it is a forward read).
    last_end: u64,
}

impl Cache {
    /// A block buffer to refill: a new one while this input and the process are under their
    /// limits, else this input's least recently used one (taken out of the list).
    fn take_buffer(&mut self) -> Box<[u8]> {
        let under_budget = || {
            BLOCKS_HELD
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    (n < BUDGET_BLOCKS).then_some(n + 1)
                })
                .is_ok()
        };
        if self.blocks.is_empty() || (self.blocks.len() < BLOCKS && under_budget()) {
            if self.blocks.is_empty() {
                // The one block an input may always hold, counted against the budget too.
                BLOCKS_HELD.fetch_add(1, Ordering::Relaxed);
            }
            return vec![0u8; READ_AHEAD as usize].into_boxed_slice();
        }
        self.blocks.remove(0).buf
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        BLOCKS_HELD.fetch_sub(self.blocks.len(), Ordering::Relaxed);
    }
}

impl Source {
    /// Opens `path`: an object URL (`s3://…`, `gs://…`, `az://…`) or a local file. An object's
    /// length is asked for here (HEAD); nothing else is read.
    pub fn open(path: &Path) -> io::Result<Source> {
        match ObjectUrl::parse(&path.to_string_lossy()) {
            None => std::fs::File::open(path).map(Source::File),
            Some(url) => {
                let url = url.map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                let bucket = Bucket::open(&url).map_err(io::Error::other)?;
                let meta = bucket
                    .head(&url.key)
                    .map_err(io::Error::other)?
                    .ok_or_else(|| {
                        io::Error::new(io::ErrorKind::NotFound, format!("{url}: NoSuchKey"))
                    })?;
                Ok(Source::Object(ObjectSource {
                    bucket,
                    key: url.key,
                    len: meta.size,
                    cache: Mutex::new(Cache::default()),
                }))
            }
        }
    }

    /// The input's length in bytes.
    pub fn len(&self) -> io::Result<u64> {
        match self {
            Source::File(f) => f.metadata().map(|m| m.len()),
            Source::Object(o) => Ok(o.len),
        }
    }

    /// True for an empty input.
    pub fn is_empty(&self) -> io::Result<bool> {
        self.len().map(|l| l == 0)
    }

    /// Fills `buf` from `offset` (an error when the input ends first).
    pub fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        match self {
            Source::File(f) => {
                use std::os::unix::fs::FileExt;
                f.read_exact_at(buf, offset)
            }
            Source::Object(o) => o.read_exact_at(buf, offset),
        }
    }
}

impl ObjectSource {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let want = buf.len() as u64;
        let end = offset
            .checked_add(want)
            .filter(|&e| e <= self.len)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "read past the end of the object",
                )
            })?;
        if want == 0 {
            return Ok(());
        }
        let short = || io::Error::new(io::ErrorKind::UnexpectedEof, "short ranged GET");
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut filled = 0u64;
        while filled < want {
            let at = offset + filled;
            let hit = cache
                .blocks
                .iter()
                .position(|b| b.start <= at && at < b.start + b.len as u64);
            let index = match hit {
                Some(i) => i,
                None => {
                    // A read larger than a block is streamed straight into `buf`, not kept.
                    if end - at > READ_AHEAD {
                        let rest = &mut buf[filled as usize..];
                        let n = self
                            .bucket
                            .read_range_into(&self.key, at, rest)
                            .map_err(io::Error::other)?;
                        if n != rest.len() {
                            return Err(short());
                        }
                        cache.last_end = end;
                        return Ok(());
                    }
                    let forward = at >= cache.last_end && at - cache.last_end <= READ_AHEAD;
                    let extent = if forward { READ_AHEAD } else { SMALL_READ };
                    let stop = end.max(at + extent).min(self.len);
                    let mut block = cache.take_buffer();
                    let got = self
                        .bucket
                        .read_range_into(&self.key, at, &mut block[..(stop - at) as usize])
                        .map_err(io::Error::other);
                    let n = match got {
                        Ok(n) => n,
                        Err(e) => {
                            // The buffer stays this input's (the budget counts it).
                            cache.blocks.insert(
                                0,
                                Block {
                                    start: 0,
                                    len: 0,
                                    buf: block,
                                },
                            );
                            return Err(e);
                        }
                    };
                    cache.blocks.push(Block {
                        start: at,
                        len: n,
                        buf: block,
                    });
                    if (n as u64) < end.min(stop) - at {
                        return Err(short());
                    }
                    cache.blocks.len() - 1
                }
            };
            let block = cache.blocks.remove(index);
            let from = (at - block.start) as usize;
            let n = ((block.len - from) as u64).min(want - filled) as usize;
            buf[filled as usize..filled as usize + n].copy_from_slice(&block.buf[from..from + n]);
            filled += n as u64;
            cache.blocks.push(block);
        }
        cache.last_end = end;
        Ok(())
    }
}

/// The whole of a small file (a job file, key file, subtitle file), local or an object.
pub fn read_small(path: &Path) -> io::Result<Vec<u8>> {
    match ObjectUrl::parse(&path.to_string_lossy()) {
        None => std::fs::read(path),
        Some(url) => {
            let url = url.map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let bucket = Bucket::open(&url).map_err(io::Error::other)?;
            match bucket.get(&url.key).map_err(io::Error::other)? {
                Some((bytes, _)) => Ok(bytes.to_vec()),
                None => Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{url}: NoSuchKey"),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills `cache` with one more block, as a read that misses does.
    fn miss(cache: &mut Cache, start: u64) {
        let buf = cache.take_buffer();
        assert_eq!(buf.len() as u64, READ_AHEAD);
        cache.blocks.push(Block {
            start,
            len: buf.len(),
            buf,
        });
    }

    #[test]
    fn inputs_share_one_read_ahead_budget_and_each_keeps_one_block() {
        let held = || BLOCKS_HELD.load(Ordering::Relaxed);
        let (mut a, mut b, mut c) = (Cache::default(), Cache::default(), Cache::default());
        for i in 0..6 {
            miss(&mut a, i * READ_AHEAD);
        }
        // One input keeps at most BLOCKS, reusing its least recently used one beyond.
        assert_eq!(a.blocks.len(), BLOCKS);
        assert_eq!(a.blocks[0].start, 2 * READ_AHEAD);
        for i in 0..6 {
            miss(&mut b, i * READ_AHEAD);
        }
        assert_eq!(a.blocks.len() + b.blocks.len(), BUDGET_BLOCKS);
        assert_eq!(held(), BUDGET_BLOCKS);
        // The budget is spent: a third input still gets its one block, then reuses it.
        miss(&mut c, 0);
        miss(&mut c, READ_AHEAD);
        assert_eq!(c.blocks.len(), 1);
        assert_eq!(c.blocks[0].start, READ_AHEAD);
        assert_eq!(held(), BUDGET_BLOCKS + 1);
        drop((a, b));
        assert_eq!(held(), 1);
        drop(c);
        assert_eq!(held(), 0);
    }
}
