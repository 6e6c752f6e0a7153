use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = bloggo::cli::Cli::parse();
    match bloggo::cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`bloggo post list | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
