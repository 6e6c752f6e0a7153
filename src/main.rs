use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's malloc: import frees a file's bytes and strings of several KB
/// from parser threads while the writer allocates, and glibc spent ~8% of the import's CPU
/// in malloc, free and their consolidation.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
