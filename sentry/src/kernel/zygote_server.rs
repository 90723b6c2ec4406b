//! The zygote's own sentry thread. Only the zygote's tracer may inject the
//! fork that makes a fresh address space, so every task that needs one
//! (execve) asks this thread; the new stub parks untraced and the asking
//! thread seizes it.

use crate::platform::ptrace::{layout::StubLayout, PlatformError, StubThread, Zygote};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use syscalls::Errno;

type Reply = Sender<Result<i32, Errno>>;

/// A handle to the zygote thread.
pub struct ZygoteClient {
    requests: Mutex<Sender<Reply>>,
    /// The layout of every stub.
    pub layout: Arc<StubLayout>,
    /// The sentry's end of the fd-donation socket.
    pub donor_socket: Arc<std::os::fd::OwnedFd>,
}

impl ZygoteClient {
    /// Starts the zygote thread (which forks the zygote) and waits until it is ready.
    pub fn start(layout: StubLayout) -> Result<ZygoteClient, PlatformError> {
        let (ready_tx, ready_rx) = channel();
        let (req_tx, req_rx) = channel::<Reply>();
        std::thread::Builder::new()
            .name("zygote".into())
            .spawn(move || {
                let mut zygote = match Zygote::create(layout) {
                    Ok(z) => {
                        let _ = ready_tx.send(Ok((z.layout.clone(), z.donor_socket.clone())));
                        z
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(reply) = req_rx.recv() {
                    let _ = reply.send(zygote.fork_parked().map_err(Errno::from));
                }
            })
            .map_err(|_| PlatformError::Host {
                op: "spawn zygote thread",
                errno: Errno::EAGAIN,
            })?;
        let (layout, donor_socket) = ready_rx.recv().map_err(|_| PlatformError::Host {
            op: "zygote thread",
            errno: Errno::EIO,
        })??;
        Ok(ZygoteClient {
            requests: Mutex::new(req_tx),
            layout,
            donor_socket,
        })
    }

    /// A fresh, empty stub traced by the calling thread.
    pub fn new_stub(&self) -> Result<StubThread, Errno> {
        let (tx, rx) = channel();
        self.requests
            .lock()
            .map_err(|_| Errno::EIO)?
            .send(tx)
            .map_err(|_| Errno::EIO)?;
        let pid = rx.recv().map_err(|_| Errno::EIO)??;
        StubThread::seize(pid, self.layout.clone()).map_err(Errno::from)
    }
}
