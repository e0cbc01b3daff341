//! Turns off Nagle's algorithm on the TCP connections that MPI opened during
//! `MPI_Init`, before this process opens any of its own.
//!
//! Open MPI 4's processes talk to their local daemon (`orted`, through PMIx)
//! over a loopback TCP connection without `TCP_NODELAY`. `MPI_Finalize` sends
//! the daemon a few small messages in a row and waits for the answer: Nagle's
//! algorithm holds the later messages back until the first is acknowledged,
//! and the daemon delays its acknowledgement by 40 ms. Every job paid those
//! 40 ms at its end (a hello-world's `MPI_Finalize`: 44-50 ms, 2.5 ms with
//! `TCP_NODELAY`). The option only changes when small segments leave, never
//! what arrives, so setting it on every TCP socket of the process is safe:
//! MPI's own data connections (`btl tcp`) set it already.

/// Sets `TCP_NODELAY` on every TCP socket of this process; how many.
#[cfg(unix)]
pub fn tcp_nodelay_all() -> usize {
    open_fds().into_iter().filter(|&fd| set_if_tcp(fd)).count()
}

#[cfg(not(unix))]
pub fn tcp_nodelay_all() -> usize {
    0
}

/// The file descriptors that may be open: those listed in `/proc/self/fd`
/// (Linux), or all below the process's limit (at most 65536) elsewhere.
#[cfg(unix)]
fn open_fds() -> Vec<i32> {
    match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect(),
        Err(_) => (0..fd_limit()).collect(),
    }
}

#[cfg(unix)]
fn fd_limit() -> i32 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the local passed.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if ok {
        i32::try_from(limit.rlim_cur.min(65_536)).unwrap_or(1024)
    } else {
        1024
    }
}

/// Sets `TCP_NODELAY` on `fd` if it is a TCP socket (IPv4 or IPv6).
#[cfg(unix)]
fn set_if_tcp(fd: i32) -> bool {
    // SAFETY: the calls only write into the local buffers passed with their
    // sizes, or set an option on the descriptor; on one that is not a socket,
    // or no longer open, they fail (ENOTSOCK, EBADF) and change nothing. MPI's
    // threads may close a descriptor and open another under the same number
    // meanwhile: the option is still only set on a TCP socket, which it
    // cannot harm (it changes when small segments leave, not what arrives).
    unsafe {
        let mut addr: libc::sockaddr_storage = std::mem::zeroed();
        let mut len = std::mem::size_of_val(&addr) as libc::socklen_t;
        if libc::getsockname(fd, (&raw mut addr).cast(), &mut len) != 0 {
            return false;
        }
        let family = i32::from(addr.ss_family);
        if family != libc::AF_INET && family != libc::AF_INET6 {
            return false;
        }
        let mut kind: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        if libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&raw mut kind).cast(),
            &mut len,
        ) != 0
            || kind != libc::SOCK_STREAM
        {
            return false;
        }
        let one: libc::c_int = 1;
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&raw const one).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        ) == 0
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn sets_nodelay_on_tcp_sockets_only() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let (unix, _) = UnixDatagram::pair().unwrap();
        assert!(!client.nodelay().unwrap() && !server.nodelay().unwrap());
        assert!(tcp_nodelay_all() >= 2);
        assert!(client.nodelay().unwrap() && server.nodelay().unwrap());
        use std::os::fd::AsRawFd;
        assert!(!set_if_tcp(unix.as_raw_fd()), "not TCP");
        let file = std::fs::File::open("Cargo.toml").unwrap();
        assert!(!set_if_tcp(file.as_raw_fd()), "not a socket");
    }
}
