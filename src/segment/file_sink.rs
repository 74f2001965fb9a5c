//! The files of one segment set. When a core would otherwise sit idle (one rendition, one scheme
//! on a machine with more cores), they are written on a thread of their own: the rendition writer
//! reads and encrypts fragment N+1 while that thread writes fragment N. When every core already
//! has a rendition or set to write, they are written in place (a thread would only add switches
//! and buffers). The queue is short (one fragment waiting) and written buffers come back to the
//! rendition writer for reuse (fresh large buffers would cost page faults).
//!
//! Each segment file, once closed, is announced to the set's [`OnWritten`] (an object-store
//! output uploads it at once, `storage::upload_queue`).
use crate::error::{Error, Result};
use crate::media::time::PresentationTime;
use std::fs::File;
use std::io::{IoSlice, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A file of a rendition that is complete (closed, never written again).
#[derive(Debug, Clone)]
pub struct WrittenFile {
    /// The file.
    pub path: PathBuf,
    /// For a media segment, its number (from 1) and its start as the manifests give it.
    pub segment: Option<(u64, PresentationTime)>,
}

/// Called with each file of a segment set once it is complete; an error stops the rendition.
pub type OnWritten = Arc<dyn Fn(WrittenFile) -> Result<()> + Send + Sync>;

/// What the writing thread is asked to do, in order.
enum Op {
    /// Close the current segment file (if any), create `path` and write `head` into it;
    /// `segment` is announced with it once it is closed.
    Create {
        path: PathBuf,
        head: Vec<u8>,
        segment: Option<(u64, PresentationTime)>,
    },
    /// Append a fragment: its head (moof, mdat header), then its payload.
    Append { head: Vec<u8>, payload: Vec<u8> },
}

/// The file being written: a segment file, or the whole rendition's single file.
struct Files {
    current: Option<(File, PathBuf)>,
    /// What the current segment file is announced as once closed.
    segment: Option<(u64, PresentationTime)>,
    single_file: bool,
    on_written: Option<OnWritten>,
}

impl Files {
    fn create(
        &mut self,
        path: PathBuf,
        head: &[u8],
        segment: Option<(u64, PresentationTime)>,
    ) -> Result<()> {
        self.close()?;
        let mut f = File::create(&path).map_err(|e| Error::io(&path, e))?;
        f.write_all(head).map_err(|e| Error::io(&path, e))?;
        self.current = Some((f, path));
        self.segment = segment;
        Ok(())
    }

    /// Closes the current segment file and announces it.
    fn close(&mut self) -> Result<()> {
        if let Some((f, path)) = self.current.take() {
            drop(f);
            if let Some(on_written) = &self.on_written {
                on_written(WrittenFile {
                    path,
                    segment: self.segment.take(),
                })?;
            }
        }
        Ok(())
    }

    fn append(&mut self, head: &[u8], payload: &[u8]) -> Result<()> {
        let (f, path) = self.current.as_mut().ok_or_else(|| Error::Io {
            path: PathBuf::new(),
            source: std::io::Error::other("a fragment before its segment file"),
        })?;
        write_head_and_payload(f, head, payload).map_err(|e| Error::io(&*path, e))
    }

    /// Closes the last segment file; gives back the single file, if that is what it writes
    /// (its caller completes and announces it).
    fn finish(&mut self) -> Result<Option<File>> {
        if self.single_file {
            return Ok(self.current.take().map(|(f, _)| f));
        }
        self.close()?;
        Ok(None)
    }
}

/// A set's output files.
pub(crate) struct FileSink(Mode);

/// How a [`FileSink`] writes.
enum Mode {
    /// Written by the caller, at once.
    InPlace {
        files: Files,
        written: Option<(Vec<u8>, Vec<u8>)>,
    },
    /// Written by a thread of their own.
    Thread {
        ops: Option<SyncSender<Op>>,
        spare: Receiver<(Vec<u8>, Vec<u8>)>,
        thread: Option<JoinHandle<Result<Option<File>>>>,
    },
}

impl FileSink {
    /// A sink appending to `single` (a single-file rendition, already holding its init and the
    /// room for its sidx) or, with `None`, writing segment files opened by [`FileSink::create`];
    /// on a thread of its own when `own_thread`. `dir` names the set's folder if no thread can be
    /// started.
    pub(crate) fn new(
        single: Option<(File, PathBuf)>,
        own_thread: bool,
        dir: &Path,
        on_written: Option<OnWritten>,
    ) -> Result<FileSink> {
        let files = Files {
            single_file: single.is_some(),
            current: single,
            segment: None,
            on_written,
        };
        if !own_thread {
            return Ok(FileSink(Mode::InPlace {
                files,
                written: None,
            }));
        }
        let (ops, rx) = sync_channel::<Op>(1);
        let (give_back, spare) = channel();
        let thread = std::thread::Builder::new()
            .name("vodpack-write".into())
            .spawn(move || write_in_order(rx, give_back, files))
            .map_err(|e| Error::io(dir, e))?;
        Ok(FileSink(Mode::Thread {
            ops: Some(ops),
            spare,
            thread: Some(thread),
        }))
    }

    /// Closes the current segment file and starts `path` with `head` (the `styp`), media
    /// segment `segment` (number, start).
    pub(crate) fn create(
        &mut self,
        path: PathBuf,
        head: Vec<u8>,
        segment: (u64, PresentationTime),
    ) -> Result<()> {
        let segment = Some(segment);
        match &mut self.0 {
            Mode::InPlace { files, .. } => files.create(path, &head, segment),
            Mode::Thread { .. } => self.send(Op::Create {
                path,
                head,
                segment,
            }),
        }
    }

    /// Appends a fragment to the current file. The buffers are handed over; [`FileSink::spare`]
    /// gives written ones back.
    pub(crate) fn append(&mut self, head: Vec<u8>, payload: Vec<u8>) -> Result<()> {
        match &mut self.0 {
            Mode::InPlace { files, written } => {
                files.append(&head, &payload)?;
                *written = Some((head, payload));
                Ok(())
            }
            Mode::Thread { .. } => self.send(Op::Append { head, payload }),
        }
    }

    /// A written (head, payload) buffer pair to reuse, or empty ones.
    pub(crate) fn spare(&mut self) -> (Vec<u8>, Vec<u8>) {
        match &mut self.0 {
            Mode::InPlace { written, .. } => written.take().unwrap_or_default(),
            Mode::Thread { spare, .. } => spare.try_recv().unwrap_or_default(),
        }
    }

    /// Waits until everything is written; returns the single file (for its sidx), if any.
    pub(crate) fn finish(mut self) -> Result<Option<File>> {
        match &mut self.0 {
            Mode::InPlace { files, .. } => files.finish(),
            Mode::Thread { .. } => self.join(),
        }
    }

    fn send(&mut self, op: Op) -> Result<()> {
        if let Mode::Thread { ops: Some(ops), .. } = &self.0 {
            if ops.send(op).is_ok() {
                return Ok(());
            }
        }
        // The thread stopped early: it failed, and its error is the one to report.
        match self.join() {
            Err(e) => Err(e),
            Ok(_) => Err(Error::Io {
                path: PathBuf::new(),
                source: std::io::Error::other("the segment writing thread stopped"),
            }),
        }
    }

    /// Closes the queue and waits for the thread.
    fn join(&mut self) -> Result<Option<File>> {
        let Mode::Thread { ops, thread, .. } = &mut self.0 else {
            return Ok(None);
        };
        *ops = None;
        match thread.take() {
            Some(t) => t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            None => Ok(None),
        }
    }
}

impl Drop for FileSink {
    // A run that stops early (an error elsewhere) still waits for its writes to end before the
    // staging folder is removed.
    fn drop(&mut self) {
        let _ = self.join();
    }
}

/// The writing thread: performs the operations in order until the queue is closed.
fn write_in_order(
    ops: Receiver<Op>,
    give_back: Sender<(Vec<u8>, Vec<u8>)>,
    mut files: Files,
) -> Result<Option<File>> {
    for op in ops {
        match op {
            Op::Create {
                path,
                head,
                segment,
            } => files.create(path, &head, segment)?,
            Op::Append { head, payload } => {
                files.append(&head, &payload)?;
                // The reader may have finished; then nobody reuses them.
                let _ = give_back.send((head, payload));
            }
        }
    }
    files.finish()
}

/// Writes a fragment's head (moof, mdat header) and its payload with vectored writes, so the
/// payload goes from the sample buffer to the file without a copy into the head's buffer.
fn write_head_and_payload(f: &mut File, head: &[u8], payload: &[u8]) -> std::io::Result<()> {
    let mut bufs = [IoSlice::new(head), IoSlice::new(payload)];
    let mut bufs = &mut bufs[..];
    while !bufs.is_empty() {
        match f.write_vectored(bufs) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_two_segments(own_thread: bool, dir: &Path) -> Result<()> {
        let mut sink = FileSink::new(None, own_thread, dir, None)?;
        for seg in 1..=2u8 {
            sink.create(
                dir.join(format!("seg_{seg}.m4s")),
                vec![b's', seg],
                (u64::from(seg), PresentationTime(0)),
            )?;
            for frag in 0..3u8 {
                let (mut head, mut payload) = sink.spare();
                head.clear();
                head.extend_from_slice(&[b'h', frag]);
                payload.clear();
                payload.extend(std::iter::repeat_n(seg * 10 + frag, 100_000));
                sink.append(head, payload)?;
            }
        }
        sink.finish().map(|_| ())
    }

    #[test]
    fn both_modes_write_the_same_files() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        for (dir, own_thread) in [(&a, false), (&b, true)] {
            std::fs::create_dir(dir).unwrap();
            write_two_segments(own_thread, dir).unwrap();
        }
        for seg in ["seg_1.m4s", "seg_2.m4s"] {
            let (x, y) = (
                std::fs::read(a.join(seg)).unwrap(),
                std::fs::read(b.join(seg)).unwrap(),
            );
            assert_eq!(x.len(), 2 + 3 * (2 + 100_000));
            assert_eq!(x, y, "{seg}");
        }
    }

    #[test]
    fn each_segment_is_announced_once_complete_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        for own_thread in [false, true] {
            let dir = tmp.path().join(format!("t{own_thread}"));
            std::fs::create_dir(&dir).unwrap();
            let seen: Arc<std::sync::Mutex<Vec<(u64, usize)>>> = Arc::default();
            let log = seen.clone();
            // The file is read when it is announced: it must be whole by then.
            let on_written: OnWritten = Arc::new(move |f: WrittenFile| {
                let len = std::fs::read(&f.path).unwrap().len();
                log.lock().unwrap().push((f.segment.unwrap().0, len));
                Ok(())
            });
            let mut sink = FileSink::new(None, own_thread, &dir, Some(on_written)).unwrap();
            for seg in 1..=3u64 {
                sink.create(
                    dir.join(format!("seg_{seg}.m4s")),
                    vec![b's'],
                    (seg, PresentationTime(0)),
                )
                .unwrap();
                sink.append(vec![b'h'], vec![7; 1000 * seg as usize])
                    .unwrap();
            }
            sink.finish().unwrap();
            assert_eq!(
                *seen.lock().unwrap(),
                [(1, 1002), (2, 2002), (3, 3002)],
                "own thread: {own_thread}"
            );
        }
    }

    #[test]
    fn a_refused_announcement_stops_the_writer() {
        let tmp = tempfile::tempdir().unwrap();
        for own_thread in [false, true] {
            let on_written: OnWritten =
                Arc::new(|_| Err(Error::Usage("the queue refused it".into())));
            let mut sink = FileSink::new(None, own_thread, tmp.path(), Some(on_written)).unwrap();
            let mut result = Ok(());
            for seg in 1..=3u64 {
                result = result.and_then(|_| {
                    sink.create(
                        tmp.path().join(format!("seg_{seg}.m4s")),
                        vec![b's'],
                        (seg, PresentationTime(0)),
                    )
                });
            }
            let e = result.and_then(|_| sink.finish().map(|_| ())).unwrap_err();
            assert!(e.to_string().contains("refused"), "{e}");
        }
    }

    #[test]
    fn a_failed_write_on_the_thread_is_reported_with_its_path() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("no-such-folder");
        let e = write_two_segments(true, &missing).unwrap_err();
        assert!(e.to_string().contains("no-such-folder/seg_1.m4s"), "{e}");
        assert!(matches!(e, Error::Io { .. }), "{e:?}");
    }
}
