//! Contract tests of the Usedesk client against wiremock: every body exactly as the
//! provider reference documents it (`api_token` included), the token never in a URL or
//! header, HTTP 200 errors, decode errors with JSON paths, and redaction.
#![cfg(feature = "usedesk")]

use crate::common;

use common::mock::strict_server;
use common::usedesk_mock::expect_post;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use deskbridge::Error;
use deskbridge::http::{RateLimit, RetryPolicy};
use deskbridge::ports::{NewTicket, StatusProvider, TicketDesk, TicketState};
use deskbridge::status::{Channel, NativeStatus};
use deskbridge::usedesk::{
    CreateCommentRequest, CreateTicketRequest, StatusUpdate, TicketClient, TicketQuery, UsedeskClient,
    UsedeskConfig, UsedeskDesk, UsedeskProvider, UserType,
};
use serde_json::{Value, json};
use wiremock::MockServer;

const TOKEN: &str = "UD-S3CR3T-token-5e6f7a8b";

fn config(server: &MockServer) -> UsedeskConfig {
    UsedeskConfig::new(TOKEN)
        .unwrap()
        .with_base_url(format!("{}/uapi", server.uri()))
        .unwrap()
        .with_rate_limit(RateLimit::unlimited())
        .with_retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(1),
            max_total_wait: Duration::from_secs(2),
        })
}

fn client(server: &MockServer) -> UsedeskClient {
    UsedeskClient::new(config(server)).unwrap()
}

/// The token travelled in no URL and no header of any request.
async fn assert_token_only_in_bodies(server: &MockServer) {
    let requests = server.received_requests().await.unwrap();
    assert!(!requests.is_empty());
    for request in requests {
        assert!(!request.url.as_str().contains(TOKEN), "token in URL {}", request.url);
        for (name, value) in request.headers.iter() {
            assert!(!value.to_str().unwrap_or("").contains(TOKEN), "token in header {name}");
        }
        assert_eq!(request.method.as_str(), "POST");
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["api_token"], TOKEN);
    }
}

fn user(id: Value, name: &str, chat: &str, tickets: &str, groups: Value) -> Value {
    json!({"id": id, "name": name, "email": format!("{}@example.com", name.to_lowercase()),
           "position": "", "role": "employee", "phone": null,
           "chat_online_status": chat, "online_status": tickets, "groups": groups})
}

#[tokio::test]
async fn users_are_queried_per_type_and_merged_by_id() {
    let server = strict_server().await;
    let chat = json!({"id": "1", "name": "Chat team", "company_id": "9", "deleted": "0", "deleted_at": null,
                      "custom_working_time": "0", "timezone": "UTC", "pivot": {"user_id": "5", "user_group_id": "1"}});
    let old = json!({"id": 2, "name": "Old", "deleted": "1"});
    expect_post(
        &server,
        "/users",
        json!({"api_token": TOKEN, "user_type": "admin"}),
        json!([user(json!("5"), "Ana", "1", "0", json!([chat, old]))]),
    )
    .await;
    expect_post(
        &server,
        "/users",
        json!({"api_token": TOKEN, "user_type": "employee"}),
        json!([user(json!(7), "Ben", "0", "1", json!(null)), user(json!(5), "Ana", "1", "0", json!([]))]),
    )
    .await;
    expect_post(&server, "/users", json!({"api_token": TOKEN, "user_type": "support"}), json!([])).await;

    let provider = UsedeskProvider::new(client(&server));
    let agents = provider.list_agents().await.unwrap();
    assert_eq!(agents.len(), 2);
    assert_eq!(agents[0].id, "5");
    assert_eq!(agents[0].groups, vec!["Chat team".to_owned()]);
    assert_eq!(agents[0].status(Channel::Chat), Some(&NativeStatus::from("online")));
    assert_eq!(agents[0].status(Channel::Tickets), Some(&NativeStatus::from("offline")));
    assert_eq!(agents[1].id, "7");
    assert_eq!(agents[1].email.as_deref(), Some("ben@example.com"));
    assert_eq!(agents[1].status(Channel::Tickets), Some(&NativeStatus::from("online")));
    assert_token_only_in_bodies(&server).await;
}

#[tokio::test]
async fn groups_and_one_user_type() {
    let server = strict_server().await;
    expect_post(
        &server,
        "/groups",
        json!({"api_token": TOKEN}),
        json!([{"id": 1, "name": "Chat team", "deleted": "0", "users": [{"id": "5", "name": "Ana", "email": "ana@example.com"}]},
               {"id": "2", "name": "Archive", "deleted": 1, "users": null}]),
    )
    .await;
    expect_post(&server, "/users", json!({"api_token": TOKEN, "user_type": "support"}), json!([])).await;
    let provider = UsedeskProvider::new(client(&server));
    let groups = provider.list_groups().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!((groups[0].id.as_str(), groups[0].name.as_str()), ("1", "Chat team"));
    assert!(provider.client().users(UserType::Support).await.unwrap().is_empty());
    assert_token_only_in_bodies(&server).await;
}

#[tokio::test]
async fn status_writes_send_only_the_changed_field_as_a_documented_string_boolean() {
    let server = strict_server().await;
    let ok = json!({"status": "success", "user_id": 2154861});
    expect_post(
        &server,
        "/update/user",
        json!({"api_token": TOKEN, "user_id": 2154861, "chat_online_status": "true"}),
        ok.clone(),
    )
    .await;
    expect_post(
        &server,
        "/update/user",
        json!({"api_token": TOKEN, "user_id": 2154861, "ticket_online_status": "false"}),
        ok.clone(),
    )
    .await;
    expect_post(
        &server,
        "/update/user",
        json!({"api_token": TOKEN, "user_id": 42, "chat_online_status": "false", "ticket_online_status": "true"}),
        json!({"status": "success", "user_id": "42"}),
    )
    .await;
    let provider = UsedeskProvider::new(client(&server));
    provider.set_status("2154861", Channel::Chat, &NativeStatus::from("online")).await.unwrap();
    provider.set_status("2154861", Channel::Tickets, &NativeStatus::from("offline")).await.unwrap();
    let both = StatusUpdate { chat_online: Some(false), ticket_online: Some(true) };
    let answer = provider.client().update_user_status("42", both).await.unwrap();
    assert_eq!(answer.user_id.as_deref(), Some("42"));

    // Refused before anything is sent (the catch-all expects no request).
    for (channel, value) in
        [(Channel::Voice, "online"), (Channel::Chat, "away"), (Channel::Messaging, "offline")]
    {
        let error = provider.set_status("1", channel, &NativeStatus::from(value)).await.unwrap_err();
        assert!(matches!(error, Error::InvalidInput { .. }), "{error}");
    }
    assert!(matches!(
        provider.client().update_user_status("1", StatusUpdate::default()).await,
        Err(Error::InvalidInput { .. })
    ));
    assert_token_only_in_bodies(&server).await;
}

#[tokio::test]
async fn ticket_creation_and_comments_send_the_documented_bodies() {
    let server = strict_server().await;
    expect_post(
        &server,
        "/create/ticket",
        json!({"api_token": TOKEN, "subject": "Twitter mention from @amy", "message": "Hi <b>there</b>",
               "client_id": "new_client", "client_name": "Amy", "channel_id": 12,
               "tag": "Twitter: Mention,Twitter:Direct", "additional_id": "x-mention-1", "from": "client"}),
        json!({"status": "success", "ticket_id": 501}),
    )
    .await;
    // The first ticket created with tags is read back once to check its tags (the
    // client), and the new client's id is learned from it (the adapter).
    let read_back = json!({"ticket": {"id": 501, "status_id": 8, "client_id": "77", "additional_id": "x-mention-1"},
                           "comments": [], "tags": [{"name": "Twitter: Mention"}, {"name": "Twitter:Direct"}]});
    for _ in 0..2 {
        expect_post(&server, "/ticket", json!({"api_token": TOKEN, "ticket_id": 501}), read_back.clone())
            .await;
    }
    expect_post(
        &server,
        "/create/ticket",
        json!({"api_token": TOKEN, "subject": "Again", "message": "m", "client_id": 77,
               "tag": "Twitter:Direct", "additional_id": "x-dm-2", "from": "client"}),
        json!({"status": "success", "ticket_id": "502"}),
    )
    .await;
    expect_post(
        &server,
        "/create/comment",
        json!({"api_token": TOKEN, "ticket_id": 501, "message": "More\n<!-- deskbridge:x-dm-3; -->",
               "type": "public", "from": "client"}),
        json!({"status": "success", "comment_id": 9}),
    )
    .await;
    let desk = UsedeskDesk::new(client(&server));
    let created = desk
        .create_ticket(&NewTicket {
            subject: "Twitter mention from @amy".into(),
            message: "Hi <b>there</b>".into(),
            client_id: None,
            client_name: "Amy".into(),
            channel_id: Some("12".into()),
            tags: vec!["Twitter: Mention".into(), "Twitter:Direct".into()],
            dedupe_key: "x-mention-1".into(),
        })
        .await
        .unwrap();
    assert_eq!(created.id, "501");
    assert_eq!(created.client_id.as_deref(), Some("77"));
    let again = desk
        .create_ticket(&NewTicket {
            subject: "Again".into(),
            message: "m".into(),
            client_id: Some("77".into()),
            client_name: "Amy".into(),
            channel_id: None,
            tags: vec!["Twitter:Direct".into()],
            dedupe_key: "x-dm-2".into(),
        })
        .await
        .unwrap();
    assert_eq!((again.id.as_str(), again.client_id.as_deref()), ("502", Some("77")));
    assert_eq!(
        desk.client().tag_check(),
        Some(deskbridge::usedesk::TagReadBack::Exact),
        "checked once, exact"
    );
    desk.add_client_comment("501", "More", "x-dm-3").await.unwrap();

    // A tag with a comma cannot be sent: refused before sending.
    let request = CreateTicketRequest {
        subject: "s".into(),
        message: "m".into(),
        client: TicketClient::New { name: "n".into() },
        channel_id: None,
        tags: vec!["a,b".into()],
        additional_id: None,
        from: "client".into(),
    };
    assert!(matches!(desk.client().create_ticket(&request).await, Err(Error::InvalidInput { .. })));
    assert_token_only_in_bodies(&server).await;
}

#[tokio::test]
async fn ticket_reads_give_state_and_comment_markers() {
    let server = strict_server().await;
    let answer = |status: Value| {
        json!({"ticket": {"id": "9", "status_id": status, "subject": "s", "client_id": 3, "additional_id": null},
               "comments": [{"id": 1, "message": "first", "from": "client", "type": "public"},
                            {"id": 2, "message": "x &lt;!-- deskbridge:x-dm-7; --&gt;", "from": "client", "type": "public"}],
               "tags": [{"name": "Twitter:Direct"}], "changes": []})
    };
    for status in [json!("3"), json!(10), json!(6)] {
        expect_post(&server, "/ticket", json!({"api_token": TOKEN, "ticket_id": 9}), answer(status)).await;
    }
    expect_post(&server, "/ticket", json!({"api_token": TOKEN, "ticket_id": 9}), answer(json!(1))).await;
    expect_post(&server, "/ticket", json!({"api_token": TOKEN, "ticket_id": 9}), answer(json!(1))).await;
    let desk = UsedeskDesk::new(client(&server));
    assert_eq!(desk.ticket_state("9").await.unwrap(), TicketState::Closed);
    assert_eq!(desk.ticket_state("9").await.unwrap(), TicketState::Closed);
    assert_eq!(desk.ticket_state("9").await.unwrap(), TicketState::Open);
    // The marker is found even when its delimiters came back escaped; a prefix is not.
    assert!(desk.has_comment("9", "x-dm-7").await.unwrap());
    assert!(!desk.has_comment("9", "x-dm-").await.unwrap());
    assert_token_only_in_bodies(&server).await;
}

fn rows(ids: std::ops::RangeInclusive<u64>) -> Value {
    Value::Array(
        ids.rev().map(|id| json!({"id": id, "subject": "s", "status_id": "8", "tags": []})).collect(),
    )
}

#[tokio::test]
async fn ticket_listing_sends_filters_and_detects_row_offsets() {
    let server = strict_server().await;
    let after = Utc.with_ymd_and_hms(2026, 11, 23, 8, 5, 59).unwrap();
    let body = |offset: u64| json!({"api_token": TOKEN, "fchannel": "12", "created_after": "2026-11-23 08:05", "offset": offset});
    // Usedesk counting rows: offset=1 repeats 99 rows of the first page.
    expect_post(&server, "/tickets", body(0), rows(51..=150)).await;
    expect_post(&server, "/tickets", body(1), rows(50..=149)).await;
    expect_post(&server, "/tickets", body(100), rows(1..=50)).await;
    let query =
        TicketQuery { channels: vec!["12".into()], created_after: Some(after), ..TicketQuery::default() };
    let (found, truncated) = client(&server).tickets_all(&query, 10).await.unwrap();
    assert!(!truncated);
    assert_eq!(found.len(), 150);
    assert_token_only_in_bodies(&server).await;
}

#[tokio::test]
async fn ticket_listing_walks_page_numbers_and_reports_truncation() {
    let server = strict_server().await;
    let body = |offset: u64| json!({"api_token": TOKEN, "fstatus": "1,8", "offset": offset});
    expect_post(&server, "/tickets", body(0), rows(201..=300)).await;
    expect_post(&server, "/tickets", body(1), rows(101..=200)).await;
    expect_post(&server, "/tickets", body(2), rows(1..=100)).await;
    let query = TicketQuery { statuses: vec![1, 8], ..TicketQuery::default() };
    let (found, truncated) = client(&server).tickets_all(&query, 3).await.unwrap();
    assert!(truncated, "three full pages with a limit of three calls");
    assert_eq!(found.len(), 300);
}

#[tokio::test]
async fn dedupe_search_reads_candidates_until_the_key_matches() {
    let server = strict_server().await;
    expect_post(
        &server,
        "/tickets",
        json!({"api_token": TOKEN, "fchannel": "12", "created_after": "2026-11-23 08:00", "offset": 0}),
        json!([{"id": 31, "subject": "a"}, {"id": 30, "subject": "b"}, {"id": 29, "subject": "c", "additional_id": "other"}]),
    )
    .await;
    expect_post(
        &server,
        "/ticket",
        json!({"api_token": TOKEN, "ticket_id": 31}),
        json!({"ticket": {"id": 31, "additional_id": "x-dm-1"}, "comments": []}),
    )
    .await;
    expect_post(
        &server,
        "/ticket",
        json!({"api_token": TOKEN, "ticket_id": 30}),
        json!({"ticket": {"id": 30, "additional_id": "x-dm-2", "client_id": 4}, "comments": []}),
    )
    .await;
    let desk = UsedeskDesk::new(client(&server)).with_channel("12");
    let since = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
    let found = desk.find_by_dedupe_key("x-dm-2", since).await.unwrap().unwrap();
    assert_eq!((found.id.as_str(), found.client_id.as_deref()), ("30", Some("4")));
    assert_token_only_in_bodies(&server).await;
}

#[tokio::test]
async fn http_200_with_error_is_an_api_error_with_usedesks_message() {
    let server = strict_server().await;
    expect_post(
        &server,
        "/ticket",
        json!({"api_token": TOKEN, "ticket_id": 404}),
        json!({"error": "Ticket not found", "code": 111}),
    )
    .await;
    expect_post(
        &server,
        "/groups",
        json!({"api_token": TOKEN}),
        json!({"error": format!("Wrong api_token {TOKEN}")}),
    )
    .await;
    let client = client(&server);
    match client.ticket("404").await.unwrap_err() {
        Error::Api { provider, status, code, message, context, call, .. } => {
            assert_eq!(call.map(|call| call.url), Some(format!("{}/uapi/ticket", server.uri())));
            assert_eq!(provider, "usedesk");
            assert_eq!(status, 200);
            assert_eq!(code.as_deref(), Some("111"));
            assert_eq!(message, "Ticket not found");
            assert_eq!(context, "POST /ticket");
        }
        other => panic!("{other:?}"),
    }
    let error = client.groups().await.unwrap_err();
    assert!(matches!(&error, Error::Api { status: 200, code: None, .. }), "{error:?}");
    let text = format!("{error} {error:?}");
    assert!(text.contains("Wrong api_token"), "{text}");
    assert!(!text.contains(TOKEN), "token echoed into the error: {text}");
}

#[tokio::test]
async fn unreadable_answers_name_the_json_path() {
    let server = strict_server().await;
    expect_post(
        &server,
        "/users",
        json!({"api_token": TOKEN, "user_type": "employee"}),
        json!([{"id": 1, "name": "A"}, {"id": 2, "chat_online_status": "maybe"}]),
    )
    .await;
    expect_post(
        &server,
        "/ticket",
        json!({"api_token": TOKEN, "ticket_id": 5}),
        json!({"ticket": {"id": {"x": 1}}}),
    )
    .await;
    let client = client(&server);
    match client.users(UserType::Employee).await.unwrap_err() {
        Error::Decode { provider, json_path, context, .. } => {
            assert_eq!(provider, "usedesk");
            assert_eq!(json_path, "[1].chat_online_status");
            assert_eq!(context, "POST /users");
        }
        other => panic!("{other:?}"),
    }
    match client.ticket("5").await.unwrap_err() {
        Error::Decode { json_path, .. } => assert_eq!(json_path, "ticket.id"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn secrets_are_redacted_from_debug() {
    let server = strict_server().await;
    let config = config(&server);
    let client = UsedeskClient::new(config.clone()).unwrap();
    for text in [
        format!("{config:?}"),
        format!("{client:?}"),
        format!("{:?}", UsedeskProvider::new(client.clone())),
        format!("{:?}", UsedeskDesk::new(client.clone())),
        format!("{:?}", client.http()),
    ] {
        assert!(!text.contains(TOKEN), "{text}");
    }
}

#[test]
fn configuration_from_the_environment() {
    assert!(UsedeskConfig::from_env_with(|_| None).unwrap().is_none());
    assert!(UsedeskConfig::from_env_with(|_| Some("  ".into())).unwrap().is_none());
    let partial =
        UsedeskConfig::from_env_with(|name| (name == "USEDESK_BASE_URL").then(|| "https://x.example".into()));
    assert!(matches!(&partial, Err(Error::Config(m)) if m.contains("USEDESK_API_TOKEN")), "{partial:?}");
    let config = UsedeskConfig::from_env_with(|name| (name == "USEDESK_API_TOKEN").then(|| TOKEN.to_owned()))
        .unwrap()
        .unwrap();
    assert_eq!(config.base_url().as_str(), "https://api.usedesk.ru/");
    assert_eq!(config.rate_limit(), RateLimit::per_second(0.4));
    let bad = UsedeskConfig::from_env_with(|name| match name {
        "USEDESK_API_TOKEN" => Some(TOKEN.to_owned()),
        _ => Some("not a url".to_owned()),
    });
    assert!(matches!(bad, Err(Error::Config(_))));
    assert!(matches!(UsedeskConfig::new(""), Err(Error::Config(_))));
}

#[tokio::test]
async fn comments_request_type_is_sent_as_given() {
    let server = strict_server().await;
    expect_post(
        &server,
        "/create/comment",
        json!({"api_token": TOKEN, "ticket_id": "T-1", "message": "note", "type": "private", "from": "user"}),
        json!({"status": "success", "comment_id": "10"}),
    )
    .await;
    let request = CreateCommentRequest {
        ticket_id: "T-1".into(),
        message: "note".into(),
        kind: "private".into(),
        from: "user".into(),
    };
    let created = client(&server).create_comment(&request).await.unwrap();
    assert_eq!(created.comment_id.as_deref(), Some("10"));
}

#[tokio::test]
async fn a_tag_split_by_usedesk_is_reported_once_and_never_silently() {
    let server = strict_server().await;
    expect_post(
        &server,
        "/create/ticket",
        json!({"api_token": TOKEN, "subject": "s", "message": "m", "client_id": 77,
               "tag": "Twitter: Mention", "from": "client"}),
        json!({"status": "success", "ticket_id": 601}),
    )
    .await;
    expect_post(
        &server,
        "/ticket",
        json!({"api_token": TOKEN, "ticket_id": 601}),
        json!({"ticket": {"id": 601, "status_id": 8, "client_id": 77}, "comments": [],
               "tags": [{"name": "Twitter:"}, {"name": "Mention"}]}),
    )
    .await;
    // The second creation is not read back: one check per client (and its clones).
    expect_post(
        &server,
        "/create/ticket",
        json!({"api_token": TOKEN, "subject": "s2", "message": "m", "client_id": 77,
               "tag": "Twitter: Mention", "from": "client"}),
        json!({"status": "success", "ticket_id": 602}),
    )
    .await;
    let client = client(&server);
    let request = |subject: &str| CreateTicketRequest {
        subject: subject.into(),
        message: "m".into(),
        client: TicketClient::Existing("77".into()),
        channel_id: None,
        tags: vec!["Twitter: Mention".into()],
        additional_id: None,
        from: "client".into(),
    };
    assert_eq!(client.tag_check(), None);
    assert_eq!(client.create_ticket(&request("s")).await.unwrap().ticket_id, "601");
    assert_eq!(
        client.tag_check(),
        Some(deskbridge::usedesk::TagReadBack::Mismatch {
            ticket_id: "601".into(),
            sent: vec!["Twitter: Mention".into()],
            stored: vec!["Twitter:".into(), "Mention".into()],
        })
    );
    client.clone().create_ticket(&request("s2")).await.unwrap();
}
