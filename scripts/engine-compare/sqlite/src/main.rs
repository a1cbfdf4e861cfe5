//! SQLite (rusqlite, bundled) side of the engine comparison: see ../run.sh.
//! Usage: sqlite DB_PATH NORMAL|FULL AGENTS [crash|count]
use rusqlite::{Connection, OptionalExtension, params};
use std::time::Instant;

fn value(i: usize, generation: usize) -> String {
    let pad = "x".repeat(450);
    format!(
        "{{\"agent\":\"agent-{i}@example.com\",\"gen\":{generation},\"a\":\"online\",\"b\":\"offline\",\"pad\":\"{pad}\"}}"
    )
}

fn open(path: &str, sync: &str) -> Connection {
    let c = Connection::open(path).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "synchronous", sync).unwrap();
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    )
    .unwrap();
    c
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (path, sync, n) = (&args[1], &args[2], args[3].parse::<usize>().unwrap());
    if args.get(4).map(String::as_str) == Some("crash") {
        let c = open(path, sync);
        for i in 0..n {
            c.prepare_cached("INSERT OR REPLACE INTO kv VALUES (?1, ?2)")
                .unwrap()
                .execute(params![format!("k/{i:06}"), value(i, 0)])
                .unwrap();
        }
        std::process::abort();
    }
    if args.get(4).map(String::as_str) == Some("count") {
        let c = open(path, sync);
        let k: i64 = c.query_row("SELECT count(*) FROM kv", [], |r| r.get(0)).unwrap();
        println!("{{\"engine\":\"sqlite\",\"after_abort_rows\":{k}}}");
        return;
    }
    let _ = std::fs::remove_file(path);
    let c = open(path, sync);
    let t = Instant::now();
    for i in 0..n {
        c.prepare_cached("INSERT OR REPLACE INTO kv VALUES (?1, ?2)")
            .unwrap()
            .execute(params![format!("k/{i:06}"), value(i, 0)])
            .unwrap();
    }
    let store_all = t.elapsed();
    let changes = n * 3 / 10;
    let t = Instant::now();
    for j in 0..changes {
        let i = (j * 7919) % n;
        let key = format!("k/{i:06}");
        let cur: Option<String> = c
            .query_row("SELECT value FROM kv WHERE key = ?1", params![key], |r| r.get(0))
            .optional()
            .unwrap();
        let n2 = c
            .execute(
                "UPDATE kv SET value = ?3 WHERE key = ?1 AND value = ?2",
                params![key, cur.unwrap(), value(i, 1)],
            )
            .unwrap();
        assert_eq!(n2, 1);
    }
    let per_change = t.elapsed().as_secs_f64() * 1000.0 / changes as f64;
    let t = Instant::now();
    let mut st = c.prepare("SELECT key, value FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key").unwrap();
    let rows = st
        .query_map(params!["k/", "k0"], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .count();
    let scan = t.elapsed();
    drop(st);
    drop(c);
    let size = std::fs::metadata(path).unwrap().len()
        + std::fs::metadata(format!("{path}-wal")).map(|m| m.len()).unwrap_or(0);
    println!(
        "{{\"engine\":\"sqlite\",\"synchronous\":\"{sync}\",\"agents\":{n},\"store_all_s\":{:.3},\"ms_per_change\":{per_change:.4},\"scan_ms\":{:.2},\"rows\":{rows},\"bytes\":{size}}}",
        store_all.as_secs_f64(),
        scan.as_secs_f64() * 1000.0
    );
}
