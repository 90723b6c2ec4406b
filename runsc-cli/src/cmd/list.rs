//! `runsc list`: the containers under `--root`, as a table, JSON, or ids.

use crate::error::CliError;
use crate::oci::{self, state};
use crate::GlobalFlags;
use clap::{Args, ValueEnum};

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Columns for people.
    Table,
    /// An array of OCI states.
    Json,
}

/// Arguments of `runsc list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Print only the ids.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// Runs `runsc list`.
pub fn run(global: &GlobalFlags, args: ListArgs) -> Result<u8, CliError> {
    super::create::init_logging(global)?;
    let root = state::root_dir(global.root.as_deref());
    let mut states = Vec::new();
    for id in state::list(&root)? {
        match oci::current(&root, &id) {
            Ok((st, _)) => states.push(st.oci),
            // Deleted meanwhile.
            Err(e) => tracing::debug!("{id}: {e}"),
        }
    }
    if args.quiet {
        for s in &states {
            println!("{}", s.id);
        }
        return Ok(0);
    }
    match args.format {
        ListFormat::Json => println!("{}", serde_json::to_string(&states)?),
        ListFormat::Table => {
            println!(
                "{:<12} {:<10} {:<10} {:<40} {:<30} OWNER",
                "ID", "PID", "STATUS", "BUNDLE", "CREATED"
            );
            for s in &states {
                println!(
                    "{:<12} {:<10} {:<10} {:<40} {:<30} {}",
                    s.id, s.pid, s.status, s.bundle, s.created, s.owner
                );
            }
        }
    }
    Ok(0)
}
