//! `conformance`: builds the C conformance programs, runs each natively and
//! under `runsc do`, and reports which cases behave the same.
//!
//! Usage: `conformance [--runsc PATH] [--filter SUBSTR] [--keep] [--json FILE]
//! [--timeout SECS] [--verbose]`. Exits non-zero if any case failed.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use rvisor_conformance::build::{self, Link};
use rvisor_conformance::exec;
use rvisor_conformance::locate;
use rvisor_conformance::report::{self, Row, RunCells};

/// The program also built with `-static`, to cover the static loader path.
const STATIC_PROGRAM: &str = "mm";

/// Environment variable telling a test program it runs inside rvisor.
const SANDBOX_ENV: &str = "RVISOR_EXPECT_SANDBOX";

const USAGE: &str =
    "usage: conformance [--runsc PATH] [--filter SUBSTR] [--keep] [--json FILE] [--timeout SECS] [--verbose]";

#[derive(Debug, Default)]
struct Options {
    runsc: Option<PathBuf>,
    filter: Option<String>,
    keep: bool,
    json: Option<PathBuf>,
    timeout: Option<u64>,
    verbose: bool,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut o = Options::default();
    let mut args = args.peekable();
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--runsc" => o.runsc = Some(PathBuf::from(value("--runsc")?)),
            "--filter" => o.filter = Some(value("--filter")?),
            "--json" => o.json = Some(PathBuf::from(value("--json")?)),
            "--timeout" => {
                let v = value("--timeout")?;
                o.timeout = Some(v.parse().map_err(|_| format!("bad --timeout {v}"))?);
            }
            "--keep" => o.keep = true,
            "--verbose" | "-v" => o.verbose = true,
            "--help" | "-h" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(o)
}

/// A compiled program (or why it is not).
struct Program {
    name: String,
    /// Global runsc flags its sandboxed run needs (see [`runsc_flags`]).
    flags: Vec<String>,
    exe: Result<PathBuf, String>,
}

fn build_all(build_dir: &Path) -> Result<Vec<Program>, String> {
    let sources = build::c_sources(&locate::tests_dir()).map_err(|e| e.to_string())?;
    let mut programs = Vec::new();
    for src in sources {
        let name = build::stem(&src);
        let flags = runsc_flags(&std::fs::read_to_string(&src).unwrap_or_default());
        let mut variants = vec![(name.clone(), Link::Dynamic)];
        if name == STATIC_PROGRAM {
            variants.push((format!("{name}-static"), Link::Static));
        }
        for (prog, link) in variants {
            let exe = build_dir.join(&prog);
            let exe = build::compile(&src, &exe, link)
                .map(|()| exe)
                .map_err(|e| e.to_string());
            programs.push(Program {
                name: prog,
                flags: flags.clone(),
                exe,
            });
        }
    }
    Ok(programs)
}

/// The global runsc flags a test file asks for with a line
/// `runsc-flags: FLAG...` in a comment (e.g. `--overlay2=none` for cases
/// that must write through to the host); none by default.
fn runsc_flags(source: &str) -> Vec<String> {
    source
        .lines()
        .find_map(|l| l.split_once("runsc-flags:").map(|(_, rest)| rest))
        .map(|rest| {
            rest.trim_end_matches("*/")
                .split_whitespace()
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn run_program(exe: &Path, runsc: Option<(&Path, &[String])>, cwd: &Path, timeout: Duration) -> exec::RunOutput {
    let mut cmd = match runsc {
        Some((runsc, flags)) => {
            let mut c = Command::new(runsc);
            c.args(flags).arg("do").arg(exe).env(SANDBOX_ENV, "1");
            c
        }
        None => {
            let mut c = Command::new(exe);
            c.env_remove(SANDBOX_ENV);
            c
        }
    };
    cmd.current_dir(cwd);
    exec::run(&mut cmd, timeout)
}

fn matches(filter: Option<&str>, key: &str) -> bool {
    match filter {
        None => true,
        Some(f) => key.contains(f),
    }
}

fn real_main() -> Result<bool, String> {
    let opts = parse_args(std::env::args().skip(1))?;
    let runsc = match opts.runsc.clone().or_else(locate::default_runsc) {
        Some(p) if p.is_file() => p,
        Some(p) => return Err(format!("runsc not found at {}", p.display())),
        None => {
            let tried: Vec<String> = locate::runsc_candidates()
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            return Err(format!(
                "no runsc binary found (tried {}); build it or pass --runsc",
                tried.join(", ")
            ));
        }
    };
    let runsc = std::fs::canonicalize(&runsc).unwrap_or(runsc);
    let timeout = Duration::from_secs(opts.timeout.unwrap_or(60));
    let build_dir = std::env::temp_dir().join(format!("rvisor-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&build_dir).map_err(|e| format!("cannot create {}: {e}", build_dir.display()))?;

    eprintln!("building C programs into {}", build_dir.display());
    let programs = build_all(&build_dir)?;
    let filter = opts.filter.as_deref();
    let mut rows: Vec<Row> = Vec::new();
    let mut logs = String::new();
    for prog in &programs {
        let exe = match &prog.exe {
            Ok(exe) => exe,
            Err(e) => {
                if matches(filter, &format!("{}/build", prog.name)) {
                    let cells = RunCells::failed(&prog.name, "build", e);
                    rows.extend(report::merge(&cells, &cells));
                }
                continue;
            }
        };
        let native_out = run_program(exe, None, &build_dir, timeout);
        let native = RunCells::from_run(&prog.name, &native_out);
        let wanted = prog.name.contains(filter.unwrap_or("")) || native.keys().any(|k| matches(filter, &k));
        if !wanted {
            continue;
        }
        eprintln!(
            "running {} (native: {:.2?}) under {}",
            prog.name,
            native_out.elapsed,
            runsc.display()
        );
        let sandbox_out = run_program(exe, Some((&runsc, &prog.flags)), &build_dir, timeout);
        let sandbox = RunCells::from_run(&prog.name, &sandbox_out);
        let merged: Vec<Row> = report::merge(&native, &sandbox)
            .into_iter()
            .filter(|r| matches(filter, &r.key()))
            .collect();
        let all_ok = merged.iter().all(|r| r.verdict() == report::Verdict::Passed);
        if opts.verbose || !all_ok {
            for (label, out) in [("native", &native_out), ("sandbox", &sandbox_out)] {
                let tail: Vec<&str> = out
                    .stderr
                    .lines()
                    .rev()
                    .take(if opts.verbose { 200 } else { 15 })
                    .collect();
                if !tail.is_empty() {
                    logs.push_str(&format!("--- {} {label} stderr ({}) ---\n", prog.name, out.status));
                    for l in tail.iter().rev() {
                        logs.push_str(l);
                        logs.push('\n');
                    }
                }
            }
        }
        rows.extend(merged);
    }

    print!("{}", report::table(&rows));
    let details = report::details(&rows);
    if !details.is_empty() {
        println!("\nfailures:\n{details}");
    }
    if !logs.is_empty() {
        println!("{logs}");
    }
    if let Some(path) = &opts.json {
        let json = serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?;
        std::fs::write(path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if opts.keep {
        eprintln!("kept build dir {}", build_dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&build_dir);
    }
    println!("{}", report::summary_line(&rows));
    let (_, failed) = report::totals(&rows);
    Ok(failed == 0 && !rows.is_empty())
}

fn main() -> ExitCode {
    match real_main() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("conformance: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn args(a: &[&str]) -> impl Iterator<Item = String> {
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn parses_flags() {
        let o = parse_args(args(&[
            "--runsc",
            "/x/runsc",
            "--filter",
            "mm/",
            "--keep",
            "--timeout",
            "5",
        ]))
        .unwrap();
        assert_eq!(o.runsc, Some(PathBuf::from("/x/runsc")));
        assert_eq!(o.filter.as_deref(), Some("mm/"));
        assert!(o.keep);
        assert_eq!(o.timeout, Some(5));
        assert!(parse_args(args(&["--bogus"])).is_err());
        assert!(parse_args(args(&["--runsc"])).is_err());
        assert_eq!(
            runsc_flags("/* x\n * runsc-flags: --overlay2=none */\nint a;"),
            ["--overlay2=none"]
        );
        assert!(runsc_flags("int main(void) { return 0; }").is_empty());
        assert!(parse_args(args(&["--timeout", "x"])).is_err());
    }

    #[test]
    fn filter_matches_substrings() {
        assert!(matches(None, "files/open"));
        assert!(matches(Some("files"), "files/open"));
        assert!(matches(Some("s/op"), "files/open"));
        assert!(!matches(Some("mm"), "files/open"));
    }
}
