//! The `offlineimap` binary: parse the command line, run, exit.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = offlineimap::cli::parse();
    if cli.version_info {
        println!("{}", offlineimap::cli::version_info());
        return ExitCode::SUCCESS;
    }
    offlineimap::app::main_with(cli)
}
