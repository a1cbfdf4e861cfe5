//! Shifts: who works when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One agent's shift, as an instant range `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    /// The agent's e-mail (the identity join key).
    pub email: String,
    /// First instant of the shift.
    pub start: DateTime<Utc>,
    /// First instant after the shift.
    pub end: DateTime<Utc>,
}
