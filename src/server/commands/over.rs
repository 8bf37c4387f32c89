//! OVER/XOVER, the HDR family (HDR, XHDR, XPAT, XROVER), XTHREAD, and the chunked listings
//! they return.

use std::collections::HashMap;
use std::io::Write;

use super::articles::clamp;
use super::{Answer, Context, Cursor, Flow, HdrField, Lookup, State, Target};
use crate::protocol::command::{ArticleRange, RangeSpec};
use crate::protocol::response::HeaderVerb;
use crate::protocol::{Status, Wildmat, article, block};
use crate::store::{ArticleMeta, OverviewEntry, StoreError};

/// Starts the range form of OVER or an HDR-family command: the status line and a cursor over
/// the articles of the current group in `range` (the current article without one). A range
/// that holds nothing gets an empty list from the legacy X-commands, as INN does (Outlook
/// Express relies on it for XOVER); OVER and HDR answer 423 (RFC 3977 §8.3.2, §8.5.2), and
/// 420 when there is no current article.
fn start_listing(
    ctx: &Context,
    state: &State,
    range: Option<ArticleRange>,
    legacy: bool,
    status: Status,
    out: &mut Vec<u8>,
    cursor: impl FnOnce(u32, u64, u64) -> Cursor,
) -> Answer {
    let (gid, next, end) = match range {
        Some(r) => {
            let (gid, meta) = ctx.current_group(state)?;
            // Only ranges that hold at least one article count as non-empty.
            let span =
                clamp(Some(r), &meta).filter(|(low, high)| ctx.store.overview_range(gid, *low, *high).next().is_some());
            match span {
                Some((low, high)) => (gid, low, high),
                None if legacy => {
                    status.write(out);
                    block::end(out);
                    return Ok(Flow::Continue);
                }
                None => return Err(Status::NoArticlesInRange.into()),
            }
        }
        None => {
            let gid = state.group_id()?;
            let num = state.current_article()?;
            (gid, num, num)
        }
    };
    status.write(out);
    Ok(Flow::More(cursor(gid, next, end)))
}

/// The article a message-id names, for the message-id forms of OVER and the HDR family.
fn by_id(ctx: &Context, state: &State, id: &str) -> Result<(u64, ArticleMeta), super::Refusal> {
    match ctx.by_id(state, id)? {
        Lookup::Visible(aid, meta) => Ok((aid, meta)),
        _ => Err(Status::NoArticleWithId.into()),
    }
}

/// The overview entry of an article (through its first group).
fn entry_of(ctx: &Context, meta: &ArticleMeta) -> Result<Option<OverviewEntry>, StoreError> {
    match meta.memberships.first() {
        Some(&(gid, num)) => ctx.store.overview(gid, num),
        None => Ok(None),
    }
}

pub(super) fn over(ctx: &Context, state: &State, spec: Option<RangeSpec>, legacy: bool, out: &mut Vec<u8>) -> Answer {
    let range = match spec {
        Some(RangeSpec::MessageId(id)) => {
            let (_, meta) = by_id(ctx, state, &id)?;
            let entry = entry_of(ctx, &meta)?.ok_or(Status::NoArticleWithId)?;
            let shown = state.group.as_ref().and_then(|(_, g)| meta.number_in(*g)).unwrap_or(0);
            Status::OverviewFollows.write(out);
            article::write_overview_line(out, shown, entry.fields(), &ctx.hostname, &ctx.xref(state, entry.xref()));
            block::end(out);
            return Ok(Flow::Continue);
        }
        Some(RangeSpec::Range(r)) => Some(r),
        None => None,
    };
    start_listing(ctx, state, range, legacy, Status::OverviewFollows, out, |gid, next, end| Cursor::Over {
        gid,
        next,
        end,
    })
}

/// The HDR family: one header of each article; XPAT keeps the values `filter` matches.
pub(super) fn hdr(
    ctx: &Context,
    state: &State,
    name: &str,
    spec: Option<RangeSpec>,
    verb: HeaderVerb,
    filter: Option<Wildmat>,
    out: &mut Vec<u8>,
) -> Answer {
    let field = HdrField::parse(name);
    let range = match spec {
        Some(RangeSpec::MessageId(id)) => {
            let (aid, meta) = by_id(ctx, state, &id)?;
            let mut value = Vec::new();
            match &field {
                HdrField::Overview(_) | HdrField::Xref => {
                    if let Some(entry) = entry_of(ctx, &meta)? {
                        entry_field(ctx, state, &entry, &field, &mut value);
                    }
                }
                _ => field_value(ctx, state, aid, None, &field, &mut value)?,
            }
            Status::HeadersFollow(verb).write(out);
            if filter.as_ref().is_none_or(|w| pattern_matches(w, &value)) {
                // HDR shows 0 for a message-id (RFC 3977 §8.5.2); the X commands the id.
                let mut line = if verb == HeaderVerb::Hdr { b"0".to_vec() } else { id.into_bytes() };
                line.push(b' ');
                line.extend_from_slice(&value);
                block::line(out, &line);
            }
            block::end(out);
            return Ok(Flow::Continue);
        }
        Some(RangeSpec::Range(r)) => Some(r),
        None => None,
    };
    let legacy = verb != HeaderVerb::Hdr;
    start_listing(ctx, state, range, legacy, Status::HeadersFollow(verb), out, |gid, next, end| Cursor::Hdr {
        gid,
        field,
        filter,
        next,
        end,
    })
}

/// XPAT's test: the pattern against the value as stored, or against its decoded text (RFC
/// 2047 encoded words: a search for `*résumé*` finds `=?UTF-8?Q?r=C3=A9sum=C3=A9?=`, as a
/// newsreader's search sends the words the user typed).
fn pattern_matches(pattern: &Wildmat, value: &[u8]) -> bool {
    pattern.matches_bytes(value) || article::decoded(value).is_some_and(|text| pattern.matches(&text))
}

/// One header value of an article as HDR shows it (first occurrence, unfolded). `entry` is
/// its overview entry when the caller has it at hand.
fn field_value(
    ctx: &Context,
    state: &State,
    aid: u64,
    entry: Option<&OverviewEntry>,
    field: &HdrField,
    out: &mut Vec<u8>,
) -> Result<(), StoreError> {
    match field {
        HdrField::Overview(_) | HdrField::Xref => match entry {
            Some(e) => entry_field(ctx, state, e, field, out),
            None => {
                if let Some(meta) = ctx.store.article_meta(aid)?
                    && let Some(e) = entry_of(ctx, &meta)?
                {
                    entry_field(ctx, state, &e, field, out);
                }
            }
        },
        HdrField::Path => article::write_path_value(out, &ctx.hostname),
        HdrField::Newsgroups => {
            if let Some(meta) = ctx.store.article_meta(aid)? {
                let names = ctx.group_names(state, &meta.memberships)?;
                article::write_newsgroups_value(out, names.iter().map(|(name, _)| name.as_str()));
            }
        }
        HdrField::Other(name) => {
            if let Some(text) = ctx.store.article(aid)?
                && let Some(v) = article::header_value(text.head(), name)
            {
                article::push_field(out, article::trim(v));
            }
        }
    }
    Ok(())
}

fn entry_field(ctx: &Context, state: &State, entry: &OverviewEntry, field: &HdrField, out: &mut Vec<u8>) {
    match field {
        HdrField::Overview(i) => out.extend_from_slice(entry.field(*i)),
        HdrField::Xref => article::write_xref_value(out, &ctx.hostname, &ctx.xref(state, entry.xref())),
        _ => {}
    }
}

/// XTHREAD (listnews extension): every article of a thread in thread order, as overview lines
/// with `Xref:`, `Parent:` and `Depth:` fields; unseen parents as placeholder lines.
pub(super) fn xthread(ctx: &Context, state: &State, target: Target<'_>, out: &mut Vec<u8>) -> Answer {
    let id = match target {
        Target::Id(id) => id.to_string(),
        // A number (or none: the current article) names an article of the current group.
        Target::Number(_) | Target::Current => {
            let gid = state.group_id()?;
            let num = match target {
                Target::Number(n) => n,
                _ => state.current_article()?,
            };
            let entry = ctx.store.overview(gid, num)?.ok_or(Status::NoArticleWithNumber)?;
            String::from_utf8_lossy(entry.field(3)).into_owned()
        }
    };
    // Any id the thread graph knows works, a placeholder's too (a reader following a
    // References link to a missing parent); an article in a group this session cannot see
    // does not.
    let thread = match ctx.by_id(state, &id)? {
        Lookup::Hidden => None,
        _ => ctx.store.thread(&id)?,
    };
    let thread = thread.ok_or(Status::NoArticleWithId)?;
    Status::ThreadFollows { id, count: thread.len() }.write(out);
    let current = state.group.as_ref().map(|(_, gid)| *gid);
    for entry in thread {
        let meta = if entry.aid != 0 { ctx.store.article_meta(entry.aid)? } else { None };
        // Articles this session may not see show as placeholders.
        let meta = match meta {
            Some(m) if ctx.visible(state, &m.memberships)? => Some(m),
            _ => None,
        };
        let overview = match &meta {
            Some(m) => entry_of(ctx, m)?,
            None => None,
        };
        let parent = entry.parent.as_deref();
        match (&meta, &overview) {
            (Some(m), Some(e)) => {
                let num = current.and_then(|g| m.number_in(g)).unwrap_or(0);
                let xref = ctx.xref(state, e.xref());
                article::write_thread_line(out, num, e.fields(), &ctx.hostname, &xref, parent, entry.depth);
            }
            // A placeholder: referenced by the thread, never seen here.
            _ => article::write_thread_placeholder(out, &entry.message_id, parent, entry.depth),
        }
    }
    block::end(out);
    Ok(Flow::Continue)
}

/// Continues a chunked listing, adding about `limit` bytes to `out` at most (one line more);
/// returns the cursor for the next chunk, or `None` once the terminating `.` line has been
/// written.
pub fn resume(
    ctx: &Context,
    state: &State,
    cursor: Cursor,
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<Option<Cursor>, StoreError> {
    match cursor {
        Cursor::Over { gid, next, end } => {
            for item in ctx.store.overview_range(gid, next, end) {
                let (num, entry) = item?;
                article::write_overview_line(out, num, entry.fields(), &ctx.hostname, &ctx.xref(state, entry.xref()));
                if out.len() >= limit && num < end {
                    return Ok(Some(Cursor::Over { gid, next: num + 1, end }));
                }
            }
        }
        Cursor::Hdr { gid, field, filter, next, end } => {
            let mut value = Vec::new();
            for item in ctx.store.overview_range(gid, next, end) {
                let (num, entry) = item?;
                value.clear();
                field_value(ctx, state, entry.article_id(), Some(&entry), &field, &mut value)?;
                if filter.as_ref().is_none_or(|w| pattern_matches(w, &value)) {
                    let _ = write!(out, "{num} ");
                    out.extend_from_slice(&value);
                    out.extend_from_slice(b"\r\n");
                }
                if out.len() >= limit && num < end {
                    return Ok(Some(Cursor::Hdr { gid, field, filter, next: num + 1, end }));
                }
            }
        }
        Cursor::ListGroup { gid, next, end } => {
            for item in ctx.store.overview_range(gid, next, end) {
                let (num, _) = item?;
                let _ = write!(out, "{num}\r\n");
                if out.len() >= limit && num < end {
                    return Ok(Some(Cursor::ListGroup { gid, next: num + 1, end }));
                }
            }
        }
        Cursor::NewNews { wildmat, since, from_aid } => {
            let mut names: HashMap<u32, Option<String>> = HashMap::new();
            for item in ctx.store.arrivals_since(since, from_aid) {
                let (time, aid) = item?;
                let Some(article) = ctx.store.article_meta(aid)? else { continue };
                let mut wanted = false;
                for (gid, _) in &article.memberships {
                    let name = match names.get(gid) {
                        Some(n) => n.clone(),
                        None => {
                            let n = ctx.group_name(*gid)?.filter(|n| ctx.can_read(state, n));
                            names.insert(*gid, n.clone());
                            n
                        }
                    };
                    wanted |= name.is_some_and(|n| wildmat.matches(&n));
                }
                if wanted {
                    block::line(out, article.message_id.as_bytes());
                }
                if out.len() >= limit {
                    return Ok(Some(Cursor::NewNews { wildmat, since: time, from_aid: aid + 1 }));
                }
            }
        }
    }
    block::end(out);
    Ok(None)
}
