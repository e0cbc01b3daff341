//! Keeps peak memory bounded by the blocks of frames in flight.
//!
//! glibc's allocator raises its mmap threshold each time a large buffer is
//! freed, after which multi-megabyte frames come from its heaps, where
//! frames allocated on the reader thread and freed on others fragment and
//! are not given back: with threads, peak RSS then grows with the number of
//! steps read. A fixed threshold of 1 MiB sends every frame-sized buffer
//! straight to the operating system and back, so RSS follows what is live.

/// Bytes this process may still allocate, when known: the least of the
/// memory the kernel reports available, the cgroup's limit (batch jobs) and
/// what the address-space limit (`ulimit -v`) leaves.
pub fn available_bytes() -> Option<u64> {
    [mem_available(), cgroup_room(), address_space_room()]
        .into_iter()
        .flatten()
        .min()
}

fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The cgroup v2 limit less what the cgroup uses.
fn cgroup_room() -> Option<u64> {
    let read = |name: &str| -> Option<u64> {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{name}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Some(read("memory.max")?.saturating_sub(read("memory.current").unwrap_or(0)))
}

/// `ulimit -v` less the address space already mapped.
fn address_space_room() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit struct that we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let used_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(limit.rlim_cur.saturating_sub(used_kb * 1024))
}

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
