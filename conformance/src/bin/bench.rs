//! `rvisor-bench`: measures a getpid loop, an open+fstat+close loop over a
//! rootfs file, fork+exec+wait, pipe throughput between two processes,
//! readdir+stat of a 10,000-entry directory, a walk that stats and reads
//! every file of a tree, sequential and random file I/O, and `/bin/true`
//! start-to-exit wall time, natively,
//! under `runsc do` and under `proot` (when installed), and prints absolute
//! numbers with ratios against native from the same run.
//!
//! Usage: `rvisor-bench [--quick] [--runsc PATH]`. This is a benchmark, not a
//! test: it fails only when a program cannot be built or run at all.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use rvisor_conformance::build::{self, Link};
use rvisor_conformance::exec::{self, Status};
use rvisor_conformance::locate;

const USAGE: &str = "usage: rvisor-bench [--quick] [--runsc PATH]";

/// How a benchmark program is launched.
#[derive(Debug, Clone)]
enum Runner {
    Native,
    Runsc(PathBuf),
    Proot(PathBuf),
}

impl Runner {
    fn label(&self) -> &'static str {
        match self {
            Runner::Native => "native",
            Runner::Runsc(_) => "runsc",
            Runner::Proot(_) => "proot",
        }
    }

    fn command(&self, exe: &Path, args: &[String]) -> Command {
        let mut argv: Vec<OsString> = match self {
            Runner::Native => vec![],
            Runner::Runsc(p) => vec![p.clone().into(), "do".into()],
            Runner::Proot(p) => vec![p.clone().into(), "-r".into(), "/".into()],
        };
        argv.push(exe.into());
        argv.extend(args.iter().map(OsString::from));
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        cmd
    }
}

/// Sizes of one benchmark run.
struct Sizes {
    getpid_iters: u64,
    open_iters: u64,
    fork_iters: u64,
    pipe_chunks: u64,
    true_runs: u32,
    repeats: u32,
    /// Entries in the large directory listed by readdir+stat.
    dir_entries: usize,
    listings: u64,
    /// Directories x files of the walked tree.
    tree: (usize, usize),
    walks: u64,
    /// MiB written and read sequentially.
    seq_mib: u64,
    /// Random 4 KiB operations, in units of 256.
    rand_units: u64,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Sizes {
                getpid_iters: 20_000,
                open_iters: 2_000,
                fork_iters: 20,
                pipe_chunks: 200,
                true_runs: 3,
                repeats: 1,
                dir_entries: 1_000,
                listings: 2,
                tree: (5, 20),
                walks: 1,
                seq_mib: 8,
                rand_units: 4,
            }
        } else {
            Sizes {
                getpid_iters: 1_000_000,
                open_iters: 50_000,
                fork_iters: 200,
                pipe_chunks: 5_000,
                true_runs: 20,
                repeats: 3,
                dir_entries: 10_000,
                listings: 10,
                tree: (50, 200),
                walks: 3,
                seq_mib: 256,
                rand_units: 100,
            }
        }
    }
}

const TIMEOUT: Duration = Duration::from_secs(600);

/// Runs a program that prints `NS_PER_OP x`; best of `repeats`.
fn measure_inner(runner: &Runner, exe: &Path, args: &[String], repeats: u32) -> Result<f64, String> {
    let mut best: Option<f64> = None;
    for _ in 0..repeats.max(1) {
        let out = exec::run(&mut runner.command(exe, args), TIMEOUT);
        if out.status != Status::Exited(0) {
            let last = out.stderr.lines().last().unwrap_or("").to_string();
            return Err(format!("{} ({last})", out.status));
        }
        let v = parse_ns_per_op(&out.stdout).ok_or_else(|| "no NS_PER_OP line".to_string())?;
        best = Some(best.map_or(v, |b: f64| b.min(v)));
    }
    best.ok_or_else(|| "no run".to_string())
}

/// Extracts the value of a `NS_PER_OP <float>` line.
fn parse_ns_per_op(stdout: &str) -> Option<f64> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("NS_PER_OP "))
        .and_then(|v| v.trim().parse().ok())
}

/// Mean wall time in milliseconds of `runs` start-to-exit runs.
fn measure_wall(runner: &Runner, exe: &Path, runs: u32) -> Result<f64, String> {
    let mut total = Duration::ZERO;
    for _ in 0..runs.max(1) {
        let out = exec::run(&mut runner.command(exe, &[]), TIMEOUT);
        if out.status != Status::Exited(0) {
            let last = out.stderr.lines().last().unwrap_or("").to_string();
            return Err(format!("{} ({last})", out.status));
        }
        total += out.elapsed;
    }
    Ok(total.as_secs_f64() * 1000.0 / f64::from(runs.max(1)))
}

/// One benchmark row: name, unit, and the result per runner.
struct Row {
    name: String,
    unit: &'static str,
    results: Vec<Result<f64, String>>,
}

fn render(runners: &[Runner], rows: &[Row]) -> String {
    let mut header = vec!["benchmark".to_string(), "unit".to_string()];
    for r in runners {
        header.push(r.label().to_string());
        if !matches!(r, Runner::Native) {
            header.push("ratio".to_string());
        }
    }
    let mut table = vec![header];
    for row in rows {
        let native = row.results.first().and_then(|r| r.as_ref().ok()).copied();
        let mut line = vec![row.name.clone(), row.unit.to_string()];
        for (i, (runner, res)) in runners.iter().zip(&row.results).enumerate() {
            line.push(match res {
                Ok(v) => format!("{v:.1}"),
                Err(_) => "error".to_string(),
            });
            if i > 0 || !matches!(runner, Runner::Native) {
                line.push(match (res, native) {
                    (Ok(v), Some(n)) if n > 0.0 => format!("{:.1}x", v / n),
                    _ => "-".to_string(),
                });
            }
        }
        table.push(line);
    }
    let cols = table.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            table
                .iter()
                .filter_map(|l| l.get(c))
                .map(String::len)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in &table {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < 2 {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    let mut errors = String::new();
    for row in rows {
        for (runner, res) in runners.iter().zip(&row.results) {
            if let Err(e) = res {
                errors.push_str(&format!("  {} under {}: {e}\n", row.name, runner.label()));
            }
        }
    }
    if !errors.is_empty() {
        out.push_str("errors:\n");
        out.push_str(&errors);
    }
    out
}

fn real_main() -> Result<(), String> {
    let mut quick = false;
    let mut runsc: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--runsc" => runsc = Some(args.next().map(PathBuf::from).ok_or("--runsc needs a value")?),
            "--help" | "-h" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let sizes = Sizes::new(quick);
    let mut runners = vec![Runner::Native];
    match runsc.or_else(locate::default_runsc) {
        Some(p) if p.is_file() => runners.push(Runner::Runsc(p)),
        Some(p) => return Err(format!("runsc not found at {}", p.display())),
        None => eprintln!("note: no runsc binary found; measuring native only (pass --runsc)"),
    }
    match locate::which("proot") {
        Some(p) => runners.push(Runner::Proot(p)),
        None => eprintln!("note: proot not installed; skipping it"),
    }

    let dir = std::env::temp_dir().join(format!("rvisor-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let compile = |name: &str| -> Result<PathBuf, String> {
        let exe = dir.join(name);
        build::compile(&locate::bench_dir().join(format!("{name}.c")), &exe, Link::Dynamic)
            .map_err(|e| e.to_string())?;
        Ok(exe)
    };
    let getpid = compile("getpid")?;
    let open_stat = compile("open_stat")?;
    let fork_exec = compile("fork_exec")?;
    let pipe = compile("pipe")?;
    let readdir_stat = compile("readdir_stat")?;
    let tree_walk = compile("tree_walk")?;
    let file_io = compile("file_io")?;
    // The trees live on the host filesystem, which the sandbox reaches
    // through the gofer (the overlay's lower layer); written files go to
    // the directory's filesystem natively and to the in-memory upper layer
    // in the sandbox.
    let big_dir = dir.join("big");
    make_flat_dir(&big_dir, sizes.dir_entries)?;
    let tree = dir.join("tree");
    make_tree(&tree, sizes.tree)?;
    let dir_str = |p: &Path| p.to_string_lossy().into_owned();

    let mut rows = Vec::new();
    let specs: [(&str, &str, &Path, Vec<String>); 8] = [
        ("getpid loop", "ns/op", &getpid, vec![sizes.getpid_iters.to_string()]),
        (
            "open+fstat+close /etc/passwd",
            "ns/op",
            &open_stat,
            vec![sizes.open_iters.to_string(), "/etc/passwd".to_string()],
        ),
        (
            "fork+exec+wait /bin/true",
            "ns/op",
            &fork_exec,
            vec![sizes.fork_iters.to_string()],
        ),
        ("pipe 64 KiB chunk", "ns/op", &pipe, vec![sizes.pipe_chunks.to_string()]),
        (
            "readdir+stat, large directory",
            "ns/listing",
            &readdir_stat,
            vec![sizes.listings.to_string(), dir_str(&big_dir)],
        ),
        (
            "walk+stat+read, file tree",
            "ns/walk",
            &tree_walk,
            vec![sizes.walks.to_string(), dir_str(&tree)],
        ),
        (
            "sequential write+read",
            "ns/MiB",
            &file_io,
            vec!["seq".to_string(), sizes.seq_mib.to_string(), dir_str(&dir)],
        ),
        (
            "random 4 KiB pread/pwrite",
            "ns/op",
            &file_io,
            vec!["rand".to_string(), sizes.rand_units.to_string(), dir_str(&dir)],
        ),
    ];
    for (name, unit, exe, args) in specs {
        eprintln!("measuring {name}");
        let results = runners
            .iter()
            .map(|r| measure_inner(r, exe, &args, sizes.repeats))
            .collect();
        rows.push(Row {
            name: name.to_string(),
            unit,
            results,
        });
    }
    eprintln!("measuring /bin/true start-to-exit ({} runs)", sizes.true_runs);
    let results = runners
        .iter()
        .map(|r| measure_wall(r, Path::new("/bin/true"), sizes.true_runs))
        .collect();
    rows.push(Row {
        name: format!("/bin/true x{}", sizes.true_runs),
        unit: "ms/run",
        results,
    });
    let _ = std::fs::remove_dir_all(&dir);

    print!("{}", render(&runners, &rows));
    Ok(())
}

/// A directory of `entries` empty files.
fn make_flat_dir(dir: &Path, entries: usize) -> Result<(), String> {
    let err = |e: std::io::Error| format!("cannot populate {}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(err)?;
    for i in 0..entries {
        std::fs::File::create(dir.join(format!("entry-{i:05}"))).map_err(err)?;
    }
    Ok(())
}

/// A tree of `dirs` directories holding `files` 1 KiB files each.
fn make_tree(root: &Path, (dirs, files): (usize, usize)) -> Result<(), String> {
    let err = |e: std::io::Error| format!("cannot populate {}: {e}", root.display());
    let data = [b'x'; 1024];
    for d in 0..dirs {
        let sub = root.join(format!("d{}/sub{d:03}", d % 5));
        std::fs::create_dir_all(&sub).map_err(err)?;
        for f in 0..files {
            std::fs::write(sub.join(format!("f{f:04}.c")), data).map_err(err)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rvisor-bench: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ns_per_op() {
        assert_eq!(parse_ns_per_op("x\nNS_PER_OP 12.5\n"), Some(12.5));
        assert_eq!(parse_ns_per_op("NS_PER_OP abc\n"), None);
        assert_eq!(parse_ns_per_op(""), None);
    }

    #[test]
    fn renders_ratios_against_native() {
        let runners = vec![Runner::Native, Runner::Runsc(PathBuf::from("/x"))];
        let rows = vec![Row {
            name: "b".into(),
            unit: "ns/op",
            results: vec![Ok(10.0), Ok(250.0)],
        }];
        let t = render(&runners, &rows);
        let last: Vec<&str> = t
            .lines()
            .nth(1)
            .map(|l| l.split_whitespace().collect())
            .unwrap_or_default();
        assert_eq!(last, ["b", "ns/op", "10.0", "250.0", "25.0x"], "{t}");
    }

    #[test]
    fn runsc_command_prefixes_do() {
        let cmd = Runner::Runsc(PathBuf::from("/r/runsc")).command(Path::new("/bin/true"), &["1".into()]);
        let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(cmd.get_program(), "/r/runsc");
        assert_eq!(args, ["do", "/bin/true", "1"]);
    }
}
