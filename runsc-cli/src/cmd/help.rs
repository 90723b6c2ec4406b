//! `runsc help [TOPIC]`: the command-line help, a command's help, or the
//! `syscalls` topic (the syscall support table).

use crate::error::CliError;
use crate::support_table;
use crate::Cli;
use clap::{Args, CommandFactory};
use std::io::Write;

/// Arguments of `runsc help`.
#[derive(Debug, Default, Args)]
pub struct HelpArgs {
    /// `syscalls`, or a command name.
    pub topic: Option<String>,
}

/// Prints the requested help to stdout.
pub fn run(args: HelpArgs) -> Result<u8, CliError> {
    let mut command = Cli::command();
    let text = match args.topic.as_deref() {
        None => command.render_help().to_string(),
        Some("syscalls") => support_table::render(support_table::current()),
        Some(topic) => match command.find_subcommand_mut(topic) {
            Some(sub) => sub
                .clone()
                .bin_name(format!("runsc {topic}"))
                .render_long_help()
                .to_string(),
            None => return Err(CliError::UnknownHelpTopic(topic.to_string())),
        },
    };
    write_stdout(&text)?;
    Ok(0)
}

/// Writes to stdout; a closed pipe (`runsc help syscalls | head`) is not an error.
fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::io("writing help", e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_topics_are_errors_and_commands_are_topics() {
        let err = run(HelpArgs {
            topic: Some("bogus".into()),
        });
        assert!(matches!(err, Err(CliError::UnknownHelpTopic(t)) if t == "bogus"));
        assert!(matches!(
            run(HelpArgs {
                topic: Some("do".into())
            }),
            Ok(0)
        ));
        assert!(matches!(run(HelpArgs::default()), Ok(0)));
    }
}
