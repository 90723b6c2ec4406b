//! shm: the tmpfs mounted at /dev/shm, where POSIX shared memory
//! (`shm_open`) and named semaphores (`sem_open`) live. It is an ordinary
//! [`TmpFs`](super::tmpfs::TmpFs); these names remain for the code that
//! knew it by them.

pub use super::tmpfs::{TmpFs as ShmFs, TmpNode as ShmNode, RENAME_EXCHANGE, RENAME_NOREPLACE};
