//! The syscall support table printed by `runsc help syscalls`: one line per
//! x86-64 syscall (`nr name status note`) and a totals line. The data comes
//! from the same table the sentry dispatches with, so it cannot drift.

use sentry::syscalls::table::{lookup, Support};
use std::fmt::Write;

/// One syscall's row.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// Syscall number.
    pub nr: u64,
    /// Syscall name.
    pub name: &'a str,
    /// Its support status in the sentry.
    pub support: Support,
}

/// Counts per status.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Implemented with Linux semantics.
    pub full: usize,
    /// Implemented with documented limits.
    pub partial: usize,
    /// Returning an errno.
    pub unimplemented: usize,
}

impl Totals {
    /// All syscalls counted.
    pub fn total(&self) -> usize {
        self.full + self.partial + self.unimplemented
    }
}

/// The rows for every syscall the ABI crate knows, in table order.
pub fn current() -> impl Iterator<Item = Row<'static>> {
    syscalls::table::SYSCALLS.iter().map(|info| Row {
        nr: info.nr,
        name: info.name,
        support: lookup(info.nr).support,
    })
}

/// The status word and note of a support value.
fn status(support: Support) -> (&'static str, String) {
    match support {
        Support::Full => ("full", String::new()),
        Support::Partial(note) => ("partial", note.to_string()),
        Support::Unimplemented(errno) => ("unimplemented", format!("returns {}", errno.name())),
    }
}

/// Renders the table: aligned `nr name status note` lines, then
/// `N syscalls: F full, P partial, U unimplemented`.
pub fn render<'a>(rows: impl IntoIterator<Item = Row<'a>>) -> String {
    let mut out = String::new();
    let mut totals = Totals::default();
    for row in rows {
        match row.support {
            Support::Full => totals.full += 1,
            Support::Partial(_) => totals.partial += 1,
            Support::Unimplemented(_) => totals.unimplemented += 1,
        }
        let (word, note) = status(row.support);
        let line = format!("{:>3} {:<24} {:<13} {}", row.nr, row.name, word, note);
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "{} syscalls: {} full, {} partial, {} unimplemented",
        totals.total(),
        totals.full,
        totals.partial,
        totals.unimplemented
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use syscalls::Errno;

    #[test]
    fn rows_and_totals_are_rendered() {
        let rows = [
            Row {
                nr: 0,
                name: "read",
                support: Support::Full,
            },
            Row {
                nr: 9,
                name: "mmap",
                support: Support::Partial("no MAP_SHARED writes"),
            },
            Row {
                nr: 165,
                name: "mount",
                support: Support::Unimplemented(Errno::EPERM),
            },
            Row {
                nr: 1,
                name: "write",
                support: Support::Full,
            },
        ];
        let text = render(rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0], "  0 read                     full");
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["9", "mmap", "partial", "no", "MAP_SHARED", "writes"]
        );
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            ["165", "mount", "unimplemented", "returns", "EPERM"]
        );
        assert_eq!(lines[4], "4 syscalls: 2 full, 1 partial, 1 unimplemented");
    }

    #[test]
    fn empty_table_still_has_totals() {
        assert_eq!(
            render(std::iter::empty()),
            "0 syscalls: 0 full, 0 partial, 0 unimplemented\n"
        );
    }

    #[test]
    fn real_table_totals_match_its_rows() {
        let text = render(current());
        let rows = text.lines().count() - 1;
        let last = text.lines().last().unwrap_or_default();
        assert!(last.starts_with(&format!("{rows} syscalls: ")), "{last}");
        // read(2) is the first x86-64 syscall and the sentry serves it.
        assert!(text.lines().any(|l| l.split_whitespace().take(2).eq(["0", "read"])));
    }
}
