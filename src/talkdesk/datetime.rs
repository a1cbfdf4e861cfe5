//! A checker for the moment.js-like datetime formats Talkdesk puts in an action input's
//! `format` (e.g. `YYYY-MM-DDTHH:mm:ssZ`).

use chrono::NaiveDate;

/// One piece of a compiled format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// A run of digits with a meaning, e.g. `YYYY`.
    Number { token: &'static str, digits: usize, field: Field },
    /// A UTC offset (`Z` or `ZZ`).
    Offset { token: &'static str },
    /// Text that must appear verbatim.
    Literal(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
}

/// A compiled datetime format in the moment.js token language Talkdesk uses for `datetime`
/// inputs, and a strict check of values against it.
///
/// Supported tokens: `YYYY` (4-digit year), `MM` (month 01–12), `DD` (day 01–31, checked
/// against the month when the year and month are present), `HH` (hour 00–23), `mm` (minute
/// 00–59), `ss` (second 00–59), `SSS` (milliseconds, 3 digits), and `Z` / `ZZ` (UTC offset).
/// Like moment.js when it parses, both offset tokens accept `Z` (Zulu), `±HH`, `±HHMM` and
/// `±HH:MM`; this matters because Talkdesk's own example pairs the format
/// `YYYY-MM-DDTHH:mm:ssZ` with the value `2024-05-01T10:00:00Z`.
///
/// Every other character is a literal, except ASCII letters: the letter `T` is a literal (as
/// in moment.js), text in `[brackets]` is a literal, and any other letter run is an
/// unsupported token and makes [`DateTimeFormat::parse`] fail, so that a format this checker
/// does not understand is reported when the manifest is built instead of rejecting valid
/// values later. Which formats Talkdesk itself accepts is UNCONFIRMED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTimeFormat {
    pattern: String,
    parts: Vec<Part>,
}

impl DateTimeFormat {
    /// Compile a format; the error says which token is not supported.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        if pattern.trim().is_empty() {
            return Err("datetime format is empty".to_owned());
        }
        let chars: Vec<char> = pattern.chars().collect();
        let mut parts = Vec::new();
        let mut index = 0;
        while index < chars.len() {
            let current = chars[index];
            if current == '[' {
                let Some(close) = chars[index + 1..].iter().position(|&c| c == ']') else {
                    return Err(format!("unclosed `[` at character {} of `{pattern}`", index + 1));
                };
                let text: String = chars[index + 1..index + 1 + close].iter().collect();
                push_literal(&mut parts, &text);
                index += close + 2;
                continue;
            }
            if current.is_ascii_alphabetic() {
                let run_len = chars[index..].iter().take_while(|&&c| c == current).count();
                let run: String = chars[index..index + run_len].iter().collect();
                let part = match run.as_str() {
                    "YYYY" => Part::Number { token: "YYYY", digits: 4, field: Field::Year },
                    "MM" => Part::Number { token: "MM", digits: 2, field: Field::Month },
                    "DD" => Part::Number { token: "DD", digits: 2, field: Field::Day },
                    "HH" => Part::Number { token: "HH", digits: 2, field: Field::Hour },
                    "mm" => Part::Number { token: "mm", digits: 2, field: Field::Minute },
                    "ss" => Part::Number { token: "ss", digits: 2, field: Field::Second },
                    "SSS" => Part::Number { token: "SSS", digits: 3, field: Field::Millisecond },
                    "Z" => Part::Offset { token: "Z" },
                    "ZZ" => Part::Offset { token: "ZZ" },
                    "T" => Part::Literal("T".to_owned()),
                    other => {
                        return Err(format!(
                            "unsupported datetime token `{other}` in `{pattern}` (supported: YYYY MM DD \
                             HH mm ss SSS Z ZZ; put literal text in [brackets])"
                        ));
                    }
                };
                match part {
                    Part::Literal(text) => push_literal(&mut parts, &text),
                    other => parts.push(other),
                }
                index += run_len;
                continue;
            }
            push_literal(&mut parts, &current.to_string());
            index += 1;
        }
        Ok(Self { pattern: pattern.to_owned(), parts })
    }

    /// The format as written in the manifest.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Check that `value` matches the format exactly and names a real moment (month 1–12, a
    /// day that exists in that month, hour 0–23 and so on). The error says what is wrong.
    pub fn check(&self, value: &str) -> Result<(), String> {
        let chars: Vec<char> = value.chars().collect();
        let mut position = 0;
        let mut fields: Vec<(Field, u32)> = Vec::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => {
                    for expected in text.chars() {
                        if chars.get(position) != Some(&expected) {
                            return Err(format!("expected `{expected}` at character {}", position + 1));
                        }
                        position += 1;
                    }
                }
                Part::Number { token, digits, field } => {
                    let slice = chars.get(position..position + digits).unwrap_or(&[]);
                    if slice.len() != *digits || !slice.iter().all(char::is_ascii_digit) {
                        return Err(format!(
                            "expected {digits} digits for `{token}` at character {}",
                            position + 1
                        ));
                    }
                    let number = slice.iter().fold(0u32, |acc, c| acc * 10 + c.to_digit(10).unwrap_or(0));
                    fields.push((*field, number));
                    position += digits;
                }
                Part::Offset { token } => {
                    position = check_offset(&chars, position, token)?;
                }
            }
        }
        if position != chars.len() {
            return Err(format!("unexpected text after character {position}"));
        }
        check_ranges(&fields)
    }
}

fn push_literal(parts: &mut Vec<Part>, text: &str) {
    if let Some(Part::Literal(previous)) = parts.last_mut() {
        previous.push_str(text);
    } else if !text.is_empty() {
        parts.push(Part::Literal(text.to_owned()));
    }
}

/// Read an offset (`Z`, `±HH`, `±HHMM`, `±HH:MM`) at `start`; return the position after it.
fn check_offset(chars: &[char], start: usize, token: &str) -> Result<usize, String> {
    let bad = || {
        format!("expected a UTC offset (`Z`, `+HH:MM` or `+HHMM`) for `{token}` at character {}", start + 1)
    };
    match chars.get(start) {
        Some('Z' | 'z') => return Ok(start + 1),
        Some('+' | '-') => {}
        _ => return Err(bad()),
    }
    let two_digits = |at: usize| -> Option<u32> {
        let slice = chars.get(at..at + 2)?;
        if slice.iter().all(char::is_ascii_digit) {
            Some(slice.iter().fold(0, |acc, c| acc * 10 + c.to_digit(10).unwrap_or(0)))
        } else {
            None
        }
    };
    let hours = two_digits(start + 1).ok_or_else(bad)?;
    let mut position = start + 3;
    let mut minutes = 0;
    if chars.get(position) == Some(&':') {
        minutes = two_digits(position + 1).ok_or_else(bad)?;
        position += 3;
    } else if let Some(value) = two_digits(position) {
        minutes = value;
        position += 2;
    }
    if hours > 23 || minutes > 59 {
        return Err(format!("UTC offset at character {} is out of range", start + 1));
    }
    Ok(position)
}

fn check_ranges(fields: &[(Field, u32)]) -> Result<(), String> {
    let get = |wanted: Field| fields.iter().find(|(field, _)| *field == wanted).map(|(_, v)| *v);
    let in_range = |field: Field, name: &str, low: u32, high: u32| -> Result<(), String> {
        match get(field) {
            Some(value) if value < low || value > high => {
                Err(format!("{name} {value:02} is out of range ({low:02}–{high:02})"))
            }
            _ => Ok(()),
        }
    };
    in_range(Field::Month, "month", 1, 12)?;
    in_range(Field::Day, "day", 1, 31)?;
    in_range(Field::Hour, "hour", 0, 23)?;
    in_range(Field::Minute, "minute", 0, 59)?;
    in_range(Field::Second, "second", 0, 59)?;
    if let (Some(year), Some(month), Some(day)) = (get(Field::Year), get(Field::Month), get(Field::Day)) {
        let exists = i32::try_from(year).ok().and_then(|y| NaiveDate::from_ymd_opt(y, month, day)).is_some();
        if !exists {
            return Err(format!("{year:04}-{month:02}-{day:02} is not a date"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talkdesk_example_format_accepts_zulu_and_offsets() {
        let format = DateTimeFormat::parse("YYYY-MM-DDTHH:mm:ssZ").unwrap();
        assert_eq!(format.check("2024-05-01T10:00:00Z"), Ok(()));
        assert_eq!(format.check("2024-05-01T10:00:00+02:00"), Ok(()));
        assert_eq!(format.check("2024-05-01T10:00:00-0530"), Ok(()));
        assert!(format.check("2024-05-01 10:00:00Z").unwrap_err().contains("`T`"));
        assert!(format.check("2024-5-01T10:00:00Z").unwrap_err().contains("`MM`"));
        assert!(format.check("2024-05-01T10:00:00").unwrap_err().contains("UTC offset"));
        assert!(format.check("2024-05-01T10:00:00Zjunk").unwrap_err().contains("unexpected text"));
        assert!(format.check("2024-13-01T10:00:00Z").unwrap_err().contains("month 13"));
        assert!(format.check("2023-02-29T10:00:00Z").unwrap_err().contains("not a date"));
        assert!(format.check("2024-02-29T24:00:00Z").unwrap_err().contains("hour 24"));
    }

    #[test]
    fn milliseconds_brackets_and_compact_offset() {
        let format = DateTimeFormat::parse("[on] DD/MM/YYYY HH:mm:ss.SSS ZZ").unwrap();
        assert_eq!(format.check("on 31/12/2024 23:59:59.999 +0100"), Ok(()));
        assert!(format.check("on 31/12/2024 23:59:59.99 +0100").is_err());
        assert!(format.check("at 31/12/2024 23:59:59.999 +0100").is_err());
    }

    #[test]
    fn unsupported_tokens_are_reported() {
        assert!(DateTimeFormat::parse("MM/DD/YYYY hh:mm A").unwrap_err().contains("`hh`"));
        assert!(DateTimeFormat::parse("[open").is_err());
        assert!(DateTimeFormat::parse(" ").is_err());
    }
}
