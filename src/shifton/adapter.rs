//! Shifton as a [`ScheduleSource`]: employees joined to agents, shifts converted through
//! the company's zone, read again only when stale.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use super::client::ShiftonClient;
use super::model::{Employee, ShiftonId, ShiftonShift};
use crate::error::excerpt;
use crate::ports::ScheduleSource;
use crate::schedule::{Boundary, Shift, normalize_email, parse_instant};
use crate::{Error, Result};

/// Employee id → agent e-mail, for employees Shifton gives no e-mail for.
///
/// # File format
///
/// CSV with a header naming the columns `employee_id` and `email` (any order, case
/// ignored; `#` comments and blank lines skipped):
///
/// ```csv
/// employee_id,email
/// 1042,ana@example.com
/// ```
///
/// or a JSON object `{"1042": "ana@example.com"}` (a `.json` file, or text starting with
/// `{`). A duplicate id, an empty id and a value that is not an e-mail are errors naming
/// the line (CSV) or the id (JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmployeeMap {
    entries: BTreeMap<ShiftonId, String>,
}

impl EmployeeMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one entry.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a duplicate or empty id or a malformed e-mail.
    pub fn insert(&mut self, id: &str, email: &str, at: &str) -> Result<()> {
        let id = ShiftonId::from(id);
        if id.0.is_empty() {
            return Err(Error::invalid(at.to_owned(), "the employee id is empty"));
        }
        let email = email.trim();
        let shaped = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !email.chars().any(char::is_whitespace)
        });
        if !shaped {
            return Err(Error::invalid(
                at.to_owned(),
                format!("\"{}\" is not an e-mail address", excerpt(email, 60)),
            ));
        }
        if self.entries.contains_key(&id) {
            return Err(Error::invalid(at.to_owned(), format!("employee id {id} appears twice")));
        }
        self.entries.insert(id, email.to_owned());
        Ok(())
    }

    /// Read a mapping file's text; `source` names it in errors.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the source and line or id.
    pub fn parse(text: &str, source: &str) -> Result<Self> {
        let text = text.trim_start_matches('\u{feff}');
        let mut map = Self::new();
        if text.trim_start().starts_with('{') {
            let pairs: Vec<(String, serde_json::Value)> = serde_json::from_str::<JsonPairs>(text)
                .map_err(|e| {
                    Error::invalid(
                        format!("employee map {source}"),
                        format!("not a JSON object of id → e-mail: {e}"),
                    )
                })?
                .0;
            for (id, value) in pairs {
                let at = format!("employee map {source}, id {}", excerpt(&id, 40));
                let email =
                    value.as_str().ok_or_else(|| Error::invalid(at.clone(), "the e-mail is not a string"))?;
                map.insert(&id, email, &at)?;
            }
            return Ok(map);
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let header_error =
            |message: String| Error::invalid(format!("employee map {source}, line 1"), message);
        let headers = reader.headers().map_err(|e| header_error(e.to_string()))?.clone();
        let column = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
        let (Some(id_at), Some(email_at)) = (column("employee_id"), column("email")) else {
            return Err(header_error("expected the columns employee_id and email".into()));
        };
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                Error::invalid(format!("employee map {source}, line {line}"), e.to_string())
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let at = format!("employee map {source}, line {line}");
            map.insert(record.get(id_at).unwrap_or(""), record.get(email_at).unwrap_or(""), &at)?;
        }
        Ok(map)
    }

    /// Read a mapping file.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when it cannot be read, and as [`EmployeeMap::parse`].
    pub fn load(path: &Path) -> Result<Self> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(format!("employee map {source}"), format!("cannot read the file: {e}"))
        })?;
        Self::parse(&text, &source)
    }

    /// The e-mail mapped to `id`.
    pub fn get(&self, id: &ShiftonId) -> Option<&str> {
        self.entries.get(id).map(String::as_str)
    }

    /// Every entry, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&ShiftonId, &str)> {
        self.entries.iter().map(|(id, email)| (id, email.as_str()))
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A JSON object read as its pairs in order, duplicates kept (so they can be reported).
struct JsonPairs(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for JsonPairs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = JsonPairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of employee id → e-mail")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<JsonPairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, serde_json::Value>()? {
                    pairs.push(pair);
                }
                Ok(JsonPairs(pairs))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// Who each employee is: the join of Shifton's employees with agents' e-mails.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    /// Employee id → agent e-mail (from the mapping file when it names the employee, else
    /// Shifton's own e-mail).
    pub emails: HashMap<ShiftonId, String>,
    /// Employees with neither an e-mail in Shifton nor a mapping entry (their shifts are
    /// not anyone's; reported, never guessed), by id.
    pub unmapped: Vec<Employee>,
}

impl Roster {
    /// Join `employees` with `map`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the map names an id Shifton does not have (a typo
    /// would otherwise leave an agent silently unscheduled), or when no employee can be
    /// joined at all (Shifton gives no e-mails and there is no map).
    pub fn join(employees: &[Employee], map: &EmployeeMap) -> Result<Self> {
        let known: HashMap<&ShiftonId, &Employee> = employees.iter().map(|e| (&e.id, e)).collect();
        let unknown: Vec<String> =
            map.iter().filter(|(id, _)| !known.contains_key(id)).map(|(id, _)| id.0.clone()).collect();
        if !unknown.is_empty() {
            return Err(Error::invalid(
                "shifton employee map",
                format!(
                    "employee ids not in Shifton: {} (check the mapping file against the company's employees)",
                    unknown.join(", ")
                ),
            ));
        }
        let mut roster = Self::default();
        for employee in employees {
            match map.get(&employee.id).or_else(|| employee.email()) {
                Some(email) => {
                    roster.emails.insert(employee.id.clone(), email.to_owned());
                }
                None => roster.unmapped.push(employee.clone()),
            }
        }
        if roster.emails.is_empty() && !employees.is_empty() {
            return Err(Error::invalid(
                "shifton employees",
                "no employee has an e-mail in Shifton and no employee map names one: set SHIFTON_EMPLOYEE_MAP \
                 (employee_id,email)",
            ));
        }
        roster.unmapped.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(roster)
    }
}

/// Convert Shifton shifts into [`Shift`]s through the company zone (pure). Open shifts
/// (no employee) are skipped; a shift of an employee the roster cannot name is returned
/// in the second list.
///
/// # Errors
/// [`Error::InvalidInput`] naming the shift id and field for a time that cannot be read.
pub fn convert_shifts(
    shifts: &[ShiftonShift],
    roster: &Roster,
    zone: chrono_tz::Tz,
) -> Result<(Vec<Shift>, Vec<ShiftonId>)> {
    let mut out = Vec::with_capacity(shifts.len());
    let mut unnamed = Vec::new();
    for shift in shifts {
        let Some(employee) = &shift.employee_id else { continue };
        let read = |field: &str, text: &str, boundary| {
            parse_instant(text, Some(zone), boundary).map_err(|e| {
                let message = match e {
                    Error::InvalidInput { message, .. } => message,
                    other => other.to_string(),
                };
                Error::invalid(format!("shifton shift {}, field {field}", shift.id), message)
            })
        };
        let start = read("planned_from", &shift.planned_from, Boundary::Start)?;
        let end = read("planned_to", &shift.planned_to, Boundary::End)?;
        if end <= start {
            return Err(Error::invalid(
                format!("shifton shift {}", shift.id),
                format!("planned_to {} is not after planned_from {}", shift.planned_to, shift.planned_from),
            ));
        }
        match roster.emails.get(employee) {
            Some(email) => out.push(Shift { email: email.clone(), start, end }),
            None => unnamed.push(employee.clone()),
        }
    }
    unnamed.sort();
    unnamed.dedup();
    Ok((out, unnamed))
}

/// One cached window of shifts.
#[derive(Debug, Clone)]
struct Cached {
    shifts: Vec<Shift>,
    fetched_at: tokio::time::Instant,
}

/// Shifton as a [`ScheduleSource`].
///
/// Built by [`ShiftonSchedule::connect`], which reads the employees and the mapping file
/// and validates them before anything else happens. Shifts are requested per aligned
/// window of [`window_days`](super::ShiftonConfig::window_days) (in company-local time,
/// starting a day early so a shift that began before the asked range is seen) and kept for
/// [`with_refresh_interval`](Self::with_refresh_interval) (default 5 minutes): Shifton
/// documents no change marker (no `ETag`, no "updated since" filter; UNCONFIRMED), so a
/// window is read again only once it is that old.
///
/// Employees are read when the source connects, and again when a shift names an employee
/// the last read did not have (someone hired since), so their shifts are not lost.
#[derive(Debug)]
pub struct ShiftonSchedule {
    client: ShiftonClient,
    map: EmployeeMap,
    roster: std::sync::RwLock<Roster>,
    refresh: Duration,
    cache: tokio::sync::Mutex<HashMap<NaiveDateTime, Cached>>,
}

impl ShiftonSchedule {
    /// The default age after which a window of shifts is read again.
    pub const DEFAULT_REFRESH: Duration = Duration::from_secs(300);

    /// Build the client for `config`, then [`connect`](Self::connect).
    ///
    /// # Errors
    /// As [`ShiftonClient::new`] and [`connect`](Self::connect).
    pub async fn from_config(config: super::ShiftonConfig) -> Result<Self> {
        Self::connect(ShiftonClient::new(config)?).await
    }

    /// Read the employees and the configured mapping file, and join them.
    ///
    /// # Errors
    /// The API's errors (a 401 for wrong credentials), and [`Roster::join`]'s and
    /// [`EmployeeMap::load`]'s errors: all before any shift is read.
    pub async fn connect(client: ShiftonClient) -> Result<Self> {
        let map = match &client.config().employee_map {
            Some(path) => EmployeeMap::load(path)?,
            None => EmployeeMap::new(),
        };
        Self::connect_with_map(client, &map).await
    }

    /// As [`connect`](Self::connect) with a map already read.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_with_map(client: ShiftonClient, map: &EmployeeMap) -> Result<Self> {
        let employees = client.employees().await?;
        let roster = Roster::join(&employees, map)?;
        if !roster.unmapped.is_empty() {
            tracing::warn!(
                employees = ?roster.unmapped.iter().map(|e| e.id.0.as_str()).collect::<Vec<_>>(),
                "shifton employees with no e-mail and no mapping entry: their shifts are ignored"
            );
        }
        Ok(Self {
            client,
            map: map.clone(),
            roster: std::sync::RwLock::new(roster),
            refresh: Self::DEFAULT_REFRESH,
            cache: Default::default(),
        })
    }

    /// Read a window of shifts again once it is this old.
    pub fn with_refresh_interval(mut self, refresh: Duration) -> Self {
        self.refresh = refresh;
        self
    }

    /// The join of employees and agents, as last read.
    pub fn roster(&self) -> Roster {
        self.roster.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Read the employees again and join them with the mapping file.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn refresh_roster(&self) -> Result<()> {
        let employees = self.client.employees().await?;
        let roster = Roster::join(&employees, &self.map)?;
        *self.roster.write().unwrap_or_else(std::sync::PoisonError::into_inner) = roster;
        Ok(())
    }

    /// The shifts of one aligned window starting at `start` (company-local).
    async fn window(&self, start: NaiveDateTime, length: TimeDelta) -> Result<Vec<Shift>> {
        let now = tokio::time::Instant::now();
        if let Some(cached) = self.cache.lock().await.get(&start) {
            if now.duration_since(cached.fetched_at) < self.refresh {
                return Ok(cached.shifts.clone());
            }
        }
        let raw = self.client.shifts(start, start + length).await?;
        let zone = self.client.config().time_zone;
        let (mut shifts, mut unnamed) = convert_shifts(&raw, &self.roster(), zone)?;
        let roster = self.roster();
        if unnamed.iter().any(|id| !roster.unmapped.iter().any(|e| &e.id == id)) {
            // A shift of an employee the last read did not know: read the employees again.
            self.refresh_roster().await?;
            (shifts, unnamed) = convert_shifts(&raw, &self.roster(), zone)?;
        }
        if !unnamed.is_empty() {
            tracing::warn!(employees = ?unnamed, "shifton shifts of employees with no e-mail: ignored");
        }
        let mut cache = self.cache.lock().await;
        cache.retain(|_, cached| now.duration_since(cached.fetched_at) < self.refresh * 4);
        cache.insert(start, Cached { shifts: shifts.clone(), fetched_at: now });
        Ok(shifts)
    }
}

/// The start of the aligned window (company-local, `days` long, counted from 2000-01-01)
/// that holds `local`.
fn window_start(local: NaiveDateTime, days: i64) -> NaiveDateTime {
    let epoch =
        chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default().and_time(chrono::NaiveTime::MIN);
    let offset = (local - epoch).num_days().div_euclid(days.max(1)) * days.max(1);
    epoch + TimeDelta::days(offset)
}

#[async_trait]
impl ScheduleSource for ShiftonSchedule {
    async fn shifts(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Shift>> {
        if to <= from {
            return Ok(Vec::new());
        }
        let zone = self.client.config().time_zone;
        let days = i64::from(self.client.config().window_days.max(1));
        let length = TimeDelta::days(days);
        let first = window_start(from.with_timezone(&zone).naive_local() - TimeDelta::days(1), days);
        let last = to.with_timezone(&zone).naive_local();
        let mut shifts = Vec::new();
        let mut start = first;
        while start <= last {
            shifts.extend(self.window(start, length).await?);
            start += length;
        }
        shifts.retain(|shift| shift.start < to && shift.end > from);
        shifts.sort_by(|a, b| (a.start, &a.email).cmp(&(b.start, &b.email)));
        shifts.dedup();
        Ok(shifts)
    }

    async fn agents(&self) -> Result<Option<Vec<String>>> {
        let mut agents: Vec<String> = self.roster().emails.into_values().collect();
        agents.sort_by_key(|a| normalize_email(a));
        agents.dedup_by_key(|a| normalize_email(a));
        Ok(Some(agents))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn employee(id: &str, email: Option<&str>) -> Employee {
        Employee { id: id.into(), name: None, email: email.map(str::to_owned), position: None }
    }

    #[test]
    fn mapping_files_are_validated_before_use() {
        let map = EmployeeMap::parse(
            "employee_id,email\n# comment\n7,ana@example.com\n8 , ben@example.com\n",
            "m.csv",
        )
        .unwrap();
        assert_eq!(map.len(), 2);
        let duplicate =
            EmployeeMap::parse("employee_id,email\n7,ana@example.com\n7,ben@example.com\n", "m.csv");
        assert!(
            matches!(duplicate, Err(Error::InvalidInput { ref what, ref message })
            if what == "employee map m.csv, line 3" && message.contains("twice")),
            "{duplicate:?}"
        );
        let json_duplicate = EmployeeMap::parse(r#"{"7":"ana@example.com","7":"ben@example.com"}"#, "m.json");
        assert!(
            matches!(json_duplicate, Err(Error::InvalidInput { ref message, .. }) if message.contains("twice"))
        );
        let bad = EmployeeMap::parse("employee_id,email\n7,not-an-email\n", "m.csv");
        assert!(matches!(bad, Err(Error::InvalidInput { ref what, .. }) if what.ends_with("line 2")));
        assert!(EmployeeMap::parse("id,mail\n7,a@b.c\n", "m.csv").is_err());

        let employees = [employee("7", None), employee("8", Some("ben@example.com")), employee("9", None)];
        let roster = Roster::join(&employees, &map).unwrap();
        assert_eq!(roster.emails[&ShiftonId::from("7")], "ana@example.com");
        assert_eq!(roster.emails[&ShiftonId::from("8")], "ben@example.com");
        assert_eq!(roster.unmapped.len(), 1);
        let mut stale = EmployeeMap::new();
        stale.insert("70", "ana@example.com", "test").unwrap();
        let error = Roster::join(&employees, &stale).unwrap_err();
        assert!(error.to_string().contains("70"), "{error}");
        assert!(Roster::join(&[employee("7", None)], &EmployeeMap::new()).is_err());
    }

    #[test]
    fn shift_times_are_read_in_the_company_zone_across_dst() {
        let roster = Roster::join(&[employee("7", Some("ana@example.com"))], &EmployeeMap::new()).unwrap();
        let shift = |id: &str, from: &str, to: &str| ShiftonShift {
            id: id.into(),
            employee_id: Some("7".into()),
            planned_from: from.into(),
            planned_to: to.into(),
            location: None,
        };
        let berlin = chrono_tz::Europe::Berlin;
        let (shifts, unnamed) = convert_shifts(
            &[
                shift("1", "2026-03-28 22:00:00", "2026-03-29 06:00:00"),
                shift("2", "2026-10-24 22:00:00", "2026-10-25 06:00:00"),
            ],
            &roster,
            berlin,
        )
        .unwrap();
        assert!(unnamed.is_empty());
        assert_eq!(shifts[0].start, Utc.with_ymd_and_hms(2026, 3, 28, 21, 0, 0).unwrap());
        assert_eq!(shifts[0].end, Utc.with_ymd_and_hms(2026, 3, 29, 4, 0, 0).unwrap());
        assert_eq!(shifts[1].start, Utc.with_ymd_and_hms(2026, 10, 24, 20, 0, 0).unwrap());
        assert_eq!(shifts[1].end, Utc.with_ymd_and_hms(2026, 10, 25, 5, 0, 0).unwrap());
        let error =
            convert_shifts(&[shift("3", "soon", "2026-10-25 06:00:00")], &roster, berlin).unwrap_err();
        assert!(error.to_string().contains("shifton shift 3, field planned_from"), "{error}");
    }

    #[test]
    fn windows_are_aligned_so_the_cache_can_reuse_them() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let a = window_start(at("2026-03-29 10:00:00"), 31);
        let b = window_start(at("2026-03-30 23:00:00"), 31);
        assert_eq!(a, b);
        assert!(a <= at("2026-03-29 10:00:00") && at("2026-03-30 23:00:00") < a + TimeDelta::days(31));
    }
}
