//! Memory that a streamed chunk is done with, handed to the next chunk being
//! decoded instead of back to the operating system (see [`super::chunk_stream`]).
//!
//! A chunk gives its decoded bytes back granule by granule (2 MiB, a
//! transparent huge page) as its frames are detected, and the next chunk
//! decodes into fresh memory. Fresh anonymous memory is zero-filled by the
//! kernel on first touch (5% of a serial run on 0.25° ERA5-like chunks), on
//! the thread that inflates: the one thread a chunk's decoding runs on. So
//! given-back granules are parked here instead, physical pages and all, and
//! moved under the next chunk's granules before decoding reaches them.
//!
//! Pages move with `mremap(MREMAP_DONTUNMAP)` (Linux 5.7 and later): page
//! tables are moved, no byte is copied or zeroed, and the source range stays
//! mapped (reading as zeros), so no hole opens in a mapping that another
//! allocation could take. Parked granules live in slots of one reserved,
//! granule-aligned area, so huge pages stay huge. Where that fails (another
//! system, an older kernel, strict overcommit accounting, a move refused)
//! nothing is parked and memory is given back as before.
//!
//! Parking does not raise the peak memory: a granule is parked when a chunk
//! would give it back and taken by the next granule to be decoded, so memory
//! in use (decoded bytes plus parked granules) only grows when no granule is
//! parked, i.e. exactly when it grew before. At most [`SLOTS`] granules are
//! parked; beyond that they are given back.

use std::sync::{Mutex, OnceLock, PoisonError};

/// Most granules parked at once.
pub const SLOTS: usize = 32;

/// The parking area and which of its slots hold a granule.
struct Pool {
    /// Address of slot 0, aligned to `granule`.
    base: usize,
    granule: usize,
    slots: Mutex<Slots>,
}

struct Slots {
    /// Slot numbers holding a granule.
    full: Vec<usize>,
    empty: Vec<usize>,
    /// Whether granules are parked: from the first chunk decoded until
    /// [`drain`], after which no chunk may come to take them.
    open: bool,
    /// Set for good when a move fails: memory is given back from then on.
    broken: bool,
}

/// The process's pool for granules of `granule` bytes; `None` if the area
/// cannot be reserved or the system cannot move pages.
static POOL: OnceLock<Option<Pool>> = OnceLock::new();

fn pool(granule: usize) -> Option<&'static Pool> {
    POOL.get_or_init(|| Pool::reserve(granule))
        .as_ref()
        .filter(|p| p.granule == granule)
}

/// Moves the granule at `from` into the pool; `false` if it stays where it
/// is (pool full or unavailable), to be given back by the caller.
///
/// # Safety
/// `from` is the start of `granule` bytes, aligned to `granule`, of a
/// private anonymous mapping that nothing reads or writes again before
/// [`take`] refills them (or the mapping is unmapped).
pub unsafe fn park(from: *mut u8, granule: usize) -> bool {
    // SAFETY: forwarded to the caller.
    pool(granule).is_some_and(|p| unsafe { p.park(from as usize) })
}

/// Moves a parked granule to `to`, if one is parked: its pages then back
/// `[to, to + granule)` with stale contents. `false` if none was moved.
///
/// # Safety
/// `to` is the start of `granule` bytes, aligned to `granule`, of a private
/// anonymous mapping, that hold no data yet (at most faulted in) and that
/// the caller overwrites before anything reads them.
pub unsafe fn take(to: *mut u8, granule: usize) -> bool {
    // SAFETY: forwarded to the caller.
    pool(granule).is_some_and(|p| unsafe { p.take(to as usize) })
}

/// Whether a granule is parked: the next granule to be decoded into will
/// not need fresh memory.
pub fn any_parked() -> bool {
    POOL.get()
        .and_then(Option::as_ref)
        .is_some_and(|p| !p.lock().full.is_empty())
}

/// Parks granules from now on (until [`drain`]): a chunk is being decoded.
pub fn open() {
    if let Some(p) = POOL.get().and_then(Option::as_ref) {
        p.lock().open = true;
    }
}

/// Gives every parked granule back to the operating system and parks no
/// more until [`open`]: for when no chunk may be decoded any more, so that
/// memory is not held for none.
pub fn drain() {
    let pool = POOL.get().and_then(Option::as_ref);
    if let Some(p) = pool {
        p.drain();
    }
}

impl Pool {
    #[cfg(target_os = "linux")]
    fn reserve(granule: usize) -> Option<Pool> {
        // Under strict overcommit accounting, moving pages charges them
        // again and may fail halfway: give memory back instead.
        let strict = std::fs::read_to_string("/proc/sys/vm/overcommit_memory")
            .is_ok_and(|m| m.trim() == "2");
        if strict {
            return None;
        }
        let len = (SLOTS + 1) * granule;
        // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
        let area = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if area == libc::MAP_FAILED {
            return None;
        }
        let base = (area as usize).next_multiple_of(granule);
        // SAFETY: advice on the range just mapped; failure only costs huge pages.
        unsafe {
            libc::madvise(
                base as *mut libc::c_void,
                SLOTS * granule,
                libc::MADV_HUGEPAGE,
            )
        };
        Some(Pool {
            base,
            granule,
            slots: Mutex::new(Slots {
                full: Vec::with_capacity(SLOTS),
                empty: (0..SLOTS).rev().collect(),
                open: true,
                broken: false,
            }),
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn reserve(_granule: usize) -> Option<Pool> {
        None
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`park`] into this pool.
    unsafe fn park(&self, from: usize) -> bool {
        let mut slots = self.lock();
        if !slots.open || slots.broken {
            return false;
        }
        let Some(slot) = slots.empty.pop() else {
            return false;
        };
        // SAFETY: the slot is empty and inside the reserved area; the
        // caller vouches for the source.
        if unsafe { move_granule(from, self.base + slot * self.granule, self.granule) } {
            slots.full.push(slot);
            true
        } else {
            slots.empty.push(slot);
            self.break_down(&mut slots);
            false
        }
    }

    /// [`take`] from this pool.
    unsafe fn take(&self, to: usize) -> bool {
        let mut slots = self.lock();
        if slots.broken {
            return false;
        }
        let Some(slot) = slots.full.pop() else {
            return false;
        };
        // SAFETY: the slot holds a granule; the caller vouches for the target.
        if unsafe { move_granule(self.base + slot * self.granule, to, self.granule) } {
            slots.empty.push(slot);
            true
        } else {
            slots.full.push(slot);
            self.break_down(&mut slots);
            false
        }
    }

    /// [`drain`] this pool.
    fn drain(&self) {
        let mut slots = self.lock();
        slots.open = false;
        self.give_back(&mut slots);
    }

    /// After a failed move: gives every parked granule back and parks no
    /// more in this process.
    fn break_down(&self, slots: &mut Slots) {
        slots.broken = true;
        self.give_back(slots);
    }

    fn give_back(&self, slots: &mut Slots) {
        while let Some(slot) = slots.full.pop() {
            // SAFETY: a parked granule in the reserved area, used by no one.
            unsafe {
                libc::madvise(
                    (self.base + slot * self.granule) as *mut libc::c_void,
                    self.granule,
                    libc::MADV_DONTNEED,
                )
            };
            slots.empty.push(slot);
        }
    }
}

/// Moves the pages of `[from, from + len)` to `[to, to + len)`, replacing
/// what was mapped there and leaving the source mapped and empty. On failure
/// the destination is mapped again, empty: `MREMAP_FIXED` unmaps it before
/// the move can still fail (ENOMEM), and no hole may be left in a map for
/// another mapping to land in.
///
/// # Safety
/// Both ranges are page-aligned parts of private anonymous mappings of this
/// process that nothing else uses meanwhile.
#[cfg(target_os = "linux")]
unsafe fn move_granule(from: usize, to: usize, len: usize) -> bool {
    // The system call itself, not libc's `mremap`: MPI transports (UCX,
    // libfabric) hook that symbol, and some of their versions drop its fifth
    // argument, which with MREMAP_FIXED would move the pages over anything.
    // SAFETY: forwarded to the caller.
    let r = unsafe {
        // Every argument a full machine word: a variadic int would leave
        // the register's upper half undefined.
        libc::syscall(
            libc::SYS_mremap,
            from,
            len,
            len,
            (libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED | libc::MREMAP_DONTUNMAP) as libc::c_ulong,
            to,
        )
    };
    if r as usize == to {
        return true;
    }
    // SAFETY: maps the caller's own range again, only if nothing is mapped
    // there any more (MAP_FIXED_NOREPLACE fails harmlessly otherwise).
    unsafe {
        let p = libc::mmap(
            to as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        );
        if p != libc::MAP_FAILED {
            libc::madvise(p, len, libc::MADV_HUGEPAGE);
        }
    }
    false
}

#[cfg(not(target_os = "linux"))]
unsafe fn move_granule(_from: usize, _to: usize, _len: usize) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A granule-aligned private anonymous map of `n` granules (and its
    /// unaligned head kept mapped).
    fn aligned_map(n: usize, g: usize) -> (memmap2::MmapMut, usize) {
        let map = memmap2::MmapMut::map_anon((n + 1) * g).unwrap();
        let at = (map.as_ptr() as usize).next_multiple_of(g);
        (map, at)
    }

    #[test]
    fn parked_granule_moves_with_its_bytes_and_leaves_zeros() {
        let g = 1 << 21;
        let Some(pool) = Pool::reserve(g) else {
            return;
        };
        let (_a, from) = aligned_map(1, g);
        let (_b, to) = aligned_map(1, g);
        // SAFETY: both ranges are ours and aligned; nothing else uses them.
        unsafe {
            std::ptr::write_bytes(from as *mut u8, 7, g);
            if !pool.park(from) {
                // An older kernel: nothing to check beyond not crashing.
                return;
            }
            // The source reads as fresh memory.
            assert_eq!(*(from as *const u8), 0);
            assert_eq!(*((from + g - 1) as *const u8), 0);
            assert!(pool.take(to));
            assert!(!pool.take(to), "one granule parked, taken once");
            assert_eq!(*(to as *const u8), 7);
            assert_eq!(*((to + g - 1) as *const u8), 7);
        }
    }
}
