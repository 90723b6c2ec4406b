//! The protocol between a C test program and the runner.
//!
//! A program prints `CASE <family> <case> PASS` or `CASE <family> <case> FAIL
//! <reason>` per case, and may print `EXPECT_EXIT <n>` to announce a non-zero
//! exit status. Any other line is commentary and ignored.

use serde::Serialize;

/// The result of one case in one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "reason")]
pub enum Outcome {
    /// The case passed.
    Pass,
    /// The case failed, with the program's reason.
    Fail(String),
}

/// One parsed `CASE` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLine {
    /// The family (program name).
    pub family: String,
    /// The case name.
    pub case: String,
    /// Its outcome.
    pub outcome: Outcome,
}

/// Everything a program said on stdout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Cases in the order printed (first occurrence wins on duplicates).
    pub cases: Vec<CaseLine>,
    /// The exit status the program announced, if any.
    pub expect_exit: Option<i32>,
}

/// Parses one line; `None` for anything that is not a well-formed CASE line.
pub fn parse_case_line(line: &str) -> Option<CaseLine> {
    let rest = line.strip_prefix("CASE ")?;
    let mut it = rest.splitn(4, ' ');
    let family = it.next().filter(|s| !s.is_empty())?;
    let case = it.next().filter(|s| !s.is_empty())?;
    let verdict = it.next()?;
    let reason = it.next().unwrap_or("").trim();
    let outcome = match verdict.trim_end() {
        "PASS" => Outcome::Pass,
        "FAIL" => Outcome::Fail(if reason.is_empty() {
            "no reason given".to_string()
        } else {
            reason.to_string()
        }),
        _ => return None,
    };
    Some(CaseLine {
        family: family.to_string(),
        case: case.to_string(),
        outcome,
    })
}

/// Parses a program's whole stdout.
pub fn parse(stdout: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for line in stdout.lines() {
        if let Some(c) = parse_case_line(line) {
            if !parsed.cases.iter().any(|p| p.family == c.family && p.case == c.case) {
                parsed.cases.push(c);
            }
        } else if let Some(n) = line.strip_prefix("EXPECT_EXIT ") {
            parsed.expect_exit = n.trim().parse().ok();
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pass_and_fail() {
        let p = parse(
            "# note\nCASE files open PASS\nCASE files dup FAIL line 3: x == y (errno 2 ENOENT)\nEXPECT_EXIT 42\n",
        );
        assert_eq!(p.cases.len(), 2);
        assert_eq!(
            p.cases[0],
            CaseLine {
                family: "files".into(),
                case: "open".into(),
                outcome: Outcome::Pass
            }
        );
        assert_eq!(
            p.cases[1].outcome,
            Outcome::Fail("line 3: x == y (errno 2 ENOENT)".into())
        );
        assert_eq!(p.expect_exit, Some(42));
    }

    #[test]
    fn rejects_malformed_lines() {
        assert_eq!(parse_case_line("CASE files open"), None);
        assert_eq!(parse_case_line("CASE files open MAYBE"), None);
        assert_eq!(parse_case_line("CASE  open PASS"), None);
        assert_eq!(parse_case_line("xCASE a b PASS"), None);
        assert_eq!(
            parse_case_line("CASE a b FAIL").map(|c| c.outcome),
            Some(Outcome::Fail("no reason given".into()))
        );
    }

    #[test]
    fn first_duplicate_wins_and_bad_expect_is_ignored() {
        let p = parse("CASE a b PASS\nCASE a b FAIL later\nEXPECT_EXIT x\n");
        assert_eq!(p.cases.len(), 1);
        assert_eq!(p.cases[0].outcome, Outcome::Pass);
        assert_eq!(p.expect_exit, None);
    }
}
