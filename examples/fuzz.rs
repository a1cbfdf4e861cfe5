//! The fuzz suite's long pass: the same deterministic harness as `tests/fuzz.rs` (every
//! webhook verifier and parser, the schedule loaders, the Talkdesk contract types and
//! datetime formats, the provider models, and the routers in process), for as many inputs
//! as asked, printing a Markdown table of inputs and panics per target.
//!
//! Build it with `panic = "abort"`, so that any panic ends the process (the input is
//! printed first) instead of being caught:
//!
//! ```text
//! CARGO_PROFILE_RELEASE_PANIC=abort cargo run --release --all-features --example fuzz -- --budget 2000000 --seed 14
//! ```
//!
//! `--budget N` is the number of inputs per cheap target (the routers run N/2 and N/4);
//! `--seed S` picks the sequence. Exit code 0 when no input panicked, 1 otherwise.

#[path = "../tests/fuzz/harness.rs"]
mod harness;

use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let mut budget = 100_000u64;
    let mut seed = 14u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().and_then(|v| v.parse::<u64>().ok());
        match (arg.as_str(), value) {
            ("--budget", Some(v)) => budget = v,
            ("--seed", Some(v)) => seed = v,
            _ => {
                eprintln!("usage: fuzz [--budget N] [--seed S]");
                return ExitCode::from(2);
            }
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => Arc::new(rt),
        Err(error) => {
            eprintln!("fuzz: no runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let seeds = Arc::new(rt.block_on(harness::seeds()));
    harness::install_panic_hook();
    let targets = harness::targets(seeds, rt);
    let outcomes = harness::run(&targets, budget, seed);
    println!("budget {budget}, seed {seed}, panic strategy: see CARGO_PROFILE_RELEASE_PANIC\n");
    println!("{}", harness::table(&outcomes));
    if outcomes.iter().any(|o| !o.panics.is_empty()) { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
