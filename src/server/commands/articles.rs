//! GROUP, LISTGROUP, NEXT, LAST and ARTICLE/HEAD/BODY/STAT: selecting groups and articles.

use super::{Answer, Context, Cursor, Flow, State, Target};
use crate::protocol::command::{ArticleRange, Retrieve};
use crate::protocol::{Status, article, block};
use crate::store::GroupMeta;

pub(super) fn group(ctx: &Context, state: &mut State, name: &str, out: &mut Vec<u8>) -> Answer {
    let m = ctx.select(state, name)?;
    Status::GroupSelected { count: m.count, low: m.low, high: m.high, name: name.to_string() }.write(out);
    Ok(Flow::Continue)
}

/// Clamps a client range to what the group holds; `None` when nothing can match.
pub(super) fn clamp(range: Option<ArticleRange>, meta: &GroupMeta) -> Option<(u64, u64)> {
    let (low, high) = match range {
        None => (meta.low, meta.high),
        Some(r) => (r.low.max(meta.low), r.high.unwrap_or(meta.high).min(meta.high)),
    };
    (low <= high && meta.count > 0).then_some((low, high))
}

pub(super) fn listgroup(
    ctx: &Context,
    state: &mut State,
    name: Option<&str>,
    range: Option<ArticleRange>,
    out: &mut Vec<u8>,
) -> Answer {
    let meta = match name {
        Some(name) => ctx.select(state, name)?,
        None => ctx.current_group(state)?.1,
    };
    let name = state.group.as_ref().map(|(n, _)| n.clone()).unwrap_or_default();
    Status::GroupListFollows { count: meta.count, low: meta.low, high: meta.high, name }.write(out);
    match clamp(range, &meta) {
        Some((next, end)) => Ok(Flow::More(Cursor::ListGroup { gid: meta.id, next, end })),
        None => {
            block::end(out);
            Ok(Flow::Continue)
        }
    }
}

/// NEXT, or LAST with `backwards`.
pub(super) fn next_last(ctx: &Context, state: &mut State, backwards: bool, out: &mut Vec<u8>) -> Answer {
    let gid = state.group_id()?;
    let current = state.current_article()?;
    let Some(number) = ctx.store.neighbour(gid, current, backwards)? else {
        return Err(if backwards { Status::NoPreviousArticle } else { Status::NoNextArticle }.into());
    };
    let id = ctx.store.overview(gid, number)?.map(|e| String::from_utf8_lossy(e.field(3)).into_owned());
    state.article = Some(number);
    Status::Selected { number, id: id.unwrap_or_default() }.write(out);
    Ok(Flow::Continue)
}

/// ARTICLE, HEAD, BODY and STAT. By number the article becomes the current one; by
/// message-id the state does not change.
pub(super) fn article(
    ctx: &Context,
    state: &mut State,
    part: Retrieve,
    target: Target<'_>,
    out: &mut Vec<u8>,
) -> Answer {
    let found = ctx.resolve(state, target)?;
    if let Target::Number(n) = target {
        state.article = Some(n);
    }
    Status::Article { part, number: found.number, id: found.meta.message_id.clone() }.write(out);
    if part == Retrieve::Stat {
        return Ok(Flow::Continue);
    }
    let groups = match part {
        Retrieve::Article | Retrieve::Head => ctx.group_names(state, &found.meta.memberships)?,
        _ => Vec::new(),
    };
    let text = ctx.store.text(found.meta)?;
    // Raw UTF-8 in display headers of a message declaring another charset: encoded words.
    let display = match part {
        Retrieve::Article | Retrieve::Head => article::display_head(text.head()),
        _ => None,
    };
    let head = display.as_deref().unwrap_or(text.head());
    article::write_article_body(out, part, &ctx.hostname, &groups, head, text.body());
    Ok(Flow::Continue)
}
