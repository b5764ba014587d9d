//! The `tally` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use tally_server::cli::{Cli, Command};
use tally_server::startup::{Application, Settings};
use tally_server::telemetry;
use tally_server::{count_cmd, import_cmd};

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(&cli.log_level, cli.log_format);
    let outcome = match &cli.command {
        // No async runtime for counting: the engine runs on its own threads.
        Some(Command::Count(args)) => count_cmd::run(args).map_err(|e| e.to_string()),
        Some(Command::Import(args)) => runtime().and_then(|rt| {
            rt.block_on(import_cmd::run(args))
                .map_err(|e| e.to_string())
        }),
        Some(Command::Admin(command)) => tally_server::admin_cmd::run(command),
        Some(Command::BenchImport(args)) => tally_server::bench_cmd::run(args),
        Some(Command::GenCorpus(args)) => tally_server::bench_cmd::gen_corpus(args),
        None | Some(Command::Serve(_)) => serve(&cli),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn serve(cli: &Cli) -> Result<(), String> {
    // Arms the fail points `FAILPOINTS` names, for the fault tests; a binary
    // built without `fault-injection` has no fail points and ignores it.
    #[cfg(feature = "fault-injection")]
    let _faults = fail::FailScenario::setup();
    runtime()?.block_on(async {
        let settings = Settings::from_args(&cli.serve_args()).map_err(|e| e.to_string())?;
        let app = Application::build(settings)
            .await
            .map_err(|e| e.to_string())?;
        app.run_until_stopped()
            .await
            .map_err(|e| format!("server error: {e}"))
    })
}
