//! ecs-deploy: parse the command line, run the deploy, map the error to its exit code.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use ecs_deploy::aws::{self, Aws};
use ecs_deploy::cli::{self, Cli, OutputFormat};
use ecs_deploy::codedeploy::AwsCodeDeploy;
use ecs_deploy::deploy::{Clients, Deploy};
use ecs_deploy::ecs::AwsEcs;
use ecs_deploy::error::Error;
use ecs_deploy::error::Result;
use ecs_deploy::options::Options;
use ecs_deploy::output::{self, Stream};
use ecs_deploy::profile;
use ecs_deploy::report::{self, Report, Status};
use ecs_deploy::signals;

fn main() -> ExitCode {
    let cli = match parse_command_line() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    if let Some(code) = print_version_or_docs(&cli) {
        return code;
    }
    let report = Report::new(cli.output, cli.dry_run);
    report.go_live();
    signals::on_second_signal(report::render_interrupted);
    output::stop_workflow_commands();
    let result = run(&cli, &report);
    if let Err(e) = &result {
        output::stderr(&format!("ecs-deploy: {e}"));
        // After a change, the last line says where things stand.
        if let Some(standing) = report::standing_now() {
            output::stderr(&format!("ecs-deploy: {standing}"));
        }
        let interrupted = matches!(e, Error::Interrupted(_));
        report.record(|o| {
            if o.status == Status::Succeeded || interrupted && o.status != Status::RolledBack {
                o.status = if interrupted {
                    Status::Interrupted
                } else {
                    Status::Failed
                };
            }
            o.failure_reason.get_or_insert_with(|| e.to_string());
        });
    }
    report.finish();
    let code = result.err().map_or(0, |e| e.exit_code());
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Parse argv (with `-to` normalised); usage problems exit 3, as in the script.
fn parse_command_line() -> std::result::Result<Cli, ExitCode> {
    let args = cli::normalise_args(std::env::args_os());
    if args.len() <= 1 {
        // The script prints its usage and exits 3 when called without arguments.
        let help = Cli::command().render_help().to_string();
        output::raw(Stream::Stdout, format!("{help}\n").as_bytes());
        return Err(ExitCode::from(3));
    }
    let json = wants_json(&args);
    Cli::try_parse_from(args).map_err(|e| {
        let _ = e.print();
        // --help goes through here too, and is a success.
        if !e.use_stderr() {
            return ExitCode::SUCCESS;
        }
        if json {
            // The one JSON object is promised whatever the outcome, a usage error too.
            let report = Report::new(OutputFormat::Json, false);
            let why = e.to_string();
            let first = why.lines().next().unwrap_or("bad command line");
            report.fail(Status::Failed, first.trim_start_matches("error: "));
            report.finish();
        }
        ExitCode::from(3)
    })
}

/// Whether the command line asks for `--output json` (looked at before it is parsed, so
/// that a line clap refuses still gets its JSON result).
fn wants_json(args: &[std::ffi::OsString]) -> bool {
    args.iter()
        .zip(args.iter().skip(1))
        .any(|(flag, value)| flag == "--output" && value == "json")
        || args.iter().any(|arg| arg == "--output=json")
}

/// `--version`, `--completions SHELL` and `--man` need no other argument (the script's
/// checks of -n/-d/-c/-i live in Options, which is never reached for them).
fn print_version_or_docs(cli: &Cli) -> Option<ExitCode> {
    if cli.version {
        let version = env!("CARGO_PKG_VERSION");
        let text = match cli.output {
            OutputFormat::Json => format!("{{\"version\": {}}}\n", serde_json::json!(version)),
            OutputFormat::Text => format!("{version}\n"),
        };
        output::raw(Stream::Stdout, text.as_bytes());
        return Some(ExitCode::SUCCESS);
    }
    if let Some(shell) = cli.completions {
        let mut text = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "ecs-deploy", &mut text);
        return Some(print_generated(&text));
    }
    if cli.man {
        let mut text = Vec::new();
        let command = Cli::command().version(env!("CARGO_PKG_VERSION"));
        if let Err(e) = clap_mangen::Man::new(command).render(&mut text) {
            output::stderr(&format!("ecs-deploy: cannot render the man page: {e}"));
            return Some(ExitCode::from(1));
        }
        return Some(print_generated(&text));
    }
    None
}

/// Write generated text (completions, man page) to stdout; a closed pipe is not an error.
fn print_generated(text: &[u8]) -> ExitCode {
    output::raw(Stream::Stdout, text);
    ExitCode::SUCCESS
}

fn run(cli: &Cli, report: &Report) -> Result<()> {
    // The script looks for aws before it checks the arguments (exit 4 comes first).
    let program = aws::find_program()?;
    let options = Options::from_cli(cli, &|name| std::env::var(name).ok())?;
    if options.verbose {
        output::enable_trace();
    }
    let mut aws = Aws::new(program, &options.credentials, options.call_timeout);
    signals::install();
    let lookup = |name: &str| std::env::var(name).ok();
    if let Some(plan) = profile::plan(options.credentials.given(), &lookup) {
        aws.export_credentials(plan);
    }
    let result = match &options.credentials.assume_role {
        Some(role) => aws.assume_role(role),
        None => Ok(()),
    }
    .and_then(|()| {
        let clients = Clients {
            ecs: &AwsEcs::new(&aws),
            codedeploy: &AwsCodeDeploy::new(&aws),
            logs: &aws,
            registry: &aws,
        };
        Deploy::new(clients, report, &options).run()
    });
    report.record(|o| o.aws_calls = aws.call_count());
    result
}
