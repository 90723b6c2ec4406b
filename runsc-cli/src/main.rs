//! `runsc`: rvisor's runc-compatible command line.
//!
//! This file only declares the command line (clap derive) and dispatches;
//! each command lives in [`cmd`]. The same binary re-executes itself as the
//! sentry (`runsc boot`) and the gofer (`runsc gofer`), as gVisor does.

mod clone_spawn;
mod cmd;
mod error;
mod launch;
mod logging;
mod oci;
mod support_table;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// The OCI runtime command line.
#[derive(Debug, Parser)]
#[command(
    name = "runsc",
    about = "rvisor: run programs in a userspace application kernel (gVisor-style OCI runtime)",
    disable_version_flag = true,
    disable_help_subcommand = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Global flags, accepted before the command like runc's.
    #[command(flatten)]
    pub global: GlobalFlags,
    /// The command to run.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags shared by every command (runc and gVisor compatible). Most are
/// parsed and validated now and take effect in later milestones.
#[derive(Debug, Clone, Args)]
pub struct GlobalFlags {
    /// Print the version and the OCI runtime spec version.
    #[arg(short = 'v', long)]
    pub version: bool,
    /// Directory for container state (state.json per container; default
    /// /run/rvisor, or $XDG_RUNTIME_DIR/rvisor for other users than root).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// File for the runtime's own log (default: stderr).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Format of the runtime log.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Enable debug logging.
    #[arg(long)]
    pub debug: bool,
    /// Debug log file for the sandbox processes (`%COMMAND%` is replaced by boot, gofer, ...).
    #[arg(long, value_name = "FILE")]
    pub debug_log: Option<String>,
    /// Accepted: a systemd-style cgroupsPath (`slice:prefix:name`) is mapped
    /// to its cgroupfs directory; systemd itself is not asked.
    #[arg(long)]
    pub systemd_cgroup: bool,
    /// Run without root privileges (`true`, `false` or `auto`; alone: true).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub rootless: Option<String>,
    /// Do not configure cgroups.
    #[arg(long)]
    pub ignore_cgroups: bool,
    /// How application code runs.
    #[arg(long, value_enum, default_value_t = Platform::Ptrace)]
    pub platform: Platform,
    /// Networking mode of the sandbox.
    #[arg(long, value_enum, default_value_t = Network::Sandbox)]
    pub network: Network,
    /// Overlay configuration for the root filesystem (e.g. `root:memory`, `none`).
    #[arg(long, value_name = "VALUE", default_value = "root:memory")]
    pub overlay2: String,
    /// Log every guest system call.
    #[arg(long)]
    pub strace: bool,
    /// Which host unix sockets the sandbox may use (`none`, `open`, `create`, `all`).
    #[arg(long, value_name = "VALUE", default_value = "none")]
    pub host_uds: String,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `--platform`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Platform {
    /// PTRACE_SYSEMU stubs (the only platform so far).
    Ptrace,
}

/// `--network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Network {
    /// Loopback only.
    None,
    /// Host sockets in the container's network namespace.
    Host,
    /// A userspace network stack (planned).
    Sandbox,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command in a sandbox over a root filesystem (the host's / by default).
    Do(cmd::do_cmd::DoArgs),
    /// Start the sentry (internal; run by `runsc` itself).
    #[command(hide = true)]
    Boot(cmd::boot::BootArgs),
    /// Start the gofer file server (internal; run by `runsc` itself).
    #[command(hide = true)]
    Gofer(cmd::gofer::GoferArgs),
    /// Print help for the command line or a topic (`runsc help syscalls`).
    Help(cmd::help::HelpArgs),
    /// Create a container from a bundle; its init waits for `start`.
    Create(cmd::create::CreateArgs),
    /// Start a created container.
    Start(cmd::start::StartArgs),
    /// Freeze every process of a running container.
    Pause(cmd::pause::PauseArgs),
    /// Thaw a paused container.
    Resume(cmd::pause::PauseArgs),
    /// Change the cgroup limits of a live container.
    Update(cmd::update::UpdateArgs),
    /// Create and start a container (and wait for it unless --detach).
    Run(cmd::run::RunArgs),
    /// Print a container's OCI state.
    State(cmd::state::StateArgs),
    /// Send a signal to a container's init (or every process with --all).
    Kill(cmd::kill::KillArgs),
    /// Delete a container (and its sandbox).
    Delete(cmd::delete::DeleteArgs),
    /// List containers.
    List(cmd::list::ListArgs),
    /// Write a default config.json.
    Spec(cmd::spec::SpecArgs),
    /// Print the runtime's features as JSON.
    Features(cmd::features::FeaturesArgs),
    /// Run a new process in a running container.
    Exec(cmd::exec::ExecArgs),
    /// List a container's processes.
    Ps(cmd::ps::PsArgs),
    /// Wait for a container's init to exit and print its exit status.
    Wait(cmd::wait::WaitArgs),
    /// Print a container's resource statistics (and OOM events) as JSON.
    Events(cmd::events::EventsArgs),
    /// Add rvisor to docker's daemon.json as a runtime.
    Install(cmd::install::InstallArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version requests print and succeed; an unknown flag or
        // command is a runtime error (125, as runc's callers expect), with
        // clap's message naming it.
        Err(e) => {
            let _ = e.print();
            return match e.exit_code() {
                0 => ExitCode::SUCCESS,
                _ => ExitCode::from(error::EXIT_RUNTIME_ERROR),
            };
        }
    };
    if cli.global.version {
        println!("runsc version {}", env!("CARGO_PKG_VERSION"));
        println!("spec: {}", oci_spec::runtime::version());
        return ExitCode::SUCCESS;
    }
    let result = match cli.command {
        Some(Command::Do(args)) => cmd::do_cmd::run(&cli.global, args),
        Some(Command::Boot(args)) => cmd::boot::run(&cli.global, args),
        Some(Command::Gofer(args)) => cmd::gofer::run(&cli.global, args),
        Some(Command::Help(args)) => cmd::help::run(args),
        Some(Command::Create(args)) => cmd::create::run(&cli.global, args),
        Some(Command::Start(args)) => cmd::start::run(&cli.global, args),
        Some(Command::Pause(args)) => cmd::pause::pause(&cli.global, args),
        Some(Command::Resume(args)) => cmd::pause::resume(&cli.global, args),
        Some(Command::Update(args)) => cmd::update::run(&cli.global, args),
        Some(Command::Run(args)) => cmd::run::run(&cli.global, args),
        Some(Command::State(args)) => cmd::state::run(&cli.global, args),
        Some(Command::Kill(args)) => cmd::kill::run(&cli.global, args),
        Some(Command::Delete(args)) => cmd::delete::run(&cli.global, args),
        Some(Command::List(args)) => cmd::list::run(&cli.global, args),
        Some(Command::Spec(args)) => cmd::spec::run(&cli.global, args),
        Some(Command::Features(args)) => cmd::features::run(&cli.global, args),
        Some(Command::Exec(args)) => cmd::exec::run(&cli.global, args),
        Some(Command::Ps(args)) => cmd::ps::run(&cli.global, args),
        Some(Command::Wait(args)) => cmd::wait::run(&cli.global, args),
        Some(Command::Events(args)) => cmd::events::run(&cli.global, args),
        Some(Command::Install(args)) => cmd::install::run(args),
        None => cmd::help::run(cmd::help::HelpArgs::default()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error::CliError::Exit(code)) => ExitCode::from(code),
        Err(err) => {
            eprintln!("runsc: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_parse() {
        let cli = Cli::try_parse_from([
            "runsc",
            "--root",
            "/tmp/state",
            "--log-format",
            "json",
            "--network",
            "host",
            "--overlay2",
            "none",
            "--platform",
            "ptrace",
            "--systemd-cgroup",
            "--ignore-cgroups",
            "--host-uds",
            "all",
            "do",
            "/bin/true",
        ])
        .unwrap();
        assert_eq!(cli.global.root, Some(PathBuf::from("/tmp/state")));
        assert_eq!(cli.global.log_format, LogFormat::Json);
        assert_eq!(cli.global.network, Network::Host);
        assert_eq!(cli.global.overlay2, "none");
        assert!(cli.global.systemd_cgroup && cli.global.ignore_cgroups);
        assert!(matches!(cli.command, Some(Command::Do(_))));
    }

    #[test]
    fn unknown_platform_is_rejected() {
        assert!(Cli::try_parse_from(["runsc", "--platform", "kvm", "do", "/bin/true"]).is_err());
    }

    #[test]
    fn do_keeps_trailing_args_and_its_own_root() {
        let cli = Cli::try_parse_from(["runsc", "do", "--root", "/srv/rootfs", "--", "ls", "-l", "--color"]).unwrap();
        let Some(Command::Do(args)) = cli.command else {
            panic!("not do")
        };
        assert_eq!(args.root, PathBuf::from("/srv/rootfs"));
        assert_eq!(args.command, ["ls", "-l", "--color"]);
        // The global --root (state dir) is untouched by do's --root.
        assert_eq!(cli.global.root, None);
    }

    #[test]
    fn do_args_after_command_belong_to_the_command() {
        let cli = Cli::try_parse_from(["runsc", "do", "--strace", "echo", "--cwd", "x"]).unwrap();
        let Some(Command::Do(args)) = cli.command else {
            panic!("not do")
        };
        assert!(args.strace);
        assert_eq!(args.cwd, None);
        assert_eq!(args.command, ["echo", "--cwd", "x"]);
    }
}
