//! Request economy (issue 19): listings read only what the link needs, and the request
//! plan a provider announces is the set of endpoints it then calls. Every assertion counts
//! requests in the simulators' logs.
#![cfg(all(feature = "sim", feature = "aircall", feature = "zendesk"))]

use std::collections::BTreeSet;

use deskbridge::aircall::{AircallConfig, AircallProvider};
use deskbridge::filter::GroupFilter;
use deskbridge::http::RateLimit;
use deskbridge::mapping::{Side, StatusMap};
use deskbridge::ports::{ListingNeeds, PlannedCount, RequestPlan, StatusProvider};
use deskbridge::sim::aircall::{AircallSim, AircallSimConfig, AircallTeamSeed, AircallUserSeed};
use deskbridge::sim::zendesk::{ZendeskAgentSeed, ZendeskGroupSeed, ZendeskSim, ZendeskSimConfig};
use deskbridge::sim::{RateLimitRule, SimServer};
use deskbridge::status::Channel;
use deskbridge::sync::{OneShot, OneWaySpec};
use deskbridge::zendesk::{ZendeskAuth, ZendeskConfig, ZendeskProvider};

const AGENTS: usize = 250;
const GROUPS: usize = 5;

struct Env {
    aircall_sim: AircallSim,
    zendesk_sim: ZendeskSim,
    aircall: AircallProvider,
    zendesk: ZendeskProvider,
}

async fn start_with(zendesk_limit: Option<RateLimitRule>) -> Env {
    let groups = ZendeskGroupSeed::synthetic(GROUPS);
    let group_ids: Vec<i64> = groups.iter().map(|group| group.id).collect();
    let users = AircallUserSeed::synthetic(AGENTS);
    let teams = vec![AircallTeamSeed {
        id: 1,
        name: "Team 1".to_owned(),
        user_ids: users.iter().take(10).map(|user| user.id).collect(),
    }];
    let aircall_sim = AircallSim::start(AircallSimConfig::new(users).teams(teams)).await.unwrap();
    let mut zendesk_config = ZendeskSimConfig::new(ZendeskAgentSeed::synthetic(AGENTS, &group_ids), groups);
    if let Some(rule) = zendesk_limit {
        zendesk_config = zendesk_config.rate_limit(rule);
    }
    let zendesk_sim = ZendeskSim::start(zendesk_config).await.unwrap();
    let aircall = AircallProvider::from_config(
        AircallConfig::basic(AircallSimConfig::DEFAULT_API_ID, AircallSimConfig::DEFAULT_API_TOKEN)
            .with_base_url(aircall_sim.base_url().as_str())
            .unwrap()
            .with_rate_limit(RateLimit::unlimited()),
    )
    .unwrap();
    let zendesk = ZendeskProvider::from_config(
        ZendeskConfig::for_base_url(
            zendesk_sim.base_url(),
            ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
        )
        .with_rate_limit(RateLimit::unlimited()),
    )
    .unwrap();
    Env { aircall_sim, zendesk_sim, aircall, zendesk }
}

async fn start() -> Env {
    start_with(None).await
}

/// Every path the server answered, with numeric ids replaced by the placeholder the
/// providers' plans use.
fn endpoints(server: &SimServer) -> BTreeSet<String> {
    server
        .requests()
        .iter()
        .map(|request| {
            let segments: Vec<&str> = request.path.split('/').collect();
            let templated: Vec<String> = segments
                .iter()
                .enumerate()
                .map(|(i, segment)| {
                    if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                        match segments.get(i.wrapping_sub(1)).copied() {
                            Some("groups") => "{group_id}".to_owned(),
                            Some("availabilities") => "{agent_id}".to_owned(),
                            _ => "{id}".to_owned(),
                        }
                    } else {
                        (*segment).to_owned()
                    }
                })
                .collect();
            templated.join("/")
        })
        .collect()
}

/// The plan's paths, leaving out reads that need not happen (at most once per client, or
/// once per item of a list that may be empty).
fn planned(plan: &RequestPlan) -> (BTreeSet<String>, BTreeSet<String>) {
    assert!(plan.known);
    let certain = plan
        .reads
        .iter()
        .filter(|read| matches!(read.count, PlannedCount::One | PlannedCount::Pages { .. }))
        .map(|read| read.path.clone())
        .collect();
    let all = plan.reads.iter().map(|read| read.path.clone()).collect();
    (certain, all)
}

fn assert_plan_matches(plan: &RequestPlan, server: &SimServer) {
    let (certain, all) = planned(plan);
    let called = endpoints(server);
    assert!(called.is_subset(&all), "called {called:?}, but the plan announced only {all:?}");
    assert!(certain.is_subset(&called), "the plan announced {certain:?}, but only {called:?} were called");
}

fn group_reads(server: &SimServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|request| request.path.contains("group") || request.path.contains("teams"))
        .map(|request| request.path.clone())
        .collect()
}

#[tokio::test]
async fn a_one_shot_sync_without_a_filter_reads_no_groups_memberships_or_teams() {
    let env = start().await;
    let spec = OneWaySpec::new(StatusMap::aircall_zendesk(), Side::A);
    let sync = OneShot::new(&env.aircall, &env.zendesk, spec);
    let (aircall_plan, zendesk_plan) = sync.planned_reads();
    assert!(!zendesk_plan.reads_path("/api/v2/group_memberships"));
    assert!(!aircall_plan.reads_path("/v1/teams"));
    let report = deskbridge::sync::SyncReport::preview(sync.plan().await.unwrap());
    assert!(report.in_sync + report.written.len() + report.skipped.len() > 0);
    assert_eq!(group_reads(env.aircall_sim.server()), Vec::<String>::new());
    assert_eq!(group_reads(env.zendesk_sim.server()), Vec::<String>::new());
    assert_plan_matches(&aircall_plan, env.aircall_sim.server());
    assert_plan_matches(&zendesk_plan, env.zendesk_sim.server());
    // The minimum: one request per page of users on each side, one per page of
    // availabilities, and the account settings once.
    let zendesk_pages = AGENTS.div_ceil(100);
    assert_eq!(env.zendesk_sim.server().count(), 2 * zendesk_pages + 1);
    assert_eq!(env.aircall_sim.server().count(), AGENTS.div_ceil(50));
}

#[tokio::test]
async fn a_filter_reads_the_memberships_of_the_named_groups_only() {
    let env = start().await;
    let mut spec = OneWaySpec::new(StatusMap::aircall_zendesk(), Side::A);
    spec.filter = GroupFilter::default().include(Channel::Voice, ["Group 2"]);
    let sync = OneShot::new(&env.aircall, &env.zendesk, spec);
    let (aircall_plan, zendesk_plan) = sync.planned_reads();
    let report = deskbridge::sync::SyncReport::preview(sync.plan().await.unwrap());
    let server = env.zendesk_sim.server();
    let memberships: Vec<String> =
        group_reads(server).into_iter().filter(|path| path.contains("memberships")).collect();
    // Group 2 is 360000000002: one page of its 50 members, nothing of the other groups,
    // and no account-wide membership listing.
    assert_eq!(memberships, vec!["/api/v2/groups/360000000002/memberships".to_owned()]);
    assert_eq!(group_reads(env.aircall_sim.server()), Vec::<String>::new(), "teams are Aircall's groups");
    assert_plan_matches(&aircall_plan, env.aircall_sim.server());
    assert_plan_matches(&zendesk_plan, server);
    // Only Group 2's members were considered; everyone else is skipped by the filter.
    let considered = report.in_sync + report.written.len();
    assert!(considered > 0 && considered <= AGENTS / GROUPS, "{considered} agents considered");
}

#[tokio::test]
async fn list_agents_with_fills_what_was_asked_for() {
    let env = start().await;
    let everything = env.zendesk.list_agents().await.unwrap();
    assert!(env.zendesk_sim.server().requests().iter().any(|r| r.path == "/api/v2/group_memberships"));
    env.zendesk_sim.server().clear_log();
    let lean = env.zendesk.list_agents_with(&ListingNeeds::default().with_groups(false)).await.unwrap();
    assert_eq!(group_reads(env.zendesk_sim.server()), Vec::<String>::new());
    assert_eq!(lean.len(), everything.len());
    for (full, lean) in everything.iter().zip(&lean) {
        assert_eq!((&full.id, &full.email, &full.statuses), (&lean.id, &lean.email, &lean.statuses));
        assert!(lean.groups.is_empty());
        assert_eq!(full.groups.len(), 1);
    }
    env.zendesk_sim.server().clear_log();
    let named =
        env.zendesk.list_agents_with(&ListingNeeds::default().with_only_groups(["Group 3"])).await.unwrap();
    for (full, named) in everything.iter().zip(&named) {
        let expected: Vec<String> = full.groups.iter().filter(|g| *g == "Group 3").cloned().collect();
        assert_eq!(named.groups, expected);
    }
    // Without the voice channel no availability is read.
    env.zendesk_sim.server().clear_log();
    let needs = ListingNeeds::default().with_groups(false).with_channels([Channel::Chat]);
    let bare = env.zendesk.list_agents_with(&needs).await.unwrap();
    assert!(bare.iter().all(|agent| agent.statuses.get(Channel::Voice).is_none()));
    assert_plan_matches(&env.zendesk.planned_reads(&needs), env.zendesk_sim.server());
    assert_eq!(endpoints(env.zendesk_sim.server()), BTreeSet::from(["/api/v2/users".to_owned()]));

    // Aircall: teams only with groups.
    let with_teams = env.aircall.list_agents().await.unwrap();
    assert!(env.aircall_sim.server().requests().iter().any(|r| r.path == "/v1/teams"));
    assert_eq!(with_teams.iter().filter(|agent| agent.groups == ["Team 1"]).count(), 10);
    env.aircall_sim.server().clear_log();
    let needs = ListingNeeds::default().with_groups(false);
    let without = env.aircall.list_agents_with(&needs).await.unwrap();
    assert_eq!(group_reads(env.aircall_sim.server()), Vec::<String>::new());
    assert!(without.iter().all(|agent| agent.groups.is_empty()));
    assert_plan_matches(&env.aircall.planned_reads(&needs), env.aircall_sim.server());
}

fn all_groups() -> Vec<String> {
    (1..=GROUPS).map(|n| format!("Group {n}")).collect()
}

#[tokio::test]
async fn membership_reads_in_parallel_survive_429s_without_losing_a_member() {
    // Two of the four concurrent group listings are answered 429 twice each: they wait,
    // retry, and every member is still listed.
    let env = start().await;
    for group in ["360000000002", "360000000004"] {
        env.zendesk_sim.server().add_fault(
            deskbridge::sim::Fault::status(429, r#"{"error":"TooManyRequests"}"#)
                .on_path(format!("/api/v2/groups/{group}/memberships"))
                .times(2),
        );
    }
    let needs = ListingNeeds::default().with_only_groups(all_groups());
    let named = env.zendesk.list_agents_with(&needs).await.unwrap();
    let server = env.zendesk_sim.server();
    let refused = server.requests().iter().filter(|r| r.status == Some(429)).count();
    assert_eq!(refused, 4, "the test must run into the limit");
    let everything = env.zendesk.list_agents().await.unwrap();
    assert_eq!(named.len(), AGENTS);
    for (full, named) in everything.iter().zip(&named) {
        assert_eq!(full.groups, named.groups, "agent {}", full.id);
    }
}

#[tokio::test]
async fn membership_reads_in_parallel_stay_under_a_paced_limit() {
    // The client paced just under the account's limit never gets a 429, even with four
    // group listings in flight: concurrency overlaps round trips, never the pacing.
    let env = start_with(Some(RateLimitRule::new(10, std::time::Duration::from_secs(1)))).await;
    let zendesk = ZendeskProvider::from_config(
        ZendeskConfig::for_base_url(
            env.zendesk_sim.base_url(),
            ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
        )
        .with_rate_limit(RateLimit::per_second(9.0)),
    )
    .unwrap();
    let needs = ListingNeeds::default().with_only_groups(all_groups());
    let agents = zendesk.list_agents_with(&needs).await.unwrap();
    assert_eq!(agents.len(), AGENTS);
    assert!(agents.iter().all(|agent| agent.groups.len() == 1));
    let log = env.zendesk_sim.server().requests();
    assert!(
        log.iter().all(|r| r.status == Some(200)),
        "{:?}",
        log.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(log.iter().filter(|r| r.path.ends_with("/memberships")).count() == GROUPS);
}

#[tokio::test]
async fn a_group_refused_to_the_end_fails_the_listing_instead_of_shortening_it() {
    let env = start().await;
    env.zendesk_sim.server().add_fault(
        deskbridge::sim::Fault::status(429, r#"{"error":"TooManyRequests"}"#)
            .on_path("/api/v2/groups/360000000003/memberships")
            .always(),
    );
    let needs = ListingNeeds::default().with_only_groups(all_groups());
    let error = env.zendesk.list_agents_with(&needs).await.unwrap_err();
    assert!(error.to_string().contains("rate limited"), "{error}");
}

#[tokio::test]
async fn the_simulated_round_trip_delays_every_answer() {
    let env = start().await;
    let round_trip = std::time::Duration::from_millis(40);
    env.aircall_sim.server().set_round_trip(round_trip);
    assert_eq!(env.aircall_sim.server().round_trip(), round_trip);
    let started = std::time::Instant::now();
    // Five pages, one after another: at least five round trips.
    env.aircall.list_agents_with(&ListingNeeds::default().with_groups(false)).await.unwrap();
    assert!(started.elapsed() >= round_trip * 5, "{:?}", started.elapsed());
    assert_eq!(deskbridge::sim::zendesk::ZendeskPlan::Enterprise.requests_per_minute(), 700);
    assert_eq!(deskbridge::sim::aircall::documented_rate_limit(), RateLimitRule::per_minute(60));
}

fn count_path(server: &SimServer, path: &str) -> usize {
    server.requests().iter().filter(|request| request.path == path).count()
}

#[tokio::test]
async fn an_incremental_listing_reads_only_the_changed_users_and_keeps_the_full_answer() {
    let env = start().await;
    let server = env.zendesk_sim.server();
    let needs = ListingNeeds::default().with_groups(false).with_incremental(true);
    // Nothing remembered yet: the first listing is full.
    let full = env.zendesk.list_agents_with(&needs).await.unwrap();
    assert_eq!(count_path(server, "/api/v2/users"), AGENTS.div_ceil(100));
    server.clear_log();
    let plan = env.zendesk.planned_reads(&needs);
    assert!(plan.reads_path("/api/v2/incremental/users/cursor.json") && !plan.reads_path("/api/v2/users"));
    let again = env.zendesk.list_agents_with(&needs).await.unwrap();
    assert_eq!(again, full);
    assert_eq!(count_path(server, "/api/v2/users"), 0);
    assert_eq!(count_path(server, "/api/v2/incremental/users/cursor.json"), 1);
    assert_plan_matches(&plan, server);
    // Statuses are still read in full: the export carries no status.
    assert_eq!(count_path(server, "/api/v2/agent_availabilities"), AGENTS.div_ceil(100));

    // A changed e-mail arrives through the export.
    let id = 16_765_840_570_007;
    env.zendesk_sim.set_agent_email(id, "renamed@example.com").unwrap();
    server.clear_log();
    let changed = env.zendesk.list_agents_with(&needs).await.unwrap();
    assert_eq!(count_path(server, "/api/v2/incremental/users/cursor.json"), 1);
    let agent = changed.iter().find(|agent| agent.id.as_str() == id.to_string()).unwrap();
    assert_eq!(agent.email.as_deref(), Some("renamed@example.com"));
    assert_eq!(changed.len(), full.len());
    // A listing that is not incremental reads every user again.
    server.clear_log();
    env.zendesk.list_agents_with(&needs.clone().with_incremental(false)).await.unwrap();
    assert_eq!(count_path(server, "/api/v2/users"), AGENTS.div_ceil(100));
    assert_eq!(count_path(server, "/api/v2/incremental/users/cursor.json"), 0);
}

/// The one-way Aircall → Zendesk voice link of the bridge-pass tests.
fn voice_link(env: &Env) -> deskbridge::sync::StatusLink {
    use std::sync::Arc;

    use deskbridge::sync::{LinkConfig, LinkMode, StatusLink};

    let aircall: Arc<dyn StatusProvider> = Arc::new(env.aircall.clone());
    let zendesk: Arc<dyn StatusProvider> = Arc::new(env.zendesk.clone());
    StatusLink::new(
        "voice",
        ("aircall", aircall, Channel::Voice),
        ("zendesk", zendesk, Channel::Voice),
        LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A }),
    )
}

/// Run a bridge over `link` (a pass every 300 ms, a full pass only at start) until
/// Zendesk has seen two incremental passes, then stop it.
async fn run_until_two_steady_passes(env: &Env, link: deskbridge::sync::StatusLink) {
    use std::sync::Arc;
    use std::time::Duration;

    use deskbridge::ports::StateStore;
    use deskbridge::store::MemoryStore;
    use deskbridge::sync::{Bridge, BridgeOptions};

    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let options = BridgeOptions::default()
        .with_reconcile_every(Duration::from_millis(300))
        .with_full_pass_every(Duration::from_secs(3600));
    let bridge = Bridge::new(store, options).status_link(link).unwrap();
    let handle = bridge.handle();
    let running = tokio::spawn(bridge.run());
    let server = env.zendesk_sim.server();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while count_path(server, "/api/v2/incremental/users/cursor.json") < 2 {
        assert!(std::time::Instant::now() < deadline, "no incremental passes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    handle.shutdown();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn bridge_passes_are_incremental_between_full_passes() {
    let env = start().await;
    run_until_two_steady_passes(&env, voice_link(&env)).await;
    let server = env.zendesk_sim.server();
    // One full pass read the users; the others read only the changes. No pass read groups.
    assert_eq!(count_path(server, "/api/v2/users"), AGENTS.div_ceil(100));
    assert_eq!(group_reads(server), Vec::<String>::new());
    assert_eq!(group_reads(env.aircall_sim.server()), Vec::<String>::new());
}

/// A link whose Zendesk side sends its status changes as webhooks: between full passes, a
/// pass reads only the incremental user export on that side (no status listing), while
/// the full pass reads every status; the Aircall side, with no feed, reads as before.
#[tokio::test]
async fn a_side_with_status_webhooks_reads_no_statuses_between_full_passes() {
    use deskbridge::sync::steady_reconcile_needs;

    let env = start().await;
    let link = voice_link(&env).with_status_webhooks(Side::B);
    let (a_needs, b_needs) = steady_reconcile_needs(&link);
    assert!(a_needs.wants_channel(Channel::Voice), "Aircall has no webhooks declared: its statuses are read");
    assert!(!b_needs.wants_channel(Channel::Voice));
    run_until_two_steady_passes(&env, link).await;
    let server = env.zendesk_sim.server();
    // Only the first (full) pass listed the users and the statuses; the steady passes did not.
    assert_eq!(count_path(server, "/api/v2/users"), AGENTS.div_ceil(100));
    assert_eq!(
        count_path(server, "/api/v2/agent_availabilities"),
        AGENTS.div_ceil(100),
        "one status listing, by the full pass"
    );
    // Aircall (no webhooks declared) is listed with its statuses on every pass.
    let aircall = env.aircall_sim.server();
    assert!(count_path(aircall, "/v1/users") + count_path(aircall, "/v2/users") > 0);
}
