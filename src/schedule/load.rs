//! Loading shifts from CSV and JSON text.

use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;

use super::Shift;
use super::time::{Boundary, parse_instant_message, parse_zone_message};
use crate::error::excerpt;
use crate::{Error, Result};

/// The columns a schedule CSV may have.
const COLUMNS: [&str; 4] = ["email", "start", "end", "timezone"];

/// Load shifts from CSV text.
///
/// # Format
///
/// ```csv
/// email,start,end,timezone
/// ana@example.com,2026-11-23 08:00,2026-11-23 16:00,Europe/Berlin
/// ben@example.com,2026-11-23T07:00:00Z,2026-11-23T15:00:00Z,
/// ```
///
/// - The header names the columns `email`, `start`, `end` and optionally `timezone`, in
///   any order (case and surrounding spaces ignored). Any other column is an error, so a
///   misspelt `timezone` column is not silently ignored.
/// - `start` and `end` are RFC 3339 with an offset, or local date-times
///   (`YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DDTHH:MM[:SS]`) read in the row's `timezone`
///   (an IANA name), or in `default_zone` when the row has none. Local times in a
///   daylight-saving gap or overlap follow [`resolve_local`](super::resolve_local). A
///   row with an offset still has its `timezone` validated, but the offset wins.
/// - Fields may be quoted and are trimmed; blank lines and lines starting with `#` are
///   skipped; a UTF-8 byte order mark is ignored.
/// - The e-mail is kept as written (trimmed); [`Schedule`](super::Schedule) normalises
///   case.
///
/// # Errors
///
/// The first bad row is an [`Error::InvalidInput`] whose `what` names the row and field,
/// e.g. `schedule row 4, field end`. Rows are numbered as a spreadsheet shows them: the
/// header is row 1, and a row is numbered by the line it starts on. An `end` not after
/// its `start` (after time zone resolution), an unknown zone, a local time with no zone
/// and an empty or malformed e-mail are errors.
pub fn shifts_from_csv(text: &str, default_zone: Option<Tz>) -> Result<Vec<Shift>> {
    shifts_from_csv_reader(text.as_bytes(), default_zone)
}

/// [`shifts_from_csv`] reading from any [`std::io::Read`] (a file, a network body).
pub fn shifts_from_csv_reader<R: std::io::Read>(reader: R, default_zone: Option<Tz>) -> Result<Vec<Shift>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(false)
        .from_reader(reader);
    let headers = reader.headers().map_err(|err| csv_error("schedule header", &err))?.clone();
    let mut positions: [Option<usize>; 4] = [None; 4];
    for (index, name) in headers.iter().enumerate() {
        let normalised = name.trim().to_ascii_lowercase();
        let column = COLUMNS.iter().position(|c| *c == normalised).ok_or_else(|| {
            Error::invalid(
                "schedule header",
                format!(
                    "unknown column \"{}\": expected email, start, end and optionally timezone",
                    excerpt(name, 40)
                ),
            )
        })?;
        if positions[column].replace(index).is_some() {
            return Err(Error::invalid("schedule header", format!("column \"{normalised}\" appears twice")));
        }
    }
    let [Some(email_at), Some(start_at), Some(end_at), timezone_at] = positions else {
        let missing: Vec<&str> = COLUMNS[..3]
            .iter()
            .zip(positions)
            .filter(|(_, at)| at.is_none())
            .map(|(name, _)| *name)
            .collect();
        return Err(Error::invalid("schedule header", format!("missing column(s): {}", missing.join(", "))));
    };

    let mut shifts = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|err| {
            let what = match err.position() {
                Some(position) => format!("schedule row {}", position.line()),
                None => "schedule".to_owned(),
            };
            csv_error(&what, &err)
        })?;
        let row = record.position().map_or(0, |position| position.line());
        let field = |at: usize| record.get(at).unwrap_or("");
        let fields = RawShift {
            email: field(email_at).to_owned(),
            start: field(start_at).to_owned(),
            end: field(end_at).to_owned(),
            timezone: timezone_at.map(|at| field(at).to_owned()),
        };
        shifts.push(fields.into_shift(&format!("schedule row {row}"), default_zone)?);
    }
    Ok(shifts)
}

/// Load shifts from JSON text: an array of objects with the CSV's fields.
///
/// ```json
/// [
///   {"email": "ana@example.com", "start": "2026-11-23 08:00", "end": "2026-11-23 16:00",
///    "timezone": "Europe/Berlin"},
///   {"email": "ben@example.com", "start": "2026-11-23T07:00:00Z", "end": "2026-11-23T15:00:00Z"}
/// ]
/// ```
///
/// Values follow the same rules as [`shifts_from_csv`]; `timezone` may be absent or
/// `null`; any other field is an error. Errors name the entry, counting from 1, and the
/// field: `schedule entry 2, field start`.
pub fn shifts_from_json(text: &str, default_zone: Option<Tz>) -> Result<Vec<Shift>> {
    let entries: Vec<Value> = serde_json::from_str(text).map_err(|err| {
        Error::invalid("schedule", format!("expected a JSON array of shift objects: {err}"))
    })?;
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let what = format!("schedule entry {}", index + 1);
            let raw: RawShift = serde_path_to_error::deserialize(entry).map_err(|err| {
                let path = err.path().to_string();
                let what = if path == "." { what.clone() } else { format!("{what}, field {path}") };
                Error::invalid(what, err.into_inner().to_string())
            })?;
            raw.into_shift(&what, default_zone)
        })
        .collect()
}

/// One shift exactly as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShift {
    email: String,
    start: String,
    end: String,
    #[serde(default)]
    timezone: Option<String>,
}

impl RawShift {
    fn into_shift(self, what: &str, default_zone: Option<Tz>) -> Result<Shift> {
        let field_error =
            |field: &str, message: String| Error::invalid(format!("{what}, field {field}"), message);
        let email = self.email.trim();
        if email.is_empty() {
            return Err(field_error("email", "is empty".to_owned()));
        }
        if !is_plausible_email(email) {
            return Err(field_error("email", format!("\"{}\" is not an e-mail address", excerpt(email, 60))));
        }
        let zone = match self.timezone.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => {
                Some(parse_zone_message(name).map_err(|message| field_error("timezone", message))?)
            }
            _ => default_zone,
        };
        let start = parse_instant_message(&self.start, zone, Boundary::Start)
            .map_err(|message| field_error("start", message))?;
        let end = parse_instant_message(&self.end, zone, Boundary::End)
            .map_err(|message| field_error("end", message))?;
        if end <= start {
            return Err(field_error(
                "end",
                format!(
                    "end {} is not after start {} (both in UTC, after time zone resolution)",
                    end.to_rfc3339(),
                    start.to_rfc3339()
                ),
            ));
        }
        Ok(Shift { email: email.to_owned(), start, end })
    }
}

/// One `@` with something on both sides and no whitespace: enough to catch a shifted
/// column or a name typed into the e-mail column, without pretending to validate RFC 5322.
fn is_plausible_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.contains(char::is_whitespace)
        }
        None => false,
    }
}

fn csv_error(what: &str, err: &csv::Error) -> Error {
    let message = match err.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("has {len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
        _ => err.to_string(),
    };
    Error::invalid(what, message)
}
