//! One stored chunk that holds whole frames, decoded on demand and given back
//! to the operating system frame by frame: what lets a NetCDF-4 read hold
//! less than one decoded chunk (see [`super::hdf5_chunks`] for when it is used).
//!
//! The chunk's stored bytes are read from the file in pieces of
//! [`READ_PIECE`] and inflated as a stream (zlib-rs through flate2) into an
//! anonymous memory map of the decoded size, front to back, so memory grows
//! only as far as decoding has gone. A chunk is made of `slots`: one per
//! index of the dimensions before the last two (time steps, levels), each
//! holding one frame of `slot_elems` elements. A [`ChunkFrame`] claims one
//! slot; reading it first decodes the chunk up to the end of that slot
//! (under the chunk's lock, on whichever thread asks first), and dropping it
//! hands the slot's bytes back with `madvise(MADV_DONTNEED)` as soon as no
//! other live slot shares their memory pages. So a chunk being detected
//! shrinks frame by frame, and no frame is copied out of it before it is used.
//!
//! With HDF5's byte shuffle the decoded chunk is planar: byte `j` of every
//! element comes before byte `j + 1` of any, so a slot is complete only once
//! decoding reaches its part of the last plane, i.e. after `(size - 1) /
//! size` of the chunk. Without shuffle a slot is complete as soon as its own
//! bytes are. Bytes are converted (and unshuffled) by the reader of a slot.
//!
//! Memory is handed back in granules: 2 MiB (a transparent huge page, which
//! the map asks for, when the kernel offers them: decoding into fresh 4 KiB
//! pages costs as much as a fast inflate), else one page. A granule is given
//! back once every slot with bytes in it has been released and decoding has
//! gone past it; the rest goes when the chunk is dropped.
//!
//! Fresh memory is zero-filled by the kernel on first touch, about as fast
//! as inflating writes it on a virtual machine: so the first chunk of a run
//! (and any chunk decoded while no granule is parked) costs up to twice its
//! inflating. A thread that wants a frame of a chunk whose decoding another
//! thread holds faults in the granules that decoding reaches next
//! (`MADV_POPULATE_WRITE`, which changes no byte) instead of waiting idle,
//! at most `PREFAULT_AHEAD` (8 MiB) ahead of it.
//!
//! [`Ahead`] lets a thread with nothing better to do decode a chunk before its
//! first frame is wanted, within a memory budget: all streamed chunks of the
//! process together hold no more decoded bytes than that chunk does once
//! fully decoded, so the next block is decoded into the memory the current
//! one gives back as its frames are detected. (A budget of what the first
//! frame needs, three quarters of a shuffled chunk, kept the decoding thread
//! waiting while the current block was detected: 2 threads ran 1.5x faster
//! than one instead of 1.65x, for 8% less peak memory.)
//!
//! Failures (an unreadable file, a stream that does not inflate or that does
//! not give exactly the chunk's size) make the slots not yet complete
//! unreadable: [`ChunkFrame::convert`] returns `false` and the caller reads
//! the frame another way (through netCDF, which then reports the damage).
//! A damaged stream may also inflate to wrong bytes without an error until
//! its checksum, at its end, is checked; HDF5 refuses the whole chunk then.
//! So the last frame that a block takes from a chunk decodes the chunk to
//! its end first ([`ChunkFrame::verify_chunk`]; free when it is the chunk's
//! last frame, as with blocks aligned on chunks): a block with frames of a
//! damaged chunk fails as it does through netCDF, whatever its other frames
//! gave, and so does a run.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, TryLockError};

use memmap2::{Advice, MmapMut, MmapRaw, UncheckedAdvice};

use super::granule_pool;
use super::hdf5_chunks::{Decoded, Kind, Sample, View};
use crate::field::{AheadStep, DecodeAhead};

/// Stored bytes read from the file at once.
pub const READ_PIECE: usize = 1 << 20;
/// Most bytes decoded per turn of a chunk's lock, so that a thread waiting
/// for an earlier slot than the one being decoded gets it early.
const DECODE_STEP: usize = 1 << 20;

/// Furthest past the decoded bytes that a waiting thread faults memory in.
const PREFAULT_AHEAD: usize = 8 << 20;

/// Slot states.
const FREE: u8 = 0;
const CLAIMED: u8 = 1;
/// Released by its frame, or never wanted: its bytes may be given back.
const RELEASED: u8 = 2;

/// Decoded bytes that all streamed chunks of the process hold (decoded and
/// not given back): what [`Ahead`] keeps within a budget.
static RESIDENT: AtomicUsize = AtomicUsize::new(0);
fn given_back(bytes: usize) {
    RESIDENT.fetch_sub(bytes, Ordering::SeqCst);
}

/// Where a chunk's stored bytes are.
#[derive(Debug)]
pub enum Raw {
    /// `len` bytes at `offset` of the file.
    File {
        file: Arc<File>,
        offset: u64,
        len: usize,
    },
    /// Read already (through HDF5, when file offsets are not plain).
    Memory(Vec<u8>),
}

impl Raw {
    fn len(&self) -> usize {
        match self {
            Raw::File { len, .. } => *len,
            Raw::Memory(v) => v.len(),
        }
    }

    /// Reads `out.len()` bytes from `at`; `None` past the end or on an error.
    fn read_at(&self, at: usize, out: &mut [u8]) -> Option<()> {
        if at.checked_add(out.len())? > self.len() {
            return None;
        }
        match self {
            Raw::File { file, offset, .. } => file.read_exact_at(out, offset + at as u64).ok(),
            Raw::Memory(v) => {
                out.copy_from_slice(&v[at..at + out.len()]);
                Some(())
            }
        }
    }
}

/// How a chunk's stored bytes become its decoded bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pipeline {
    /// zlib-deflated (HDF5's deflate filter).
    pub deflate: bool,
    /// Byte-shuffled by element (HDF5's shuffle filter): decoded bytes are planar.
    pub shuffle: bool,
}

/// The decoding state of a chunk, advanced under its lock.
struct Inflow {
    raw: Raw,
    /// Next stored byte to read.
    next: usize,
    /// Stored bytes read but not yet inflated: `input[pos..end]`.
    input: Vec<u8>,
    pos: usize,
    end: usize,
    /// `None` for chunks stored without deflate.
    zlib: Option<flate2::Decompress>,
}

impl std::fmt::Debug for Inflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflow")
            .field("raw", &self.raw)
            .field("next", &self.next)
            .finish()
    }
}

impl Inflow {
    fn new(raw: Raw, deflate: bool) -> Self {
        Inflow {
            raw,
            next: 0,
            input: Vec::new(),
            pos: 0,
            end: 0,
            zlib: deflate.then(|| flate2::Decompress::new(true)),
        }
    }

    /// The next stored bytes to inflate: `None` when all are read.
    fn refill(&mut self) -> Option<()> {
        let left = self.raw.len() - self.next;
        if left == 0 {
            return None;
        }
        let n = left.min(READ_PIECE);
        self.input.resize(n, 0);
        self.raw.read_at(self.next, &mut self.input[..n])?;
        self.next += n;
        self.pos = 0;
        self.end = n;
        Some(())
    }

    /// Fills `out` with the next decoded bytes; `None` if the stream fails
    /// or ends first.
    fn fill(&mut self, out: &mut [u8]) -> Option<()> {
        if self.zlib.is_none() {
            self.raw.read_at(self.next, out)?;
            self.next += out.len();
            return Some(());
        }
        let mut done = 0;
        while done < out.len() {
            if self.pos == self.end {
                self.refill()?;
            }
            let (n_in, n_out, status) = self.inflate_into(&mut out[done..])?;
            self.pos += n_in;
            done += n_out;
            let stuck = n_in == 0 && n_out == 0;
            if done < out.len() && (status == flate2::Status::StreamEnd || stuck) {
                return None;
            }
        }
        Some(())
    }

    /// One inflate call from the pending input into `out`: bytes consumed,
    /// bytes produced and the status.
    fn inflate_into(&mut self, out: &mut [u8]) -> Option<(usize, usize, flate2::Status)> {
        let zlib = self.zlib.as_mut()?;
        let (i0, o0) = (zlib.total_in(), zlib.total_out());
        let status = zlib
            .decompress(
                &self.input[self.pos..self.end],
                out,
                flate2::FlushDecompress::None,
            )
            .ok()?;
        Some((
            (zlib.total_in() - i0) as usize,
            (zlib.total_out() - o0) as usize,
            status,
        ))
    }

    /// After the chunk's last byte: whether the stream ends there (its
    /// checksum verified), as HDF5 requires of a chunk of this size.
    fn finish(&mut self) -> bool {
        if self.zlib.is_none() {
            return self.next == self.raw.len();
        }
        let mut extra = [0u8; 1];
        loop {
            let Some((n_in, n_out, status)) = self.inflate_into(&mut extra) else {
                return false;
            };
            self.pos += n_in;
            if n_out > 0 {
                return false;
            }
            if status == flate2::Status::StreamEnd {
                return true;
            }
            if n_in == 0 && (self.pos < self.end || self.refill().is_none()) {
                return false;
            }
        }
    }
}

/// Where decoded bytes live: an anonymous map written front to back.
#[derive(Debug)]
struct Buffer {
    map: MmapRaw,
    len: usize,
    /// Per granule (from the one holding byte 0): whether it was given back.
    given: Vec<AtomicBool>,
    /// Decoded bytes not given back (counted in [`RESIDENT`]).
    held: AtomicUsize,
    /// Bytes from the start of the map faulted in ahead of decoding (or
    /// passed by it), granule by granule: not to be recycled into.
    faulted: AtomicUsize,
}

impl Buffer {
    /// Backs the whole granules that start in `[from, to)`, about to be
    /// decoded into for the first time, with parked ones where there are.
    fn recycle(&self, from: usize, to: usize) {
        let g = granule();
        if g == page() {
            return;
        }
        let base = self.map.as_ptr() as usize;
        let from = from.max(self.faulted.load(Ordering::Acquire));
        let mut at = (base + from).next_multiple_of(g) - base;
        while at < to && at + g <= self.map.len() {
            // SAFETY: a whole aligned granule of this private anonymous map
            // at or past `decoded`: holding no data so far (nothing reads
            // there yet; a waiting thread may have faulted it in, which
            // writes nothing) and overwritten by decoding before anything
            // reads it (what lies past the chunk's end is never read).
            if !unsafe { granule_pool::take(self.map.as_mut_ptr().add(at), g) } {
                return;
            }
            at += g;
        }
    }
}

impl Buffer {
    /// Faults in the next granule past `decoded` not faulted in yet, if it
    /// is within [`PREFAULT_AHEAD`] and needs fresh memory (no granule is
    /// parked to be moved there): whether it did.
    ///
    /// Memory: a granule faulted in here is one that decoding, a few
    /// milliseconds later, would have faulted in itself; it is not counted
    /// in [`RESIDENT`] until decoded. A granule parked meanwhile stays
    /// parked for a later one, so memory in use can run ahead of decoding by
    /// at most [`PREFAULT_AHEAD`] plus a granule.
    fn prefault_next(&self, decoded: usize) -> bool {
        static UNSUPPORTED: AtomicBool = AtomicBool::new(false);
        let g = granule().max(2 << 20);
        let at = self.faulted.load(Ordering::Acquire).max(decoded);
        let at = at.next_multiple_of(g);
        let end = (at + g).min(self.map.len());
        // Without huge pages nothing is recycled (parked pages are only
        // given back later), so fresh memory is always needed.
        let recycling = granule() > page() && granule_pool::any_parked();
        if at >= end
            || at > decoded + PREFAULT_AHEAD
            || recycling
            || UNSUPPORTED.load(Ordering::Relaxed)
        {
            return false;
        }
        // Claimed by one thread; decoding may pass it meanwhile.
        if self.faulted.fetch_max(end, Ordering::AcqRel) >= end {
            return true;
        }
        // SAFETY: `[at, end)` lies within this map. MADV_POPULATE_WRITE
        // (Linux 5.14 and later) faults pages in as a write would, without
        // changing any byte, so it cannot disturb what decoding writes there
        // concurrently (under the chunk's lock) nor what readers read below
        // `decoded`. Pages that `recycle` or `release` move or discard
        // meanwhile are only faulted in again, or freed: no content changes.
        // `recycle` skips granules below `faulted`, so it never moves pages
        // under ones faulted in here.
        let r = unsafe {
            libc::madvise(
                self.map.as_mut_ptr().add(at).cast(),
                end - at,
                libc::MADV_POPULATE_WRITE,
            )
        };
        if r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
            // An older kernel: not tried again. Other failures (memory
            // short, a signal) only cost this granule's head start.
            UNSUPPORTED.store(true, Ordering::Relaxed);
        }
        true
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        given_back(self.held.load(Ordering::SeqCst));
    }
}

/// A stored chunk being decoded on demand; see the module documentation.
#[derive(Debug)]
pub struct StreamedChunk {
    /// Decoded bytes; `None` for an unallocated chunk (read as `fill`).
    buf: Option<Buffer>,
    fill: Option<Decoded>,
    /// Bytes of `buf` decoded so far: written once, before this grows past them.
    decoded: AtomicUsize,
    /// `None` once the stream is finished or has failed.
    flow: Mutex<Option<Inflow>>,
    kind: Kind,
    big_endian: bool,
    planar: bool,
    slot_elems: usize,
    slots: Vec<AtomicU8>,
}

/// One frame of a [`StreamedChunk`]: its slot, released when this drops.
#[derive(Debug)]
pub struct ChunkFrame {
    chunk: Arc<StreamedChunk>,
    slot: usize,
    /// Decode the whole chunk (verifying its stream) before this frame.
    verify: bool,
}

impl StreamedChunk {
    /// A chunk of `slots * slot_elems` elements whose stored bytes are `raw`;
    /// `wanted(slot)` tells the slots that may be claimed. `None` if memory
    /// cannot be mapped.
    pub fn new(
        raw: Raw,
        pipeline: Pipeline,
        kind: Kind,
        big_endian: bool,
        slots: usize,
        slot_elems: usize,
        wanted: impl Fn(usize) -> bool,
    ) -> Option<Self> {
        let len = slots.checked_mul(slot_elems)?.checked_mul(kind.size())?;
        if len == 0 {
            return None;
        }
        // A whole number of granules, which Linux places on a granule
        // boundary: so every granule of the chunk is a whole huge page that
        // can be recycled (the bytes past `len` are never touched).
        let map = MmapMut::map_anon(len.checked_next_multiple_of(granule())?).ok()?;
        granule_pool::open();
        if granule() > page() {
            // Only a hint: without it decoding faults in 4 KiB pages.
            let _ = map.advise(Advice::HugePage);
        }
        let base = map.as_ptr() as usize;
        let granules = (base + len - 1) / granule() - base / granule() + 1;
        Some(StreamedChunk {
            buf: Some(Buffer {
                map: MmapRaw::from(map),
                len,
                given: (0..granules).map(|_| AtomicBool::new(false)).collect(),
                held: AtomicUsize::new(0),
                faulted: AtomicUsize::new(0),
            }),
            fill: None,
            decoded: AtomicUsize::new(0),
            flow: Mutex::new(Some(Inflow::new(raw, pipeline.deflate))),
            kind,
            big_endian,
            planar: pipeline.shuffle && kind.size() > 1,
            slot_elems,
            slots: slot_states(slots, wanted),
        })
    }

    /// An unallocated chunk, every element of which reads as `fill` (one
    /// element in the dataset's byte order).
    pub fn filled(
        fill: Decoded,
        kind: Kind,
        big_endian: bool,
        slots: usize,
        slot_elems: usize,
        wanted: impl Fn(usize) -> bool,
    ) -> Self {
        StreamedChunk {
            buf: None,
            fill: Some(fill),
            decoded: AtomicUsize::new(0),
            flow: Mutex::new(None),
            kind,
            big_endian,
            planar: false,
            slot_elems,
            slots: slot_states(slots, wanted),
        }
    }

    /// Claims `slot` for one frame; `None` if it was claimed before (or is
    /// not wanted): its bytes may be gone, so the chunk must be read anew.
    pub fn claim(self: &Arc<Self>, slot: usize) -> Option<ChunkFrame> {
        self.slots
            .get(slot)?
            .compare_exchange(FREE, CLAIMED, Ordering::SeqCst, Ordering::SeqCst)
            .ok()?;
        Some(ChunkFrame {
            chunk: Arc::clone(self),
            slot,
            verify: false,
        })
    }

    fn elem(&self) -> usize {
        self.kind.size()
    }

    /// Elements of the chunk (of one byte plane when planar).
    fn elems(&self) -> usize {
        self.slots.len() * self.slot_elems
    }

    /// Decoded bytes needed before `slot` can be read.
    fn ready_at(&self, slot: usize) -> usize {
        if self.planar {
            (self.elem() - 1) * self.elems() + (slot + 1) * self.slot_elems
        } else {
            (slot + 1) * self.slot_elems * self.elem()
        }
    }

    /// Byte ranges of `slot` in the decoded chunk: one per plane, or one.
    fn ranges(&self, slot: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let (seg, planes) = if self.planar {
            (self.slot_elems, self.elem())
        } else {
            (self.slot_elems * self.elem(), 1)
        };
        (0..planes).map(move |j| {
            let a = j * self.elems() + slot * seg;
            (a, a + seg)
        })
    }

    /// The slot whose bytes include byte `at` of the decoded chunk.
    fn slot_of(&self, at: usize) -> usize {
        let seg = if self.planar {
            self.slot_elems
        } else {
            self.slot_elems * self.elem()
        };
        (at / seg) % self.slots.len()
    }

    /// Decodes until at least `target` bytes are; `false` if the stream
    /// failed before.
    fn drive(&self, target: usize) -> bool {
        let Some(buf) = &self.buf else {
            return true;
        };
        loop {
            if self.decoded.load(Ordering::Acquire) >= target {
                return true;
            }
            let mut flow = match self.flow.try_lock() {
                Ok(flow) => flow,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => {
                    // Another thread decodes: prepare the memory it needs next.
                    if buf.prefault_next(self.decoded.load(Ordering::Acquire)) {
                        continue;
                    }
                    self.flow.lock().unwrap_or_else(PoisonError::into_inner)
                }
            };
            // Only changed under the lock.
            let done = self.decoded.load(Ordering::Acquire);
            if done >= target {
                return true;
            }
            let Some(inflow) = flow.as_mut() else {
                return false;
            };
            let end = (done + DECODE_STEP).min(target).min(buf.len);
            buf.recycle(done, end);
            // SAFETY: bytes from `done` on are read by no one (readers stay
            // below `decoded`, see `convert`) and given back by no one
            // (`release` stays below `decoded`); the lock makes this the only
            // writer. The map is `buf.len` bytes long.
            let out = unsafe {
                std::slice::from_raw_parts_mut(buf.map.as_mut_ptr().add(done), end - done)
            };
            let ok = inflow.fill(out).is_some() && (end < buf.len || inflow.finish());
            if !ok || end == buf.len {
                // The stored bytes and inflate state are no longer needed.
                *flow = None;
            }
            if !ok {
                return false;
            }
            RESIDENT.fetch_add(end - done, Ordering::SeqCst);
            buf.held.fetch_add(end - done, Ordering::SeqCst);
            self.decoded.store(end, Ordering::Release);
        }
    }

    /// Writes the values of `slot` into `out` (`slot_elems` of them), after
    /// decoding the `whole` chunk if asked; `false` if they cannot be decoded.
    fn convert<T: Sample>(&self, slot: usize, whole: bool, out: &mut [T]) -> bool {
        if out.len() != self.slot_elems || !T::supports(self.kind) {
            return false;
        }
        if let Some(one) = &self.fill {
            let mut value = [T::default()];
            T::convert(self.kind, self.big_endian, &one.view(1), 0, &mut value);
            out.fill(value[0]);
            return true;
        }
        let Some(buf) = &self.buf else {
            return false;
        };
        let need = if whole { buf.len } else { self.ready_at(slot) };
        if !self.drive(need) {
            return false;
        }
        let base = buf.map.as_ptr();
        // SAFETY: every range of a claimed slot lies below `ready_at(slot)`,
        // which `decoded` has passed (acquire): written for good, and not
        // given back while the slot is claimed.
        let part =
            |(a, b): (usize, usize)| unsafe { std::slice::from_raw_parts(base.add(a), b - a) };
        let view = if self.planar {
            View::planar(self.ranges(slot).map(part))
        } else {
            View::Interleaved(part(self.ranges(slot).next().expect("one range")))
        };
        T::convert(self.kind, self.big_endian, &view, 0, out);
        true
    }

    /// Marks `slot` released and gives back the granules of its bytes that
    /// no claimed or free slot shares and that decoding has passed.
    fn release(&self, slot: usize) {
        self.slots[slot].store(RELEASED, Ordering::SeqCst);
        let Some(buf) = &self.buf else {
            return;
        };
        let (g, page) = (granule(), page());
        let base = buf.map.as_ptr() as usize;
        let decoded = self.decoded.load(Ordering::Acquire);
        for (a, b) in self.ranges(slot) {
            // Granules (aligned to `g` in the address space) over [a, b).
            let first = (base + a) / g;
            let last = (base + b - 1) / g;
            for k in first..=last {
                let lo = (k * g).max(base) - base;
                let hi = ((k + 1) * g - base).min(buf.len);
                let free = (lo..hi)
                    .step_by(self.segment_len())
                    .chain(std::iter::once(hi - 1))
                    .all(|at| self.slots[self.slot_of(at)].load(Ordering::SeqCst) == RELEASED);
                // Given back once, by whichever release finds it free first.
                if !free || buf.given[k - base / g].swap(true, Ordering::SeqCst) {
                    continue;
                }
                // A whole granule of the map (the last may reach past the
                // chunk's end, into the map's rounding) decoded to its end.
                let whole = ((k + 1) * g - base).min(buf.map.len()) - lo == g;
                if whole && hi <= decoded {
                    // SAFETY: a whole aligned granule of this private
                    // anonymous map, which nothing reads or writes again
                    // (all its slots released, decoding past it).
                    if unsafe { granule_pool::park(buf.map.as_mut_ptr().add(lo), g) } {
                        buf.held.fetch_sub(hi - lo, Ordering::SeqCst);
                        given_back(hi - lo);
                        continue;
                    }
                }
                // Whole pages only, and only what decoding has written; at
                // the chunk's end, also the map's pages past it, which the
                // last granule's huge page brought in.
                let lo = (base + lo).next_multiple_of(page) - base;
                let end = if hi == buf.len && decoded == buf.len {
                    buf.map.len()
                } else {
                    hi.min(decoded)
                };
                let hi = ((base + end) / page * page).saturating_sub(base);
                if lo < hi {
                    // SAFETY: no slot with bytes in [lo, hi) can be read any
                    // more (all released), and decoding has passed it (or it
                    // lies past the chunk), so nothing reads or writes these
                    // pages again.
                    let r = unsafe {
                        buf.map
                            .unchecked_advise_range(UncheckedAdvice::DontNeed, lo, hi - lo)
                    };
                    if r.is_ok() {
                        // Decoded bytes only are counted.
                        let counted = hi.min(buf.len) - lo.min(buf.len);
                        buf.held.fetch_sub(counted, Ordering::SeqCst);
                        given_back(counted);
                    }
                }
            }
        }
    }

    /// Bytes of one slot in one plane (or in the chunk, when interleaved).
    fn segment_len(&self) -> usize {
        if self.planar {
            self.slot_elems
        } else {
            self.slot_elems * self.elem()
        }
    }
}

impl ChunkFrame {
    /// Writes the frame's values into `out` (as many as it holds): `false`
    /// if the chunk cannot be decoded that far, or `T` cannot hold its type.
    pub fn convert<T: Sample>(&self, out: &mut [T]) -> bool {
        self.chunk.convert(self.slot, self.verify, out)
    }

    /// Makes reading this frame decode its whole chunk first, so that it
    /// fails if any of the chunk is damaged: for the last frame a block
    /// takes from a chunk, which the block's other frames from it precede.
    pub fn verify_chunk(&mut self) {
        self.verify = true;
    }

    /// Whether two frames are of the same chunk.
    pub fn same_chunk(&self, other: &ChunkFrame) -> bool {
        Arc::ptr_eq(&self.chunk, &other.chunk)
    }
}

impl ChunkFrame {
    /// A handle that decodes this frame's chunk ahead of its use.
    pub fn ahead(&self) -> Ahead {
        Ahead {
            target: self.chunk.ready_at(self.slot),
            chunk: Arc::clone(&self.chunk),
        }
    }
}

/// Decodes a chunk ahead of its use, up to where a frame can be read, while
/// the decoded bytes of all streamed chunks stay within that chunk's decoded
/// size: so a block is decoded while the previous one is detected, but only
/// into the memory that the previous one gives back.
#[derive(Debug)]
pub struct Ahead {
    chunk: Arc<StreamedChunk>,
    target: usize,
}

impl DecodeAhead for Ahead {
    /// Decodes one step further if the memory budget allows.
    fn step(&mut self) -> AheadStep {
        let c = &self.chunk;
        if c.buf.is_none() || c.decoded.load(Ordering::Acquire) >= self.target {
            return AheadStep::Done;
        }
        // This chunk's decoded bytes grow by the step; those of the chunks
        // before it only shrink once their first frames are ready, which the
        // caller waits for (see `ready`).
        let done = c.decoded.load(Ordering::Acquire);
        let step = (done + DECODE_STEP).min(self.target);
        let budget = c.buf.as_ref().map_or(0, |b| b.len);
        if RESIDENT.load(Ordering::SeqCst) + (step - done) > budget {
            return AheadStep::Wait;
        }
        if c.drive(step) {
            AheadStep::Progressed
        } else {
            AheadStep::Done
        }
    }

    fn ready(&self) -> bool {
        self.chunk.buf.is_none() || self.chunk.decoded.load(Ordering::Acquire) >= self.target
    }
}

impl Drop for ChunkFrame {
    fn drop(&mut self) {
        self.chunk.release(self.slot);
    }
}

fn slot_states(slots: usize, wanted: impl Fn(usize) -> bool) -> Vec<AtomicU8> {
    (0..slots)
        .map(|s| AtomicU8::new(if wanted(s) { FREE } else { RELEASED }))
        .collect()
}

/// The memory page size.
fn page() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
    })
}

/// The granule in which decoded bytes are given back: the transparent huge
/// page size when the kernel uses huge pages for memory that asks, else a page.
fn granule() -> usize {
    static GRANULE: OnceLock<usize> = OnceLock::new();
    *GRANULE.get_or_init(|| {
        let thp = "/sys/kernel/mm/transparent_hugepage";
        let enabled = std::fs::read_to_string(format!("{thp}/enabled")).unwrap_or_default();
        let size = std::fs::read_to_string(format!("{thp}/hpage_pmd_size"))
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok());
        match size {
            Some(s) if !enabled.contains("[never]") && !enabled.is_empty() && s % page() == 0 => s,
            _ => page(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const SLOTS: usize = 4;
    /// 8 KiB of float32 per slot: the chunk is whole pages.
    const SLOT_ELEMS: usize = 2048;

    /// Noise, which deflates evenly: half the stream is about half the chunk.
    fn values() -> Vec<f32> {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        (0..SLOTS * SLOT_ELEMS)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                100_000.0 + (x >> 44) as f32 / 8.0
            })
            .collect()
    }

    /// The chunk as HDF5 stores it: little-endian, optionally shuffled, deflated.
    fn stored(shuffle: bool) -> Vec<u8> {
        let bytes: Vec<u8> = values().iter().flat_map(|v| v.to_le_bytes()).collect();
        let bytes = if shuffle {
            let n = bytes.len() / 4;
            (0..4)
                .flat_map(|j| (0..n).map(move |i| (i, j)))
                .map(|(i, j)| bytes[i * 4 + j])
                .collect()
        } else {
            bytes
        };
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&bytes).unwrap();
        z.finish().unwrap()
    }

    fn chunk(raw: Vec<u8>, shuffle: bool) -> Arc<StreamedChunk> {
        let pipeline = Pipeline {
            deflate: true,
            shuffle,
        };
        Arc::new(
            StreamedChunk::new(
                Raw::Memory(raw),
                pipeline,
                Kind::F32,
                false,
                SLOTS,
                SLOT_ELEMS,
                |_| true,
            )
            .unwrap(),
        )
    }

    #[test]
    fn slots_read_in_any_order_and_give_their_memory_back() {
        let want = values();
        for shuffle in [true, false] {
            let c = chunk(stored(shuffle), shuffle);
            let mut frames: Vec<Option<ChunkFrame>> = (0..SLOTS).map(|s| c.claim(s)).collect();
            assert!(c.claim(1).is_none(), "a slot is claimed once");
            for s in [2, 0, 3, 1] {
                let mut out = vec![0f32; SLOT_ELEMS];
                assert!(frames[s].as_ref().unwrap().convert(&mut out));
                assert!(
                    out == want[s * SLOT_ELEMS..(s + 1) * SLOT_ELEMS],
                    "slot {s}"
                );
                frames[s] = None;
            }
            let buf = c.buf.as_ref().unwrap();
            assert_eq!(c.decoded.load(Ordering::SeqCst), buf.len);
            assert_eq!(buf.held.load(Ordering::SeqCst), 0, "all given back");
            assert!(c.claim(0).is_none(), "a released slot is gone");
        }
    }

    #[test]
    fn a_broken_stream_fails_only_the_slots_it_does_not_reach() {
        let raw = stored(false);
        let c = chunk(raw[..raw.len() / 2].to_vec(), false);
        let first = c.claim(0).unwrap();
        let last = c.claim(SLOTS - 1).unwrap();
        let mut out = vec![0f32; SLOT_ELEMS];
        assert!(first.convert(&mut out));
        assert!(out == values()[..SLOT_ELEMS]);
        assert!(!last.convert(&mut out));
        // Planar: no slot is complete before the last plane.
        let raw = stored(true);
        let c = chunk(raw[..raw.len() / 2].to_vec(), true);
        assert!(!c.claim(0).unwrap().convert(&mut out));
        // A stream longer than the chunk is refused at its end.
        let mut long = values();
        long.push(1.0);
        let bytes: Vec<u8> = long.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&bytes).unwrap();
        let c = chunk(z.finish().unwrap(), false);
        assert!(c.claim(0).unwrap().convert(&mut out));
        assert!(!c.claim(SLOTS - 1).unwrap().convert(&mut out));
    }

    #[test]
    fn a_thread_waiting_for_decoding_faults_memory_in_without_changing_it() {
        // Four slots of 1 MiB elements: a 16 MiB chunk, several granules.
        const BIG: usize = 1 << 20;
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let want: Vec<f32> = (0..4 * BIG)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (i % 977) as f32 + (x >> 52) as f32 / 4096.0
            })
            .collect();
        let bytes: Vec<u8> = want.iter().flat_map(|v| v.to_le_bytes()).collect();
        let n = bytes.len() / 4;
        let planar: Vec<u8> = (0..4)
            .flat_map(|j| (0..n).map(move |i| (i, j)))
            .map(|(i, j)| bytes[i * 4 + j])
            .collect();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&planar).unwrap();
        let pipeline = Pipeline {
            deflate: true,
            shuffle: true,
        };
        let c = Arc::new(
            StreamedChunk::new(
                Raw::Memory(z.finish().unwrap()),
                pipeline,
                Kind::F32,
                false,
                4,
                BIG,
                |_| true,
            )
            .unwrap(),
        );
        let (first, last) = (c.claim(0).unwrap(), c.claim(3).unwrap());
        // Another thread "decodes" (holds the stream) while one waits for slot 0.
        let held = c.flow.lock().unwrap();
        let waiter = std::thread::spawn(move || {
            let mut out = vec![0f32; BIG];
            assert!(first.convert(&mut out));
            out
        });
        let buf = c.buf.as_ref().unwrap();
        let t = std::time::Instant::now();
        // Faulting in needs huge pages and no parked granule (other tests
        // may have parked some): the values must be right either way.
        while buf.faulted.load(Ordering::SeqCst) < PREFAULT_AHEAD
            && t.elapsed() < std::time::Duration::from_millis(300)
        {
            std::thread::yield_now();
        }
        let g = granule().max(2 << 20);
        assert!(buf.faulted.load(Ordering::SeqCst) <= PREFAULT_AHEAD + 2 * g);
        drop(held);
        assert!(waiter.join().unwrap() == want[..BIG]);
        let mut out = vec![0f32; BIG];
        assert!(last.convert(&mut out));
        assert!(out == want[3 * BIG..]);
    }

    #[test]
    fn unallocated_chunks_read_as_their_fill_value() {
        let fill = Decoded::interleaved((-1.5f32).to_le_bytes().to_vec());
        let c = Arc::new(StreamedChunk::filled(
            fill,
            Kind::F32,
            false,
            SLOTS,
            SLOT_ELEMS,
            |s| s != 1,
        ));
        assert!(c.claim(1).is_none(), "not wanted");
        let mut out = vec![0f32; SLOT_ELEMS];
        assert!(c.claim(2).unwrap().convert(&mut out));
        assert!(out.iter().all(|&v| v == -1.5));
    }
}
