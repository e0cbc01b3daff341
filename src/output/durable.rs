//! A file written to be made durable at its end (`fsync` before the rename
//! that puts it in place), whose data the kernel starts writing to disk while
//! it is still being written.
//!
//! Without that, all of a large output (68 MB of IMILAST text for 240 steps
//! of 0.25° ERA5) is still in the page cache when the final `fsync` comes,
//! and the run waits for the whole of it there (about 10 ms on this
//! project's virtual disk; more on slower storage). Asking for write-back of
//! every few MiB as they are written (Linux `sync_file_range`, which only
//! starts it) leaves the `fsync` about 1 ms of work. Elsewhere the file
//! is written as usual and the `fsync` does it all.

use std::fs::File;
use std::io::{self, BufWriter, Write};

/// Bytes written between two requests for write-back.
const WRITEBACK_EVERY: u64 = 8 << 20;

/// A file that asks the kernel to start writing its data back to disk every
/// `WRITEBACK_EVERY` bytes (8 MiB).
pub struct DurableFile {
    file: File,
    written: u64,
    /// Everything before this offset has been handed to write-back.
    requested: u64,
}

impl DurableFile {
    pub fn new(file: File) -> Self {
        DurableFile {
            file,
            written: 0,
            requested: 0,
        }
    }

    /// A buffered writer to `file`; finish it with [`finish`].
    pub fn buffered(file: File) -> BufWriter<Self> {
        BufWriter::with_capacity(1 << 20, DurableFile::new(file))
    }

    fn start_writeback(&mut self) {
        if self.written - self.requested >= WRITEBACK_EVERY {
            // Only a hint: a failure changes nothing, and the final fsync
            // reports any error of writing.
            let _ = start_writeback(&self.file, self.requested, self.written - self.requested);
            self.requested = self.written;
        }
    }
}

impl Write for DurableFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        self.start_writeback();
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Flushes `out` and makes the file durable (data and size on disk).
pub fn finish(out: BufWriter<DurableFile>) -> io::Result<()> {
    out.into_inner()
        .map_err(|e| e.into_error())?
        .file
        .sync_all()
}

/// Starts write-back of `len` bytes from `offset` without waiting for it.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let offset = i64::try_from(offset).map_err(io::Error::other)?;
    let len = i64::try_from(len).map_err(io::Error::other)?;
    // SAFETY: a system call on a descriptor that `file` keeps open, with
    // plain integers; it reads and writes no memory of this process.
    let r = unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_byte_through_writeback_requests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        let mut out = DurableFile::buffered(File::create(&path).unwrap());
        // 20 MiB in odd-sized pieces: two write-back requests on the way.
        let piece: Vec<u8> = (0..=250u8).cycle().take(999_983).collect();
        let mut expected = Vec::new();
        while expected.len() < 20 << 20 {
            out.write_all(&piece).unwrap();
            expected.extend_from_slice(&piece);
        }
        let file = out.get_ref();
        assert!(file.requested >= 2 * WRITEBACK_EVERY && file.requested <= file.written);
        // The requests themselves succeed (they are ignored when writing).
        start_writeback(&file.file, 0, file.written).unwrap();
        finish(out).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), expected);
    }
}
