//! Release-mode benchmark of the state stores at bridge scale.
//!
//! ```text
//! cargo bench --bench bench_store
//! cargo bench --bench bench_store -- --agents 2000 --stores memory,sqlite
//! cargo bench --bench bench_store --features postgres -- --postgres postgres://…
//! ```
//!
//! For each store (memory, file, the embedded SQLite database, and PostgreSQL when a
//! connection string is given) it prints one JSON line:
//!
//! - `store_all_s`: storing every agent's link state once, one `put` per agent, as a
//!   bridge's first pass does (about 550 bytes of JSON per agent);
//! - `store_all_batched_s`: the same through `write_batch` in batches of 1,000 (one
//!   transaction per batch on SQLite; the provided op-by-op implementation elsewhere);
//!   `null` for the file store, where it would only repeat `store_all_s`;
//! - `pass_s`, `ms_per_change`: a reconcile pass's store work: every agent's state read,
//!   and `--changes` percent of them changed with a `compare_and_set` on the value read;
//!   `ms_per_change` is the pass time divided by the changes (amortised within the pass);
//! - `scan_s`: one `scan_prefix` over all agents (what a busy-list repair reads);
//! - `bytes`: what the store occupies on disk afterwards (database plus log files), `null`
//!   for memory and PostgreSQL.
//!
//! Every store starts empty in a fresh temporary directory (PostgreSQL: a fresh schema,
//! dropped at the end). Progress goes to stderr. Exit code 0, 1 when a store failed, 2
//! for bad usage.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use deskbridge::ports::{StateStore, WriteOp};
use deskbridge::store::{FileStore, MemoryStore, SqliteStore};
use serde_json::{Value, json};

const USAGE: &str = "\
Usage: bench_store [--agents N] [--changes PCT] [--stores LIST] [--postgres URL]

Prints one JSON line per state store: time to store every agent once, a reconcile
pass's store time and milliseconds per change, and the size on disk.

Options:
  --agents N        agents (default 10000)
  --changes PCT     percent of the agents changed in the pass (default 30)
  --stores LIST     comma-separated among memory,file,sqlite,postgres
                    (default: memory,file,sqlite, plus postgres with --postgres)
  --postgres URL    also measure PostgresStore (feature postgres) on a fresh schema
                    of this database (default: $DESKBRIDGE_BENCH_POSTGRES_URL)";

struct Options {
    agents: usize,
    changes: usize,
    stores: Vec<String>,
    postgres: Option<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        agents: 10_000,
        changes: 30,
        stores: Vec::new(),
        postgres: std::env::var("DESKBRIDGE_BENCH_POSTGRES_URL").ok().filter(|url| !url.is_empty()),
    };
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--agents" => {
                options.agents = value()?.parse().map_err(|_| "--agents needs a whole number".to_owned())?
            }
            "--changes" => {
                options.changes = value()?.parse().map_err(|_| "--changes needs a percentage".to_owned())?
            }
            "--stores" => options.stores = value()?.split(',').map(|s| s.trim().to_owned()).collect(),
            "--postgres" => options.postgres = Some(value()?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if options.agents == 0 || options.changes > 100 {
        return Err("--agents must be above 0 and --changes at most 100".into());
    }
    if options.stores.is_empty() {
        options.stores = ["memory", "file", "sqlite"].map(String::from).to_vec();
        if options.postgres.is_some() {
            options.stores.push("postgres".into());
        }
    }
    for store in &options.stores {
        if !["memory", "file", "sqlite", "postgres"].contains(&store.as_str()) {
            return Err(format!("unknown store {store}"));
        }
    }
    Ok(options)
}

fn key(agent: usize) -> String {
    format!("bridge/voice/agent/agent{agent:05}@example.com")
}

/// A link state of about 550 bytes, shaped like the bridge's.
fn state(agent: usize, generation: u64) -> Value {
    json!({
        "a": {"id": format!("{}", 100_000 + agent), "value": "available", "observed_at": "2026-11-23T10:00:00Z",
              "origin": "other", "pending": null, "retry_at": null, "failures": 0},
        "b": {"id": format!("{}", 900_000 + agent), "value": "online", "observed_at": "2026-11-23T10:00:01Z",
              "origin": "ours", "pending": null, "retry_at": null, "failures": 0,
              "last_written": {"value": "online", "at": "2026-11-23T10:00:01Z"}},
        "agent": format!("agent{agent:05}@example.com"),
        "generation": generation,
        "history": ["available→online at 2026-11-23T10:00:01Z", "unavailable→offline at 2026-11-23T09:00:00Z"],
        "note": "synthetic state for bench_store, shaped like a two-sided link state",
    })
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

async fn measure(
    name: &str,
    store: Arc<dyn StateStore>,
    batch_store: Option<Arc<dyn StateStore>>,
    options: &Options,
) -> deskbridge::Result<Value> {
    let agents = options.agents;
    eprintln!("{name}: storing {agents} agents one by one");
    let started = Instant::now();
    for agent in 0..agents {
        store.put(&key(agent), state(agent, 0)).await?;
    }
    let store_all = started.elapsed().as_secs_f64();

    let mut batched = None;
    if let Some(batch_store) = batch_store {
        eprintln!("{name}: storing {agents} agents in batches of 1000 (a second, empty store)");
        let started = Instant::now();
        let ops: Vec<WriteOp> =
            (0..agents).map(|agent| WriteOp::Put { key: key(agent), value: state(agent, 0) }).collect();
        let mut ops = ops.into_iter().peekable();
        while ops.peek().is_some() {
            let chunk: Vec<WriteOp> = ops.by_ref().take(1000).collect();
            batch_store.write_batch(chunk).await?;
        }
        batched = Some(started.elapsed().as_secs_f64());
    }

    let changes = agents * options.changes / 100;
    eprintln!("{name}: a pass reading {agents} states and changing {changes}");
    // Changed agents spread over the roster (every k-th one).
    let every = agents.checked_div(changes).unwrap_or(usize::MAX);
    let started = Instant::now();
    let mut changed = 0;
    for agent in 0..agents {
        let current = store.get(&key(agent)).await?;
        if changed < changes && agent % every == 0 {
            let applied = store.compare_and_set(&key(agent), current.as_ref(), Some(state(agent, 1))).await?;
            assert!(applied, "no one else writes during the benchmark");
            changed += 1;
        }
    }
    let pass = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let scanned = store.scan_prefix("bridge/voice/agent/").await?.len();
    let scan = started.elapsed().as_secs_f64();
    assert_eq!(scanned, agents);

    Ok(json!({
        "store": name,
        "agents": agents,
        "store_all_s": round(store_all),
        "store_all_batched_s": batched.map(round),
        "changes": changed,
        "pass_s": round(pass),
        "ms_per_change": if changed == 0 { None } else { Some(round(pass * 1000.0 / changed as f64)) },
        "scan_s": round(scan),
    }))
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

async fn run_one(name: &str, options: &Options) -> deskbridge::Result<Value> {
    let dir =
        tempfile::tempdir().map_err(|e| deskbridge::Error::store(format!("temporary directory: {e}")))?;
    let (line, bytes) = match name {
        "memory" => {
            let line =
                measure(name, Arc::new(MemoryStore::new()), Some(Arc::new(MemoryStore::new())), options)
                    .await?;
            (line, None)
        }
        "file" => {
            let store = FileStore::open(dir.path().join("state.json")).await?;
            let line = measure(name, Arc::new(store), None, options).await?;
            (line, Some(dir_bytes(dir.path())))
        }
        "sqlite" => {
            let store = SqliteStore::open(dir.path().join("state.sqlite3")).await?;
            let batch_dir = tempfile::tempdir()
                .map_err(|e| deskbridge::Error::store(format!("temporary directory: {e}")))?;
            let batch = SqliteStore::open(batch_dir.path().join("state.sqlite3")).await?;
            let line = measure(name, Arc::new(store), Some(Arc::new(batch)), options).await?;
            (line, Some(dir_bytes(dir.path())))
        }
        "postgres" => (postgres(options).await?, None),
        _ => unreachable!("checked in parse_args"),
    };
    let mut line = line;
    line["bytes"] = json!(bytes);
    Ok(line)
}

#[cfg(feature = "postgres")]
async fn postgres(options: &Options) -> deskbridge::Result<Value> {
    use deskbridge::store::{PostgresOptions, PostgresStore};
    let url =
        options.postgres.clone().ok_or_else(|| deskbridge::Error::config("--postgres URL is required"))?;
    let schema = format!("bench_store_{}", std::process::id());
    let open = || PostgresStore::connect_with(PostgresOptions::new(url.clone()).schema(schema.clone()));
    let store = open().await?;
    let batch_schema = format!("{schema}_batch");
    let batch =
        PostgresStore::connect_with(PostgresOptions::new(url.clone()).schema(batch_schema.clone())).await?;
    let result = measure("postgres", Arc::new(store), Some(Arc::new(batch)), options).await;
    // Tidy: drop both schemas (through a plain connection).
    if let Ok((client, connection)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
        tokio::spawn(connection);
        let _ = client
            .batch_execute(&format!(
                "DROP SCHEMA \"{schema}\" CASCADE; DROP SCHEMA \"{batch_schema}\" CASCADE"
            ))
            .await;
    }
    result
}

#[cfg(not(feature = "postgres"))]
async fn postgres(_options: &Options) -> deskbridge::Result<Value> {
    Err(deskbridge::Error::config("PostgreSQL needs the example built with --features postgres"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            if message.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut failed = false;
    for name in &options.stores {
        match run_one(name, &options).await {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("error: {name}: {e}");
                failed = true;
            }
        }
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
