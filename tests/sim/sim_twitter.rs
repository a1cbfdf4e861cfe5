//! The X simulator, driven over real HTTP, and deskbridge's X source against it.
#![cfg(feature = "sim")]

use chrono::{TimeZone, Utc};
use deskbridge::ports::{MessageKind, MessageSource};
use deskbridge::sim::RateLimitRule;
use deskbridge::sim::twitter::{XSim, XSimConfig, XSimMedia, XSimUser, sample};
use deskbridge::twitter::XWebhook;
use deskbridge::twitter::{XConfig, XSource, XSourceOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn get(
    sim: &XSim,
    path_and_query: &str,
    token: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let url = sim.base_url().join(path_and_query).unwrap();
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap_or(Value::Null))
}

fn source(sim: &XSim) -> XSource {
    XSource::from_config(
        XConfig::with_user_token(sample::OWN_ID, sim.token()).with_base_url(sim.base_url()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn bearer_auth_is_enforced_with_xs_problem_shape() {
    let sim = XSim::start_with_sample().await.unwrap();
    for token in [None, Some("wrong")] {
        let (status, _, body) = get(&sim, "2/dm_events", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["title"], "Unauthorized");
        assert_eq!(body["status"], 401);
    }
}

#[tokio::test]
async fn dm_events_are_newest_first_paginated_and_shaped_by_the_requested_fields() {
    let sim = XSim::start_with_sample().await.unwrap();
    let token = Some(sim.token());
    let (status, _, bare) = get(&sim, "2/dm_events?max_results=3", token).await;
    assert_eq!(status, StatusCode::OK);
    let data = bare["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    assert_eq!(data[0]["sender_id"], Value::Null, "fields only when requested");
    assert_eq!(data[0]["event_type"], "MessageCreate");
    assert!(bare.get("includes").is_none());
    let ids: Vec<u64> = data.iter().map(|e| e["id"].as_str().unwrap().parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let next = bare["meta"]["next_token"].as_str().unwrap().to_owned();
    assert!(next.len() >= 16);

    let (_, _, page2) = get(
        &sim,
        &format!(
            "2/dm_events?max_results=3&pagination_token={next}&dm_event.fields=id,text,sender_id,attachments,created_at\
             &expansions=sender_id,attachments.media_keys&media.fields=url,preview_image_url,type&user.fields=username,name"
        ),
        token,
    )
    .await;
    let data = page2["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "4 DMs in the sample");
    assert_eq!(data[0]["text"], "Hi, my order #1042 hasn't arrived yet. Can you check?");
    assert_eq!(data[0]["sender_id"], sample::ALICE_ID);
    assert_eq!(data[0]["created_at"], "2024-05-06T09:00:00.000Z");
    assert_eq!(page2["includes"]["users"][0]["username"], "alice_w");
    assert!(page2["meta"].get("next_token").is_none());

    for bad in [
        "2/dm_events?max_results=0",
        "2/dm_events?max_results=101",
        "2/dm_events?dm_event.fields=id,bogus",
        "2/dm_events?expansions=author_id",
        "2/dm_events?since_id=1",
        "2/dm_events?pagination_token=nottoken",
    ] {
        let (status, _, body) = get(&sim, bad, token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["type"], "https://api.twitter.com/2/problems/invalid-request", "{bad}");
    }
}

#[tokio::test]
async fn mentions_honour_since_id_and_pages() {
    let sim = XSim::start_with_sample().await.unwrap();
    let token = Some(sim.token());
    let path = format!("2/users/{}/mentions", sample::OWN_ID);
    let (_, _, all) = get(
        &sim,
        &format!("{path}?max_results=5&tweet.fields=author_id,referenced_tweets,in_reply_to_user_id&expansions=author_id"),
        token,
    )
    .await;
    let data = all["data"].as_array().unwrap();
    let texts: Vec<&str> = data.iter().map(|t| t["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        [
            "@acme_support do you ship to Canada?",
            "@acme_support a Pixel 7, Android 14",
            "@acme_support the new app crashes when I log in"
        ]
    );
    assert_eq!(data[1]["referenced_tweets"][0]["type"], "replied_to");
    assert_eq!(data[1]["in_reply_to_user_id"], sample::OWN_ID);
    assert_eq!(all["meta"]["newest_id"], data[0]["id"]);
    let newest = data[0]["id"].as_str().unwrap().to_owned();
    let (_, _, none) = get(&sim, &format!("{path}?since_id={newest}"), token).await;
    assert_eq!(none, json!({ "meta": { "result_count": 0 } }));
    let (status, _, _) = get(&sim, &format!("{path}?max_results=4"), token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "mentions take 5..=100");

    for minute in 0..6 {
        let at = Utc.with_ymd_and_hms(2024, 5, 7, 8, minute, 0).unwrap();
        sim.add_post(sample::ALICE_ID, &format!("@ACME_support q{minute}"), None, at, vec![]).unwrap();
    }
    let (_, _, page1) = get(&sim, &format!("{path}?since_id={newest}&max_results=5"), token).await;
    assert_eq!(page1["data"].as_array().unwrap().len(), 5);
    let next = page1["meta"]["next_token"].as_str().unwrap();
    let (_, _, page2) =
        get(&sim, &format!("{path}?since_id={newest}&max_results=5&pagination_token={next}"), token).await;
    assert_eq!(page2["data"].as_array().unwrap().len(), 1);
    assert_eq!(page2["data"][0]["text"], "@ACME_support q0");
}

#[tokio::test]
async fn a_spent_limit_answers_429_with_x_rate_limit_headers_and_no_retry_after() {
    let own = XSimUser::new("10", "us", "Us");
    let sim = XSim::start(
        XSimConfig::new(own).rate_limit(RateLimitRule::new(1, std::time::Duration::from_secs(900))),
    )
    .await
    .unwrap();
    let (status, headers, _) = get(&sim, "2/dm_events", Some(sim.token())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-rate-limit-remaining"], "0");
    let (status, headers, body) = get(&sim, "2/dm_events", Some(sim.token())).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["title"], "Too Many Requests");
    assert_eq!(headers["x-rate-limit-limit"], "1");
    let reset: u64 = headers["x-rate-limit-reset"].to_str().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(reset > now + 800 && reset <= now + 901, "{reset} vs {now}");
    assert!(headers.get("retry-after").is_none());
    // deskbridge's client turns it into a rate-limit error carrying the wait.
    let error = source(&sim).client().dm_events_page(None, 100).await.unwrap_err();
    assert!(
        matches!(error, deskbridge::Error::RateLimited { provider: "x", retry_after: Some(_), .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_source_reads_the_sample_then_only_what_is_new_and_posts_answers() {
    let sim = XSim::start_with_sample().await.unwrap();
    let source = source(&sim).with_options(XSourceOptions { page_size: 2, max_pages: 10 });
    let batch = source.fetch(&Value::Null).await.unwrap();
    let summary: Vec<(MessageKind, &str, &str)> = batch
        .messages
        .iter()
        .map(|m| (m.kind, m.author_handle.as_deref().unwrap_or("?"), m.text.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (MessageKind::DirectMessage, "alice_w", "Hi, my order #1042 hasn't arrived yet. Can you check?"),
            (MessageKind::DirectMessage, "alice_w", "And the first box came damaged, see photo"),
            (MessageKind::DirectMessage, "bob_builds", "Me waiting for support like"),
            (MessageKind::DirectMessage, "acme_support", "Thanks Alice, we're checking order #1042 now."),
            (MessageKind::Mention, "carol_c", "@acme_support the new app crashes when I log in"),
            (MessageKind::Mention, "carol_c", "@acme_support a Pixel 7, Android 14"),
            (MessageKind::Mention, "bob_builds", "@acme_support do you ship to Canada?"),
        ]
    );
    assert_eq!(batch.messages[1].media[0].kind, "photo");
    assert_eq!(batch.messages[1].media[0].url, "https://pbs.twimg.com/media/sim-damaged-box.jpg");
    assert_eq!(batch.messages[2].media[0].kind, "animated_gif");
    assert_eq!(batch.messages[2].media[0].url, "https://pbs.twimg.com/tweet_video_thumb/sim-waiting.jpg");
    assert_eq!(batch.messages[3].author_id, sample::OWN_ID);
    let posts = sim.posts();
    assert_eq!(
        batch.messages[4].in_reply_to.as_deref(),
        Some(posts[0].id.as_str()),
        "under our announcement"
    );
    assert_eq!(batch.messages[5].in_reply_to.as_deref(), Some(posts[2].id.as_str()), "to our reply");
    assert_eq!(batch.messages[6].in_reply_to, None);

    let again = source.fetch(&batch.cursor).await.unwrap();
    assert!(again.messages.is_empty(), "{:?}", again.messages);

    // Our answers: a DM (it appears as an event from our account) and a public reply.
    let dm_id = source.send_direct_message(sample::BOB_ID, "Hang in there, Bob!").await.unwrap();
    let reply_id = source.reply_publicly(&batch.messages[6].id, "@bob_builds we do!").await.unwrap();
    let sent = sim.sent_dms();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].id.as_str(), sent[0].sender_id.as_str()), (dm_id.as_str(), sample::OWN_ID));
    let published = sim.published_posts();
    assert_eq!(published[0].id, reply_id);
    assert_eq!(published[0].in_reply_to.as_deref(), Some(batch.messages[6].id.as_str()));
    assert_eq!(published[0].in_reply_to_user_id.as_deref(), Some(sample::BOB_ID));

    let customer = sim.add_dm(sample::BOB_ID, sample::OWN_ID, "Thanks!", Utc::now(), vec![]).unwrap();
    let third = source.fetch(&again.cursor).await.unwrap();
    let ids: Vec<&str> = third.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, [dm_id.as_str(), customer.id.as_str()], "our DM (skipped by the inbox) and Bob's");
    assert!(source.fetch(&third.cursor).await.unwrap().messages.is_empty());

    assert!(source.reply_publicly("999", "nowhere").await.is_err(), "unknown reply target");
}

#[tokio::test]
async fn webhook_deliveries_are_signed_and_parse_back() {
    let sim = XSim::start_with_sample().await.unwrap();
    let secret = "sim-consumer-secret";
    let webhook = XWebhook::new(secret).unwrap();
    let photo_dm = &sim.dm_events()[1];
    let delivery = sim.dm_delivery(&photo_dm.id, secret).unwrap();
    let activity =
        webhook.verify_and_parse(delivery.header("x-twitter-webhooks-signature"), &delivery.body).unwrap();
    assert_eq!(activity.for_user_id, sample::OWN_ID);
    let message = &activity.messages[0];
    assert_eq!(message.id, photo_dm.id);
    assert_eq!(message.author_handle.as_deref(), Some("alice_w"));
    assert_eq!(message.media[0].url, "https://pbs.twimg.com/media/sim-damaged-box.jpg");
    assert_eq!(message.created_at, photo_dm.created_at);

    let own_dm = &sim.dm_events()[3];
    let delivery = sim.dm_delivery(&own_dm.id, secret).unwrap();
    let activity =
        webhook.verify_and_parse(delivery.header("x-twitter-webhooks-signature"), &delivery.body).unwrap();
    assert!(activity.messages.is_empty(), "our own DM is not an inbound message");

    let posts = sim.posts();
    let reply_to_reply = &posts[3];
    let delivery = sim.mention_delivery(&reply_to_reply.id, secret).unwrap();
    let activity =
        webhook.verify_and_parse(delivery.header("x-twitter-webhooks-signature"), &delivery.body).unwrap();
    let mention = &activity.messages[0];
    assert_eq!(mention.kind, MessageKind::Mention);
    assert_eq!(mention.in_reply_to.as_deref(), Some(posts[2].id.as_str()));
    assert_eq!(mention.created_at, reply_to_reply.created_at);

    let media_post = sim
        .add_post(
            sample::CAROL_ID,
            "@acme_support screenshot",
            None,
            Utc::now(),
            vec![XSimMedia::photo("https://pbs.twimg.com/media/s.png")],
        )
        .unwrap();
    let delivery = sim.mention_delivery(&media_post.id, secret).unwrap();
    let activity =
        webhook.verify_and_parse(delivery.header("x-twitter-webhooks-signature"), &delivery.body).unwrap();
    assert_eq!(activity.messages[0].media[0].url, "https://pbs.twimg.com/media/s.png");

    assert!(
        XWebhook::new("other")
            .unwrap()
            .verify(delivery.header("x-twitter-webhooks-signature"), &delivery.body)
            .is_err()
    );
    assert!(sim.dm_delivery("123", secret).is_none());
}
