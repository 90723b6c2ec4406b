//! `sendmmsg` and `recvmmsg`: several `sendmsg`/`recvmsg` calls in one,
//! on any socket (unix, loopback or host). glibc's DNS resolver sends its
//! A and AAAA queries with one `sendmmsg`, so name resolution needs it.
//!
//! Linux's rules: the count of messages done is returned once one was;
//! an error on the first is the call's error. `MSG_WAITFORONE` makes every
//! receive after the first non-blocking; recvmmsg's timeout is checked
//! after each datagram (it does not bound a blocking receive, as in
//! Linux) and is not written back.

use super::socket::{sys_recvmsg, sys_sendmsg};
use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use std::time::{Duration, Instant};
use syscalls::structs::Timespec;
use syscalls::Errno;

/// `sizeof(struct mmsghdr)`: a `msghdr` and the `msg_len` after it.
const MMSGHDR: u64 = 64;
/// Offset of `msg_len`.
const MSG_LEN: u64 = 56;
/// Most messages per call (`UIO_MAXIOV`).
const UIO_MAXIOV: u32 = 1024;
/// `MSG_WAITFORONE`.
const MSG_WAITFORONE: i32 = 0x10000;

fn each(
    task: &mut Task,
    args: &SyscallArgs,
    deadline: Option<Instant>,
    call: fn(&mut Task, &SyscallArgs) -> SysResult,
) -> SysResult {
    let (fd, vec, vlen, mut flags) = (args.u64(0), args.u64(1), args.u32(2).min(UIO_MAXIOV), args.i32(3));
    let mut done = 0u32;
    while done < vlen {
        let hdr = vec + u64::from(done) * MMSGHDR;
        let one = SyscallArgs {
            nr: args.nr,
            args: [fd, hdr, (flags & !MSG_WAITFORONE) as u32 as u64, 0, 0, 0],
        };
        match call(task, &one) {
            Ok(n) => {
                task.mm.write_obj(hdr + MSG_LEN, &(n as u32))?;
                done += 1;
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
        if flags & MSG_WAITFORONE != 0 {
            flags |= libc::MSG_DONTWAIT;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }
    Ok(u64::from(done))
}

/// sendmmsg(fd, msgvec, vlen, flags).
pub fn sys_sendmmsg(task: &mut Task, args: &SyscallArgs) -> SysResult {
    each(task, args, None, sys_sendmsg)
}

/// recvmmsg(fd, msgvec, vlen, flags, timeout).
pub fn sys_recvmmsg(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let deadline = if args.u64(4) != 0 {
        let ts: Timespec = task.mm.read_obj(args.u64(4))?;
        if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
            return Err(Errno::EINVAL);
        }
        Instant::now().checked_add(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    } else {
        None
    };
    each(task, args, deadline, sys_recvmsg)
}
