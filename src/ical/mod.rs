//! iCalendar feeds as a [`ScheduleSource`] (feature `ical`): a file, or a URL polled with
//! `ETag` / `If-Modified-Since`.
//!
//! The parsing and expansion (pure, no I/O) live in [`crate::schedule::ical`]; this module
//! reads the feeds and decides when to read them again:
//!
//! - **File**: re-read only when its modification time or size changed.
//! - **URL** (`https://`, `http://`, `webcal://` read as `https://`): a conditional `GET`
//!   with the last answer's `ETag` (`If-None-Match`) and `Last-Modified`
//!   (`If-Modified-Since`); a `304 Not Modified` keeps the parsed calendar and costs no
//!   parsing. Redirects are followed (at most 5); no credential is ever sent, so a redirect
//!   cannot leak one.
//! - At most one check per feed every [`IcalSource::with_poll_interval`] (default 60 s):
//!   the schedule-driven sync asks for shifts several times per run and at every shift
//!   boundary; the feed is not fetched each time.
//!
//! **A feed URL is a secret.** Google's "secret address in iCal format" and Outlook's
//! published-calendar links carry their credential in the path. Errors, logs and `Debug`
//! show only the scheme and host (`https://calendar.google.com/…`).
//!
//! **Nothing is written from a schedule that failed to load.** When a feed cannot be read
//! or parsed, [`ScheduleSource::shifts`] returns the error (naming the feed, and the line
//! for a malformed feed), even if an older copy was read successfully before: the sync then
//! writes nothing and reports the error, and the next run tries again.
//!
//! ```no_run
//! # async fn demo() -> deskbridge::Result<()> {
//! use std::sync::Arc;
//! use deskbridge::ical::{IcalFeed, IcalSource};
//! use deskbridge::ports::ScheduleSource;
//! use deskbridge::schedule::ical::Assignee;
//!
//! // One shared rota whose events invite the agent on shift.
//! let rota = IcalFeed::parse_location("https://calendar.example.com/rota.ics")?;
//! // Plus one agent's own Outlook calendar, exported to a file.
//! let hal = IcalFeed::parse_location("exports/hal.ics")?.assignee(Assignee::Calendar("hal@example.com".into()));
//! let source: Arc<dyn ScheduleSource> = Arc::new(IcalSource::new(vec![rota, hal])?);
//! let now = chrono::Utc::now();
//! let shifts = source.shifts(now, now + chrono::Duration::days(1)).await?;
//! # let _ = shifts; Ok(()) }
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::{
    ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION,
};
use url::Url;

use crate::error::excerpt;
use crate::http::{HttpRequest, ReqwestTransport, Transport};
use crate::ports::ScheduleSource;
use crate::schedule::Shift;
use crate::schedule::ical::{Assignee, IcalOptions, IcalSchedule};
use crate::{Error, Result};

/// Provider name used in errors.
pub const PROVIDER: &str = "ical";

/// Where a feed is.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FeedLocation {
    /// A file on this machine.
    File(PathBuf),
    /// An `http(s)` URL (kept secret: see the [module documentation](self)).
    Url(Url),
}

impl std::fmt::Debug for FeedLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

impl FeedLocation {
    /// Read a command-line or configuration value: `https://…`, `http://…`,
    /// `webcal://…` (read as `https://…`), or else a file path.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty value or a URL that does not parse.
    pub fn parse(value: &str) -> Result<Self> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Error::config("ical: the feed location is empty"));
        }
        let lower = value.to_ascii_lowercase();
        let url_text = if let Some(rest) = lower.strip_prefix("webcal://").map(|_| &value[9..]) {
            Some(format!("https://{rest}"))
        } else if lower.starts_with("https://") || lower.starts_with("http://") {
            Some(value.to_owned())
        } else {
            None
        };
        match url_text {
            Some(text) => Url::parse(&text)
                .map(Self::Url)
                .map_err(|e| Error::config(format!("ical: the feed URL is not a URL: {e}"))),
            None => Ok(Self::File(PathBuf::from(value))),
        }
    }

    /// How the feed is named in errors and logs: the file path, or a URL's scheme and host
    /// only (its path and query may hold the calendar's secret).
    pub fn label(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Url(url) => url_label(url),
        }
    }
}

fn url_label(url: &Url) -> String {
    format!("{}://{}/…", url.scheme(), url.host_str().unwrap_or("?"))
}

/// One feed and how to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcalFeed {
    /// Where it is.
    pub location: FeedLocation,
    /// Whose shifts its events are (default: [`Assignee::Attendees`], a shared calendar).
    pub assignee: Assignee,
    /// Zones and all-day handling.
    pub options: IcalOptions,
}

impl IcalFeed {
    /// A feed at `location`, a shared calendar read with the default options.
    pub fn new(location: FeedLocation) -> Self {
        Self { location, assignee: Assignee::default(), options: IcalOptions::default() }
    }

    /// [`FeedLocation::parse`] then [`IcalFeed::new`].
    ///
    /// # Errors
    /// As [`FeedLocation::parse`].
    pub fn parse_location(value: &str) -> Result<Self> {
        FeedLocation::parse(value).map(Self::new)
    }

    /// Whose shifts the events are.
    pub fn assignee(mut self, assignee: Assignee) -> Self {
        self.assignee = assignee;
        self
    }

    /// How to read the feed.
    pub fn options(mut self, options: IcalOptions) -> Self {
        self.options = options;
        self
    }
}

/// What the last check of a feed found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FeedCheck {
    /// Not checked: the last check is more recent than the poll interval.
    Skipped,
    /// Checked, unchanged (`304 Not Modified`, or the same file time and size).
    Unchanged,
    /// Read and parsed again.
    Reloaded,
}

/// What identifies the version last read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Validator {
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
    file: Option<(SystemTime, u64)>,
}

#[derive(Debug, Default)]
struct Cache {
    schedule: Option<Arc<IcalSchedule>>,
    validator: Validator,
    checked_at: Option<tokio::time::Instant>,
}

struct FeedState {
    feed: IcalFeed,
    cache: tokio::sync::Mutex<Cache>,
}

/// Counts of what the source did, for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IcalStats {
    /// Feeds read and parsed (first reads included).
    pub reloads: u64,
    /// Checks that found the feed unchanged (304, same file stamp).
    pub unchanged: u64,
}

/// iCalendar feeds as one [`ScheduleSource`]: the shifts of every feed, merged. See the
/// [module documentation](self).
pub struct IcalSource {
    feeds: Vec<FeedState>,
    transport: Arc<dyn Transport>,
    poll_interval: Duration,
    timeout: Duration,
    max_bytes: usize,
    reloads: AtomicU64,
    unchanged: AtomicU64,
}

impl std::fmt::Debug for IcalSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IcalSource")
            .field("feeds", &self.feeds.iter().map(|s| s.feed.location.label()).collect::<Vec<_>>())
            .field("poll_interval", &self.poll_interval)
            .field("timeout", &self.timeout)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl IcalSource {
    /// The default time between two checks of one feed.
    pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);
    /// The default per-request timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default largest feed accepted (bytes).
    pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;
    /// Most redirects followed for one fetch.
    pub const MAX_REDIRECTS: usize = 5;

    /// A source over `feeds`, fetching URLs with the default transport.
    ///
    /// # Errors
    /// [`Error::Config`] when there is no feed, or when the HTTP client cannot be built.
    pub fn new(feeds: Vec<IcalFeed>) -> Result<Self> {
        Self::with_transport(feeds, Arc::new(ReqwestTransport::new()?))
    }

    /// A source over `feeds`, fetching URLs through `transport`.
    ///
    /// # Errors
    /// [`Error::Config`] when there is no feed.
    pub fn with_transport(feeds: Vec<IcalFeed>, transport: Arc<dyn Transport>) -> Result<Self> {
        if feeds.is_empty() {
            return Err(Error::config("ical: no feed configured"));
        }
        Ok(Self {
            feeds: feeds.into_iter().map(|feed| FeedState { feed, cache: Default::default() }).collect(),
            transport,
            poll_interval: Self::DEFAULT_POLL_INTERVAL,
            timeout: Self::DEFAULT_TIMEOUT,
            max_bytes: Self::DEFAULT_MAX_BYTES,
            reloads: AtomicU64::new(0),
            unchanged: AtomicU64::new(0),
        })
    }

    /// Check each feed at most this often (`Duration::ZERO`: at every call).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Per-request timeout for URL feeds.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest feed accepted, in bytes; a larger one is an error.
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// What the source has done so far.
    pub fn stats(&self) -> IcalStats {
        IcalStats {
            reloads: self.reloads.load(Ordering::Relaxed),
            unchanged: self.unchanged.load(Ordering::Relaxed),
        }
    }

    /// Check every feed now (ignoring the poll interval) and read again those that changed.
    ///
    /// # Errors
    /// The first feed that cannot be read or parsed.
    pub async fn refresh(&self) -> Result<Vec<FeedCheck>> {
        let mut checks = Vec::with_capacity(self.feeds.len());
        for state in &self.feeds {
            checks.push(self.check(state, true).await?.1);
        }
        Ok(checks)
    }

    /// The feed's parsed calendar, checked first when the poll interval has passed.
    async fn check(&self, state: &FeedState, force: bool) -> Result<(Arc<IcalSchedule>, FeedCheck)> {
        let mut cache = state.cache.lock().await;
        let now = tokio::time::Instant::now();
        if let (Some(schedule), Some(at), false) = (&cache.schedule, cache.checked_at, force) {
            if now.duration_since(at) < self.poll_interval {
                return Ok((schedule.clone(), FeedCheck::Skipped));
            }
        }
        let fetched = match &state.feed.location {
            FeedLocation::File(path) => self.read_file(path, &cache).await,
            FeedLocation::Url(url) => self.fetch_url(url, &cache).await,
        };
        let fetched = match fetched {
            Ok(fetched) => fetched,
            Err(error) => {
                // Nothing from a feed that failed: drop the old copy so no caller uses it.
                cache.schedule = None;
                cache.validator = Validator::default();
                cache.checked_at = None;
                return Err(error);
            }
        };
        cache.checked_at = Some(now);
        match (fetched, &cache.schedule) {
            (None, Some(schedule)) => {
                self.unchanged.fetch_add(1, Ordering::Relaxed);
                Ok((schedule.clone(), FeedCheck::Unchanged))
            }
            (None, None) => Err(Error::invalid(
                format!("ical feed {}", state.feed.location.label()),
                "answered 304 Not Modified to a first request",
            )),
            (Some((text, validator)), _) => {
                let label = state.feed.location.label();
                match IcalSchedule::parse(&text, &label, &state.feed.options) {
                    Ok(schedule) => {
                        let schedule = Arc::new(schedule);
                        cache.schedule = Some(schedule.clone());
                        cache.validator = validator;
                        self.reloads.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(feed = %label, events = schedule.event_count(), "ical feed loaded");
                        Ok((schedule, FeedCheck::Reloaded))
                    }
                    Err(error) => {
                        cache.schedule = None;
                        cache.validator = Validator::default();
                        cache.checked_at = None;
                        Err(error)
                    }
                }
            }
        }
    }

    /// The file's text and stamp, or `None` when its stamp is unchanged.
    async fn read_file(&self, path: &std::path::Path, cache: &Cache) -> Result<Option<(String, Validator)>> {
        let label = path.display().to_string();
        let io = |what: &str, e: std::io::Error| {
            Error::invalid(format!("ical feed {label}"), format!("cannot {what} the file: {e}"))
        };
        let metadata = tokio::fs::metadata(path).await.map_err(|e| io("read", e))?;
        let stamp = (metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH), metadata.len());
        if cache.schedule.is_some() && cache.validator.file == Some(stamp) {
            return Ok(None);
        }
        if metadata.len() > self.max_bytes as u64 {
            return Err(Error::invalid(
                format!("ical feed {label}"),
                format!("is {} bytes, more than the {} accepted", metadata.len(), self.max_bytes),
            ));
        }
        let bytes = tokio::fs::read(path).await.map_err(|e| io("read", e))?;
        let text = decode(bytes, &label)?;
        Ok(Some((text, Validator { file: Some(stamp), ..Validator::default() })))
    }

    /// The feed's text and validators, or `None` for `304 Not Modified`.
    async fn fetch_url(&self, url: &Url, cache: &Cache) -> Result<Option<(String, Validator)>> {
        let label = url_label(url);
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::ACCEPT, HeaderValue::from_static("text/calendar, */*;q=0.5"));
        if cache.schedule.is_some() {
            if let Some(etag) = &cache.validator.etag {
                headers.insert(IF_NONE_MATCH, etag.clone());
            }
            if let Some(modified) = &cache.validator.last_modified {
                headers.insert(IF_MODIFIED_SINCE, modified.clone());
            }
        }
        let mut target = url.clone();
        for _ in 0..=Self::MAX_REDIRECTS {
            let request = HttpRequest {
                method: Method::GET,
                url: target.clone(),
                headers: headers.clone(),
                body: None,
                timeout: self.timeout,
            };
            let response = self.transport.execute(request).await.map_err(|failure| Error::Transport {
                provider: PROVIDER,
                method: "GET".into(),
                path: label.clone(),
                // The feed URL is a secret (calendar links carry their token): no URL here.
                call: None,
                failure: failure.failure,
                message: failure.message,
                source: failure.source,
            })?;
            match response.status {
                304 => return Ok(None),
                200..=299 => {
                    if response.body.len() > self.max_bytes {
                        return Err(Error::invalid(
                            format!("ical feed {label}"),
                            format!(
                                "is {} bytes, more than the {} accepted",
                                response.body.len(),
                                self.max_bytes
                            ),
                        ));
                    }
                    let validator = Validator {
                        etag: response.headers.get(ETAG).cloned(),
                        last_modified: response.headers.get(LAST_MODIFIED).cloned(),
                        file: None,
                    };
                    return Ok(Some((decode(response.body, &label)?, validator)));
                }
                301 | 302 | 303 | 307 | 308 => {
                    let location = response
                        .headers
                        .get(LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|location| target.join(location).ok())
                        .filter(|next| matches!(next.scheme(), "http" | "https"))
                        .ok_or_else(|| Error::Api {
                            provider: PROVIDER,
                            context: format!("GET {label}"),
                            status: response.status,
                            code: None,
                            call: None,
                            message: "redirect without a usable Location".into(),
                        })?;
                    target = location;
                }
                status => {
                    let body = String::from_utf8_lossy(&response.body);
                    return Err(Error::Api {
                        provider: PROVIDER,
                        context: format!("GET {label}"),
                        status,
                        code: None,
                        call: None,
                        message: excerpt(body.trim(), 200),
                    });
                }
            }
        }
        Err(Error::Api {
            provider: PROVIDER,
            context: format!("GET {label}"),
            status: 310,
            code: None,
            call: None,
            message: format!("more than {} redirects", Self::MAX_REDIRECTS),
        })
    }
}

/// Feed bytes as text: UTF-8 (a byte order mark is dropped).
fn decode(bytes: Vec<u8>, label: &str) -> Result<String> {
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::invalid(
            format!("ical feed {label}"),
            format!("is not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

#[async_trait]
impl ScheduleSource for IcalSource {
    async fn shifts(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Shift>> {
        let mut shifts = Vec::new();
        for state in &self.feeds {
            let (schedule, _) = self.check(state, false).await?;
            let expansion = schedule.shifts(from, to, &state.feed.assignee)?;
            if !expansion.unassigned.is_empty() {
                tracing::warn!(
                    feed = %state.feed.location.label(),
                    events = ?expansion.unassigned,
                    "ical events name no agent (no attendee, no e-mail in the summary): not shifts"
                );
            }
            shifts.extend(expansion.shifts);
        }
        Ok(shifts)
    }

    async fn agents(&self) -> Result<Option<Vec<String>>> {
        let mut agents = Vec::new();
        for state in &self.feeds {
            let (schedule, _) = self.check(state, false).await?;
            match &state.feed.assignee {
                // An agent's own calendar covers them even when it holds no event yet.
                Assignee::Calendar(email) => agents.push(email.trim().to_owned()),
                assignee => agents.extend(schedule.agents(assignee)),
            }
        }
        Ok(Some(agents))
    }
}
