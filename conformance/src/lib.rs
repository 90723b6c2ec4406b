//! Shared machinery of rvisor's conformance suite and benchmark: locating
//! `runsc`, compiling the C programs, running them with a timeout, parsing
//! their `CASE` lines and rendering the native-vs-sandbox report.

pub mod build;
pub mod cases;
pub mod exec;
pub mod locate;
pub mod report;
