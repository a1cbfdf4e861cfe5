//! The Usedesk adapters against the Usedesk simulator, over real HTTP.
#![cfg(feature = "sim")]

use std::time::Duration;

use chrono::Utc;
use deskbridge::Error;
use deskbridge::http::{RateLimit, RetryPolicy};
use deskbridge::ports::{NewTicket, StatusProvider, TicketDesk, TicketState};
use deskbridge::sim::Fault;
use deskbridge::sim::usedesk::{TicketsOffset, UsedeskSim, UsedeskSimConfig, UsedeskSimTicket};
use deskbridge::status::{Channel, NativeStatus};
use deskbridge::usedesk::{
    TicketQuery, UsedeskClient, UsedeskConfig, UsedeskDesk, UsedeskProvider, UsedeskWebhookEvent,
    UsedeskWebhookVerifier,
};
use reqwest::Method;
use serde_json::{Value, json};

const TWITTER: u64 = UsedeskSimConfig::SAMPLE_TWITTER_CHANNEL_ID;

fn client_for(sim: &UsedeskSim, token: &str) -> UsedeskClient {
    let config = UsedeskConfig::new(token)
        .unwrap()
        .with_base_url(sim.base_url().as_str())
        .unwrap()
        .with_rate_limit(RateLimit::unlimited())
        .with_retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(1),
            max_total_wait: Duration::from_secs(2),
        });
    UsedeskClient::new(config).unwrap()
}

fn client(sim: &UsedeskSim) -> UsedeskClient {
    client_for(sim, UsedeskSimConfig::DEFAULT_API_TOKEN)
}

fn new_ticket(key: &str, tag: &str, client_id: Option<&str>) -> NewTicket {
    NewTicket {
        subject: format!("Ticket for {key}"),
        message: "<p>Hello</p>".into(),
        client_id: client_id.map(str::to_owned),
        client_name: "@amy".into(),
        channel_id: Some(TWITTER.to_string()),
        tags: vec![tag.to_owned()],
        dedupe_key: key.to_owned(),
    }
}

#[tokio::test]
async fn agents_come_with_their_live_groups_and_both_statuses() {
    let sim = UsedeskSim::start_with_sample().await.unwrap();
    let provider = UsedeskProvider::new(client(&sim));
    let agents = provider.list_agents().await.unwrap();
    let emails: Vec<&str> = agents.iter().filter_map(|a| a.email.as_deref()).collect();
    assert_eq!(
        emails,
        [
            "ana@example.com",
            "ben@example.com",
            "carla@example.com",
            "dmitri@example.com",
            "eva@example.com",
            "farid@example.com",
            "greta@example.com",
            "hugo@example.com"
        ]
    );
    let ana = &agents[0];
    assert_eq!(ana.id, "101");
    assert_eq!(ana.groups, ["Managers", "Chat team"]);
    assert_eq!(ana.status(Channel::Chat), Some(&NativeStatus::from("online")));
    let farid = agents.iter().find(|a| a.id == "106").unwrap();
    assert_eq!(farid.groups, ["Chat team"], "the deleted group is left out");
    assert_eq!(farid.status(Channel::Chat), Some(&NativeStatus::from("offline")));
    assert_eq!(farid.status(Channel::Tickets), Some(&NativeStatus::from("online")));

    // One request per user type; the admin and the support user come only from theirs.
    let bodies: Vec<Value> =
        sim.server().requests_matching(Method::POST, "/users").iter().filter_map(|r| r.body_json()).collect();
    let types: Vec<&str> = bodies.iter().filter_map(|b| b["user_type"].as_str()).collect();
    assert_eq!(types, ["admin", "employee", "support"]);

    let groups = provider.list_groups().await.unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["Chat team", "Mail team", "Managers", "Night shift"]);
}

#[tokio::test]
async fn statuses_are_set_per_section() {
    let sim = UsedeskSim::start_with_sample().await.unwrap();
    let provider = UsedeskProvider::new(client(&sim));
    provider.set_status("102", Channel::Chat, &NativeStatus::from("online")).await.unwrap();
    let ben = sim.user(102).unwrap();
    assert!(ben.chat_online);
    assert!(!ben.ticket_online, "only the chat section changed");
    provider.set_status("101", Channel::Tickets, &NativeStatus::from("offline")).await.unwrap();
    let ana = sim.user(101).unwrap();
    assert!(ana.chat_online);
    assert!(!ana.ticket_online);

    let last = sim.server().requests_matching(Method::POST, "/update/user").pop().unwrap();
    assert_eq!(
        last.body_json().unwrap(),
        json!({"api_token": UsedeskSimConfig::DEFAULT_API_TOKEN, "user_id": 101, "ticket_online_status": "false"})
    );
    assert!(!last.path.contains(UsedeskSimConfig::DEFAULT_API_TOKEN));
    assert_eq!(last.query, None);

    let error = provider.set_status("999", Channel::Chat, &NativeStatus::from("online")).await.unwrap_err();
    match error {
        Error::Api { status: 200, message, .. } => assert_eq!(message, "User not found"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn tickets_are_created_with_exact_tags_and_the_dedupe_key_then_found_by_it() {
    let sim = UsedeskSim::start_with_sample().await.unwrap();
    let desk = UsedeskDesk::new(client(&sim)).with_channel(TWITTER.to_string());
    let started = Utc::now() - chrono::Duration::minutes(10);

    let mention = desk.create_ticket(&new_ticket("x-mention-1", "Twitter: Mention", None)).await.unwrap();
    let client_id = mention.client_id.clone().expect("the new client's id is learned");
    let dm = desk.create_ticket(&new_ticket("x-dm-2", "Twitter:Direct", Some(&client_id))).await.unwrap();
    assert_eq!(dm.client_id.as_deref(), Some(client_id.as_str()));

    let stored = sim.ticket(mention.id.parse().unwrap()).unwrap();
    assert_eq!(stored.tags, ["Twitter: Mention"]);
    assert_eq!(stored.additional_id.as_deref(), Some("x-mention-1"));
    assert_eq!(stored.channel_id, Some(TWITTER));
    assert_eq!(stored.status_id, 8);
    assert!(sim.clients().iter().any(|c| c.id.to_string() == client_id && c.name == "@amy"));
    let first = &sim.comments(stored.id)[0];
    assert_eq!((first.from.as_str(), first.message.as_str()), ("client", "<p>Hello</p>"));
    let dm_stored = sim.ticket(dm.id.parse().unwrap()).unwrap();
    assert_eq!(dm_stored.tags, ["Twitter:Direct"]);
    assert_eq!(dm_stored.client_id.to_string(), client_id);
    assert_eq!(sim.clients().len(), 3, "the second ticket reused the client");

    let found = desk.find_by_dedupe_key("x-mention-1", started).await.unwrap().unwrap();
    assert_eq!(found.id, mention.id);
    assert_eq!(found.client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(desk.find_by_dedupe_key("x-dm-2", started).await.unwrap().unwrap().id, dm.id);
    assert_eq!(desk.find_by_dedupe_key("x-dm-404", started).await.unwrap(), None);
    // The seeded Twitter ticket carries a key too, but was created long before the window.
    assert_eq!(desk.find_by_dedupe_key("x-dm-1000", started).await.unwrap(), None);
    let listing =
        sim.server().requests_matching(Method::POST, "/tickets").pop().unwrap().body_json().unwrap();
    assert_eq!(listing["fchannel"], TWITTER.to_string());
}

#[tokio::test]
async fn comments_carry_a_findable_marker_and_closed_states_are_read() {
    let sim = UsedeskSim::start_with_sample().await.unwrap();
    let desk = UsedeskDesk::new(client(&sim));
    assert!(!desk.has_comment("9001", "x-dm-5").await.unwrap());
    desk.add_client_comment("9001", "Any news?", "x-dm-5").await.unwrap();
    assert!(desk.has_comment("9001", "x-dm-5").await.unwrap());
    assert!(!desk.has_comment("9001", "x-dm-").await.unwrap());
    let last = sim.comments(9001).pop().unwrap();
    assert_eq!((last.from.as_str(), last.kind.as_str()), ("client", "public"));
    assert_eq!(last.client_id, Some(501));
    assert!(last.message.starts_with("Any news?"));

    assert_eq!(desk.ticket_state("9001").await.unwrap(), TicketState::Open);
    assert_eq!(desk.ticket_state("9002").await.unwrap(), TicketState::Closed);
    for (status, state) in [
        (2, TicketState::Open),
        (6, TicketState::Open),
        (4, TicketState::Closed),
        (10, TicketState::Closed),
        (7, TicketState::Closed),
        (3, TicketState::Closed),
    ] {
        sim.set_ticket_status(9001, status).unwrap();
        assert_eq!(desk.ticket_state("9001").await.unwrap(), state, "status {status}");
    }
    match desk.ticket_state("123456").await.unwrap_err() {
        Error::Api { status: 200, message, .. } => assert_eq!(message, "Ticket not found"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(desk.add_client_comment("123456", "x", "k").await, Err(Error::Api { status: 200, .. })));
}

#[tokio::test]
async fn a_wrong_token_is_an_http_200_error() {
    let sim = UsedeskSim::start_with_sample().await.unwrap();
    let provider = UsedeskProvider::new(client_for(&sim, "not-the-token"));
    match provider.list_groups().await.unwrap_err() {
        Error::Api { status, message, provider, .. } => {
            assert_eq!((status, provider), (200, "usedesk"));
            assert_eq!(message, "Wrong api_token");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn ticket_listing_handles_both_offset_meanings() {
    for mode in [TicketsOffset::PageNumber, TicketsOffset::RowOffset] {
        let mut config = UsedeskSimConfig::sample().tickets_offset(mode);
        let now = Utc::now();
        for id in 1..=250u64 {
            config.tickets.push(UsedeskSimTicket {
                id,
                subject: format!("t{id}"),
                status_id: 1,
                client_id: 501,
                channel_id: Some(TWITTER),
                tags: Vec::new(),
                additional_id: Some(format!("k{id}")),
                assignee_id: None,
                published_at: now,
            });
        }
        let sim = UsedeskSim::start(config).await.unwrap();
        let query = TicketQuery { channels: vec![TWITTER.to_string()], ..TicketQuery::default() };
        let (rows, truncated) = client(&sim).tickets_all(&query, 10).await.unwrap();
        assert!(!truncated);
        // 250 seeded + the sample's closed Twitter ticket.
        assert_eq!(rows.len(), 251, "{mode:?}");
        let mut ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 251);

        // A bounded dedupe search refuses to answer "not found" when it could not look
        // at every candidate.
        let desk = UsedeskDesk::new(client(&sim)).with_channel(TWITTER.to_string()).with_max_candidates(3);
        let since = now - chrono::Duration::minutes(5);
        assert_eq!(desk.find_by_dedupe_key("k250", since).await.unwrap().unwrap().id, "250");
        assert!(matches!(desk.find_by_dedupe_key("k1", since).await, Err(Error::InvalidInput { .. })));
    }
}

#[tokio::test]
async fn reads_are_retried_after_a_server_error_but_creates_are_not() {
    let sim = UsedeskSim::start_with_sample().await.unwrap();
    let desk = UsedeskDesk::new(client(&sim));
    sim.server().add_fault(Fault::status(502, "bad gateway").on_path("/ticket"));
    assert_eq!(desk.ticket_state("9002").await.unwrap(), TicketState::Closed);
    assert_eq!(sim.server().requests_matching(Method::POST, "/ticket").len(), 2);

    sim.server().add_fault(Fault::status(502, "bad gateway").on_path("/create/ticket"));
    let before = sim.tickets().len();
    let error = desk.create_ticket(&new_ticket("x-dm-9", "Twitter:Direct", Some("501"))).await.unwrap_err();
    assert!(matches!(error, Error::Api { status: 502, .. }), "{error:?}");
    assert_eq!(sim.server().requests_matching(Method::POST, "/create/ticket").len(), 1);
    assert_eq!(sim.tickets().len(), before);

    sim.server().add_fault(
        Fault::ok_with_error_body(json!({"error": "Internal error", "code": 500})).on_path("/groups"),
    );
    let error = UsedeskProvider::new(client(&sim)).list_groups().await.unwrap_err();
    assert!(
        matches!(error, Error::Api { status: 200, ref code, .. } if code.as_deref() == Some("500")),
        "{error:?}"
    );
}

#[tokio::test]
async fn webhook_deliveries_verify_and_parse() {
    let sim = UsedeskSim::start_with_sample().await.unwrap();
    let verifier = UsedeskWebhookVerifier::new("hook-secret").unwrap();
    let delivery = sim.new_comment_delivery(70002, "hook-secret").unwrap();
    match verifier.verify(&delivery.body).unwrap() {
        UsedeskWebhookEvent::NewComment(comment) => {
            assert_eq!(comment.ticket_id.as_deref(), Some("9001"));
            assert_eq!(comment.from.as_deref(), Some("user"));
            assert_eq!(comment.assignee_id.as_deref(), Some("105"));
        }
        other => panic!("{other:?}"),
    }
    let delivery = sim.new_ticket_delivery(9002, "hook-secret").unwrap();
    match verifier.verify(&delivery.body).unwrap() {
        UsedeskWebhookEvent::NewTicket(ticket) => {
            assert_eq!(ticket.ticket_id.as_deref(), Some("9002"));
            assert_eq!(ticket.additional_id.as_deref(), Some("x-dm-1000"));
            assert_eq!(ticket.client_id.as_deref(), Some("502"));
        }
        other => panic!("{other:?}"),
    }
    let forged = sim.new_ticket_delivery(9002, "guess").unwrap();
    assert!(matches!(verifier.verify(&forged.body), Err(Error::WebhookVerification { .. })));
}

#[tokio::test]
async fn the_simulator_refuses_bad_input_the_usedesk_way() {
    let sim = UsedeskSim::start_with_sample().await.unwrap();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let url = sim.base_url().join(path).unwrap();
        http.post(url).json(&body).send()
    };
    let token = UsedeskSimConfig::DEFAULT_API_TOKEN;
    for (path, body, message) in [
        ("create/ticket", json!({"api_token": token, "message": "m"}), "The subject field is required."),
        ("create/ticket", json!({"api_token": token, "subject": "s"}), "The message field is required."),
        (
            "create/ticket",
            json!({"api_token": token, "subject": "s", "message": "m", "client_id": 1}),
            "Client not found",
        ),
        (
            "create/ticket",
            json!({"api_token": token, "subject": "s", "message": "m", "channel_id": 99}),
            "Channel not found",
        ),
        ("create/comment", json!({"api_token": token, "message": "m"}), "The ticket id field is required."),
        (
            "create/comment",
            json!({"api_token": token, "ticket_id": 9001, "message": "m", "type": "loud"}),
            "The selected type is invalid.",
        ),
        (
            "update/user",
            json!({"api_token": token, "chat_online_status": true}),
            "The user id field is required.",
        ),
        (
            "update/user",
            json!({"api_token": token, "user_id": 101, "chat_online_status": "yes"}),
            "The chat_online_status field must be true or false.",
        ),
        ("users", json!({"api_token": token, "user_type": "robot"}), "The selected user type is invalid."),
        (
            "tickets",
            json!({"api_token": token, "created_after": "yesterday"}),
            "The created_after does not match the format Y-m-d H:i.",
        ),
        ("groups", json!({}), "Wrong api_token"),
    ] {
        let response = post(path, body).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer, json!({"error": message}), "{path}");
    }
    // Form fields work too, as Usedesk's PHP samples send them.
    let url = sim.base_url().join("update/user").unwrap();
    let form = format!("api_token={token}&user_id=103&ticket_online_status=true");
    let answer: Value = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer, json!({"status": "success", "user_id": 103}));
    assert!(sim.user(103).unwrap().ticket_online);
    let response = http.get(sim.base_url().join("users").unwrap()).send().await.unwrap();
    assert_eq!(response.status(), 405);
}

/// Chat deliveries carry the API channel's application id as `secret`, ticket deliveries
/// its token: each kind verifies against its own, never the other's.
#[tokio::test]
async fn chat_and_ticket_deliveries_each_verify_with_their_own_secret() {
    let sim = UsedeskSim::start_with_sample().await.unwrap();
    let verifier =
        UsedeskWebhookVerifier::new("hook-token").unwrap().with_chat_secret("app-id-4417").unwrap();
    let chat = sim.chat_message_delivery(9002, "Hello from Telegram", "app-id-4417").unwrap();
    match verifier.verify(&chat.body).unwrap() {
        UsedeskWebhookEvent::Chat(event) => {
            assert_eq!(event.chat_id.as_deref(), Some("9002"));
            assert_eq!(event.text.as_deref(), Some("Hello from Telegram"));
            assert_eq!(event.from.as_deref(), Some("client"));
        }
        other => panic!("{other:?}"),
    }
    let ticket = sim.new_ticket_delivery(9002, "hook-token").unwrap();
    assert!(matches!(verifier.verify(&ticket.body).unwrap(), UsedeskWebhookEvent::NewTicket(_)));
    // Crossed secrets are refused both ways.
    let chat_with_token = sim.chat_message_delivery(9002, "hi", "hook-token").unwrap();
    let ticket_with_app_id = sim.new_ticket_delivery(9002, "app-id-4417").unwrap();
    for body in [&chat_with_token.body, &ticket_with_app_id.body] {
        assert!(matches!(
            verifier.verify(body),
            Err(Error::WebhookVerification { failure: deskbridge::WebhookFailure::BadSignature, .. })
        ));
    }
    // Without a configured application id a real chat delivery cannot verify (and the
    // error is the same typed refusal); a blank application id is a configuration error.
    let token_only = UsedeskWebhookVerifier::new("hook-token").unwrap();
    assert!(token_only.verify(&chat.body).is_err());
    assert!(UsedeskWebhookVerifier::new("hook-token").unwrap().with_chat_secret("  ").is_err());
    assert!(!format!("{verifier:?}").contains("app-id-4417"));
}

/// An account that splits `tag` on spaces: the read-back reports the split; an account
/// that keeps it: exact.
#[tokio::test]
async fn the_tag_read_back_sees_what_the_account_stored() {
    use deskbridge::usedesk::{CreateTicketRequest, TagReadBack, TicketClient};
    let request = CreateTicketRequest {
        subject: "Mention".into(),
        message: "m".into(),
        client: TicketClient::New { name: "Amy".into() },
        channel_id: None,
        tags: vec!["Twitter: Mention".into()],
        additional_id: Some("x-mention-9".into()),
        from: "client".into(),
    };
    let keeping = UsedeskSim::start_with_sample().await.unwrap();
    let exact = client(&keeping);
    exact.create_ticket(&request).await.unwrap();
    assert_eq!(exact.tag_check(), Some(TagReadBack::Exact));

    let splitting = UsedeskSim::start_with_sample().await.unwrap();
    splitting.split_tags_on_spaces(true);
    let split = client(&splitting);
    let created = split.create_ticket(&request).await.unwrap();
    match split.tag_check() {
        Some(TagReadBack::Mismatch { ticket_id, stored, .. }) => {
            assert_eq!(ticket_id, created.ticket_id);
            assert_eq!(stored, vec!["Twitter:".to_owned(), "Mention".to_owned()]);
        }
        other => panic!("{other:?}"),
    }
}
