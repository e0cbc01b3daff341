//! Keeps peak memory bounded by the blocks of frames in flight.
//!
//! glibc's allocator raises its mmap threshold each time a large buffer is
//! freed, after which multi-megabyte frames come from its heaps, where
//! frames allocated on the reader thread and freed on others fragment and
//! are not given back: with threads, peak RSS then grows with the number of
//! steps read. A fixed threshold of 1 MiB sends every frame-sized buffer
//! straight to the operating system and back, so RSS follows what is live.

/// Buffers at least this large are mapped and unmapped individually.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1 << 20;

/// Applies the policy once per process; a no-op off glibc.
pub fn bound_frame_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt only changes allocator tuning; it is called before
        // the backend's threads start, once.
        ONCE.call_once(|| unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        });
    }
}
