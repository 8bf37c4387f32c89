//! GROUP, LISTGROUP, NEXT, LAST and ARTICLE/HEAD/BODY/STAT: selecting groups and articles.

use std::io::Write;

use super::*;

/// Makes `name` the current group; writes the error response when it cannot be.
pub(super) fn select_group(
    ctx: &Context,
    state: &mut State,
    name: &str,
    out: &mut Vec<u8>,
) -> Result<Option<GroupMeta>> {
    match ctx.access(state, name)? {
        Access::Open(meta) => {
            state.group = Some((name.to_string(), meta.id));
            state.article = (meta.count > 0).then_some(meta.low);
            Ok(Some(meta))
        }
        Access::AuthRequired => {
            response::status(out, 480, "Authentication required");
            Ok(None)
        }
        Access::NoSuch => {
            response::status(out, 411, format_args!("No such newsgroup: {name}"));
            Ok(None)
        }
    }
}

pub(super) fn group(ctx: &Context, state: &mut State, name: &str, out: &mut Vec<u8>) -> Result<()> {
    if let Some(m) = select_group(ctx, state, name, out)? {
        response::status(out, 211, format_args!("{} {} {} {}", m.count, m.low, m.high, name));
    }
    Ok(())
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
) -> Result<Flow> {
    let meta = match name {
        Some(name) => match select_group(ctx, state, name, out)? {
            Some(m) => m,
            None => return Ok(Flow::Continue),
        },
        None => match &state.group {
            Some((name, _)) => match ctx.group(state, name)? {
                Some(m) => m,
                None => {
                    response::status(out, 412, "No newsgroup selected");
                    return Ok(Flow::Continue);
                }
            },
            None => {
                response::status(out, 412, "No newsgroup selected");
                return Ok(Flow::Continue);
            }
        },
    };
    let group_name = state.group.as_ref().map(|(n, _)| n.clone()).unwrap_or_default();
    response::status(out, 211, format_args!("{} {} {} {} list follows", meta.count, meta.low, meta.high, group_name));
    match clamp(range, &meta) {
        Some((next, end)) => Ok(Flow::More(Cursor::ListGroup { gid: meta.id, next, end })),
        None => {
            response::end(out);
            Ok(Flow::Continue)
        }
    }
}

pub(super) fn next_last(ctx: &Context, state: &mut State, backwards: bool, out: &mut Vec<u8>) -> Result<()> {
    let Some((_, gid)) = state.group.clone() else {
        response::status(out, 412, "No newsgroup selected");
        return Ok(());
    };
    let Some(current) = state.article else {
        response::status(out, 420, "Current article number is invalid");
        return Ok(());
    };
    let Some(num) = ctx.store.neighbour(gid, current, backwards)? else {
        if backwards {
            response::status(out, 422, "No previous article in this group");
        } else {
            response::status(out, 421, "No next article in this group");
        }
        return Ok(());
    };
    let id =
        ctx.store.overview(gid, num)?.map(|e| String::from_utf8_lossy(e.field(3)).into_owned()).unwrap_or_default();
    state.article = Some(num);
    response::status(out, 223, format_args!("{num} {id} retrieved"));
    Ok(())
}

/// Resolves an ARTICLE/HEAD/BODY/STAT argument to (number to report, article), writing the
/// error response itself when there is none.
pub(super) fn find_article(
    ctx: &Context,
    state: &mut State,
    spec: Option<ArticleRef>,
    out: &mut Vec<u8>,
) -> Result<Option<(u64, Article)>> {
    match spec {
        Some(ArticleRef::MessageId(id)) => match ctx.store.article_by_message_id(&id)? {
            // By message-id the state does not change; the number is reported if the
            // article is in the current group, else 0 (RFC 3977 §6.2.1.2).
            Some(a) if ctx.visible(state, &a.memberships)? => {
                let num = state.group.as_ref().and_then(|(_, gid)| a.number_in(*gid)).unwrap_or(0);
                Ok(Some((num, a)))
            }
            _ => {
                response::status(out, 430, "No article with that message-id");
                Ok(None)
            }
        },
        Some(ArticleRef::Number(num)) => {
            let Some((_, gid)) = state.group.clone() else {
                response::status(out, 412, "No newsgroup selected");
                return Ok(None);
            };
            match ctx.store.overview(gid, num)? {
                Some(entry) => match ctx.store.article(entry.article_id())? {
                    Some(a) => {
                        state.article = Some(num);
                        Ok(Some((num, a)))
                    }
                    None => {
                        response::status(out, 423, "No article with that number");
                        Ok(None)
                    }
                },
                None => {
                    response::status(out, 423, "No article with that number");
                    Ok(None)
                }
            }
        }
        None => {
            let Some((_, gid)) = state.group.clone() else {
                response::status(out, 412, "No newsgroup selected");
                return Ok(None);
            };
            let Some(num) = state.article else {
                response::status(out, 420, "Current article number is invalid");
                return Ok(None);
            };
            match ctx.store.overview(gid, num)?.map(|e| e.article_id()) {
                Some(aid) => Ok(ctx.store.article(aid)?.map(|a| (num, a))),
                None => {
                    response::status(out, 420, "Current article number is invalid");
                    Ok(None)
                }
            }
        }
    }
}

/// Names and numbers of the groups in `memberships` (those still configured).
pub(super) fn group_names(ctx: &Context, state: &State, memberships: &[(u32, u64)]) -> Result<Vec<(String, u64)>> {
    let mut names = Vec::with_capacity(memberships.len());
    for (gid, num) in memberships {
        if let Some(name) = ctx.group_name(*gid)?.filter(|n| ctx.can_read(state, n)) {
            names.push((name, *num));
        }
    }
    Ok(names)
}

/// The headers a news server adds on output: Path, Newsgroups and Xref (RFC 5536 §3.1.4-5,
/// §3.2.14), from the article's memberships.
pub(super) fn served_headers(
    ctx: &Context,
    state: &State,
    memberships: &[(u32, u64)],
    out: &mut Vec<u8>,
) -> Result<()> {
    let names = group_names(ctx, state, memberships)?;
    let _ = write!(out, "Path: {}!not-for-mail\r\nNewsgroups: ", ctx.hostname);
    for (i, (name, _)) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(name.as_bytes());
    }
    let _ = write!(out, "\r\nXref: {}", ctx.hostname);
    for (name, num) in &names {
        let _ = write!(out, " {name}:{num}");
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

pub(super) fn article(
    ctx: &Context,
    state: &mut State,
    kind: Retrieve,
    spec: Option<ArticleRef>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let Some((num, article)) = find_article(ctx, state, spec, out)? else { return Ok(()) };
    let what = match kind {
        Retrieve::Article => "article",
        Retrieve::Head => "head",
        Retrieve::Body => "body",
        Retrieve::Stat => "status",
    };
    response::status(out, kind.code(), format_args!("{num} {} {what}", article.message_id()));
    if kind == Retrieve::Stat {
        return Ok(());
    }
    out.reserve(article.wire().len() + 200);
    if matches!(kind, Retrieve::Article | Retrieve::Head) {
        served_headers(ctx, state, &article.memberships, out)?;
        out.extend_from_slice(article.head());
    }
    if kind == Retrieve::Article {
        out.extend_from_slice(b"\r\n");
    }
    if matches!(kind, Retrieve::Article | Retrieve::Body) {
        out.extend_from_slice(article.body());
    }
    response::end(out);
    Ok(())
}
