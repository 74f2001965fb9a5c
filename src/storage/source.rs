//! Positional reads of an input, local or in object storage.
//!
//! The packager reads an input by offset (`pread`): box headers while scanning, `moov` and
//! `moof` boxes, then the sample bytes of each fragment. [`Source`] gives that one operation for
//! a local file (`pread`) and for an object (ranged GETs). An object is never downloaded whole:
//! each read that misses fetches its range, extended to a 4 MiB block when the reads run
//! forward (sample data), and the next block's GET is then started in the background so that
//! it arrives while the reader works on this one; a scattered small read (a box header)
//! fetches only a small block. The blocks of all inputs, in flight or kept, share one budget
//! (peak memory stays small however many inputs a job has, docs/object-storage.md), inputs
//! give theirs back when read ([`Source::release_blocks`]), and each response is streamed into
//! its block.
use super::store::{block_on, Bucket, RangeRead};
use super::url::ObjectUrl;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How far a forward read is extended (one GET per this many bytes of sample data), and the
/// size of every kept block. Fewer, larger GETs: each costs a round trip and the server's
/// time to find the range (1 MiB blocks waited 3-4 times as long on the loopback SeaweedFS,
/// docs/object-storage.md).
const READ_AHEAD: u64 = 4 << 20;
/// What a read that jumps somewhere fetches at least (a box header and what follows it).
const SMALL_READ: u64 = 64 << 10;
/// Blocks kept per object input at most (renditions of one muxed input read at a few places at
/// once).
const BLOCKS: usize = 4;
/// Blocks kept and in flight for all object inputs together (16 MiB): two inputs read at once
/// (one per core here) each hold the block being read and the next one's GET. Beyond it an
/// input reuses its own least recently used block; an input always may hold one.
const BUDGET_BLOCKS: usize = 4;

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

/// Bytes `start..start + len` of the object, in a buffer of `READ_AHEAD` bytes that is
/// allocated once and refilled (no allocation per GET, so no heap growth from freed responses).
#[derive(Debug)]
struct Block {
    start: u64,
    len: usize,
    buf: Box<[u8]>,
}

/// The next block's GET, in flight while the reader works on the block before it.
#[derive(Debug)]
struct Ahead {
    start: u64,
    len: usize,
    task: RangeRead,
}

#[derive(Debug, Default)]
struct Cache {
    /// Most recently used last.
    blocks: Vec<Block>,
    /// The read-ahead in flight (its buffer counts against the budget).
    ahead: Option<Ahead>,
    /// Where the last read ended (a read starting near it is a forward read).
    last_end: u64,
}

/// Takes one block of the budget if any is left.
fn under_budget() -> bool {
    BLOCKS_HELD
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            (n < BUDGET_BLOCKS).then_some(n + 1)
        })
        .is_ok()
}

fn new_buffer() -> Box<[u8]> {
    vec![0u8; READ_AHEAD as usize].into_boxed_slice()
}

impl Cache {
    /// Buffers this input holds, ready or in flight.
    fn held(&self) -> usize {
        self.blocks.len() + usize::from(self.ahead.is_some())
    }

    /// A block buffer for a read the caller waits on: a new one while this input and the
    /// process are under their limits, else this input's least recently used one (taken out
    /// of the list), else the read-ahead's (its GET abandoned).
    fn take_buffer(&mut self) -> Box<[u8]> {
        if self.held() == 0 {
            // The one block an input may always hold, counted against the budget too.
            BLOCKS_HELD.fetch_add(1, Ordering::Relaxed);
            return new_buffer();
        }
        if self.held() < BLOCKS && under_budget() {
            return new_buffer();
        }
        if !self.blocks.is_empty() {
            return self.blocks.remove(0).buf;
        }
        self.cancel_ahead();
        BLOCKS_HELD.fetch_add(1, Ordering::Relaxed);
        new_buffer()
    }

    /// A buffer whose GET failed stays this input's (the budget counts it): an empty block,
    /// the first to be reused.
    fn keep_unused(&mut self, buf: Box<[u8]>) {
        self.blocks.insert(
            0,
            Block {
                start: 0,
                len: 0,
                buf,
            },
        );
    }

    /// A buffer for a read-ahead: a new one while this input holds fewer than two and the
    /// budget allows, else never the block just read (the most recently used), so `None` when
    /// this input holds only that one.
    fn take_spare(&mut self) -> Option<Box<[u8]>> {
        // A forward reader needs two (the block it reads, the next one in flight); more would
        // take the budget from the other inputs being read at the same time.
        if self.held() < 2 && under_budget() {
            return Some(new_buffer());
        }
        (self.blocks.len() >= 2).then(|| self.blocks.remove(0).buf)
    }

    /// Abandons the read-ahead (its buffer is freed with the task).
    fn cancel_ahead(&mut self) {
        if let Some(a) = self.ahead.take() {
            a.task.abort();
            BLOCKS_HELD.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        self.cancel_ahead();
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

    /// Gives back the blocks read from an object (its read-ahead too) to the budget all object
    /// inputs share: called when a rendition has read all its samples, so that an input read
    /// to its end does not keep blocks the inputs still being read could use. A later read
    /// fetches again.
    pub fn release_blocks(&self) {
        if let Source::Object(o) = self {
            let mut cache = o.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.cancel_ahead();
            BLOCKS_HELD.fetch_sub(cache.blocks.len(), Ordering::Relaxed);
            cache.blocks.clear();
        }
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
            let in_ahead = cache
                .ahead
                .as_ref()
                .is_some_and(|a| a.start <= at && at < a.start + a.len as u64);
            let forward = at >= cache.last_end && at - cache.last_end <= READ_AHEAD;
            let index = match hit {
                Some(i) => i,
                None if in_ahead => {
                    let ahead = cache.ahead.take().expect("checked above");
                    let (buf, got) = match block_on(ahead.task) {
                        Ok(v) => v,
                        Err(e) => {
                            // The task (and its buffer) is gone.
                            BLOCKS_HELD.fetch_sub(1, Ordering::Relaxed);
                            return Err(io::Error::other(format!("read-ahead failed: {e}")));
                        }
                    };
                    let n = match got {
                        Ok(n) => n,
                        Err(e) => {
                            cache.keep_unused(buf);
                            return Err(io::Error::other(e));
                        }
                    };
                    cache.blocks.push(Block {
                        start: ahead.start,
                        len: n,
                        buf,
                    });
                    if at >= ahead.start + n as u64 {
                        return Err(short());
                    }
                    self.read_ahead(&mut cache, ahead.start + n as u64);
                    cache.blocks.len() - 1
                }
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
                        if forward {
                            self.read_ahead(&mut cache, end);
                        }
                        return Ok(());
                    }
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
                            cache.keep_unused(block);
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
                    if forward {
                        self.read_ahead(&mut cache, at + n as u64);
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

    /// Starts the GET of the block at `from` in the background (a forward reader comes there
    /// next), unless it is under way, the object ends there, or no buffer is spare.
    fn read_ahead(&self, cache: &mut Cache, from: u64) {
        if from >= self.len {
            return;
        }
        if cache.ahead.as_ref().is_some_and(|a| a.start == from) {
            return;
        }
        cache.cancel_ahead();
        let Some(buf) = cache.take_spare() else {
            return;
        };
        let len = (self.len - from).min(READ_AHEAD) as usize;
        cache.ahead = Some(Ahead {
            start: from,
            len,
            task: self.bucket.spawn_read_range(&self.key, from, buf, len),
        });
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
        let (mut a, mut b) = (Cache::default(), Cache::default());
        for i in 0..6 {
            miss(&mut a, i * READ_AHEAD);
        }
        // One input keeps at most BLOCKS (and no more than the budget), reusing its least
        // recently used one beyond.
        let most = BLOCKS.min(BUDGET_BLOCKS);
        assert_eq!(a.blocks.len(), most);
        assert_eq!(a.blocks[0].start, (6 - most as u64) * READ_AHEAD);
        assert_eq!(held(), most);
        // The budget is spent: another input still gets its one block, then reuses it, and
        // has none to spare for a read-ahead (never the block it reads).
        miss(&mut b, 0);
        miss(&mut b, READ_AHEAD);
        assert_eq!(b.blocks.len(), 1);
        assert_eq!(b.blocks[0].start, READ_AHEAD);
        assert!(b.take_spare().is_none());
        assert_eq!(held(), BUDGET_BLOCKS + 1);
        // a is read to its end: its blocks go back, and b may read ahead with a new buffer,
        // but not take a third one (another input being read needs the rest).
        drop(a);
        assert_eq!(held(), 1);
        let spare = b.take_spare().expect("the budget has room");
        b.blocks.push(Block {
            start: 2 * READ_AHEAD,
            len: spare.len(),
            buf: spare,
        });
        assert_eq!(held(), 2);
        let reused = b.take_spare().expect("b's least recently used block");
        assert_eq!(held(), 2);
        assert_eq!(b.blocks.len(), 1);
        assert_eq!(b.blocks[0].start, 2 * READ_AHEAD);
        drop(reused);
        // The dropped buffer was b's: b counts one block, as a read-ahead taking it would.
        BLOCKS_HELD.fetch_sub(1, Ordering::Relaxed);
        drop(b);
        assert_eq!(held(), 0);
    }
}
