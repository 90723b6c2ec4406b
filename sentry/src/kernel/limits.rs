//! Resource limits (getrlimit/setrlimit/prlimit64), modelled in the sentry.

/// `RLIM_INFINITY`.
pub const RLIM_INFINITY: u64 = u64::MAX;
/// Number of resources (`RLIM_NLIMITS`).
pub const RLIM_NLIMITS: usize = 16;

/// One limit pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Soft limit.
    pub cur: u64,
    /// Hard limit.
    pub max: u64,
}

/// A process's resource limits, indexed by `RLIMIT_*`.
#[derive(Clone, Debug)]
pub struct Limits(pub [Limit; RLIM_NLIMITS]);

impl Default for Limits {
    /// The limits a fresh Linux process has (Debian defaults).
    fn default() -> Self {
        let inf = Limit {
            cur: RLIM_INFINITY,
            max: RLIM_INFINITY,
        };
        let mut l = [inf; RLIM_NLIMITS];
        l[libc::RLIMIT_STACK as usize] = Limit {
            cur: 8 << 20,
            max: RLIM_INFINITY,
        };
        l[libc::RLIMIT_CORE as usize] = Limit {
            cur: 0,
            max: RLIM_INFINITY,
        };
        l[libc::RLIMIT_NOFILE as usize] = Limit {
            cur: 1024,
            max: 1 << 20,
        };
        l[libc::RLIMIT_NPROC as usize] = Limit {
            cur: 63_000,
            max: 63_000,
        };
        l[libc::RLIMIT_MEMLOCK as usize] = Limit {
            cur: 8 << 20,
            max: 8 << 20,
        };
        l[libc::RLIMIT_SIGPENDING as usize] = Limit {
            cur: 63_000,
            max: 63_000,
        };
        l[libc::RLIMIT_MSGQUEUE as usize] = Limit {
            cur: 819_200,
            max: 819_200,
        };
        l[libc::RLIMIT_NICE as usize] = Limit { cur: 0, max: 0 };
        l[libc::RLIMIT_RTPRIO as usize] = Limit { cur: 0, max: 0 };
        Limits(l)
    }
}

impl Limits {
    /// The limit for `resource`, or `None` for an unknown resource.
    pub fn get(&self, resource: u32) -> Option<Limit> {
        self.0.get(resource as usize).copied()
    }

    /// The soft limit on open file descriptors.
    pub fn nofile(&self) -> u64 {
        self.0[libc::RLIMIT_NOFILE as usize].cur
    }
}
