//! Shifton: both auth styles, both hosts, the JSON body on the GET, windows, the company
//! zone across DST, the employee map, 401 and 429, on the loopback simulator.
#![cfg(all(feature = "shifton", feature = "sim"))]

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use deskbridge::Error;
use deskbridge::http::{Method, RateLimit, RetryPolicy};
use deskbridge::ports::ScheduleSource;
use deskbridge::shifton::{EmployeeMap, ShiftonAuth, ShiftonClient, ShiftonConfig, ShiftonSchedule};
use deskbridge::sim::RateLimitRule;
use deskbridge::sim::shifton::{ShiftonShiftSeed, ShiftonSim, ShiftonSimConfig};
use secrecy::SecretString;

fn utc(y: i32, mo: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, 0, 0).single().unwrap()
}

fn berlin() -> chrono_tz::Tz {
    chrono_tz::Europe::Berlin
}

fn api_key_config(main: &ShiftonSim, shifts: &ShiftonSim) -> ShiftonConfig {
    ShiftonConfig::new(
        ShiftonAuth::ApiKey(SecretString::from(ShiftonSimConfig::DEFAULT_API_KEY)),
        ShiftonSimConfig::SAMPLE_PROJECT_ID.to_string(),
        berlin(),
    )
    .unwrap()
    .with_base_url(main.base_url().as_str())
    .unwrap()
    .with_shifts_base_url(shifts.base_url().as_str())
    .unwrap()
    .with_rate_limit(RateLimit::unlimited())
}

fn legacy_config(sim: &ShiftonSim, password: &str) -> ShiftonConfig {
    ShiftonConfig::new(
        ShiftonAuth::Password {
            username: ShiftonSimConfig::DEFAULT_USERNAME.into(),
            password: SecretString::from(password),
            client_id: ShiftonSimConfig::DEFAULT_CLIENT_ID.into(),
            client_secret: SecretString::from(ShiftonSimConfig::DEFAULT_CLIENT_SECRET),
        },
        ShiftonSimConfig::SAMPLE_PROJECT_ID.to_string(),
        berlin(),
    )
    .unwrap()
    .with_company_id(ShiftonSimConfig::SAMPLE_COMPANY_ID.to_string())
    .with_base_url(sim.base_url().as_str())
    .unwrap()
    .with_shifts_base_url(sim.base_url().as_str())
    .unwrap()
    .with_rate_limit(RateLimit::unlimited())
}

fn sample_map() -> EmployeeMap {
    EmployeeMap::parse(
        include_str!("../../examples/data/shifton_employee_map.csv"),
        "shifton_employee_map.csv",
    )
    .unwrap()
}

#[tokio::test]
async fn an_api_key_reads_employees_on_one_host_and_shifts_with_a_get_body_on_the_other() {
    let (main, shifts_host) = ShiftonSim::start_pair(ShiftonSimConfig::sample()).await.unwrap();
    let client = ShiftonClient::new(api_key_config(&main, &shifts_host)).unwrap();
    let schedule = ShiftonSchedule::connect_with_map(client, &sample_map()).await.unwrap();
    assert_eq!(schedule.roster().unmapped.iter().map(|e| e.id.0.as_str()).collect::<Vec<_>>(), ["1009"]);

    // Across both Berlin DST nights (Carla, mapped by file): 7 h and 9 h.
    let spring = schedule.shifts(utc(2026, 3, 28, 12), utc(2026, 3, 29, 12)).await.unwrap();
    assert_eq!(spring.len(), 1);
    assert_eq!(
        (spring[0].email.as_str(), spring[0].start, spring[0].end),
        ("carla@example.com", utc(2026, 3, 28, 21), utc(2026, 3, 29, 4))
    );
    let autumn = schedule.shifts(utc(2026, 10, 24, 12), utc(2026, 10, 25, 12)).await.unwrap();
    assert_eq!((autumn[0].start, autumn[0].end), (utc(2026, 10, 24, 20), utc(2026, 10, 25, 5)));

    // The sample day: Will (unmapped) and the open shift are not anyone's.
    let day = schedule.shifts(utc(2026, 11, 23, 0), utc(2026, 11, 24, 0)).await.unwrap();
    let emails: std::collections::BTreeSet<&str> = day.iter().map(|s| s.email.as_str()).collect();
    assert_eq!(
        emails.into_iter().collect::<Vec<_>>(),
        [
            "ana@example.com",
            "ben@example.com",
            "carla@example.com",
            "dmitri@example.com",
            "eva@example.com",
            "farid@example.com"
        ]
    );
    let agents = schedule.agents().await.unwrap().unwrap();
    assert_eq!(agents.len(), 6);

    // Employees went to the main host, shifts to the shifts host, with a JSON body.
    assert_eq!(main.server().requests_matching(Method::GET, "/api/v1/employees").len(), 1);
    assert!(main.server().requests_matching(Method::GET, "/work/1.0.0/projects").is_empty());
    let shift_calls = shifts_host.server().requests_matching(Method::GET, "/work/1.0.0/projects/200/shifts");
    assert!(!shift_calls.is_empty());
    for call in &shift_calls {
        assert_eq!(call.header("authorization"), Some("Bearer sim-shifton-api-key"));
        let body = call.body_json().expect("a JSON body on the GET");
        let start = body["start"].as_str().unwrap();
        assert!(chrono::NaiveDateTime::parse_from_str(start, "%Y-%m-%d %H:%M:%S").is_ok(), "{start}");
    }
    // A second read of the same window within the refresh interval costs nothing.
    let before = shift_calls.len();
    schedule.shifts(utc(2026, 11, 23, 0), utc(2026, 11, 24, 0)).await.unwrap();
    assert_eq!(shifts_host.server().requests_matching(Method::GET, "/work/1.0.0/projects").len(), before);
}

#[tokio::test]
async fn long_ranges_are_paged_into_windows_of_31_days_at_most() {
    let sim = ShiftonSim::start_with_sample().await.unwrap();
    let client = ShiftonClient::new(api_key_config(&sim, &sim)).unwrap();
    let from = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
    let to = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
    let shifts = client.shifts(from, to).await.unwrap();
    assert_eq!(shifts.len(), 12); // everything but the March night
    let calls = sim.server().requests_matching(Method::GET, "/work/1.0.0/projects/200/shifts");
    assert_eq!(calls.len(), 3);
    let ranges: Vec<(String, String)> = calls
        .iter()
        .map(|c| {
            let body = c.body_json().unwrap();
            (body["start"].as_str().unwrap().to_owned(), body["end"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(ranges[0], ("2026-09-01 00:00:00".into(), "2026-10-02 00:00:00".into()));
    assert_eq!(ranges[2].1, "2026-12-01 00:00:00");
}

#[tokio::test]
async fn the_legacy_login_sends_its_tokens_and_logs_in_again_after_a_401() {
    let sim = ShiftonSim::start_with_sample().await.unwrap();
    let client = ShiftonClient::new(legacy_config(&sim, ShiftonSimConfig::DEFAULT_PASSWORD)).unwrap();
    let schedule = ShiftonSchedule::connect_with_map(client, &sample_map()).await.unwrap();
    assert_eq!(sim.tokens_issued(), 1);
    let employees = sim.server().requests_matching(Method::GET, "/work/1.0.0/companies/100/employees");
    assert_eq!(employees[0].header("authorization"), Some("Bearer sim-shifton-access-1"));
    assert_eq!(employees[0].header("refresh_token"), Some("sim-shifton-refresh-1"));
    let token = &sim.server().requests_matching(Method::POST, "/oauth/token")[0];
    assert_eq!(token.body_json().unwrap()["grant_type"], "password");

    sim.expire_tokens();
    let shifts = schedule.shifts(utc(2026, 11, 23, 0), utc(2026, 11, 24, 0)).await.unwrap();
    assert!(!shifts.is_empty());
    assert_eq!(sim.tokens_issued(), 2);
}

#[tokio::test]
async fn wrong_credentials_are_a_401_that_never_shows_a_secret() {
    let sim = ShiftonSim::start_with_sample().await.unwrap();
    let client = ShiftonClient::new(legacy_config(&sim, "not-the-password-xyz")).unwrap();
    let error = ShiftonSchedule::connect(client).await.unwrap_err();
    assert!(matches!(error, Error::Api { status: 401, provider: "shifton", .. }), "{error:?}");
    let text = format!("{error} {error:?}");
    assert!(!text.contains("not-the-password-xyz") && !text.contains("sim-shifton-client-secret"), "{text}");

    let bad_key =
        ShiftonConfig::new(ShiftonAuth::ApiKey(SecretString::from("wrong-key-123")), "200", berlin())
            .unwrap()
            .with_base_url(sim.base_url().as_str())
            .unwrap()
            .with_rate_limit(RateLimit::unlimited());
    assert!(!format!("{bad_key:?}").contains("wrong-key-123"));
    let error = ShiftonSchedule::connect(ShiftonClient::new(bad_key).unwrap()).await.unwrap_err();
    assert!(matches!(error, Error::Api { status: 401, .. }), "{error:?}");
}

#[tokio::test]
async fn a_429_is_a_rate_limited_error_with_the_servers_delay() {
    let sim = ShiftonSim::start(
        ShiftonSimConfig::sample().with_rate_limits(vec![RateLimitRule::new(1, Duration::from_secs(30))]),
    )
    .await
    .unwrap();
    let config = api_key_config(&sim, &sim).with_retry(RetryPolicy::never());
    let client = ShiftonClient::new(config).unwrap();
    client.employees().await.unwrap();
    let error = client.employees().await.unwrap_err();
    match error {
        Error::RateLimited { provider: "shifton", retry_after: Some(wait), .. } => {
            assert!(wait <= Duration::from_secs(30) && wait >= Duration::from_secs(1), "{wait:?}")
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn a_mapping_that_names_an_unknown_employee_stops_before_any_shift_is_read() {
    let sim = ShiftonSim::start_with_sample().await.unwrap();
    let mut map = sample_map();
    map.insert("4040", "ghost@example.com", "test").unwrap();
    let client = ShiftonClient::new(api_key_config(&sim, &sim)).unwrap();
    let error = ShiftonSchedule::connect_with_map(client, &map).await.unwrap_err();
    assert!(error.to_string().contains("4040"), "{error}");
    assert!(sim.server().requests_matching(Method::GET, "/work/1.0.0/projects").is_empty());

    // The file form: a duplicate id is an error naming the line.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("map.csv");
    std::fs::write(&path, "employee_id,email\n1003,carla@example.com\n1003,eva@example.com\n").unwrap();
    let config = api_key_config(&sim, &sim).with_employee_map(&path);
    let error = ShiftonSchedule::connect(ShiftonClient::new(config).unwrap()).await.unwrap_err();
    assert!(error.to_string().contains("line 3") && error.to_string().contains("twice"), "{error}");
}

#[tokio::test]
async fn an_edited_rota_is_seen_once_the_window_is_stale() {
    let sim = ShiftonSim::start_with_sample().await.unwrap();
    let client = ShiftonClient::new(api_key_config(&sim, &sim)).unwrap();
    let schedule = ShiftonSchedule::connect_with_map(client, &sample_map())
        .await
        .unwrap()
        .with_refresh_interval(Duration::ZERO);
    let window = (utc(2026, 11, 25, 0), utc(2026, 11, 26, 0));
    assert!(schedule.shifts(window.0, window.1).await.unwrap().is_empty());
    sim.upsert_shift(ShiftonShiftSeed::new(
        6001,
        200,
        Some(1002),
        "2026-11-25 09:00:00",
        "2026-11-25 17:00:00",
    ));
    let shifts = schedule.shifts(window.0, window.1).await.unwrap();
    assert_eq!(shifts.len(), 1);
    assert_eq!((shifts[0].start, shifts[0].end), (utc(2026, 11, 25, 8), utc(2026, 11, 25, 16)));
}

#[test]
fn partial_environment_configurations_name_what_is_missing() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    };
    let error = ShiftonConfig::from_env_with(env(&[("SHIFTON_USERNAME", "u"), ("SHIFTON_PROJECT_ID", "1")]))
        .unwrap_err();
    let text = error.to_string();
    for name in [
        "SHIFTON_PASSWORD",
        "SHIFTON_CLIENT_ID",
        "SHIFTON_CLIENT_SECRET",
        "SHIFTON_COMPANY_ID",
        "SHIFTON_TIME_ZONE",
    ] {
        assert!(text.contains(name), "{name} in {text}");
    }
    assert!(!text.contains("SHIFTON_PROJECT_ID"), "{text}");
    let both = ShiftonConfig::from_env_with(env(&[("SHIFTON_API_KEY", "k"), ("SHIFTON_PASSWORD", "p")]))
        .unwrap_err();
    assert!(both.to_string().contains("not both"), "{both}");
    let zone = ShiftonConfig::from_env_with(env(&[
        ("SHIFTON_API_KEY", "k"),
        ("SHIFTON_PROJECT_ID", "1"),
        ("SHIFTON_TIME_ZONE", "CET+1"),
    ]))
    .unwrap_err();
    assert!(zone.to_string().contains("SHIFTON_TIME_ZONE"), "{zone}");
    let config = ShiftonConfig::from_env_with(env(&[
        ("SHIFTON_API_KEY", "secret-key-77"),
        ("SHIFTON_PROJECT_ID", "200"),
        ("SHIFTON_TIME_ZONE", "America/New_York"),
        ("SHIFTON_SHIFTS_BASE_URL", "https://shifts.example.com"),
        ("SHIFTON_EMPLOYEE_MAP", "map.csv"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(config.base_url().as_str(), "https://api2.shifton.com/");
    assert_eq!(config.shifts_base_url().as_str(), "https://shifts.example.com/");
    assert_eq!(config.time_zone, chrono_tz::America::New_York);
    assert!(!format!("{config:?}").contains("secret-key-77"));
}

#[tokio::test]
async fn a_shift_of_a_newly_hired_employee_reads_the_employees_again() {
    let mut config = ShiftonSimConfig::sample();
    config.shifts.push(ShiftonShiftSeed::new(
        7001,
        200,
        Some(1010),
        "2026-11-26 09:00:00",
        "2026-11-26 17:00:00",
    ));
    let sim = ShiftonSim::start(config).await.unwrap();
    let client = ShiftonClient::new(api_key_config(&sim, &sim)).unwrap();
    let schedule = ShiftonSchedule::connect_with_map(client, &sample_map()).await.unwrap();
    let window = (utc(2026, 11, 26, 0), utc(2026, 11, 27, 0));
    // 1010 is not an employee yet: the shift is nobody's (read once more, then ignored).
    assert!(schedule.shifts(window.0, window.1).await.unwrap().is_empty());
    assert_eq!(sim.server().requests_matching(Method::GET, "/api/v1/employees").len(), 2);
    sim.add_employee(
        deskbridge::sim::shifton::ShiftonEmployeeSeed::new(1010, "Greta Gruber")
            .with_email("greta@example.com"),
    );
    let schedule = schedule.with_refresh_interval(Duration::ZERO);
    let shifts = schedule.shifts(window.0, window.1).await.unwrap();
    assert_eq!(shifts.len(), 1);
    assert_eq!(shifts[0].email, "greta@example.com");
}
