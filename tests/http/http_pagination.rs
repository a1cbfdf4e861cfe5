//! Pagination over a real local server: the four styles, and a server that repeats its
//! cursor.

use crate::common;

use common::mock::strict_server;
use deskbridge::Error;
use deskbridge::http::{
    ApiClient, ApiRequest, Cursor, Method, Page, collect_all, paginate, paginate_offsets,
};
use serde::Deserialize;
use url::Url;
use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

fn client(base: &str) -> ApiClient {
    ApiClient::builder("testprov", Url::parse(base).unwrap()).build().unwrap()
}

#[derive(Debug, Deserialize, PartialEq)]
struct User {
    id: u64,
}

#[derive(Deserialize)]
struct ZendeskUsers {
    users: Vec<User>,
    meta: ZendeskMeta,
}

#[derive(Deserialize)]
struct ZendeskMeta {
    has_more: bool,
    after_cursor: Option<String>,
}

fn zendesk_users(client: ApiClient) -> impl futures_util::Stream<Item = deskbridge::Result<User>> {
    paginate("testprov", "GET /api/v2/users", move |cursor| {
        let client = client.clone();
        async move {
            let mut request = ApiRequest::get("/api/v2/users").query("page[size]", 2);
            if let Some(Cursor::Token(after)) = cursor {
                request = request.query("page[after]", after);
            }
            let body: ZendeskUsers = client.send_json(request).await?;
            let next = if body.meta.has_more { body.meta.after_cursor.map(Cursor::Token) } else { None };
            Ok(Page::new(body.users, next))
        }
    })
}

#[tokio::test]
async fn repeated_cursor_stops_with_an_error() {
    let server = strict_server().await;
    Mock::given(path("/api/v2/users"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"users":[{"id":1}],"meta":{"has_more":true,"after_cursor":"xyz"}}"#),
        )
        .expect(2)
        .mount(&server)
        .await;
    let error = collect_all(zendesk_users(client(&server.uri()))).await.unwrap_err();
    assert!(matches!(&error, Error::Decode { json_path, .. } if json_path == "next cursor"), "{error:?}");
    assert!(error.to_string().contains("repeated a cursor"), "{error}");
}

#[tokio::test]
async fn zendesk_style_cursors_until_has_more_is_false() {
    let server = strict_server().await;
    Mock::given(path("/api/v2/users"))
        .and(query_param_is_missing("page[after]"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(
                r#"{"users":[{"id":1},{"id":2}],"meta":{"has_more":true,"after_cursor":"c2"}}"#,
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/v2/users"))
        .and(query_param("page[after]", "c2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"users":[{"id":3}],"meta":{"has_more":false,"after_cursor":"c3"}}"#),
        )
        .expect(1)
        .mount(&server)
        .await;
    let users = collect_all(zendesk_users(client(&server.uri()))).await.unwrap();
    assert_eq!(users, vec![User { id: 1 }, User { id: 2 }, User { id: 3 }]);
}

#[tokio::test]
async fn aircall_style_page_links_until_null() {
    #[derive(Deserialize)]
    struct Body {
        users: Vec<User>,
        meta: Meta,
    }
    #[derive(Deserialize)]
    struct Meta {
        next_page_link: Option<String>,
    }
    let server = strict_server().await;
    let next = format!("{}/v1/users?page=2&per_page=1", server.uri());
    Mock::given(path("/v1/users"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(format!(r#"{{"users":[{{"id":1}}],"meta":{{"next_page_link":"{next}"}}}}"#)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/users"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"users":[{"id":2}],"meta":{"next_page_link":null}}"#),
        )
        .expect(1)
        .mount(&server)
        .await;
    let api = client(&server.uri());
    let stream = paginate("testprov", "GET /v1/users", move |cursor| {
        let api = api.clone();
        async move {
            let request = match cursor {
                Some(Cursor::Link(url)) => ApiRequest::absolute(Method::GET, "/v1/users (next page)", url),
                _ => ApiRequest::get("/v1/users").query("per_page", 1),
            };
            let body: Body = api.send_json(request).await?;
            Page::with_link("testprov", "GET /v1/users", body.users, body.meta.next_page_link.as_deref())
        }
    });
    assert_eq!(collect_all(stream).await.unwrap(), vec![User { id: 1 }, User { id: 2 }]);
}

#[tokio::test]
async fn page_link_to_another_origin_is_refused() {
    let server = strict_server().await;
    let elsewhere = strict_server().await;
    let foreign = format!("{}/v1/users?page=2", elsewhere.uri());
    Mock::given(path("/v1/users"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(format!(
                r#"{{"users":[{{"id":1}}],"meta":{{"next_page_link":"{foreign}"}}}}"#
            )),
        )
        .expect(1)
        .mount(&server)
        .await;
    let api = client(&server.uri());
    let stream = paginate("testprov", "GET /v1/users", move |cursor| {
        let api = api.clone();
        async move {
            let request = match cursor {
                Some(Cursor::Link(url)) => ApiRequest::absolute(Method::GET, "/v1/users (next page)", url),
                _ => ApiRequest::get("/v1/users"),
            };
            let body: serde_json::Value = api.send_json(request).await?;
            let users = serde_json::from_value::<Vec<User>>(body["users"].clone()).unwrap();
            Page::with_link("testprov", "GET /v1/users", users, body["meta"]["next_page_link"].as_str())
        }
    });
    let error = collect_all(stream).await.unwrap_err();
    assert!(matches!(error, Error::InvalidInput { .. }), "{error:?}");
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn x_style_tokens_until_absent() {
    let server = strict_server().await;
    Mock::given(path("/2/dm_events"))
        .and(query_param_is_missing("pagination_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"data":[{"id":1}],"meta":{"next_token":"ABCDEFGHIJKLMNOP"}}"#),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/dm_events"))
        .and(query_param("pagination_token", "ABCDEFGHIJKLMNOP"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"data":[{"id":2}],"meta":{}}"#))
        .expect(1)
        .mount(&server)
        .await;
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        data: Vec<User>,
        meta: Meta,
    }
    #[derive(Deserialize)]
    struct Meta {
        next_token: Option<String>,
    }
    let api = client(&server.uri());
    let stream = paginate("testprov", "GET /2/dm_events", move |cursor| {
        let api = api.clone();
        async move {
            let mut request = ApiRequest::get("/2/dm_events");
            if let Some(Cursor::Token(token)) = cursor {
                request = request.query("pagination_token", token);
            }
            let body: Body = api.send_json(request).await?;
            Ok(Page::with_token(body.data, body.meta.next_token))
        }
    });
    assert_eq!(collect_all(stream).await.unwrap(), vec![User { id: 1 }, User { id: 2 }]);
}

#[tokio::test]
async fn usedesk_style_offsets_until_a_short_page() {
    let server = strict_server().await;
    for (offset, body) in [(0, r#"[{"id":1},{"id":2}]"#), (1, r#"[{"id":3}]"#)] {
        Mock::given(method("POST"))
            .and(path("/clients"))
            .and(body_json(serde_json::json!({"offset": offset})))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let api = client(&server.uri());
    let stream = paginate_offsets("testprov", "POST /clients", 0, 1, 2, move |offset| {
        let api = api.clone();
        async move {
            let request = ApiRequest::post("/clients").json(&serde_json::json!({"offset": offset}))?;
            api.send_json::<Vec<User>>(request).await
        }
    });
    assert_eq!(collect_all(stream).await.unwrap(), vec![User { id: 1 }, User { id: 2 }, User { id: 3 }]);
}
