//! Lazy pagination as streams.
//!
//! Documented in the [`http`](crate::http) module docs, where every public item of this file
//! is re-exported (its one path).

use std::collections::HashSet;
use std::future::Future;

use futures_util::stream::{self, Stream, TryStreamExt};
use url::Url;

use crate::{Error, Result};

/// Where the next page starts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cursor {
    /// An absolute URL to fetch as is (Aircall `next_page_link`, Zendesk `links.next`).
    Link(Url),
    /// An opaque token to send back (Zendesk `after_cursor`, X `next_token`).
    Token(String),
    /// A numeric offset or page number (Usedesk, Talkdesk).
    Offset(u64),
}

/// One page: its items and the cursor of the next page (`None` on the last page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The page's items, in server order.
    pub items: Vec<T>,
    /// The next page's cursor; `None` ends the stream.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// A page with a next cursor.
    pub fn new(items: Vec<T>, next: Option<Cursor>) -> Self {
        Self { items, next }
    }

    /// The last page.
    pub fn last(items: Vec<T>) -> Self {
        Self { items, next: None }
    }

    /// A page whose next cursor is an opaque token; empty or missing tokens end the stream.
    pub fn with_token(items: Vec<T>, token: Option<String>) -> Self {
        Self { items, next: token.filter(|t| !t.is_empty()).map(Cursor::Token) }
    }

    /// A page whose next cursor is an absolute link (`None`, `null` or empty ends the
    /// stream).
    ///
    /// # Errors
    /// [`Error::Decode`] (json path `next link`) when the link is not an absolute URL.
    pub fn with_link(
        provider: &'static str,
        context: &str,
        items: Vec<T>,
        link: Option<&str>,
    ) -> Result<Self> {
        let next = match link.map(str::trim).filter(|l| !l.is_empty()) {
            None => None,
            Some(link) => Some(Cursor::Link(Url::parse(link).map_err(|e| Error::Decode {
                provider,
                context: context.to_owned(),
                json_path: "next link".into(),
                message: format!("next page link is not an absolute URL: {e}"),
            })?)),
        };
        Ok(Self { items, next })
    }
}

struct State<F> {
    fetch: F,
    next: Option<Option<Cursor>>,
    seen: HashSet<Cursor>,
    pages: u64,
}

/// Stream every page, lazily, until a page has no next cursor. `provider` and `context`
/// (e.g. `GET /v1/users`) name the listing in errors.
///
/// The first fetch error ends the stream with that error; a repeated cursor ends it with
/// [`Error::Decode`] (see the module documentation).
pub fn paginate_pages<T, F, Fut>(
    provider: &'static str,
    context: impl Into<String>,
    fetch: F,
) -> impl Stream<Item = Result<Vec<T>>>
where
    F: FnMut(Option<Cursor>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let context = context.into();
    let state = State { fetch, next: Some(None), seen: HashSet::new(), pages: 0 };
    stream::try_unfold(state, move |mut state| {
        let context = context.clone();
        async move {
            let Some(cursor) = state.next.take() else {
                return Ok(None);
            };
            let page = (state.fetch)(cursor).await?;
            state.pages += 1;
            if let Some(next) = &page.next {
                if !state.seen.insert(next.clone()) {
                    return Err(Error::Decode {
                        provider,
                        context,
                        json_path: "next cursor".into(),
                        message: format!(
                            "page {} repeated a cursor the server had already given; \
                             stopping instead of looping",
                            state.pages
                        ),
                    });
                }
            }
            state.next = page.next.map(Some);
            Ok(Some((page.items, state)))
        }
    })
}

/// Stream every item of every page, lazily. See [`paginate_pages`].
pub fn paginate<T, F, Fut>(
    provider: &'static str,
    context: impl Into<String>,
    fetch: F,
) -> impl Stream<Item = Result<T>>
where
    F: FnMut(Option<Cursor>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    paginate_pages(provider, context, fetch)
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
}

/// Offset pagination (Usedesk, Talkdesk): call `fetch(offset)` starting at `first`,
/// advancing by `step` (1 when the offset is a page number, as on Usedesk `/clients`;
/// `page_size` when it counts rows), until a page holds fewer than `page_size` items
/// (an empty page included).
///
/// A server that ignores the offset and keeps returning full pages is not detected here
/// (offsets never repeat); bound the stream with `take` when that risk matters.
pub fn paginate_offsets<T, F, Fut>(
    provider: &'static str,
    context: impl Into<String>,
    first: u64,
    step: u64,
    page_size: usize,
    mut fetch: F,
) -> impl Stream<Item = Result<T>>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<Vec<T>>>,
{
    paginate(provider, context, move |cursor| {
        let offset = match cursor {
            Some(Cursor::Offset(offset)) => offset,
            _ => first,
        };
        let page = fetch(offset);
        async move {
            let items = page.await?;
            let full = page_size > 0 && items.len() >= page_size;
            let next = if full { offset.checked_add(step.max(1)).map(Cursor::Offset) } else { None };
            Ok(Page { items, next })
        }
    })
}

/// Drain a stream of results into a vector, stopping at the first error.
pub async fn collect_all<T>(stream: impl Stream<Item = Result<T>>) -> Result<Vec<T>> {
    stream.try_collect().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn token_pages_are_flattened_and_fetched_lazily() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let stream = paginate("x", "GET /2/dm_events", move |cursor| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(match cursor {
                    None => Page::with_token(vec![1, 2], Some("t2".into())),
                    Some(Cursor::Token(t)) if t == "t2" => Page::with_token(vec![3], Some(String::new())),
                    other => panic!("unexpected cursor {other:?}"),
                })
            }
        });
        let mut stream = Box::pin(stream);
        assert_eq!(stream.next().await.unwrap().unwrap(), 1);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "second page not fetched before needed");
        let rest: Vec<i32> = collect_all(stream).await.unwrap();
        assert_eq!(rest, vec![2, 3]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn repeated_cursor_is_an_error_not_a_loop() {
        let stream = paginate("zendesk", "GET /api/v2/users", |cursor| async move {
            Ok(match cursor {
                None => Page::new(vec![1], Some(Cursor::Token("a".into()))),
                Some(_) => Page::new(vec![2], Some(Cursor::Token("a".into()))),
            })
        });
        let err = collect_all(stream).await.unwrap_err();
        match err {
            Error::Decode { json_path, message, .. } => {
                assert_eq!(json_path, "next cursor");
                assert!(message.contains("page 2 repeated a cursor"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn offsets_stop_on_short_page() {
        let offsets = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = offsets.clone();
        let stream = paginate_offsets("usedesk", "POST /clients", 0, 1, 2, move |offset| {
            seen.lock().unwrap().push(offset);
            async move {
                Ok(match offset {
                    0 => vec!["a", "b"],
                    1 => vec!["c", "d"],
                    _ => vec!["e"],
                })
            }
        });
        assert_eq!(collect_all(stream).await.unwrap(), vec!["a", "b", "c", "d", "e"]);
        assert_eq!(*offsets.lock().unwrap(), vec![0, 1, 2]);

        let rows = paginate_offsets("talkdesk", "contacts", 0, 2, 2, |offset| async move {
            Ok(if offset < 4 { vec![offset, offset + 1] } else { Vec::new() })
        });
        assert_eq!(collect_all(rows).await.unwrap(), vec![0, 1, 2, 3]);
    }

    #[tokio::test]
    async fn fetch_errors_end_the_stream() {
        let stream = paginate::<u8, _, _>("aircall", "GET /v1/users", |_| async {
            Err(Error::invalid("page", "boom"))
        });
        assert!(collect_all(stream).await.is_err());
    }

    #[test]
    fn links_must_be_absolute() {
        let page = Page::with_link(
            "aircall",
            "GET /v1/users",
            vec![1],
            Some("https://api.aircall.io/v1/users?page=2"),
        );
        assert!(matches!(page.unwrap().next, Some(Cursor::Link(_))));
        assert_eq!(Page::with_link("aircall", "c", vec![1], None).unwrap().next, None);
        let err = Page::<u8>::with_link("aircall", "c", vec![], Some("/v1/users?page=2")).unwrap_err();
        assert!(matches!(err, Error::Decode { .. }));
    }
}
