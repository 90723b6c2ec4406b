//! The ptrace platform. (Skeleton: being written.)

/// A host thread of a stub process, traced by the current sentry thread.
pub struct StubThread {
    /// Host tid.
    pub tid: i32,
}
