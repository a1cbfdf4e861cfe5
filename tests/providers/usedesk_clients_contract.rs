//! Contract tests of the Usedesk clients listing (`POST /clients`) and the extra ticket-row
//! fields against wiremock: exact bodies (`api_token`, `offset` as a page number, filters),
//! both answer shapes, and HTTP 200 errors.
#![cfg(feature = "usedesk")]

use crate::common;

use common::mock::strict_server;
use common::usedesk_mock::expect_post;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use deskbridge::Error;
use deskbridge::http::{RateLimit, RetryPolicy};
use deskbridge::usedesk::{ClientQuery, TicketQuery, UsedeskClient, UsedeskConfig};
use serde_json::json;
use wiremock::MockServer;

const TOKEN: &str = "UD-clients-S3CR3T-9a8b7c";

fn client(server: &MockServer) -> UsedeskClient {
    let config = UsedeskConfig::new(TOKEN)
        .unwrap()
        .with_base_url(format!("{}/uapi", server.uri()))
        .unwrap()
        .with_rate_limit(RateLimit::unlimited())
        .with_retry(RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(1),
            max_total_wait: Duration::from_secs(1),
        });
    UsedeskClient::new(config).unwrap()
}

#[tokio::test]
async fn clients_page_sends_the_page_number_and_reads_the_listing_shape() {
    let server = strict_server().await;
    expect_post(
        &server,
        "/clients",
        json!({"api_token": TOKEN, "offset": 0}),
        json!([
            {"id": 5, "name": "Maria", "emails": "maria@example.net, m@example.org", "phone": "+1555",
             "tickets": [9001, "9002"]},
            {"id": "6", "name": null, "emails": null, "phone": null, "tickets": []}
        ]),
    )
    .await;
    expect_post(
        &server,
        "/clients",
        json!({"api_token": TOKEN, "offset": 2}),
        json!([{"id": 7, "name": "Object shape", "emails": [{"email": "o@example.com"}],
                "phones": [{"phone": "+1777", "type": "mobile"}], "created_at": "2025-11-01 08:00:00"}]),
    )
    .await;
    let client = client(&server);
    let first = client.clients_page(&ClientQuery::default(), 0).await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].id, "5");
    assert_eq!(first[0].emails, vec!["maria@example.net", "m@example.org"]);
    assert_eq!(first[0].phone_numbers(), vec!["+1555"]);
    assert_eq!(first[0].tickets, vec!["9001", "9002"]);
    assert_eq!(first[1].id, "6");
    assert!(first[1].emails.is_empty() && first[1].phone_numbers().is_empty());
    let third = client.clients_page(&ClientQuery::default(), 2).await.unwrap();
    assert_eq!(third[0].emails, vec!["o@example.com"]);
    assert_eq!(third[0].phone_numbers(), vec!["+1777"]);
    assert_eq!(third[0].created_at.as_deref(), Some("2025-11-01 08:00:00"));
}

#[tokio::test]
async fn clients_filters_are_sent_as_documented() {
    let server = strict_server().await;
    expect_post(
        &server,
        "/clients",
        json!({
            "api_token": TOKEN,
            "query": "maria@example.net",
            "search_type": "full_match",
            "created_after": "2026-11-23 08:05",
            "created_before": "2026-11-24 00:00",
            "offset": 1
        }),
        json!([]),
    )
    .await;
    expect_post(
        &server,
        "/clients",
        json!({"api_token": TOKEN, "query": "mar", "search_type": "partial_match", "offset": 0}),
        json!([]),
    )
    .await;
    let client = client(&server);
    let query = ClientQuery {
        query: Some("maria@example.net".into()),
        full_match: true,
        created_after: Some(Utc.with_ymd_and_hms(2026, 11, 23, 8, 5, 59).unwrap()),
        created_before: Some(Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap()),
    };
    assert!(client.clients_page(&query, 1).await.unwrap().is_empty());
    let partial = ClientQuery { query: Some("mar".into()), ..ClientQuery::default() };
    assert!(client.clients_page(&partial, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn clients_errors_in_a_200_answer_are_api_errors() {
    let server = strict_server().await;
    expect_post(
        &server,
        "/clients",
        json!({"api_token": TOKEN, "offset": 0}),
        json!({"error": "The created after does not match the format Y-m-d H:i."}),
    )
    .await;
    let error = client(&server).clients_page(&ClientQuery::default(), 0).await.unwrap_err();
    match &error {
        Error::Api { status: 200, message, context, .. } => {
            assert_eq!(message, "The created after does not match the format Y-m-d H:i.");
            assert_eq!(context, "POST /clients");
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{error} {error:?}").contains(TOKEN));
}

#[tokio::test]
async fn ticket_rows_carry_priority_update_time_and_last_comment() {
    let server = strict_server().await;
    expect_post(
        &server,
        "/tickets",
        json!({"api_token": TOKEN, "client_id": 501, "offset": 0}),
        json!([{"id": 9001, "subject": "s", "status_id": 1, "client_id": 501, "priority": "extreme",
                "last_updated_at": "2025-11-20 10:00:00", "last_comment": "<p>hi</p>"},
               {"id": 9000, "subject": "t", "status_id": 2, "client_id": 501, "priority": null}]),
    )
    .await;
    let query = TicketQuery { client_id: Some("501".into()), ..TicketQuery::default() };
    let rows = client(&server).tickets_page(&query, 0).await.unwrap();
    assert_eq!(rows[0].priority.as_deref(), Some("extreme"));
    assert_eq!(rows[0].last_updated_at.as_deref(), Some("2025-11-20 10:00:00"));
    assert_eq!(rows[0].last_comment.as_deref(), Some("<p>hi</p>"));
    assert_eq!(rows[1].priority, None);
}
