//! Merging native and sandboxed runs into rows, and rendering the report.
//!
//! A case counts as passed only when it passes both natively and in the
//! sandbox. A case that does not pass natively is a broken test (the
//! expectation is wrong, not the sandbox) and counts as failed too.

use serde::Serialize;

use crate::cases::{self, Outcome};
use crate::exec::{RunOutput, Status};

/// Name of the synthetic per-program case that checks the exit status.
pub const EXIT_CASE: &str = "exit";

/// One run's result for one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "reason")]
pub enum Cell {
    /// Printed PASS.
    Pass,
    /// Printed FAIL (or the exit status was wrong).
    Fail(String),
    /// Never printed: the program died or stopped early.
    Missing,
    /// The program timed out before printing it.
    Timeout,
}

impl Cell {
    /// The word shown in the table.
    pub fn word(&self) -> &'static str {
        match self {
            Cell::Pass => "PASS",
            Cell::Fail(_) => "FAIL",
            Cell::Missing => "MISSING",
            Cell::Timeout => "TIMEOUT",
        }
    }

    fn reason(&self) -> Option<&str> {
        match self {
            Cell::Fail(r) => Some(r),
            _ => None,
        }
    }
}

/// Overall verdict for a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Passes natively and in the sandbox.
    Passed,
    /// Passes natively, not in the sandbox.
    Failed,
    /// Does not pass natively: the test itself is wrong.
    Broken,
}

/// One case's results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The family (program name).
    pub family: String,
    /// The case name.
    pub case: String,
    /// Native result.
    pub native: Cell,
    /// Sandboxed result.
    pub sandbox: Cell,
}

impl Row {
    /// How this row counts.
    pub fn verdict(&self) -> Verdict {
        match (&self.native, &self.sandbox) {
            (Cell::Pass, Cell::Pass) => Verdict::Passed,
            (Cell::Pass, _) => Verdict::Failed,
            _ => Verdict::Broken,
        }
    }

    /// `family/case`, what `--filter` matches against.
    pub fn key(&self) -> String {
        format!("{}/{}", self.family, self.case)
    }
}

/// One run of a program, reduced to per-case cells.
#[derive(Debug, Clone, Default)]
pub struct RunCells {
    cells: Vec<(String, String, Cell)>,
    timed_out: bool,
}

impl RunCells {
    /// Parses a run's stdout and adds the synthetic exit-status case.
    pub fn from_run(program: &str, out: &RunOutput) -> Self {
        let parsed = cases::parse(&out.stdout);
        let mut cells: Vec<(String, String, Cell)> = parsed
            .cases
            .into_iter()
            .map(|c| {
                let cell = match c.outcome {
                    Outcome::Pass => Cell::Pass,
                    Outcome::Fail(r) => Cell::Fail(r),
                };
                (c.family, c.case, cell)
            })
            .collect();
        let want = parsed.expect_exit.unwrap_or(0);
        let exit = match &out.status {
            Status::Exited(c) if *c == want => Cell::Pass,
            Status::TimedOut => Cell::Timeout,
            other => Cell::Fail(format!(
                "{other}, expected exit status {want}{}",
                stderr_hint(&out.stderr)
            )),
        };
        cells.push((program.to_string(), EXIT_CASE.to_string(), exit));
        RunCells {
            cells,
            timed_out: out.status == Status::TimedOut,
        }
    }

    /// A run that never happened (e.g. the program did not compile).
    pub fn failed(program: &str, case: &str, reason: &str) -> Self {
        RunCells {
            cells: vec![(program.to_string(), case.to_string(), Cell::Fail(reason.to_string()))],
            timed_out: false,
        }
    }

    /// The `family/case` keys this run reported.
    pub fn keys(&self) -> impl Iterator<Item = String> + '_ {
        self.cells.iter().map(|(f, c, _)| format!("{f}/{c}"))
    }

    fn get(&self, family: &str, case: &str) -> Cell {
        self.cells.iter().find(|(f, c, _)| f == family && c == case).map_or(
            if self.timed_out { Cell::Timeout } else { Cell::Missing },
            |(_, _, cell)| cell.clone(),
        )
    }
}

/// The last non-empty stderr line, as a hint of why a run died.
fn stderr_hint(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map_or_else(String::new, |l| {
            let l: String = l.chars().take(160).collect();
            format!(" (stderr: {l})")
        })
}

/// Joins the two runs of one program into rows: native order first, then
/// anything only the sandbox printed.
pub fn merge(native: &RunCells, sandbox: &RunCells) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for (f, c, _) in native.cells.iter().chain(sandbox.cells.iter()) {
        if rows.iter().any(|r| &r.family == f && &r.case == c) {
            continue;
        }
        rows.push(Row {
            family: f.clone(),
            case: c.clone(),
            native: native.get(f, c),
            sandbox: sandbox.get(f, c),
        });
    }
    rows
}

/// `(passed, failed)`: broken rows count as failed.
pub fn totals(rows: &[Row]) -> (usize, usize) {
    let passed = rows.iter().filter(|r| r.verdict() == Verdict::Passed).count();
    (passed, rows.len() - passed)
}

/// The final summary line, exactly `N passed, M failed`.
pub fn summary_line(rows: &[Row]) -> String {
    let (p, f) = totals(rows);
    format!("{p} passed, {f} failed")
}

/// The aligned table `family case native sandbox`. A natively failing case
/// shows BROKEN in the native column.
pub fn table(rows: &[Row]) -> String {
    let native_word = |r: &Row| if r.native == Cell::Pass { "PASS" } else { "BROKEN" };
    let wf = rows
        .iter()
        .map(|r| r.family.len())
        .chain(["family".len()])
        .max()
        .unwrap_or(6);
    let wc = rows
        .iter()
        .map(|r| r.case.len())
        .chain(["case".len()])
        .max()
        .unwrap_or(4);
    let wn = "native".len().max("BROKEN".len());
    let mut out = format!("{:<wf$}  {:<wc$}  {:<wn$}  sandbox\n", "family", "case", "native");
    for r in rows {
        out.push_str(&format!(
            "{:<wf$}  {:<wc$}  {:<wn$}  {}\n",
            r.family,
            r.case,
            native_word(r),
            r.sandbox.word()
        ));
    }
    out
}

/// Reasons for every row that did not pass, one block per row.
pub fn details(rows: &[Row]) -> String {
    let mut out = String::new();
    for r in rows.iter().filter(|r| r.verdict() != Verdict::Passed) {
        out.push_str(&format!("{}:\n", r.key()));
        for (label, cell) in [("native", &r.native), ("sandbox", &r.sandbox)] {
            if cell != &Cell::Pass {
                match cell.reason() {
                    Some(reason) => out.push_str(&format!("  {label}: {} {reason}\n", cell.word())),
                    None => out.push_str(&format!("  {label}: {}\n", cell.word())),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn run(stdout: &str, status: Status) -> RunOutput {
        RunOutput {
            status,
            stdout: stdout.into(),
            stderr: "boom\n".into(),
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn merge_marks_missing_and_exit_status() {
        let native = RunCells::from_run("p", &run("CASE p a PASS\nCASE p b PASS\n", Status::Exited(0)));
        let sandbox = RunCells::from_run("p", &run("CASE p a PASS\n", Status::Exited(139)));
        let rows = merge(&native, &sandbox);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].verdict(), Verdict::Passed);
        assert_eq!(rows[1].sandbox, Cell::Missing);
        assert_eq!(rows[1].verdict(), Verdict::Failed);
        assert_eq!(rows[2].case, EXIT_CASE);
        assert!(
            matches!(&rows[2].sandbox, Cell::Fail(r) if r.contains("signal 11") && r.contains("boom")),
            "{:?}",
            rows[2].sandbox
        );
        assert_eq!(summary_line(&rows), "1 passed, 2 failed");
    }

    #[test]
    fn expect_exit_and_timeout() {
        let native = RunCells::from_run("e", &run("EXPECT_EXIT 42\n", Status::Exited(42)));
        let sandbox = RunCells::from_run("e", &run("", Status::TimedOut));
        let rows = merge(&native, &sandbox);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].native, Cell::Pass);
        assert_eq!(rows[0].sandbox, Cell::Timeout);
    }

    #[test]
    fn native_failure_is_broken_and_counts_failed() {
        let native = RunCells::from_run("p", &run("CASE p a FAIL nope\n", Status::Exited(0)));
        let sandbox = RunCells::from_run("p", &run("CASE p a PASS\nCASE p extra PASS\n", Status::Exited(0)));
        let rows = merge(&native, &sandbox);
        assert_eq!(rows[0].verdict(), Verdict::Broken);
        // Only the sandbox printed "extra": natively missing means broken too.
        let extra = rows.iter().find(|r| r.case == "extra").map(Row::verdict);
        assert_eq!(extra, Some(Verdict::Broken));
        assert_eq!(totals(&rows), (1, 2));
        let t = table(&rows);
        assert!(
            t.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["p", "a", "BROKEN", "PASS"]),
            "{t}"
        );
        assert!(details(&rows).contains("native: FAIL nope"));
    }

    #[test]
    fn table_is_aligned() {
        let rows = vec![
            Row {
                family: "f".into(),
                case: "long_case_name".into(),
                native: Cell::Pass,
                sandbox: Cell::Pass,
            },
            Row {
                family: "family2".into(),
                case: "c".into(),
                native: Cell::Pass,
                sandbox: Cell::Missing,
            },
        ];
        let t = table(&rows);
        let cols: Vec<usize> = t
            .lines()
            .filter_map(|l| l.find("PASS").or_else(|| l.find("native")))
            .collect();
        assert_eq!(cols.len(), 3);
        assert!(cols.iter().all(|c| *c == cols[0]), "{t}");
    }
}
