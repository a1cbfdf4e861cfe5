//! DM attachments: downloaded from X with the user's credentials (the documented v2
//! download path) and uploaded to the Usedesk ticket with Usedesk's documented multipart
//! `files[]`; on the simulators end to end, and the exact requests on a strict mock.
#![cfg(all(feature = "twitter", feature = "usedesk", feature = "sim"))]

use crate::common;

use common::mock::strict_server;
use deskbridge::bridges::attach_dm_media;
use deskbridge::http::RateLimit;
use deskbridge::ports::Media;
use deskbridge::sim::twitter::{XSim, sample};
use deskbridge::sim::usedesk::{UsedeskSim, UsedeskSimConfig};
use deskbridge::twitter::dm_media_parts;
use deskbridge::twitter::{XClient, XConfig};
use deskbridge::usedesk::CreateCommentRequest;
use deskbridge::usedesk::{UploadFile, UsedeskClient, UsedeskConfig};
use serde_json::json;
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

#[test]
fn dm_media_urls_are_recognised_and_others_are_not() {
    let parts = dm_media_parts(
        "https://ton.twitter.com/1.1/ton/data/dm/1790000000000000001/1790000000000000009/AbC.jpg",
    );
    assert_eq!(parts, Some(("1790000000000000001".into(), "1790000000000000009".into(), "AbC.jpg".into())));
    assert!(dm_media_parts("https://ton.x.com/i/ton/data/dm/1/2/x.png").is_some());
    assert!(dm_media_parts("https://pbs.twimg.com/media/box.jpg").is_none());
    assert!(dm_media_parts("https://ton.twitter.com/1.1/ton/data/dm/abc/2/x.png").is_none());
    assert!(dm_media_parts("not a url").is_none());
}

#[tokio::test]
async fn a_dm_photo_reaches_the_ticket_as_a_file_and_a_public_image_as_a_link() {
    let x_sim = XSim::start_with_sample().await.unwrap();
    let usedesk_sim = UsedeskSim::start_with_sample().await.unwrap();
    let dm = x_sim
        .dm_events()
        .into_iter()
        .find(|d| d.sender_id == sample::ALICE_ID && !d.media.is_empty())
        .unwrap();
    let media_id = dm.media[0].media_key.rsplit('_').next().unwrap().to_owned();
    let x = XClient::new(
        XConfig::with_user_token(sample::OWN_ID, x_sim.token()).with_base_url(x_sim.base_url()).unwrap(),
    )
    .unwrap();
    let usedesk = UsedeskClient::new(
        UsedeskConfig::new(UsedeskSimConfig::DEFAULT_API_TOKEN)
            .unwrap()
            .with_base_url(usedesk_sim.base_url().as_str())
            .unwrap()
            .with_rate_limit(RateLimit::unlimited()),
    )
    .unwrap();
    let media = vec![
        Media {
            kind: "photo".into(),
            url: format!("https://ton.twitter.com/1.1/ton/data/dm/{}/{media_id}/damaged-box.jpg", dm.id),
        },
        Media { kind: "photo".into(), url: "https://pbs.twimg.com/media/public.jpg".into() },
    ];
    let attached = attach_dm_media(&x, &usedesk, "9001", &dm.id, &media).await.unwrap();
    assert_eq!(attached.uploaded, 1);
    assert_eq!(attached.linked.len(), 1);
    assert_eq!(attached.linked[0].0, "https://pbs.twimg.com/media/public.jpg");
    let comment_id: u64 = attached.comment_id.unwrap().parse().unwrap();
    let files = usedesk_sim.comment_files(comment_id);
    let expected_size = format!("SIMMEDIA {} damaged-box.jpg", dm.media[0].media_key).len();
    assert_eq!(
        files,
        vec![json!({"name": "damaged-box.jpg", "content_type": "image/jpeg", "size": expected_size})]
    );
    // The download used the documented v2 path on the configured origin, in user context.
    let downloads: Vec<_> = x_sim
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/2/dm_conversations/media/"))
        .collect();
    assert_eq!(downloads.len(), 1);
    assert_eq!(downloads[0].path, format!("/2/dm_conversations/media/{}/{media_id}/damaged-box.jpg", dm.id));
    // A URL of another DM is refused before anything is sent.
    assert!(x.download_dm_media("1", &media[0].url).await.is_err());
}

#[tokio::test]
async fn the_exact_download_and_upload_requests() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/2/dm_conversations/media/111/222/photo.png"))
        .and(header("authorization", "Bearer user-token"))
        .and(header("accept", "*/*"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "image/png")
                .set_body_bytes(vec![0x89, b'P', b'N', b'G']),
        )
        .expect(1)
        .mount(&server)
        .await;
    let x = XClient::new(
        XConfig::with_user_token("42", "user-token")
            .with_base_url(Url::parse(&server.uri()).unwrap())
            .unwrap(),
    )
    .unwrap();
    let media = x
        .download_dm_media("111", "https://ton.twitter.com/1.1/ton/data/dm/111/222/photo.png")
        .await
        .unwrap();
    assert_eq!(
        (media.file_name.as_str(), media.content_type.as_str(), media.bytes.len()),
        ("photo.png", "image/png", 4)
    );

    let token = "UD-S3CR3T-token";
    Mock::given(method("POST"))
        .and(path("/uapi/create/comment"))
        .and(|request: &wiremock::Request| {
            let content_type = request.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let Some(boundary) = content_type.strip_prefix("multipart/form-data; boundary=") else { return false };
            let body = String::from_utf8_lossy(&request.body);
            let part = |name: &str, value: &str| {
                body.contains(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"))
            };
            part("api_token", "UD-S3CR3T-token")
                && part("ticket_id", "9001")
                && part("message", "see attached")
                && part("type", "private")
                && part("from", "client")
                && {
                    let mut file_part = format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"files[]\"; filename=\"photo.png\"\r\nContent-Type: image/png\r\n\r\n"
                    )
                    .into_bytes();
                    file_part.extend_from_slice(&[0x89, b'P', b'N', b'G', b'\r', b'\n']);
                    request.body.windows(file_part.len()).any(|w| w == file_part.as_slice())
                }
                && body.ends_with(&format!("--{boundary}--\r\n"))
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "success", "comment_id": 77})))
        .expect(1)
        .mount(&server)
        .await;
    let usedesk = UsedeskClient::new(
        UsedeskConfig::new(token)
            .unwrap()
            .with_base_url(format!("{}/uapi", server.uri()))
            .unwrap()
            .with_rate_limit(RateLimit::unlimited()),
    )
    .unwrap();
    let request = CreateCommentRequest {
        ticket_id: "9001".into(),
        message: "see attached".into(),
        kind: "private".into(),
        from: "client".into(),
    };
    let file = UploadFile {
        file_name: "photo.png".into(),
        content_type: media.content_type.clone(),
        bytes: media.bytes.clone(),
    };
    let created = usedesk.create_comment_with_files(&request, &[file]).await.unwrap();
    assert_eq!(created.comment_id.as_deref(), Some("77"));
    assert!(
        usedesk.create_comment_with_files(&request, &[]).await.is_err(),
        "no files: refused before sending"
    );
}

/// End to end: an inbox pass with the attacher turns a customer's DM photo into a file on
/// the ticket it opened; a DM without media gets no extra comment; a second pass adds
/// nothing.
#[tokio::test]
async fn an_inbox_pass_uploads_dm_photos_to_the_new_ticket() {
    use chrono::{TimeZone, Utc};
    use deskbridge::bridges::XDmMediaToUsedesk;
    use deskbridge::inbox::{Inbox, InboxConfig};
    use deskbridge::sim::twitter::XSimMedia;
    use deskbridge::store::MemoryStore;
    use deskbridge::twitter::XSource;
    use deskbridge::usedesk::UsedeskDesk;
    use std::sync::Arc;

    let x_sim = XSim::start_with_sample().await.unwrap();
    let usedesk_sim = UsedeskSim::start_with_sample().await.unwrap();
    let at = Utc.with_ymd_and_hms(2024, 5, 6, 12, 0, 0).unwrap();
    let dm = x_sim
        .add_dm(
            sample::CAROL_ID,
            sample::OWN_ID,
            "the label is torn",
            at,
            vec![XSimMedia::dm_photo("label.jpg")],
        )
        .unwrap();
    assert!(dm.media[0].url.as_deref().unwrap().starts_with("https://ton.twitter.com/1.1/ton/data/dm/"));
    let x_config =
        XConfig::with_user_token(sample::OWN_ID, x_sim.token()).with_base_url(x_sim.base_url()).unwrap();
    let usedesk = UsedeskClient::new(
        UsedeskConfig::new(UsedeskSimConfig::DEFAULT_API_TOKEN)
            .unwrap()
            .with_base_url(usedesk_sim.base_url().as_str())
            .unwrap()
            .with_rate_limit(RateLimit::unlimited()),
    )
    .unwrap();
    let attacher = XDmMediaToUsedesk::new(XClient::new(x_config.clone()).unwrap(), usedesk.clone());
    let inbox = Inbox::new(
        Arc::new(XSource::from_config(x_config).unwrap()),
        Arc::new(UsedeskDesk::new(usedesk).with_channel("12")),
        Arc::new(MemoryStore::new()),
        InboxConfig::default().with_channel_id(Some("12".into())),
    )
    .media_attacher(Arc::new(attacher));
    let report = inbox.poll_once(at + chrono::Duration::minutes(1)).await.unwrap();
    assert!(report.is_success(), "{report}");
    let ticket_id = report
        .messages
        .iter()
        .find(|m| m.message_id == dm.id)
        .and_then(|m| match &m.outcome {
            deskbridge::inbox::MessageOutcome::CreatedTicket { ticket_id, .. } => ticket_id.clone(),
            deskbridge::inbox::MessageOutcome::Commented { ticket_id } => Some(ticket_id.clone()),
            _ => None,
        })
        .expect("Carol's DM opened or joined a ticket");
    let comments = usedesk_sim.comments(ticket_id.parse().unwrap());
    let with_files: Vec<_> =
        comments.iter().filter(|c| !usedesk_sim.comment_files(c.id).is_empty()).collect();
    assert_eq!(with_files.len(), 1, "{comments:#?}");
    let files = usedesk_sim.comment_files(with_files[0].id);
    assert_eq!(files[0]["name"], "label.jpg");
    assert_eq!(files[0]["content_type"], "image/jpeg");

    let uploads = || {
        usedesk_sim
            .server()
            .requests()
            .iter()
            .filter(|r| r.header("content-type").is_some_and(|c| c.starts_with("multipart/")))
            .count()
    };
    let before = uploads();
    let again = inbox.poll_once(at + chrono::Duration::minutes(2)).await.unwrap();
    assert!(again.is_success());
    assert_eq!(uploads(), before, "nothing uploaded twice");
}
