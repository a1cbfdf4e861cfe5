//! Where the conformance tests find the vendors' OpenAPI documents.
//!
//! The documents are vendored in `tests/specs/` (see its README for each one's source,
//! version, date and sha256), so a fresh clone needs nothing outside the repository.
//! `DESKBRIDGE_SPECS_DIR`, when set, is tried first: point it at a newer download to check
//! the crate against it. Nothing here looks outside the repository otherwise.

use std::path::PathBuf;

/// The path of the vendored document `file`: `$DESKBRIDGE_SPECS_DIR/file` when that
/// variable is set (it must then hold the file: a wrong override is an error, not a silent
/// fall-back), else `tests/specs/file`. A missing file panics: conformance must never pass
/// silently.
pub fn spec_path(file: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("DESKBRIDGE_SPECS_DIR") {
        let path = PathBuf::from(dir).join(file);
        assert!(
            path.is_file(),
            "DESKBRIDGE_SPECS_DIR is set but {} does not exist; unset it to use the vendored copy in tests/specs/",
            path.display()
        );
        return path;
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/specs").join(file);
    assert!(
        path.is_file(),
        "vendored OpenAPI document {} is missing (see tests/specs/README.md)",
        path.display()
    );
    path
}
