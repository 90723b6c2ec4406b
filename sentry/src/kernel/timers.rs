//! Timers: interval timers (alarm/setitimer), POSIX timers (timer_create),
//! timerfd expirations and clock sleeps, all driven by one service thread.
//!
//! A [`Timer`] keeps its next deadline on its own clock (realtime,
//! monotonic, boottime, or the process's CPU clock). Armed timers are
//! queued in the service thread's binary heap as a host `Instant` estimate;
//! when an entry comes due the thread re-reads the timer's clock, so a
//! realtime or CPU deadline that is not reached yet is simply queued again
//! (CPU clocks are polled every [`CPU_POLL`]). Entries carry the timer's
//! generation: re-arming or deleting a timer makes its old entries stale.
//!
//! Per-process state (the three itimers and the POSIX timer table) lives in
//! a table keyed by tgid; the kernel calls [`on_exec`] and [`on_exit`] to
//! apply Linux's exec/exit rules, and [`on_timer_signal_delivered`] when it
//! delivers an `SI_TIMER` signal (which resets the overrun count).
//!
//! Interrupted relative sleeps leave a [`RestartBlock`] for
//! `restart_syscall(2)`.

use super::signal::{SigInfo, SignalTarget};
use super::wait::{sleep_until, WaitQueue};
use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};
use syscalls::structs::Timespec;
use syscalls::{Errno, Pod};

/// `si_code` of signals sent by POSIX timers.
pub const SI_TIMER: i32 = -2;
/// `si_code` of signals sent by the kernel (itimers).
pub const SI_KERNEL: i32 = 0x80;
/// How often a timer on a CPU clock re-reads the clock.
pub const CPU_POLL: Duration = Duration::from_millis(10);
/// The longest the service thread sleeps before re-checking its heap.
const MAX_NAP: Duration = Duration::from_secs(3600);
/// Nanoseconds per second.
pub const NSEC_PER_SEC: u64 = 1_000_000_000;
/// At most this many POSIX timers per process (Linux bounds them by
/// RLIMIT_SIGPENDING; the sandbox by a fixed cap).
const MAX_POSIX_TIMERS: usize = 1 << 16;

/// The clock a timer or a sleep measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerClock {
    /// `CLOCK_REALTIME`.
    Realtime,
    /// `CLOCK_MONOTONIC`.
    Monotonic,
    /// `CLOCK_BOOTTIME`.
    Boottime,
    /// `CLOCK_TAI`.
    Tai,
    /// A host CPU clock id (the stub process's CPU clock), polled.
    Cpu(libc::clockid_t),
}

impl TimerClock {
    /// The host clock id to read.
    pub fn host_id(self) -> libc::clockid_t {
        match self {
            TimerClock::Realtime => libc::CLOCK_REALTIME,
            TimerClock::Monotonic => libc::CLOCK_MONOTONIC,
            TimerClock::Boottime => libc::CLOCK_BOOTTIME,
            TimerClock::Tai => libc::CLOCK_TAI,
            TimerClock::Cpu(id) => id,
        }
    }

    /// Whether the clock only advances while the process runs (polled).
    pub fn is_cpu(self) -> bool {
        matches!(self, TimerClock::Cpu(_))
    }

    /// The current time on this clock, in nanoseconds.
    pub fn now_ns(self) -> Result<u64, Errno> {
        let mut ts = Timespec::zeroed();
        // SAFETY: clock_gettime writes one timespec into `ts`.
        if unsafe { libc::clock_gettime(self.host_id(), &mut ts) } != 0 {
            return Err(Errno::last());
        }
        Ok(timespec_to_ns(&ts))
    }
}

/// A validated timespec as nanoseconds (saturating: far-future values stay
/// far in the future).
pub fn timespec_to_ns(ts: &Timespec) -> u64 {
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nsec = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(NSEC_PER_SEC).saturating_add(nsec)
}

/// Nanoseconds as a timespec.
pub fn ns_to_timespec(ns: u64) -> Timespec {
    let mut ts = Timespec::zeroed();
    ts.tv_sec = (ns / NSEC_PER_SEC) as i64;
    ts.tv_nsec = (ns % NSEC_PER_SEC) as i64;
    ts
}

/// Whether a guest timespec is valid for a timer or a sleep (Linux's
/// `timespec64_valid`: non-negative seconds, nanoseconds below one second).
pub fn timespec_valid(ts: &Timespec) -> bool {
    ts.tv_sec >= 0 && (0..NSEC_PER_SEC as i64).contains(&ts.tv_nsec)
}

/// How many times a timer due at `next` with period `interval` has expired
/// by `now`, and its next deadline afterwards (`None`: a one-shot timer that
/// fired, now disarmed).
pub fn expirations(next: u64, interval: u64, now: u64) -> (u64, Option<u64>) {
    if now < next {
        return (0, Some(next));
    }
    if interval == 0 {
        return (1, None);
    }
    let count = (now - next) / interval + 1;
    (count, Some(next.saturating_add(count.saturating_mul(interval))))
}

/// A timer's setting as timer_gettime reports it: the time left to the next
/// expiry (0 when disarmed) and the reload interval, both in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerSpec {
    /// Time to the next expiry, relative; 0 when disarmed.
    pub value: u64,
    /// Reload interval; 0 for one-shot timers.
    pub interval: u64,
}

/// The setting of a timer with deadline `next` and period `interval` seen
/// at `now` (periodic timers are forwarded past expiries not yet handled).
pub fn view(next: Option<u64>, interval: u64, now: u64) -> TimerSpec {
    let value = match next {
        None => 0,
        Some(n) => match expirations(n, interval, now).1 {
            Some(next) => next - now.min(next),
            None => 0,
        },
    };
    TimerSpec { value, interval }
}

/// What an expiry does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// Nothing (`SIGEV_NONE`): only timer_gettime observes the timer.
    None,
    /// Send a signal. POSIX timers (`posix`) send one at a time and count
    /// overruns while it is pending; itimers send one per expiry.
    Signal {
        /// Who gets the signal.
        target: SignalTarget,
        /// The siginfo to send (`status` is filled with the overrun at delivery).
        info: SigInfo,
        /// Whether this is a POSIX timer (overrun accounting).
        posix: bool,
    },
    /// Count expirations for a timerfd and wake its readers.
    Fd,
}

#[derive(Debug, Default)]
struct TimerState {
    /// Next deadline on the timer's clock; `None` when disarmed.
    next: Option<u64>,
    /// Reload interval in nanoseconds.
    interval: u64,
    /// Bumped at every (re)arm: older heap entries are stale.
    generation: u64,
    /// timerfd: expirations not yet read.
    ticks: u64,
    /// POSIX timers: expirations while the signal was pending.
    overrun: u64,
    /// POSIX timers: the overrun of the last delivered signal.
    overrun_last: i32,
    /// POSIX timers: a signal is queued and not yet delivered.
    pending: bool,
}

/// One timer: an itimer, a POSIX timer or a timerfd's timer.
pub struct Timer {
    clock: TimerClock,
    notify: Notify,
    /// Keep the interval when disarmed with a zero value (timerfd and CPU
    /// itimers do; POSIX timers and ITIMER_REAL clear it).
    keep_interval: bool,
    state: Mutex<TimerState>,
    queue: WaitQueue,
}

impl Timer {
    /// A disarmed timer on `clock` that does `notify` at each expiry.
    pub fn new(clock: TimerClock, notify: Notify) -> Arc<Timer> {
        Arc::new(Timer {
            clock,
            keep_interval: notify == Notify::Fd || clock.is_cpu(),
            notify,
            state: Mutex::new(TimerState::default()),
            queue: WaitQueue::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, TimerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The timer's clock.
    pub fn clock(&self) -> TimerClock {
        self.clock
    }

    /// The queue notified at each expiry (timerfd readers sleep on it).
    pub fn queue(&self) -> &WaitQueue {
        &self.queue
    }

    /// Arms (`value` > 0) or disarms (`value` == 0) the timer. `value` is
    /// relative, or a deadline on the timer's clock when `absolute`.
    /// Returns the previous setting.
    pub fn set(self: &Arc<Self>, value: u64, interval: u64, absolute: bool) -> Result<TimerSpec, Errno> {
        let now = self.clock.now_ns()?;
        let mut st = self.lock();
        let old = view(st.next, st.interval, now);
        st.generation = st.generation.wrapping_add(1);
        st.ticks = 0;
        st.overrun = 0;
        st.overrun_last = 0;
        if value == 0 {
            st.next = None;
            st.interval = if self.keep_interval { interval } else { 0 };
            return Ok(old);
        }
        let next = if absolute { value } else { now.saturating_add(value) };
        st.next = Some(next);
        st.interval = interval;
        if self.notify != Notify::None {
            schedule(self, st.generation, next.saturating_sub(now));
        }
        Ok(old)
    }

    /// The current setting.
    pub fn get(&self) -> Result<TimerSpec, Errno> {
        let now = self.clock.now_ns()?;
        let st = self.lock();
        Ok(view(st.next, st.interval, now))
    }

    /// Disarms the timer (pending heap entries become stale).
    pub fn disarm(&self) {
        let mut st = self.lock();
        st.generation = st.generation.wrapping_add(1);
        st.next = None;
    }

    /// Applies the expiries due by now to a timerfd's tick count. Returns
    /// the number of newly counted expirations.
    fn catch_up(&self, st: &mut TimerState) -> u64 {
        let Some(next) = st.next else { return 0 };
        let Ok(now) = self.clock.now_ns() else { return 0 };
        let (count, new_next) = expirations(next, st.interval, now);
        st.next = new_next;
        st.ticks = st.ticks.saturating_add(count);
        count
    }

    /// timerfd: takes the expirations counted so far (None when there are none).
    pub fn take_ticks(&self) -> Option<u64> {
        let mut st = self.lock();
        self.catch_up(&mut st);
        let t = std::mem::take(&mut st.ticks);
        (t > 0).then_some(t)
    }

    /// timerfd: whether a read would return now.
    pub fn has_ticks(&self) -> bool {
        let st = self.lock();
        if st.ticks > 0 {
            return true;
        }
        let Some(next) = st.next else { return false };
        self.clock.now_ns().is_ok_and(|now| now >= next)
    }

    /// POSIX timers: the overrun of the last delivered signal.
    pub fn overrun(&self) -> i32 {
        self.lock().overrun_last
    }

    /// POSIX timers: the signal was delivered. Records and returns its overrun.
    pub fn signal_delivered(&self) -> i32 {
        let mut st = self.lock();
        st.overrun_last = i32::try_from(st.overrun).unwrap_or(i32::MAX);
        st.overrun = 0;
        st.pending = false;
        st.overrun_last
    }

    /// Called by the service thread when an entry of generation `generation` is due.
    fn fire(self: &Arc<Self>, generation: u64) {
        let post_info = {
            let mut st = self.lock();
            if st.generation != generation {
                return;
            }
            let Some(next) = st.next else { return };
            let now = match self.clock.now_ns() {
                Ok(now) => now,
                Err(_) => {
                    // The clock is gone (the stub process exited): disarm.
                    st.next = None;
                    return;
                }
            };
            if now < next {
                schedule(self, generation, next - now);
                return;
            }
            if self.notify == Notify::Fd {
                self.catch_up(&mut st);
                if let Some(n) = st.next {
                    schedule(self, generation, n.saturating_sub(now));
                }
                drop(st);
                self.queue.notify_all();
                return;
            }
            let (count, new_next) = expirations(next, st.interval, now);
            st.next = new_next;
            if let Some(n) = new_next {
                schedule(self, generation, n.saturating_sub(now));
            }
            match self.notify {
                Notify::Signal { target, info, posix } => {
                    if posix && st.pending {
                        st.overrun = st.overrun.saturating_add(count);
                        None
                    } else {
                        if posix {
                            st.pending = true;
                            st.overrun = st.overrun.saturating_add(count - 1);
                        }
                        Some((target, info, posix))
                    }
                }
                Notify::None | Notify::Fd => None,
            }
        };
        // The signal is posted with no timer lock held: delivery calls back
        // into `signal_delivered`.
        if let Some((target, info, posix)) = post_info {
            match deliver(target, info) {
                Ok(()) => {}
                // The process or thread is gone: stop firing.
                Err(e) if e == Errno::ESRCH => {
                    let mut st = self.lock();
                    st.pending = false;
                    if st.generation == generation {
                        st.next = None;
                    }
                }
                Err(_) if posix => self.lock().pending = false,
                Err(_) => {}
            }
        }
    }
}

/// Posts a timer's signal.
fn deliver(target: SignalTarget, info: SigInfo) -> Result<(), Errno> {
    crate::kernel::signal::post(target, info)
}

/// One queued expiry check.
struct Entry {
    when: Instant,
    seq: u64,
    timer: Weak<Timer>,
    generation: u64,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.when, self.seq) == (other.when, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.when, self.seq).cmp(&(other.when, other.seq))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

/// The timer service: the heap of deadlines and the condvar its thread
/// sleeps on.
#[derive(Default)]
struct Service {
    queue: Mutex<Queue>,
    cond: Condvar,
}

impl Service {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The service thread: pops due entries and fires their timers.
    fn run(&self) {
        loop {
            let due = {
                let mut q = self.lock();
                loop {
                    let now = Instant::now();
                    let mut due = Vec::new();
                    while q.heap.peek().is_some_and(|Reverse(e)| e.when <= now) {
                        if let Some(Reverse(e)) = q.heap.pop() {
                            due.push(e);
                        }
                    }
                    if !due.is_empty() {
                        break due;
                    }
                    let nap = q.heap.peek().map_or(MAX_NAP, |Reverse(e)| (e.when - now).min(MAX_NAP));
                    q = match self.cond.wait_timeout(q, nap) {
                        Ok((q, _)) => q,
                        Err(e) => e.into_inner().0,
                    };
                }
            };
            for e in due {
                if let Some(timer) = e.timer.upgrade() {
                    timer.fire(e.generation);
                }
            }
        }
    }
}

/// The service, its thread started on first use.
fn service() -> &'static Service {
    static SERVICE: OnceLock<&'static Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let svc: &'static Service = Box::leak(Box::default());
        let spawned = std::thread::Builder::new()
            .name("rvisor-timers".into())
            .spawn(move || svc.run());
        if let Err(e) = spawned {
            tracing::error!("cannot start the timer thread: {e}");
        }
        svc
    })
}

/// Queues a check of `timer` in `delay` nanoseconds (CPU clocks: at most
/// [`CPU_POLL`] from now, since CPU time may advance faster or slower than
/// wall time).
fn schedule(timer: &Arc<Timer>, generation: u64, delay: u64) {
    let mut delay = Duration::from_nanos(delay);
    if timer.clock.is_cpu() {
        delay = delay.min(CPU_POLL);
    }
    let now = Instant::now();
    let when = now.checked_add(delay.min(MAX_NAP)).unwrap_or(now);
    let svc = service();
    let mut q = svc.lock();
    q.seq = q.seq.wrapping_add(1);
    let seq = q.seq;
    q.heap.push(Reverse(Entry {
        when,
        seq,
        timer: Arc::downgrade(timer),
        generation,
    }));
    drop(q);
    svc.cond.notify_one();
}

/// Sleeps until `deadline` on `clock`. `Err(ERESTARTSYS)` when a signal
/// interrupts the sleep.
pub fn sleep_until_clock(clock: TimerClock, deadline: u64) -> Result<(), Errno> {
    loop {
        let now = clock.now_ns()?;
        if now >= deadline {
            return Ok(());
        }
        let mut step = Duration::from_nanos(deadline - now);
        if clock.is_cpu() {
            step = step.min(CPU_POLL);
        }
        let start = Instant::now();
        sleep_until(start.checked_add(step.min(MAX_NAP)).unwrap_or(start))?;
    }
}

/// What `restart_syscall(2)` needs to resume an interrupted relative sleep
/// (nanosleep, relative clock_nanosleep): the absolute deadline on its
/// clock and where to report the time left if interrupted again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartBlock {
    /// The clock the sleep measures.
    pub clock: TimerClock,
    /// The absolute deadline on `clock`, in nanoseconds.
    pub deadline: u64,
    /// The guest's `rem` pointer (0 for none).
    pub rem_addr: u64,
}

thread_local! {
    /// The current task's restart block. Each task is served by its own
    /// sentry thread, so a thread-local is a per-task slot.
    static RESTART: Cell<Option<RestartBlock>> = const { Cell::new(None) };
}

/// Records the restart block of the current task (before returning
/// `ERESTART_RESTARTBLOCK`).
pub fn set_restart_block(block: RestartBlock) {
    RESTART.with(|r| r.set(Some(block)));
}

/// Takes the current task's restart block (restart_syscall consumes it).
pub fn take_restart_block() -> Option<RestartBlock> {
    RESTART.with(Cell::take)
}

/// Forgets the current task's restart block (a handler ran: Linux makes
/// restart_syscall fail with EINTR from then on).
pub fn clear_restart_block() {
    RESTART.with(|r| r.set(None));
}

/// `ITIMER_REAL`, `ITIMER_VIRTUAL`, `ITIMER_PROF`.
const NUM_ITIMERS: usize = 3;

/// One process's timers.
#[derive(Default)]
struct ProcessTimers {
    itimers: [Option<Arc<Timer>>; NUM_ITIMERS],
    posix: BTreeMap<i32, Arc<Timer>>,
    next_id: i32,
}

fn tables() -> MutexGuard<'static, HashMap<i32, ProcessTimers>> {
    static TABLES: OnceLock<Mutex<HashMap<i32, ProcessTimers>>> = OnceLock::new();
    TABLES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The signal an itimer sends.
fn itimer_signal(which: usize) -> i32 {
    match which {
        0 => libc::SIGALRM,
        1 => libc::SIGVTALRM,
        _ => libc::SIGPROF,
    }
}

/// The itimer `which` of process `tgid`, created on first use. `cpu` is the
/// process's CPU clock (used by ITIMER_VIRTUAL and ITIMER_PROF).
fn itimer(tgid: i32, which: i32, cpu: libc::clockid_t) -> Result<Arc<Timer>, Errno> {
    let idx = usize::try_from(which)
        .ok()
        .filter(|&w| w < NUM_ITIMERS)
        .ok_or(Errno::EINVAL)?;
    let mut tables = tables();
    let slot = &mut tables.entry(tgid).or_default().itimers[idx];
    if let Some(t) = slot {
        return Ok(t.clone());
    }
    let clock = if idx == 0 {
        TimerClock::Monotonic
    } else {
        TimerClock::Cpu(cpu)
    };
    let info = SigInfo {
        signo: itimer_signal(idx),
        code: SI_KERNEL,
        ..SigInfo::default()
    };
    let timer = Timer::new(
        clock,
        Notify::Signal {
            target: SignalTarget::Process(tgid),
            info,
            posix: false,
        },
    );
    *slot = Some(timer.clone());
    Ok(timer)
}

/// getitimer: the setting of itimer `which` of process `tgid`.
pub fn itimer_get(tgid: i32, which: i32, cpu: libc::clockid_t) -> Result<TimerSpec, Errno> {
    itimer(tgid, which, cpu)?.get()
}

/// setitimer: arms itimer `which` (relative `value`, reload `interval`);
/// returns the old setting.
pub fn itimer_set(tgid: i32, which: i32, cpu: libc::clockid_t, value: u64, interval: u64) -> Result<TimerSpec, Errno> {
    itimer(tgid, which, cpu)?.set(value, interval, false)
}

/// timer_create: adds a POSIX timer to process `tgid`. `notify` builds the
/// expiry action from the new timer's id. Returns the id (ids start at 0).
pub fn posix_create(tgid: i32, clock: TimerClock, notify: impl FnOnce(i32) -> Notify) -> Result<i32, Errno> {
    let mut tables = tables();
    let table = tables.entry(tgid).or_default();
    if table.posix.len() >= MAX_POSIX_TIMERS {
        return Err(Errno::EAGAIN);
    }
    let mut id = table.next_id;
    while table.posix.contains_key(&id) {
        id = id.checked_add(1).unwrap_or(0);
    }
    table.next_id = id.checked_add(1).unwrap_or(0);
    table.posix.insert(id, Timer::new(clock, notify(id)));
    Ok(id)
}

/// The POSIX timer `id` of process `tgid` (EINVAL when there is none).
pub fn posix_timer(tgid: i32, id: i32) -> Result<Arc<Timer>, Errno> {
    tables()
        .get(&tgid)
        .and_then(|t| t.posix.get(&id))
        .cloned()
        .ok_or(Errno::EINVAL)
}

/// timer_delete: removes POSIX timer `id` of process `tgid`.
pub fn posix_delete(tgid: i32, id: i32) -> Result<(), Errno> {
    let timer = tables()
        .get_mut(&tgid)
        .and_then(|t| t.posix.remove(&id))
        .ok_or(Errno::EINVAL)?;
    timer.disarm();
    Ok(())
}

/// The kernel delivered the `SI_TIMER` signal of POSIX timer `timer_id`
/// of process `tgid`: returns the overrun to put in `si_overrun` and lets
/// the timer queue its next signal. Returns 0 for unknown timers.
pub fn on_timer_signal_delivered(tgid: i32, timer_id: i32) -> i32 {
    posix_timer(tgid, timer_id).map_or(0, |t| t.signal_delivered())
}

/// A process called execve: its POSIX timers are deleted; its itimers
/// (and alarm) survive, as on Linux.
pub fn on_exec(tgid: i32) {
    let timers = match tables().get_mut(&tgid) {
        Some(t) => std::mem::take(&mut t.posix),
        None => return,
    };
    for t in timers.values() {
        t.disarm();
    }
}

/// A process exited: all its timers go.
pub fn on_exit(tgid: i32) {
    let Some(table) = tables().remove(&tgid) else { return };
    for t in table.posix.values().chain(table.itimers.iter().flatten()) {
        t.disarm();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn expirations_counts_periods_and_forwards_the_deadline() {
        assert_eq!(expirations(100, 10, 99), (0, Some(100)));
        assert_eq!(expirations(100, 10, 100), (1, Some(110)));
        assert_eq!(expirations(100, 10, 109), (1, Some(110)));
        assert_eq!(expirations(100, 10, 110), (2, Some(120)));
        assert_eq!(expirations(100, 10, 135), (4, Some(140)));
        // One-shot timers fire once and disarm.
        assert_eq!(expirations(100, 0, 1000), (1, None));
        // Far-future arithmetic saturates instead of overflowing.
        assert_eq!(expirations(u64::MAX - 5, 0, u64::MAX), (1, None));
        assert_eq!(expirations(10, u64::MAX, u64::MAX).0, 1);
    }

    #[test]
    fn view_reports_time_left_and_forwards_periodic_timers() {
        assert_eq!(view(None, 5, 100), TimerSpec { value: 0, interval: 5 });
        assert_eq!(view(Some(150), 0, 100), TimerSpec { value: 50, interval: 0 });
        assert_eq!(view(Some(150), 0, 200), TimerSpec { value: 0, interval: 0 });
        assert_eq!(
            view(Some(150), 30, 200),
            TimerSpec {
                value: 10,
                interval: 30
            }
        );
    }

    #[test]
    fn timespec_conversion_and_validation() {
        let ts = ns_to_timespec(3 * NSEC_PER_SEC + 7);
        assert_eq!((ts.tv_sec, ts.tv_nsec), (3, 7));
        assert_eq!(timespec_to_ns(&ts), 3 * NSEC_PER_SEC + 7);
        let mut big = Timespec::zeroed();
        big.tv_sec = i64::MAX;
        assert_eq!(timespec_to_ns(&big), u64::MAX);
        assert!(timespec_valid(&ts));
        let mut bad = ts;
        bad.tv_nsec = NSEC_PER_SEC as i64;
        assert!(!timespec_valid(&bad));
        bad.tv_nsec = -1;
        assert!(!timespec_valid(&bad));
        bad.tv_nsec = 0;
        bad.tv_sec = -1;
        assert!(!timespec_valid(&bad));
    }

    #[test]
    fn set_returns_old_value_and_disarm_rules() {
        let t = Timer::new(TimerClock::Monotonic, Notify::None);
        assert_eq!(t.set(1000 * MS, 50 * MS, false).unwrap(), TimerSpec::default());
        let old = t.set(0, 50 * MS, false).unwrap();
        assert!(old.value > 900 * MS && old.value <= 1000 * MS, "{old:?}");
        assert_eq!(old.interval, 50 * MS);
        // POSIX timers drop the interval when disarmed; timerfds keep it.
        assert_eq!(t.get().unwrap(), TimerSpec::default());
        let fd = Timer::new(TimerClock::Monotonic, Notify::Fd);
        fd.set(0, 50 * MS, false).unwrap();
        assert_eq!(
            fd.get().unwrap(),
            TimerSpec {
                value: 0,
                interval: 50 * MS
            }
        );
    }

    #[test]
    fn absolute_deadline_in_the_past_expires_at_once() {
        let t = Timer::new(TimerClock::Monotonic, Notify::Fd);
        let now = TimerClock::Monotonic.now_ns().unwrap();
        t.set(now - 1, 0, true).unwrap();
        assert!(t.has_ticks());
        assert_eq!(t.take_ticks(), Some(1));
        assert_eq!(t.take_ticks(), None);
        assert_eq!(t.get().unwrap(), TimerSpec::default());
    }

    #[test]
    fn timerfd_timer_counts_expirations_through_the_service_thread() {
        let t = Timer::new(TimerClock::Monotonic, Notify::Fd);
        t.set(10 * MS, 10 * MS, false).unwrap();
        // The service thread notifies the queue at the first expiry.
        let got = crate::kernel::wait::block_until(&[t.queue()], Some(Instant::now() + Duration::from_secs(5)), || {
            t.has_ticks().then_some(())
        });
        assert_eq!(got, Ok(()));
        std::thread::sleep(Duration::from_millis(35));
        let n = t.take_ticks().unwrap();
        assert!((3..=6).contains(&n), "{n} expirations");
        t.disarm();
        std::thread::sleep(Duration::from_millis(25));
        assert_eq!(t.take_ticks(), None);
    }

    #[test]
    fn posix_ids_start_at_zero_and_bad_ids_are_einval() {
        let tgid = -77;
        let a = posix_create(tgid, TimerClock::Monotonic, |_| Notify::None).unwrap();
        let b = posix_create(tgid, TimerClock::Monotonic, |_| Notify::None).unwrap();
        assert_eq!((a, b), (0, 1));
        assert!(posix_timer(tgid, 2).is_err());
        posix_delete(tgid, 0).unwrap();
        assert_eq!(posix_delete(tgid, 0), Err(Errno::EINVAL));
        // Ids are not reused right away.
        assert_eq!(posix_create(tgid, TimerClock::Monotonic, |_| Notify::None).unwrap(), 2);
        on_exec(tgid);
        assert_eq!(posix_timer(tgid, 1).err(), Some(Errno::EINVAL));
        on_exit(tgid);
    }

    #[test]
    fn overruns_are_counted_while_the_signal_is_pending() {
        let t = Timer::new(TimerClock::Monotonic, Notify::None);
        {
            let mut st = t.lock();
            st.pending = true;
            st.overrun = 4;
        }
        assert_eq!(t.signal_delivered(), 4);
        assert_eq!(t.overrun(), 4);
        assert!(!t.lock().pending);
        // Re-arming resets the counts.
        t.set(1000 * MS, 0, false).unwrap();
        assert_eq!(t.overrun(), 0);
    }

    #[test]
    fn sleep_until_clock_waits_for_the_deadline() {
        let clock = TimerClock::Monotonic;
        let start = clock.now_ns().unwrap();
        sleep_until_clock(clock, start + 20 * MS).unwrap();
        assert!(clock.now_ns().unwrap() >= start + 20 * MS);
    }

    #[test]
    fn a_pending_signal_interrupts_a_clock_sleep() {
        let waker = crate::kernel::wait::current_waker();
        let w2 = waker.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            w2.set_interrupted(true);
        });
        let clock = TimerClock::Monotonic;
        let start = clock.now_ns().unwrap();
        assert_eq!(sleep_until_clock(clock, start + 5000 * MS), Err(Errno::ERESTARTSYS));
        assert!(clock.now_ns().unwrap() < start + 4000 * MS);
        t.join().unwrap();
        waker.set_interrupted(false);
    }

    #[test]
    fn restart_block_is_taken_once() {
        let b = RestartBlock {
            clock: TimerClock::Monotonic,
            deadline: 5,
            rem_addr: 0,
        };
        set_restart_block(b);
        assert_eq!(take_restart_block(), Some(b));
        assert_eq!(take_restart_block(), None);
    }
}
