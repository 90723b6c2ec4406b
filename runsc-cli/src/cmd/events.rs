//! `runsc events [--stats] [--interval D] ID` (runc's): the sandbox's
//! cgroup statistics as `{"type":"stats","id":ID,"data":{...}}` lines every
//! interval until the container stops, `{"type":"oom","id":ID}` when its
//! cgroup records an OOM kill, or one stats object with `--stats`.

use crate::error::CliError;
use crate::oci::stats::{self, Event, Source};
use crate::oci::{self, state, OciError};
use crate::GlobalFlags;
use clap::Args;
use std::io::Write;
use std::time::{Duration, Instant};

/// Arguments of `runsc events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Print the statistics once and exit.
    #[arg(long)]
    pub stats: bool,
    /// Time between statistics (a Go duration: 5s, 500ms, 2m).
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub interval: String,
    /// The container id.
    #[arg(value_name = "ID")]
    pub id: String,
}

/// How often OOM counters are looked at between two statistics.
const OOM_POLL: Duration = Duration::from_millis(100);

/// Runs `runsc events`.
pub fn run(global: &GlobalFlags, args: EventsArgs) -> Result<u8, CliError> {
    super::create::init_logging(global)?;
    let interval = match stats::parse_duration(&args.interval) {
        Some(d) if !d.is_zero() => d,
        Some(_) => return Err(OciError::Usage("duration interval must be greater than 0".into()).into()),
        None => return Err(OciError::Usage(format!("--interval {:?}: not a duration", args.interval)).into()),
    };
    let root = state::root_dir(global.root.as_deref());
    let (st, _) = oci::current(&root, &args.id)?;
    if st.oci.status == "stopped" {
        return Err(not_running(args.id));
    }
    let source = Source::new(&st.sandbox.cgroups);
    let mut out = std::io::stdout().lock();
    let mut emit = |event: &Event| -> Result<(), CliError> {
        let line = serde_json::to_string(event)?;
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(|e| CliError::io("writing events".to_string(), e))
    };
    let id = args.id.as_str();
    if args.stats {
        let data = source.stats();
        emit(&Event {
            kind: "stats",
            id,
            data: Some(&data),
        })?;
        return Ok(0);
    }
    let (mut kills, mut under) = source.oom();
    let mut next = Instant::now() + interval;
    loop {
        std::thread::sleep(next.saturating_duration_since(Instant::now()).min(OOM_POLL));
        let (k, u) = source.oom();
        if k > kills || (u && !under) {
            emit(&Event {
                kind: "oom",
                id,
                data: None,
            })?;
        }
        (kills, under) = (k, u);
        if Instant::now() < next {
            continue;
        }
        next += interval;
        // A container that has stopped ends the stream.
        let (st, _) = oci::current(&root, id)?;
        if st.oci.status == "stopped" {
            return Ok(0);
        }
        let data = source.stats();
        emit(&Event {
            kind: "stats",
            id,
            data: Some(&data),
        })?;
    }
}

fn not_running(id: String) -> CliError {
    OciError::WrongState {
        id,
        status: "stopped".into(),
        what: "a container that is not running has no events",
    }
    .into()
}
