//! Connection setup between sockets of the sentry, for every family:
//! listen, accept, connecting a socket to a listener (the connecting
//! socket's own pair gets its second end, which waits on the listener's
//! queue until accepted), and datagrams addressed to another socket.
//! Name lookup (paths, abstract names, ports) is the caller's.
//!
//! Lock order: a socket's `named` before any pair lock; a listener's
//! `named` before the connecting socket's pair.

use super::*;

/// Most datagrams queued on a receiver from senders other than its pair
/// before they wait (`net.unix.max_dgram_qlen` as distributions set it).
const MAX_DGRAM_QLEN: usize = 512;
/// The largest listen backlog (`net.core.somaxconn`).
pub const SOMAXCONN: i32 = 4096;

impl UnixSocket {
    /// `listen(backlog)` on a bound stream or seqpacket socket; `cred` is
    /// the listening task's (the clients' `SO_PEERCRED`). Re-listening
    /// changes the backlog and keeps pending connections.
    pub fn listen(&self, backlog: i32, cred: Ucred) -> Result<(), Errno> {
        if self.stype == SockType::Dgram {
            return Err(EOPNOTSUPP);
        }
        let backlog = if (backlog as u32) > SOMAXCONN as u32 {
            SOMAXCONN
        } else {
            backlog
        } as usize;
        let mut named = self.named();
        if named.local.is_none() || self.pair.lock().ends[self.side].connected {
            return Err(Errno::EINVAL);
        }
        match named.listener.as_mut() {
            Some(l) => l.backlog = backlog,
            None => {
                named.listener = Some(Listener {
                    backlog,
                    pending: VecDeque::new(),
                    cred,
                })
            }
        }
        drop(named);
        // Connectors waiting for room re-check the new backlog.
        self.pair.queue.notify_all();
        Ok(())
    }

    /// Whether the socket listens.
    pub fn is_listening(&self) -> bool {
        self.named().listener.is_some()
    }

    /// `accept`: the next pending connection's server end (EINVAL when not
    /// listening, EAGAIN when none is pending and `nonblock`).
    pub fn accept(&self, nonblock: bool) -> Result<Arc<UnixSocket>, Errno> {
        if self.stype == SockType::Dgram {
            return Err(EOPNOTSUPP);
        }
        let timeout = self.pair.lock().ends[self.side].rcvtimeo;
        let r = run(&self.pair.queue, nonblock, timeout, || {
            let mut named = self.named();
            let Some(l) = named.listener.as_mut() else {
                return Some(Err(Errno::EINVAL));
            };
            let s = l.pending.pop_front()?;
            drop(named);
            self.pair.queue.notify_all();
            Some(Ok(s))
        });
        r?.ok_or(Errno::EAGAIN)
    }

    /// Connects this unconnected stream or seqpacket socket to `listener`.
    /// `cred`: the connecting task's credentials (the server end's
    /// `SO_PEERCRED`); `limit`: a full backlog makes the caller wait (or
    /// EAGAIN) as unix sockets do, else connections always queue;
    /// `client`: the name the server end reports as its peer; `server`:
    /// the server end's own name, which this socket reports as its peer.
    pub fn connect_to(
        &self,
        listener: &Arc<UnixSocket>,
        cred: Ucred,
        nonblock: bool,
        limit: bool,
        client: Option<SockAddr>,
        server: Option<SockAddr>,
    ) -> Result<(), Errno> {
        if listener.stype != self.stype {
            return Err(Errno(libc::EPROTOTYPE));
        }
        {
            let named = self.named();
            if named.listener.is_some() {
                return Err(Errno::EINVAL);
            }
            if self.pair.lock().ends[self.side].connected {
                return Err(Errno::EISCONN);
            }
        }
        if std::ptr::eq(Arc::as_ptr(listener), self) {
            return Err(Errno::ECONNREFUSED);
        }
        let timeout = self.pair.lock().ends[self.side].sndtimeo;
        let r = run(&listener.pair.queue, nonblock, timeout, || {
            let mut ln = listener.named();
            let Some(l) = ln.listener.as_mut() else {
                return Some(Err(Errno::ECONNREFUSED));
            };
            if limit && l.pending.len() > l.backlog {
                return None;
            }
            let server_end = Arc::new(UnixSocket {
                pair: self.pair.clone(),
                side: 1 - self.side,
                stype: self.stype,
                domain: listener.domain,
                ino: next_ino(),
                owner: listener.owner,
                named: Mutex::new(Named {
                    local: server.clone(),
                    peer: client.clone(),
                    peer_cred: Some(cred),
                    ..Default::default()
                }),
            });
            {
                let mut st = self.pair.lock();
                let (me, peer) = (self.side, 1 - self.side);
                if st.ends[me].connected {
                    return Some(Err(Errno::EISCONN));
                }
                st.ends[peer] = End::new(true);
                st.ends[me].connected = true;
            }
            l.pending.push_back(server_end);
            let lcred = l.cred;
            drop(ln);
            listener.pair.queue.notify_all();
            self.pair.queue.notify_all();
            Some(Ok(lcred))
        });
        let lcred = match r {
            Ok(Some(c)) => c,
            Ok(None) => return Err(Errno::EAGAIN),
            Err(e) => return Err(e),
        };
        let mut named = self.named();
        named.peer = server;
        named.peer_cred = Some(lcred);
        Ok(())
    }

    /// Whether this datagram socket is connected through its pair
    /// (`socketpair`), rather than by address.
    fn pair_connected(&self) -> bool {
        self.pair.lock().ends[self.side].connected
    }

    /// Whether the socket's file was released.
    pub fn is_closed(&self) -> bool {
        self.pair.lock().ends[self.side].closed
    }

    /// Sets or clears (`None`) a datagram socket's default destination.
    pub fn set_dgram_peer(&self, peer: Option<DgramPeer>) {
        let mut named = self.named();
        named.peer = match &peer {
            Some(DgramPeer::Unix(a, _)) | Some(DgramPeer::Inet(a)) => Some(a.clone()),
            None => None,
        };
        named.dgram_peer = peer;
    }

    /// Records a pending error (`SO_ERROR`, the next send or receive).
    pub fn set_error(&self, errno: i32) {
        self.pair.lock().ends[self.side].error = errno;
        self.pair.queue.notify_all();
    }

    /// A datagram send without an address from a socket that has no pair
    /// peer: to the default destination set by connect.
    pub(super) fn send_to_default(&self, data: &[u8], anc: SendAncillary, nonblock: bool) -> Result<usize, Errno> {
        if let Some(e) = self.pair.lock().ends[self.side].take_error() {
            return Err(e);
        }
        let peer = self.named().dgram_peer.clone();
        match peer {
            None if self.is_inet() => Err(Errno::EDESTADDRREQ),
            None => Err(Errno::ENOTCONN),
            Some(DgramPeer::Inet(addr)) => crate::net::inet::udp_send(self, &addr, data, anc, nonblock),
            Some(DgramPeer::Unix(_, weak)) => match weak.upgrade().filter(|t| !t.is_closed()) {
                Some(target) => {
                    let from = self.named().local.clone();
                    self.send_dgram_to(&target, data, anc, from, nonblock)
                }
                None => {
                    // The peer is gone: reported once, then unconnected.
                    self.set_dgram_peer(None);
                    Err(Errno::ECONNREFUSED)
                }
            },
        }
    }

    /// Queues the datagram `data` on `target`'s receive queue, from the
    /// address `from`. Unix targets make the sender wait (EAGAIN) when
    /// their queue is long; UDP targets drop what does not fit their
    /// receive buffer, as a network would.
    pub fn send_dgram_to(
        &self,
        target: &Arc<UnixSocket>,
        data: &[u8],
        anc: SendAncillary,
        from: Option<SockAddr>,
        nonblock: bool,
    ) -> Result<usize, Errno> {
        if target.stype != SockType::Dgram || self.stype != SockType::Dgram {
            return Err(Errno(libc::EPROTOTYPE));
        }
        let (my_passcred, sndbuf, timeout) = {
            let st = self.pair.lock();
            let me = &st.ends[self.side];
            (me.passcred, me.sndbuf, me.sndtimeo)
        };
        let udp = self.is_inet();
        if !udp && data.len() > sndbuf.saturating_sub(32) {
            return Err(Errno::EMSGSIZE);
        }
        if !udp {
            // A socket connected to someone else takes nothing from us.
            let theirs = target.named().dgram_peer.clone();
            if let Some(DgramPeer::Unix(_, w)) = theirs {
                if !std::ptr::eq(w.as_ptr(), self) {
                    return Err(Errno::EPERM);
                }
            }
        }
        let mut anc = Some(anc);
        let r = run(&target.pair.queue, nonblock, timeout, || {
            let mut st = target.pair.lock();
            let end = &mut st.ends[target.side];
            if end.closed {
                return Some(if udp { Ok(data.len()) } else { Err(Errno::ECONNREFUSED) });
            }
            if end.rcv_shutdown {
                return Some(if udp { Ok(data.len()) } else { Err(Errno::EPIPE) });
            }
            if udp {
                let queued: usize = end.queue.iter().map(|s| s.data.len()).sum();
                if queued + data.len() > end.rcvbuf {
                    return Some(Ok(data.len()));
                }
            } else if end.queue.len() >= MAX_DGRAM_QLEN {
                return None;
            }
            let a = anc.take().unwrap_or_default();
            let creds = a.creds.or_else(|| (my_passcred || end.passcred).then_some(a.sender));
            end.queue.push_back(Segment {
                data: data.to_vec(),
                consumed: 0,
                rights: a.rights,
                creds,
                charge: 0,
                from: from.clone(),
            });
            target.pair.queue.notify_all();
            Some(Ok(data.len()))
        });
        drop(anc);
        match r {
            Ok(Some(n)) => Ok(n),
            Ok(None) => Err(Errno::EAGAIN),
            Err(e) => Err(e),
        }
    }

    /// Sends without an address: through the pair, or (datagram sockets
    /// connected by address) to the default destination.
    pub(super) fn dgram_needs_default(&self) -> bool {
        self.stype == SockType::Dgram && !self.pair_connected()
    }

    /// Drops the socket's name and resets connections nobody accepted.
    pub(super) fn release_named(&self) {
        let (pending, binding) = {
            let mut n = self.named();
            (n.listener.take().map(|l| l.pending), n.binding.take())
        };
        if let Some(b) = binding {
            crate::net::unbind(&b, self);
        }
        for s in pending.into_iter().flatten() {
            s.release();
            let mut st = s.pair.lock();
            let client = 1 - s.side;
            st.ends[client].error = libc::ECONNRESET;
            st.ends[client].rcv_shutdown = true;
            st.ends[client].send_shutdown = true;
            drop(st);
            s.pair.queue.notify_all();
        }
        self.pair.queue.notify_all();
    }

    /// Readiness of a listener (`None` for other sockets): POLLIN while a
    /// connection is pending.
    pub(super) fn listener_readiness(&self) -> Option<u32> {
        let named = self.named();
        let l = named.listener.as_ref()?;
        Some(if l.pending.is_empty() {
            0
        } else {
            (libc::POLLIN | libc::POLLRDNORM) as u16 as u32
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::net::addr::UnixAddr;

    const ME: Ucred = Ucred {
        pid: 3,
        uid: 1000,
        gid: 100,
    };
    const THEM: Ucred = Ucred { pid: 4, uid: 0, gid: 0 };

    fn named_listener(backlog: i32) -> Arc<UnixSocket> {
        let l = UnixSocket::unconnected(SockType::Stream, THEM);
        l.named().local = Some(SockAddr::Unix(UnixAddr::Path(b"/s".to_vec())));
        l.listen(backlog, THEM).unwrap();
        l
    }

    fn anc() -> SendAncillary {
        SendAncillary {
            sender: ME,
            ..Default::default()
        }
    }

    #[test]
    fn connect_queues_a_server_end_that_accept_returns() {
        let l = named_listener(0);
        let c = UnixSocket::unconnected(SockType::Stream, ME);
        assert_eq!(l.readiness(libc::POLLIN as u32), 0);
        let server_name = l.named().local.clone();
        c.connect_to(&l, ME, true, true, None, server_name.clone()).unwrap();
        assert_ne!(l.readiness(libc::POLLIN as u32), 0);
        // Data sent before accept waits on the server end.
        assert_eq!(c.send(b"early", anc(), 0, true), Ok(5));
        // Backlog 0 admits one pending connection; the next waits (EAGAIN).
        let c2 = UnixSocket::unconnected(SockType::Stream, ME);
        assert_eq!(c2.connect_to(&l, ME, true, true, None, None), Err(Errno::EAGAIN));
        let s = l.accept(true).unwrap();
        assert_eq!(l.accept(true).err(), Some(Errno::EAGAIN));
        let mut buf = [0u8; 8];
        assert_eq!(s.recv(&mut buf, 0, true).unwrap().copied, 5);
        assert_eq!(s.named().peer_cred, Some(ME));
        assert_eq!(c.named().peer_cred, Some(THEM));
        assert_eq!(c.named().peer, server_name);
        assert_eq!(c.connect_to(&l, ME, true, true, None, None), Err(Errno::EISCONN));
    }

    #[test]
    fn closing_a_listener_resets_pending_clients() {
        let l = named_listener(4);
        let c = UnixSocket::unconnected(SockType::Stream, ME);
        c.connect_to(&l, ME, true, true, None, None).unwrap();
        l.release();
        let mut buf = [0u8; 4];
        assert_eq!(c.recv(&mut buf, 0, true).unwrap_err(), Errno::ECONNRESET);
        let late = UnixSocket::unconnected(SockType::Stream, ME);
        assert_eq!(
            late.connect_to(&l, ME, true, true, None, None),
            Err(Errno::ECONNREFUSED)
        );
    }

    #[test]
    fn listen_and_accept_errors() {
        let d = UnixSocket::unconnected(SockType::Dgram, ME);
        assert_eq!(d.listen(1, ME), Err(EOPNOTSUPP));
        let unbound = UnixSocket::unconnected(SockType::Stream, ME);
        assert_eq!(unbound.listen(1, ME), Err(Errno::EINVAL));
        assert_eq!(unbound.accept(true).err(), Some(Errno::EINVAL));
        let l = named_listener(1);
        let q = UnixSocket::unconnected(SockType::SeqPacket, ME);
        assert_eq!(
            q.connect_to(&l, ME, true, true, None, None),
            Err(Errno(libc::EPROTOTYPE))
        );
    }

    #[test]
    fn addressed_datagrams_carry_the_sender_name() {
        let a = UnixSocket::unconnected(SockType::Dgram, ME);
        let b = UnixSocket::unconnected(SockType::Dgram, THEM);
        let from = Some(SockAddr::Unix(UnixAddr::Abstract(b"a".to_vec())));
        assert_eq!(a.send_dgram_to(&b, b"hi", anc(), from.clone(), true), Ok(2));
        let mut buf = [0u8; 8];
        let r = b.recv(&mut buf, 0, true).unwrap();
        assert_eq!((r.copied, r.from), (2, from));
        // b connected elsewhere: a may no longer send to it.
        let c = UnixSocket::unconnected(SockType::Dgram, ME);
        b.set_dgram_peer(Some(DgramPeer::Unix(
            SockAddr::Unix(UnixAddr::Abstract(b"c".to_vec())),
            Arc::downgrade(&c),
        )));
        assert_eq!(a.send_dgram_to(&b, b"x", anc(), None, true), Err(Errno::EPERM));
        // Its default destination is used by plain sends.
        assert_eq!(b.send(b"to c", anc(), 0, true), Ok(4));
        assert_eq!(c.recv(&mut buf, 0, true).unwrap().copied, 4);
        c.release();
        assert_eq!(b.send(b"x", anc(), 0, true), Err(Errno::ECONNREFUSED));
        assert_eq!(b.send(b"x", anc(), 0, true), Err(Errno::ENOTCONN));
    }
}
