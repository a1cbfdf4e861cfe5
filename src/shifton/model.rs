//! Shifton's JSON shapes, read tolerantly.
//!
//! Only `id` (employees), `employee_id`, `planned_from` and `planned_to` (shifts) are
//! relied on; every other field is optional and unknown fields are ignored. Ids are read
//! whether Shifton writes them as numbers or strings (UNCONFIRMED which). Lists are read
//! bare (`[…]`) or wrapped (`{"data": […]}`): the current API wraps them, the legacy
//! API's shape is known only from public client code (UNCONFIRMED).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A Shifton id (employee, shift), kept as text whatever JSON type carried it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ShiftonId(pub String);

impl fmt::Display for ShiftonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ShiftonId {
    fn from(value: &str) -> Self {
        Self(value.trim().to_owned())
    }
}

impl<'de> Deserialize<'de> for ShiftonId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Signed(i64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => Ok(Self(n.to_string())),
            Raw::Signed(n) => Ok(Self(n.to_string())),
            Raw::Text(text) if !text.trim().is_empty() => Ok(Self(text.trim().to_owned())),
            Raw::Text(_) => Err(serde::de::Error::custom("an empty id")),
        }
    }
}

/// An employee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    /// Shifton's employee id.
    pub id: ShiftonId,
    /// Name (`name` in the current API, `full_name` in the legacy one).
    #[serde(default, alias = "full_name")]
    pub name: Option<String>,
    /// E-mail, when Shifton gives one (UNCONFIRMED: not in the documented examples).
    #[serde(default)]
    pub email: Option<String>,
    /// Position (current API).
    #[serde(default)]
    pub position: Option<serde_json::Value>,
}

impl Employee {
    /// The e-mail, when present and not blank.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref().map(str::trim).filter(|e| !e.is_empty())
    }
}

/// A shift's location.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The location's title.
    #[serde(default)]
    pub title: Option<String>,
}

/// A shift, as the legacy shifts endpoint returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftonShift {
    /// Shifton's shift id.
    pub id: ShiftonId,
    /// Whose shift it is; `null` for an open (unassigned) shift.
    #[serde(default)]
    pub employee_id: Option<ShiftonId>,
    /// Start, `YYYY-MM-DD HH:MM:SS` without an offset: company-local time (UNCONFIRMED).
    pub planned_from: String,
    /// End, in the same form.
    pub planned_to: String,
    /// Where.
    #[serde(default)]
    pub location: Option<Location>,
}

/// A list, bare or wrapped in `{"data": …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum ListBody<T> {
    Wrapped { data: Vec<T> },
    Bare(Vec<T>),
}

impl<T> ListBody<T> {
    pub(crate) fn into_vec(self) -> Vec<T> {
        match self {
            Self::Wrapped { data } | Self::Bare(data) => data,
        }
    }
}

/// The token endpoint's answer.
#[derive(Clone, Deserialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    #[serde(default)]
    pub(crate) refresh_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_lists_are_read_in_either_shape() {
        let bare: ListBody<Employee> =
            serde_json::from_str(r#"[{"id":7,"full_name":"Ana Berg","extra":1}]"#).unwrap();
        let wrapped: ListBody<Employee> =
            serde_json::from_str(r#"{"data":[{"id":"7","name":"Ana Berg","position":"Agent"}]}"#).unwrap();
        let (bare, wrapped) = (bare.into_vec(), wrapped.into_vec());
        assert_eq!(bare[0].id, wrapped[0].id);
        assert_eq!(bare[0].name.as_deref(), Some("Ana Berg"));
        assert!(
            serde_json::from_str::<ShiftonShift>(r#"{"id":"","planned_from":"x","planned_to":"y"}"#).is_err()
        );
        let shift: ShiftonShift = serde_json::from_str(
            r#"{"id":1,"employee_id":null,"planned_from":"2026-03-29 01:00:00","planned_to":"2026-03-29 09:00:00"}"#,
        )
        .unwrap();
        assert_eq!(shift.employee_id, None);
    }
}
