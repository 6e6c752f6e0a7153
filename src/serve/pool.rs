//! Connections between requests: the queue of connections that have a request for a worker,
//! and the parked keep-alive connections that have none yet.
//!
//! A worker serves a connection only while nobody else waits. When others wait, it hands its
//! keep-alive connection back after the response: to the back of the queue when the next
//! request is already buffered, else to the parker, a thread that polls every parked
//! connection and queues it again once it is readable. So a few busy clients cannot hold every
//! worker (each waiting connection gets a turn within one round of the queue) and an idle
//! keep-alive connection holds no worker at all. Parked connections idle longer than the
//! keep-alive time are closed.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, BufWriter};
use std::net::{IpAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Most parked connections; beyond this the connection handed over is closed (its client
/// reconnects), so a flood of idle clients cannot exhaust file descriptors.
const MAX_PARKED: usize = 1024;

/// One client connection and where it stands.
pub struct Conn {
    pub reader: BufReader<TcpStream>,
    pub writer: BufWriter<TcpStream>,
    pub peer: IpAddr,
    /// Requests served on it so far.
    pub served: u32,
    /// When its last response was written (or it was accepted).
    pub active: Instant,
}

impl Conn {
    /// Wraps an accepted stream; `poll` is the read timeout blocked reads wake up with.
    pub fn new(stream: TcpStream, poll: Duration) -> std::io::Result<Conn> {
        stream.set_read_timeout(Some(poll))?;
        stream.set_write_timeout(Some(Duration::from_secs(10)))?;
        stream.set_nodelay(true)?;
        let peer = stream.peer_addr()?.ip();
        let reader = BufReader::new(stream.try_clone()?);
        Ok(Conn {
            reader,
            writer: BufWriter::new(stream),
            peer,
            served: 0,
            active: Instant::now(),
        })
    }
}

/// The queue and the parking lot, shared by the accept thread, the workers and the parker.
pub struct Pool {
    ready: Mutex<VecDeque<Conn>>,
    /// Signalled when a connection is queued or the pool closes.
    queued: Condvar,
    /// Signalled when a worker takes a connection (the accept thread waits on a full queue).
    taken: Condvar,
    /// Connections in the queue (read without the lock).
    waiting: AtomicUsize,
    capacity: usize,
    closed: AtomicBool,
    keep_alive: Duration,
    parked: Mutex<Vec<Conn>>,
    #[cfg(unix)]
    wake: unix::WakePipe,
}

impl Pool {
    /// A pool whose queue holds at most `capacity` connections and whose parked connections
    /// are closed after `keep_alive` without a request.
    pub fn new(capacity: usize, keep_alive: Duration) -> std::io::Result<Pool> {
        Ok(Pool {
            ready: Mutex::new(VecDeque::new()),
            queued: Condvar::new(),
            taken: Condvar::new(),
            waiting: AtomicUsize::new(0),
            capacity: capacity.max(1),
            closed: AtomicBool::new(false),
            keep_alive,
            parked: Mutex::new(Vec::new()),
            #[cfg(unix)]
            wake: unix::WakePipe::new()?,
        })
    }

    /// Connections waiting for a worker.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Queues a newly accepted connection, waiting while the queue is full. Returns the
    /// connection back when the pool is closed.
    pub fn push_new(&self, conn: Conn) -> Result<(), Conn> {
        let mut q = self.ready.lock().unwrap();
        while q.len() >= self.capacity && !self.is_closed() {
            q = self.taken.wait(q).unwrap();
        }
        if self.is_closed() {
            return Err(conn);
        }
        self.enqueue(&mut q, conn);
        Ok(())
    }

    /// Queues a connection that has a request to serve (never waits: it was already counted).
    fn requeue(&self, conn: Conn) {
        let mut q = self.ready.lock().unwrap();
        self.enqueue(&mut q, conn);
    }

    fn enqueue(&self, q: &mut VecDeque<Conn>, conn: Conn) {
        q.push_back(conn);
        self.waiting.fetch_add(1, Ordering::SeqCst);
        self.queued.notify_one();
    }

    /// The next connection to serve; `None` once the pool is closed and the queue is empty.
    pub fn take(&self) -> Option<Conn> {
        let mut q = self.ready.lock().unwrap();
        loop {
            if let Some(c) = q.pop_front() {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                self.taken.notify_one();
                return Some(c);
            }
            if self.is_closed() {
                return None;
            }
            q = self.queued.wait(q).unwrap();
        }
    }

    /// Hands back a keep-alive connection between requests: queued again when its next
    /// request is already buffered, else parked until it is readable.
    pub fn hand_back(&self, conn: Conn) {
        if !conn.reader.buffer().is_empty() {
            self.requeue(conn);
            return;
        }
        if self.is_closed() {
            return;
        }
        let mut parked = self.parked.lock().unwrap();
        if parked.len() >= MAX_PARKED {
            return; // dropped: closed
        }
        parked.push(conn);
        drop(parked);
        #[cfg(unix)]
        self.wake.wake();
    }

    /// Stops the pool: `take` returns what is queued, then `None`; the parker closes every
    /// parked connection and returns.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _q = self.ready.lock().unwrap();
        self.queued.notify_all();
        self.taken.notify_all();
        #[cfg(unix)]
        self.wake.wake();
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// The parker's loop (run on its own thread until the pool closes): polls the parked
    /// connections, queues the readable ones (a request, or the client closing: the worker
    /// sees which) and closes those idle longer than the keep-alive time.
    pub fn run_parker(&self) {
        #[cfg(unix)]
        self.park_loop();
        #[cfg(not(unix))]
        {
            // Without poll(2), a parked connection is served by the next free worker, whose
            // blocked read ends it after the keep-alive time.
            while !self.is_closed() {
                let conns: Vec<Conn> = std::mem::take(&mut *self.parked.lock().unwrap());
                for c in conns {
                    self.requeue(c);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        self.parked.lock().unwrap().clear();
    }

    #[cfg(unix)]
    fn park_loop(&self) {
        use std::os::fd::AsRawFd;
        let mut fds: Vec<libc::pollfd> = Vec::new();
        while !self.is_closed() {
            fds.clear();
            fds.push(self.wake.pollfd());
            let now = Instant::now();
            let mut next_expiry = Duration::from_secs(1);
            {
                let parked = self.parked.lock().unwrap();
                for c in parked.iter() {
                    fds.push(libc::pollfd {
                        fd: c.reader.get_ref().as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    });
                    let left = self.keep_alive.saturating_sub(now.duration_since(c.active));
                    next_expiry = next_expiry.min(left);
                }
            }
            let timeout = next_expiry.as_millis().clamp(1, 1000) as libc::c_int;
            // SAFETY: `fds` is a valid, initialised array of `fds.len()` pollfd entries, and
            // every descriptor in it stays open until the entries are read below (parked
            // connections are only removed by this thread).
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n < 0 {
                // EINTR; anything else would repeat, so do not spin on it.
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            if fds[0].revents != 0 {
                self.wake.drain();
            }
            let polled = fds.len() - 1;
            let now = Instant::now();
            let mut parked = self.parked.lock().unwrap();
            let mut kept = Vec::with_capacity(parked.len());
            for (i, c) in parked.drain(..).enumerate() {
                let readable = i < polled && fds[i + 1].revents != 0;
                if readable {
                    self.requeue(c);
                } else if now.duration_since(c.active) < self.keep_alive {
                    kept.push(c);
                } // else: idle too long, closed by dropping it
            }
            *parked = kept;
        }
    }
}

/// What waiting for a request on a connection ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// A request's first bytes are buffered.
    Request,
    /// The client closed the connection (or it broke).
    Closed,
    /// `give_up` said to stop waiting first.
    GaveUp,
}

/// Waits for a request on a connection, asking `give_up` each time the read timeout passes.
pub fn wait_readable(conn: &mut Conn, mut give_up: impl FnMut() -> bool) -> Waited {
    loop {
        match conn.reader.fill_buf() {
            Ok([]) => return Waited::Closed,
            Ok(_) => return Waited::Request,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if give_up() {
                    return Waited::GaveUp;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Waited::Closed,
        }
    }
}

#[cfg(unix)]
mod unix {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    /// A non-blocking pipe whose read end wakes the parker's poll.
    pub struct WakePipe {
        read: OwnedFd,
        write: OwnedFd,
    }

    impl WakePipe {
        pub fn new() -> std::io::Result<WakePipe> {
            let mut fds = [0 as libc::c_int; 2];
            // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
            if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: pipe(2) succeeded, so both descriptors are open and owned by nobody else.
            let (read, write) =
                unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
            for fd in [&read, &write] {
                // SAFETY: fcntl on an open descriptor with valid flags.
                unsafe {
                    let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
                    libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
                    libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            Ok(WakePipe { read, write })
        }

        /// Makes the read end readable (a full pipe is already readable: nothing to do).
        pub fn wake(&self) {
            // SAFETY: writes one byte from a valid buffer to an open descriptor.
            unsafe { libc::write(self.write.as_raw_fd(), [1u8].as_ptr().cast(), 1) };
        }

        /// Empties the pipe.
        pub fn drain(&self) {
            let mut buf = [0u8; 256];
            // SAFETY: reads into a valid buffer of its stated length from an open descriptor.
            while unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) }
                > 0
            {}
        }

        pub fn pollfd(&self) -> libc::pollfd {
            libc::pollfd {
                fd: self.read.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;

    fn pair(listener: &TcpListener) -> (TcpStream, Conn) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (
            client,
            Conn::new(server, Duration::from_millis(20)).unwrap(),
        )
    }

    #[test]
    fn parked_connections_come_back_when_readable_and_expire_when_idle() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Arc::new(Pool::new(8, Duration::from_millis(300)).unwrap());
        let parker = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.run_parker())
        };
        let (mut busy, conn) = pair(&listener);
        let (mut idle, idle_conn) = pair(&listener);
        pool.hand_back(conn);
        pool.hand_back(idle_conn);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(pool.waiting(), 0, "nothing readable yet");

        busy.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut back = pool.take().unwrap();
        assert_eq!(wait_readable(&mut back, || true), Waited::Request);
        assert!(back.reader.buffer().starts_with(b"GET /"));

        // The idle one is closed by the parker after the keep-alive time.
        idle.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(idle.read(&mut buf).unwrap(), 0, "closed by the server");

        // A connection with a buffered request skips the parker.
        back.reader.consume(back.reader.buffer().len());
        busy.write_all(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
            .unwrap();
        assert_eq!(wait_readable(&mut back, || true), Waited::Request);
        pool.hand_back(back);
        assert_eq!(pool.waiting(), 1);
        assert!(pool.take().is_some());

        pool.close();
        parker.join().unwrap();
        assert!(pool.take().is_none());
    }

    #[test]
    fn a_full_queue_holds_the_acceptor_until_a_worker_takes_one() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Arc::new(Pool::new(1, Duration::from_secs(5)).unwrap());
        let (_c1, a) = pair(&listener);
        let (_c2, b) = pair(&listener);
        pool.push_new(a).ok().unwrap();
        let pusher = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.push_new(b).is_ok())
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!pusher.is_finished(), "waits while the queue is full");
        assert!(pool.take().is_some());
        assert!(pusher.join().unwrap());
        assert_eq!(pool.waiting(), 1);
    }
}
