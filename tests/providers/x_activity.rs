//! X Activity API deliveries (the successor of the Account Activity API): the same
//! signature, one v2-shaped event per delivery, parsed into the same inbound messages;
//! and one receiver telling both formats apart.
#![cfg(all(feature = "twitter", feature = "sim"))]

use deskbridge::Error;
use deskbridge::WebhookFailure;
use deskbridge::ports::MessageKind;
use deskbridge::sim::twitter::{XSim, sample, webhook_signature};
use deskbridge::twitter::{XActivityWebhook, XDelivery, parse_activity};
use serde_json::json;

const SECRET: &str = "x-consumer-secret";

fn header(delivery: &deskbridge::sim::WebhookDelivery) -> Option<String> {
    delivery.headers.iter().find(|(k, _)| k == "x-twitter-webhooks-signature").map(|(_, v)| v.clone())
}

#[tokio::test]
async fn mentions_and_dms_arrive_through_either_api_as_the_same_messages() {
    let sim = XSim::start_with_sample().await.unwrap();
    let webhook = XActivityWebhook::new(SECRET).unwrap();
    let dm = sim
        .dm_events()
        .into_iter()
        .find(|dm| dm.sender_id == sample::ALICE_ID && !dm.media.is_empty())
        .unwrap();
    let reply =
        sim.posts().into_iter().find(|p| p.author_id == sample::CAROL_ID && p.in_reply_to.is_some()).unwrap();

    let new_dm = sim.activity_dm_delivery(&dm.id, SECRET).unwrap();
    let new_mention = sim.activity_mention_delivery(&reply.id, SECRET).unwrap();
    let old_dm = sim.dm_delivery(&dm.id, SECRET).unwrap();
    let old_mention = sim.mention_delivery(&reply.id, SECRET).unwrap();

    for (new, old) in [(&new_dm, &old_dm), (&new_mention, &old_mention)] {
        let new = webhook.verify_and_parse(header(new).as_deref(), &new.body).unwrap();
        let old = webhook.verify_and_parse(header(old).as_deref(), &old.body).unwrap();
        assert!(matches!(new, XDelivery::Activity(_)) && matches!(old, XDelivery::AccountActivity(_)));
        let (new, old) = (&new.messages()[0], &old.messages()[0]);
        assert_eq!(
            (&new.id, new.kind, &new.author_id, &new.text, &new.in_reply_to),
            (&old.id, old.kind, &old.author_id, &old.text, &old.in_reply_to)
        );
        assert_eq!(new.created_at, old.created_at);
        assert_eq!(new.media.len(), old.media.len());
        assert_eq!(new.author_handle, old.author_handle);
    }
    let XDelivery::Activity(mention) =
        webhook.verify_and_parse(header(&new_mention).as_deref(), &new_mention.body).unwrap()
    else {
        unreachable!()
    };
    assert_eq!(mention.messages[0].kind, MessageKind::Mention);
    assert_eq!(mention.messages[0].in_reply_to, reply.in_reply_to);
    assert_eq!(mention.event_ids, vec![reply.id.clone()]);
    assert_eq!(mention.user_id.as_deref(), Some(sample::OWN_ID));
}

#[test]
fn signatures_are_checked_and_other_events_and_our_own_messages_are_ignored() {
    let webhook = XActivityWebhook::new(SECRET).unwrap();
    let body =
        json!({"data": {"event_type": "post.mention.create", "event_uuid": "1", "filter": {"user_id": "10"},
                               "payload": {"id": "1790000000000000001", "text": "@acme hi", "author_id": "20",
                                           "created_at": "2026-01-01T10:00:00.000Z"}}})
        .to_string();
    let good = webhook_signature(SECRET, body.as_bytes());
    assert_eq!(webhook.verify_and_parse(Some(&good), body.as_bytes()).unwrap().messages().len(), 1);
    let forged = webhook_signature("guess", body.as_bytes());
    assert!(matches!(
        webhook.verify_and_parse(Some(&forged), body.as_bytes()),
        Err(Error::WebhookVerification { failure: WebhookFailure::BadSignature, .. })
    ));
    assert!(webhook.verify_and_parse(None, body.as_bytes()).is_err(), "unsigned deliveries are refused");

    let many = json!({"data": [
        {"event_type": "follow.follow", "payload": {}},
        {"event_type": "post.mention.create", "filter": {"user_id": "10"},
         "payload": {"id": "1790000000000000002", "text": "ours", "author_id": "10"}},
        {"event_type": "dm.received", "filter": {"user_id": "10"},
         "payload": {"id": "1790000000000000003", "text": "no sender"}},
        {"event_type": "dm.received", "filter": {"user_id": "10"},
         "payload": {"id": "1790000000000000004", "text": "hello", "sender_id": 30,
                     "referenced_tweets": [{"type": "quoted", "id": "5"}]}}
    ]});
    let parsed = parse_activity(many.to_string().as_bytes()).unwrap();
    assert_eq!(parsed.ignored, 3);
    assert_eq!(parsed.messages.len(), 1);
    assert_eq!(
        (parsed.messages[0].kind, parsed.messages[0].author_id.as_str()),
        (MessageKind::DirectMessage, "30")
    );

    for bad in [&b"not json"[..], br#"{"data": 5}"#, br#"{"other": {}}"#, br#"{"data": [{"event_type": 5}]}"#]
    {
        let error = parse_activity(bad).unwrap_err();
        assert!(
            matches!(error, Error::WebhookVerification { failure: WebhookFailure::Malformed(_), .. }),
            "{error:?}"
        );
    }
    let neither = webhook_signature(SECRET, br#"{"x": 1}"#);
    assert!(webhook.verify_and_parse(Some(&neither), br#"{"x": 1}"#).is_err());
}
