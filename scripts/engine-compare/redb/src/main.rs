//! redb side of the engine comparison: see ../run.sh.
//! Usage: redb DB_PATH none|immediate AGENTS [crash|count]
use redb::{Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use std::time::Instant;
const T: TableDefinition<&str, &str> = TableDefinition::new("kv");

fn value(i: usize, generation: usize) -> String {
    let pad = "x".repeat(450);
    format!(
        "{{\"agent\":\"agent-{i}@example.com\",\"gen\":{generation},\"a\":\"online\",\"b\":\"offline\",\"pad\":\"{pad}\"}}"
    )
}
fn put(db: &Database, d: Durability, k: &str, v: &str) {
    let mut tx = db.begin_write().unwrap();
    tx.set_durability(d).unwrap();
    {
        let mut t = tx.open_table(T).unwrap();
        t.insert(k, v).unwrap();
    }
    tx.commit().unwrap();
}
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (path, mode, n) = (&args[1], &args[2], args[3].parse::<usize>().unwrap());
    let d = if mode == "immediate" { Durability::Immediate } else { Durability::None };
    if args.get(4).map(String::as_str) == Some("crash") {
        let db = Database::create(path).unwrap();
        for i in 0..n {
            put(&db, d, &format!("k/{i:06}"), &value(i, 0));
        }
        std::process::abort();
    }
    if args.get(4).map(String::as_str) == Some("count") {
        let db = Database::create(path).unwrap();
        let r = db.begin_read().unwrap();
        let k = r.open_table(T).map(|t| t.len().unwrap()).unwrap_or(0);
        println!("{{\"engine\":\"redb\",\"after_abort_rows\":{k}}}");
        return;
    }
    let _ = std::fs::remove_file(path);
    let db = Database::create(path).unwrap();
    let t = Instant::now();
    for i in 0..n {
        put(&db, d, &format!("k/{i:06}"), &value(i, 0));
    }
    let store_all = t.elapsed();
    let changes = n * 3 / 10;
    let t = Instant::now();
    for j in 0..changes {
        let i = (j * 7919) % n;
        let key = format!("k/{i:06}");
        let mut tx = db.begin_write().unwrap();
        tx.set_durability(d).unwrap();
        {
            let mut tb = tx.open_table(T).unwrap();
            let cur = tb.get(key.as_str()).unwrap().map(|g| g.value().to_owned());
            assert!(cur.is_some());
            tb.insert(key.as_str(), value(i, 1).as_str()).unwrap();
        }
        tx.commit().unwrap();
    }
    let per_change = t.elapsed().as_secs_f64() * 1000.0 / changes as f64;
    let t = Instant::now();
    let r = db.begin_read().unwrap();
    let rows = r.open_table(T).unwrap().range("k/".."k0").unwrap().count();
    let scan = t.elapsed();
    drop(r);
    drop(db);
    let size = std::fs::metadata(path).unwrap().len();
    println!(
        "{{\"engine\":\"redb\",\"durability\":\"{mode}\",\"agents\":{n},\"store_all_s\":{:.3},\"ms_per_change\":{per_change:.4},\"scan_ms\":{:.2},\"rows\":{rows},\"bytes\":{size}}}",
        store_all.as_secs_f64(),
        scan.as_secs_f64() * 1000.0
    );
}
