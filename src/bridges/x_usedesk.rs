//! DM attachments from X into Usedesk (features `twitter` and `usedesk`).
//!
//! X serves DM media only to requests signed with a participant's credentials, so a DM
//! media URL pasted into a ticket cannot be opened by agents. [`attach_dm_media`]
//! downloads each attachment with our account's credentials
//! ([`XClient::download_dm_media`]) and uploads them to the ticket as one comment with
//! files (Usedesk's documented multipart `files[]` on `/create/comment`,
//! [`UsedeskClient::create_comment_with_files`]). Usedesk's `/create/ticket` takes files
//! the same way, but the inbox creates the ticket first (it must be deduplicated by its
//! `additional_id` before anything else is sent), so the files always go in a comment on
//! it: the next best option, documented in `docs/PROVIDER_FACTS.md`.
//!
//! An attachment that cannot be downloaded (a public `pbs.twimg.com` image, which agents
//! can open, or a DM media URL X refuses) is listed as a link in the comment instead, with
//! the reason logged: nothing is dropped silently (and the ticket text lists every media
//! URL anyway, so when nothing could be downloaded no comment is added).

use crate::Result;
use crate::inbox::MediaAttacher;
use crate::ports::{InboundMessage, Media};
use crate::twitter::XClient;
use crate::usedesk::UsedeskClient;
use crate::usedesk::{CreateCommentRequest, UploadFile};

/// What [`attach_dm_media`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedMedia {
    /// The comment created (none when nothing could be downloaded).
    pub comment_id: Option<String>,
    /// How many files were uploaded.
    pub uploaded: usize,
    /// Media left as links (not downloadable with the user's credentials), with why.
    pub linked: Vec<(String, String)>,
}

/// Download the media of DM `dm_event_id` with our account's X credentials and attach
/// them to Usedesk ticket `ticket_id` as one private comment from the client.
///
/// # Errors
/// The Usedesk upload's error (downloads that fail become links, not errors).
pub async fn attach_dm_media(
    x: &XClient,
    usedesk: &UsedeskClient,
    ticket_id: &str,
    dm_event_id: &str,
    media: &[Media],
) -> Result<AttachedMedia> {
    if media.is_empty() {
        return Ok(AttachedMedia { comment_id: None, uploaded: 0, linked: Vec::new() });
    }
    let mut files = Vec::new();
    let mut linked = Vec::new();
    for item in media {
        match x.download_dm_media(dm_event_id, &item.url).await {
            Ok(download) => files.push(UploadFile {
                file_name: download.file_name,
                content_type: download.content_type,
                bytes: download.bytes,
            }),
            Err(error) => {
                tracing::warn!(dm = dm_event_id, url = %item.url, %error, "x: DM media not downloadable; linked instead");
                linked.push((item.url.clone(), error.to_string()));
            }
        }
    }
    let mut message = format!("Attachments of X direct message {dm_event_id}");
    for (url, _) in &linked {
        message.push_str(&format!("<br><a href=\"{url}\">{url}</a>"));
    }
    let request = CreateCommentRequest {
        ticket_id: ticket_id.to_owned(),
        message,
        kind: "private".into(),
        from: "client".into(),
    };
    if files.is_empty() {
        // The message text already lists every media URL: a comment of links only would
        // repeat it.
        return Ok(AttachedMedia { comment_id: None, uploaded: 0, linked });
    }
    let created = usedesk.create_comment_with_files(&request, &files).await?;
    Ok(AttachedMedia { comment_id: created.comment_id, uploaded: files.len(), linked })
}

/// The [`MediaAttacher`] of an X → Usedesk inbox: each DM's media downloaded with our
/// account's X credentials and uploaded to its Usedesk ticket ([`attach_dm_media`]).
#[derive(Debug, Clone)]
pub struct XDmMediaToUsedesk {
    x: XClient,
    usedesk: UsedeskClient,
}

impl XDmMediaToUsedesk {
    /// Attach with these clients (the X client in our account's user context).
    pub fn new(x: XClient, usedesk: UsedeskClient) -> Self {
        Self { x, usedesk }
    }
}

#[async_trait::async_trait]
impl MediaAttacher for XDmMediaToUsedesk {
    async fn attach(&self, ticket_id: &str, message: &InboundMessage) -> Result<()> {
        attach_dm_media(&self.x, &self.usedesk, ticket_id, &message.id, &message.media).await.map(|_| ())
    }
}
