//! The build-time baseline of the engine comparison (see ../run.sh): what both engine
//! programs share (serde_json), so the engines' own build cost is the difference.
fn main() {
    println!("{}", serde_json::json!({"engine": "baseline"}));
}
