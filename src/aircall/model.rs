//! Serde types of the Aircall Public API, written to be tolerant.
//!
//! Aircall publishes no OpenAPI document; these shapes follow the provider reference
//! (the Aircall section of `docs/PROVIDER_FACTS.md`) and code defensively where it marks a fact UNCONFIRMED:
//!
//! - ids are integers, but a string of digits is accepted too ([`de_id`]);
//! - every status-like value is an *open* enum: a value this crate does not know (such as
//!   `always_opened`, seen in production data, meaning UNCONFIRMED) is kept verbatim in an
//!   `Unrecognized(String)` variant instead of failing the whole page;
//! - fields deskbridge does not use are ignored, and optional ones may be absent or `null`.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::{Error, Result};

/// Deserialize an Aircall id: a non-negative integer, or a string of ASCII digits.
///
/// Aircall documents integer ids; strings are accepted defensively (some client libraries
/// and webhook relays stringify them).
///
/// # Errors
/// A serde error naming what was found, for anything else (negative numbers, floats,
/// non-numeric strings, `null`).
pub fn de_id<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<u64, D::Error> {
    struct IdVisitor;

    impl Visitor<'_> for IdVisitor {
        type Value = u64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an Aircall id (a non-negative integer or a string of digits)")
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> std::result::Result<u64, E> {
            Ok(value)
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> std::result::Result<u64, E> {
            u64::try_from(value).map_err(|_| E::invalid_value(de::Unexpected::Signed(value), &self))
        }

        fn visit_str<E: de::Error>(self, value: &str) -> std::result::Result<u64, E> {
            let trimmed = value.trim();
            if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
                return Err(E::invalid_value(de::Unexpected::Str(value), &self));
            }
            trimmed.parse().map_err(|_| E::invalid_value(de::Unexpected::Str(value), &self))
        }
    }

    deserializer.deserialize_any(IdVisitor)
}

/// Deserialize `null` (or an absent field, with `#[serde(default)]`) as the type's default.
fn de_null_as_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Defines an open string enum: known values get a variant, anything else is kept in
/// `Unrecognized(String)`. Generates `as_str`, `From<&str>`, `Display`, `Serialize` and
/// `Deserialize` (from a JSON string).
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this crate does not know, exactly as Aircall spelled it.
            Unrecognized(String),
        }

        impl $name {
            /// The value as Aircall spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )+
                    Self::Unrecognized(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $( $text $(| $alias)* => Self::$variant, )+
                    other => Self::Unrecognized(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
                let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                Ok(Self::from(text.as_ref()))
            }
        }
    };
}

open_enum! {
    /// A user's `availability_status`: the state the user (or an admin, or deskbridge)
    /// chose. Only [`Available`](Self::Available), [`Unavailable`](Self::Unavailable) and
    /// [`Custom`](Self::Custom) can be written (see [`WritableStatus`]); other values seen in
    /// production data (`always_opened`, `always_closed`; meaning UNCONFIRMED) are kept as
    /// [`Unrecognized`](Self::Unrecognized).
    AvailabilityStatus {
        /// `available`: takes calls.
        Available => "available",
        /// `unavailable`: takes no calls (optionally with a [`Substatus`] reason).
        Unavailable => "unavailable",
        /// `custom`: most likely the Dashboard's "Automatic Schedule", following the user's
        /// working hours (UNCONFIRMED by Aircall). Not mapped to a presence by the seed table.
        Custom => "custom",
    }
}

open_enum! {
    /// Why an `unavailable` user is unavailable. Reasons must be enabled for the company by
    /// Aircall support. Aircall's SDK spells "in training" `in_traning`; both spellings read
    /// as [`InTraining`](Self::InTraining), which is written as `in_training`.
    Substatus {
        /// `out_for_lunch`.
        OutForLunch => "out_for_lunch",
        /// `on_a_break`.
        OnABreak => "on_a_break",
        /// `in_training` (also read from the SDK's `in_traning`).
        InTraining => "in_training" | "in_traning",
        /// `doing_back_office`.
        DoingBackOffice => "doing_back_office",
        /// `other`: Aircall's own "Other" reason.
        Other => "other",
    }
}

open_enum! {
    /// The read-only, Aircall-computed `availability` of `GET /v1/users/availabilities`:
    /// what the user can do right now (in a call, wrapping up, …), as opposed to the
    /// chosen [`AvailabilityStatus`]. `ringing` appears in one third-party map
    /// (UNCONFIRMED) and reads as [`Unrecognized`](Self::Unrecognized).
    Availability {
        /// `available`.
        Available => "available",
        /// `offline`.
        Offline => "offline",
        /// `do_not_disturb`: unavailable, optionally with a reason.
        DoNotDisturb => "do_not_disturb",
        /// `in_call`.
        InCall => "in_call",
        /// `after_call_work`: wrap-up time.
        AfterCallWork => "after_call_work",
        /// `on_mobile`.
        OnMobile => "on_mobile",
    }
}

/// The `availability_status` values `PUT /v1/users/{id}` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WritableStatus {
    /// `available`.
    Available,
    /// `unavailable`.
    Unavailable,
    /// `custom` (Automatic Schedule, UNCONFIRMED).
    Custom,
}

impl WritableStatus {
    /// Every writable value.
    pub const ALL: [WritableStatus; 3] = [Self::Available, Self::Unavailable, Self::Custom];

    /// The value as Aircall spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Unavailable => "unavailable",
            Self::Custom => "custom",
        }
    }

    /// Read a native value that is about to be written.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the value when Aircall cannot set it (read-only
    /// values such as `offline`, `in_call` or `do_not_disturb`, or anything unknown).
    pub fn parse(value: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == value).ok_or_else(|| {
            Error::invalid(
                "aircall availability_status",
                format!(
                    "\"{value}\" cannot be set through the Aircall API; \
                     it accepts only available, unavailable or custom"
                ),
            )
        })
    }
}

impl fmt::Display for WritableStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<WritableStatus> for AvailabilityStatus {
    fn from(status: WritableStatus) -> Self {
        match status {
            WritableStatus::Available => Self::Available,
            WritableStatus::Unavailable => Self::Unavailable,
            WritableStatus::Custom => Self::Custom,
        }
    }
}

/// An Aircall user (v1 `User`, the fields deskbridge reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user id.
    #[serde(deserialize_with = "de_id")]
    pub id: u64,
    /// Display name (empty when absent).
    #[serde(default, deserialize_with = "de_null_as_default")]
    pub name: String,
    /// E-mail address: the join key with other providers.
    #[serde(default)]
    pub email: Option<String>,
    /// Derived and read-only: whether the user can take calls right now.
    #[serde(default)]
    pub available: Option<bool>,
    /// The chosen status; the only writable state.
    #[serde(default)]
    pub availability_status: Option<AvailabilityStatus>,
    /// The reason for `unavailable`, when reasons are enabled.
    #[serde(default)]
    pub substatus: Option<Substatus>,
    /// IANA time zone.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Creation time as Aircall formats it.
    #[serde(default)]
    pub created_at: Option<String>,
    /// The API URL of this user.
    #[serde(default)]
    pub direct_link: Option<String>,
}

/// One row of `GET /v1/users/availabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAvailability {
    /// The user id.
    #[serde(deserialize_with = "de_id")]
    pub id: u64,
    /// What the user can do right now; `None` when absent.
    #[serde(default)]
    pub availability: Option<Availability>,
}

/// A member of a team, as listed inside the team (a user object; only the id is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    /// The user id.
    #[serde(deserialize_with = "de_id")]
    pub id: u64,
}

/// An Aircall team: deskbridge's groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// The team id.
    #[serde(deserialize_with = "de_id")]
    pub id: u64,
    /// The team name, exactly as Aircall spells it.
    #[serde(default, deserialize_with = "de_null_as_default")]
    pub name: String,
    /// Members (empty when absent or `null`).
    #[serde(default, deserialize_with = "de_null_as_default")]
    pub users: Vec<TeamMember>,
}

/// The `meta` object of a paged answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageMeta {
    /// Items on this page.
    #[serde(default)]
    pub count: Option<u64>,
    /// Items in the whole listing (Aircall caps a query at 10,000 records).
    #[serde(default)]
    pub total: Option<u64>,
    /// This page's number, from 1.
    #[serde(default)]
    pub current_page: Option<u64>,
    /// Page size.
    #[serde(default)]
    pub per_page: Option<u64>,
    /// Absolute URL of the next page; `None` (`null`) on the last page.
    #[serde(default)]
    pub next_page_link: Option<String>,
    /// Absolute URL of the previous page.
    #[serde(default)]
    pub previous_page_link: Option<String>,
}

/// A paged answer: its items and its `meta`.
pub trait PagedEnvelope {
    /// The item type.
    type Item;
    /// Split into items and `meta`.
    fn into_parts(self) -> (Vec<Self::Item>, PageMeta);
}

/// `GET /v1/users` answer.
#[derive(Debug, Clone, Deserialize)]
pub struct UsersPage {
    /// The users of this page.
    pub users: Vec<User>,
    /// Paging information (a missing `meta` reads as the last page).
    #[serde(default)]
    pub meta: PageMeta,
}

impl PagedEnvelope for UsersPage {
    type Item = User;
    fn into_parts(self) -> (Vec<User>, PageMeta) {
        (self.users, self.meta)
    }
}

/// `GET /v1/users/availabilities` answer.
#[derive(Debug, Clone, Deserialize)]
pub struct AvailabilitiesPage {
    /// The rows of this page.
    pub users: Vec<UserAvailability>,
    /// Paging information (a missing `meta` reads as the last page).
    #[serde(default)]
    pub meta: PageMeta,
}

impl PagedEnvelope for AvailabilitiesPage {
    type Item = UserAvailability;
    fn into_parts(self) -> (Vec<UserAvailability>, PageMeta) {
        (self.users, self.meta)
    }
}

/// `GET /v1/teams` answer.
#[derive(Debug, Clone, Deserialize)]
pub struct TeamsPage {
    /// The teams of this page.
    pub teams: Vec<Team>,
    /// Paging information (a missing `meta` reads as the last page).
    #[serde(default)]
    pub meta: PageMeta,
}

impl PagedEnvelope for TeamsPage {
    type Item = Team;
    fn into_parts(self) -> (Vec<Team>, PageMeta) {
        (self.teams, self.meta)
    }
}

/// `{"user": …}`: the answer to `GET` and `PUT /v1/users/{id}`.
#[derive(Debug, Clone, Deserialize)]
pub struct UserEnvelope {
    /// The user.
    pub user: User,
}

/// The body of `PUT /v1/users/{id}` that changes availability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AvailabilityUpdate {
    /// The new status.
    pub availability_status: WritableStatus,
    /// The reason, only sent when given. Whether an API key may set it (the help centre
    /// says only the agent can) is UNCONFIRMED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub substatus: Option<Substatus>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_accept_integers_and_digit_strings_only() {
        let member: TeamMember = serde_json::from_value(json!({"id": "42"})).unwrap();
        assert_eq!(member.id, 42);
        let member: TeamMember = serde_json::from_value(json!({"id": 7})).unwrap();
        assert_eq!(member.id, 7);
        for bad in [json!({"id": -1}), json!({"id": "abc"}), json!({"id": 1.5}), json!({"id": null})] {
            assert!(serde_json::from_value::<TeamMember>(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn open_enums_keep_unknown_values_verbatim() {
        let user: User = serde_json::from_value(json!({
            "id": 1, "name": "A", "availability_status": "always_opened", "substatus": "in_traning",
            "numbers": [], "unknown": {"x": 1}
        }))
        .unwrap();
        assert_eq!(user.availability_status, Some(AvailabilityStatus::Unrecognized("always_opened".into())));
        assert_eq!(user.substatus, Some(Substatus::InTraining));
        assert_eq!(serde_json::to_value(Substatus::InTraining).unwrap(), json!("in_training"));
        assert_eq!(Availability::from("ringing").as_str(), "ringing");
    }

    #[test]
    fn writable_status_names_the_rejected_value() {
        assert_eq!(WritableStatus::parse("custom").unwrap(), WritableStatus::Custom);
        let message = WritableStatus::parse("offline").unwrap_err().to_string();
        assert!(message.contains("\"offline\""), "{message}");
    }

    #[test]
    fn update_body_omits_an_absent_substatus() {
        let body = AvailabilityUpdate { availability_status: WritableStatus::Available, substatus: None };
        assert_eq!(serde_json::to_value(body).unwrap(), json!({"availability_status": "available"}));
    }
}
