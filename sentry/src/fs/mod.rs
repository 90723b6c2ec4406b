//! Filesystem implementations mounted into the VFS.
