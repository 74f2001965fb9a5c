//! Positional reads of an input, local or in object storage.
//!
//! The packager reads an input by offset (`pread`): box headers while scanning, `moov` and
//! `moof` boxes, then the sample bytes of each fragment. [`Source`] gives that one operation for
//! a local file (`pread`) and for an object (ranged GETs). An object is never downloaded whole:
//! each read that misses fetches its range, extended by a read-ahead when the reads run forward
//! (sample data), kept in a few blocks per input; a scattered small read (a box header) fetches
//! only a small block.
use super::store::Bucket;
use super::url::ObjectUrl;
use bytes::Bytes;
use std::io;
use std::path::Path;
use std::sync::Mutex;

/// How far a forward read is extended (one GET per this many bytes of sample data).
const READ_AHEAD: u64 = 4 << 20;
/// What a read that jumps somewhere fetches at least (a box header and what follows it).
const SMALL_READ: u64 = 64 << 10;
/// Blocks kept per object input (renditions of one muxed input read at a few places at once).
const BLOCKS: usize = 4;

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

#[derive(Debug, Default)]
struct Cache {
    /// (start offset, bytes), most recently used last.
    blocks: Vec<(u64, Bytes)>,
    /// Where the last read ended (a read starting near it is a forward read).
    last_end: u64,
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
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut filled = 0u64;
        while filled < want {
            let at = offset + filled;
            let hit = cache
                .blocks
                .iter()
                .position(|(start, b)| *start <= at && at < start + b.len() as u64);
            let index = match hit {
                Some(i) => i,
                None => {
                    let forward = at >= cache.last_end && at - cache.last_end <= READ_AHEAD;
                    let extent = if forward { READ_AHEAD } else { SMALL_READ };
                    let stop = end.max(at + extent).min(self.len);
                    // A read larger than the read-ahead is fetched as it is, not kept.
                    if end - at > READ_AHEAD {
                        let bytes = self
                            .bucket
                            .get_range(&self.key, at..end)
                            .map_err(io::Error::other)?;
                        if bytes.len() as u64 != end - at {
                            return Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "short ranged GET",
                            ));
                        }
                        buf[filled as usize..].copy_from_slice(&bytes);
                        cache.last_end = end;
                        return Ok(());
                    }
                    let bytes = self
                        .bucket
                        .get_range(&self.key, at..stop)
                        .map_err(io::Error::other)?;
                    if bytes.is_empty() {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "empty ranged GET",
                        ));
                    }
                    if cache.blocks.len() >= BLOCKS {
                        cache.blocks.remove(0);
                    }
                    cache.blocks.push((at, bytes));
                    cache.blocks.len() - 1
                }
            };
            let (start, block) = cache.blocks.remove(index);
            let from = (at - start) as usize;
            let n = ((block.len() - from) as u64).min(want - filled) as usize;
            buf[filled as usize..filled as usize + n].copy_from_slice(&block[from..from + n]);
            filled += n as u64;
            cache.blocks.push((start, block));
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
