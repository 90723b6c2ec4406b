//! Address-space operations (mmap, munmap, mprotect, brk, ...) validated
//! here and injected into the stub.
