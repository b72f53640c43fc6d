//! File descriptors between the host and a tool's process: the channel's fd number, and moving
//! the proxy's listening socket from the child's network namespace to the host: the child binds it between fork and exec ([`bind_loopback_listener`]) and sends it over the
//! channel socket ([`send_fd`]); the host receives it ([`recv_fd`]) and serves it
//! ([`listener_from_fd`]). The child-side functions only make syscalls (no allocation, no
//! locks), so they are safe to call in `pre_exec`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The fd on which the harness finds its channel to the host.
pub const CHANNEL_FD: RawFd = 3;

/// A TCP socket listening on `127.0.0.1:port` in the caller's network namespace, with
/// `SOCK_CLOEXEC` (the runtime exec'd afterwards does not inherit it). Async-signal-safe.
pub fn bind_loopback_listener(port: u16) -> io::Result<OwnedFd> {
    // SAFETY: plain syscalls on a descriptor this function owns until it returns it.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let owned = OwnedFd::from_raw_fd(fd);
        let one: libc::c_int = 1;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_port = port.to_be();
        addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        if libc::bind(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        if libc::listen(fd, 128) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(owned)
    }
}

/// Room for one `SCM_RIGHTS` message carrying one descriptor, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

/// The one byte that carries the descriptor over a stream socket.
const FD_MARKER: u8 = b'L';

/// Sends `fd` over the unix socket `sock` (`SCM_RIGHTS`, with one marker byte). Async-signal-
/// safe. On a stream socket the receiver must read exactly that byte with [`recv_fd`] before
/// anything the sender writes afterwards.
pub fn send_fd(sock: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut byte = [FD_MARKER];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    let mut buf = CmsgBuf([0; 64]);
    // SAFETY: the message points at locals that outlive the call; the control buffer is large
    // enough and aligned for one cmsghdr with one int.
    unsafe {
        let space = libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) as usize;
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = buf.0.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>(), fd.as_raw_fd());
        loop {
            let n = libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL);
            if n == 1 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if n < 0 && err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(if n < 0 { err } else { io::Error::new(io::ErrorKind::WriteZero, "short sendmsg") });
        }
    }
}

/// Receives a descriptor sent with [`send_fd`] (close-on-exec). Blocks or not as `sock` does:
/// on a non-blocking socket it fails with `WouldBlock` until the message is there (after
/// `Command::spawn` returns, a `pre_exec` send has already happened).
pub fn recv_fd(sock: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let mut byte = [0u8];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    let mut buf = CmsgBuf([0; 64]);
    // SAFETY: as in send_fd; the received descriptor is owned exactly once.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = buf.0.as_mut_ptr().cast();
        msg.msg_controllen = buf.0.len() as _;
        let n = loop {
            let n = libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
            if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            break n;
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut received: Option<OwnedFd> = None;
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg).cast::<libc::c_int>();
                let count =
                    ((*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / std::mem::size_of::<libc::c_int>();
                for i in 0..count {
                    let fd = OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i)));
                    // Keep the first; any extra descriptor is closed by dropping it.
                    if received.is_none() {
                        received = Some(fd);
                    }
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        if msg.msg_flags & libc::MSG_CTRUNC != 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "the descriptor message was truncated"));
        }
        match (n, byte[0], received) {
            (1, FD_MARKER, Some(fd)) => Ok(fd),
            (0, _, _) => {
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the channel closed before the listener came"))
            }
            _ => Err(io::Error::new(io::ErrorKind::InvalidData, "expected the proxy listener on the channel")),
        }
    }
}

/// A tokio listener for a listening socket received from the child. Call inside a tokio
/// runtime.
pub fn listener_from_fd(fd: OwnedFd) -> io::Result<tokio::net::TcpListener> {
    let std = std::net::TcpListener::from(fd);
    std.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(std)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_listener_travels_over_a_socketpair_and_serves() {
        let listener = bind_loopback_listener(0).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        send_fd(a.as_fd(), listener.as_fd()).unwrap();
        drop(listener);
        (&a).write_all_sync(b"after");
        let got = recv_fd(b.as_fd()).unwrap();
        let mut rest = [0u8; 5];
        std::io::Read::read_exact(&mut &b, &mut rest).unwrap();
        assert_eq!(&rest, b"after", "the marker byte alone was consumed");
        let listener = listener_from_fd(got).unwrap();
        let addr = listener.local_addr().unwrap();
        assert_eq!(addr.ip(), std::net::IpAddr::from([127, 0, 0, 1]));
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
    }

    #[test]
    fn recv_without_a_descriptor_fails() {
        let (a, b) = UnixStream::pair().unwrap();
        (&a).write_all_sync(b"L");
        assert!(recv_fd(b.as_fd()).is_err());
        b.set_nonblocking(true).unwrap();
        assert_eq!(recv_fd(b.as_fd()).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        drop(a);
        b.set_nonblocking(false).unwrap();
        assert_eq!(recv_fd(b.as_fd()).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    trait WriteAllSync {
        fn write_all_sync(self, data: &[u8]);
    }

    impl WriteAllSync for &UnixStream {
        fn write_all_sync(mut self, data: &[u8]) {
            std::io::Write::write_all(&mut self, data).unwrap();
        }
    }
}
