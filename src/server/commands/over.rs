//! OVER/XOVER, the HDR family (HDR, XHDR, XPAT, XROVER), XTHREAD, and the chunked
//! listings they return.

use std::io::Write;

use super::*;

/// An inclusive range of article numbers that holds at least one article.
pub(super) type Span = (u64, u64);

/// Resolves the range of OVER/HDR: a range in the current group, or the current article.
/// Writes the error response and returns `None` when there is nothing to answer.
pub(super) fn resolve_range(
    ctx: &Context,
    state: &State,
    range: Option<ArticleRange>,
    out: &mut Vec<u8>,
) -> Result<Option<(u32, Option<Span>)>> {
    let Some((name, gid)) = state.group.clone() else {
        response::status(out, 412, "No newsgroup selected");
        return Ok(None);
    };
    match range {
        Some(r) => {
            let Some(meta) = ctx.group(state, &name)? else {
                response::status(out, 412, "No newsgroup selected");
                return Ok(None);
            };
            // Only ranges that hold at least one article count as non-empty.
            let clamped =
                clamp(Some(r), &meta).filter(|(low, high)| ctx.store.overview_range(gid, *low, *high).next().is_some());
            Ok(Some((gid, clamped)))
        }
        None => match state.article {
            Some(num) => Ok(Some((gid, Some((num, num))))),
            None => {
                response::status(out, 420, "Current article number is invalid");
                Ok(None)
            }
        },
    }
}

/// The answer when a listing finds nothing. The legacy X-commands send an empty list, as
/// INN does (Outlook Express relies on it for XOVER); OVER and HDR send 420 when there is no
/// current article and 423 for an empty range (RFC 3977 §8.3.2, §8.5.2).
fn nothing_in_range(out: &mut Vec<u8>, legacy: bool, code: u16, text: &str, no_range: bool) -> Flow {
    if legacy {
        response::status(out, code, text);
        response::end(out);
    } else if no_range {
        response::status(out, 420, "Current article number is invalid");
    } else {
        response::status(out, 423, "No articles in that range");
    }
    Flow::Continue
}

/// Starts the range form of OVER or an HDR-family command: the status line and a cursor
/// over the articles, or the answer for an empty range (see [`nothing_in_range`]).
#[allow(clippy::too_many_arguments)] // the command's shape: range, legacy, code and text
fn start_listing(
    ctx: &Context,
    state: &State,
    range: Option<ArticleRange>,
    legacy: bool,
    code: u16,
    text: &str,
    out: &mut Vec<u8>,
    cursor: impl FnOnce(u32, u64, u64) -> Cursor,
) -> Result<Flow> {
    let Some((gid, span)) = resolve_range(ctx, state, range, out)? else { return Ok(Flow::Continue) };
    match span {
        Some((next, end)) => {
            response::status(out, code, text);
            Ok(Flow::More(cursor(gid, next, end)))
        }
        None => Ok(nothing_in_range(out, legacy, code, text, range.is_none())),
    }
}

pub(super) fn over(
    ctx: &Context,
    state: &mut State,
    spec: Option<RangeSpec>,
    legacy: bool,
    out: &mut Vec<u8>,
) -> Result<Flow> {
    let range = match spec {
        Some(RangeSpec::MessageId(id)) => {
            let Some(entry) = ctx.store.message_id(&id)?.filter(|e| e.aid != 0) else {
                response::status(out, 430, "No article with that message-id");
                return Ok(Flow::Continue);
            };
            let Some(article) =
                ctx.store.article_meta(entry.aid)?.filter(|a| ctx.visible(state, &a.memberships).unwrap_or(false))
            else {
                response::status(out, 430, "No article with that message-id");
                return Ok(Flow::Continue);
            };
            let Some(&(gid, num)) = article.memberships.first() else {
                response::status(out, 430, "No article with that message-id");
                return Ok(Flow::Continue);
            };
            let Some(e) = ctx.store.overview(gid, num)? else {
                response::status(out, 430, "No article with that message-id");
                return Ok(Flow::Continue);
            };
            let shown = state.group.as_ref().and_then(|(_, g)| article.number_in(*g)).unwrap_or(0);
            response::status(out, 224, "Overview information follows");
            overview::write_line(out, shown, e.fields(), &ctx.hostname, &ctx.xref(state, e.xref()));
            response::end(out);
            return Ok(Flow::Continue);
        }
        Some(RangeSpec::Range(r)) => Some(r),
        None => None,
    };
    let (code, text) = (224, "Overview information follows");
    start_listing(ctx, state, range, legacy, code, text, out, |gid, next, end| Cursor::Over { gid, next, end })
}

/// The HDR family: one header of each article.
#[derive(Clone)]
pub enum HdrKind {
    /// HDR (RFC 3977 §8.5): 225; `0 value` for a message-id.
    Hdr,
    /// XHDR (RFC 2980 §2.6): 221; `<id> value` for a message-id.
    Xhdr,
    /// XPAT (RFC 2980 §2.9): XHDR limited to values matching the pattern.
    Xpat(Wildmat),
    /// XROVER (RFC 2980 §2.11): References, answered 224.
    Xrover,
}

impl HdrKind {
    fn code(&self) -> u16 {
        match self {
            HdrKind::Hdr => 225,
            HdrKind::Xhdr | HdrKind::Xpat(_) => 221,
            HdrKind::Xrover => 224,
        }
    }
    fn filter(&self) -> Option<Wildmat> {
        match self {
            HdrKind::Xpat(w) => Some(w.clone()),
            _ => None,
        }
    }
}

pub(super) fn hdr(
    ctx: &Context,
    state: &mut State,
    name: &str,
    spec: Option<RangeSpec>,
    kind: HdrKind,
    out: &mut Vec<u8>,
) -> Result<Flow> {
    let field = HdrField::parse(name);
    let code = kind.code();
    let range = match spec {
        Some(RangeSpec::MessageId(id)) => {
            let visible = match ctx.store.message_id(&id)?.filter(|e| e.aid != 0) {
                Some(e) => ctx
                    .store
                    .article_meta(e.aid)?
                    .filter(|m| ctx.visible(state, &m.memberships).unwrap_or(false))
                    .map(|_| e),
                None => None,
            };
            let Some(entry) = visible else {
                response::status(out, 430, "No article with that message-id");
                return Ok(Flow::Continue);
            };
            response::status(out, code, "Headers follow");
            let mut value = Vec::new();
            field_value(ctx, state, entry.aid, None, &field, &mut value)?;
            if kind.filter().is_none_or(|w| w.matches_bytes(&value)) {
                // HDR shows 0 for a message-id (RFC 3977 §8.5.2); the X commands the id.
                let mut line = if matches!(kind, HdrKind::Hdr) { b"0".to_vec() } else { id.into_bytes() };
                line.push(b' ');
                line.extend_from_slice(&value);
                response::line(out, &line);
            }
            response::end(out);
            return Ok(Flow::Continue);
        }
        Some(RangeSpec::Range(r)) => Some(r),
        None => None,
    };
    let legacy = !matches!(kind, HdrKind::Hdr);
    start_listing(ctx, state, range, legacy, code, "Headers follow", out, |gid, next, end| Cursor::Hdr {
        gid,
        field,
        filter: kind.filter(),
        next,
        end,
    })
}

/// One header value of an article as HDR shows it (first occurrence, unfolded). `entry` is
/// its overview entry when the caller has it at hand.
pub(super) fn field_value(
    ctx: &Context,
    state: &State,
    aid: u64,
    entry: Option<&OverviewEntry>,
    field: &HdrField,
    out: &mut Vec<u8>,
) -> Result<()> {
    match field {
        HdrField::Overview(_) | HdrField::Xref => match entry {
            Some(e) => entry_field(ctx, state, e, field, out),
            None => {
                if let Some(meta) = ctx.store.article_meta(aid)?
                    && let Some(&(gid, num)) = meta.memberships.first()
                    && let Some(e) = ctx.store.overview(gid, num)?
                {
                    entry_field(ctx, state, &e, field, out);
                }
            }
        },
        HdrField::Path => {
            let _ = write!(out, "{}!not-for-mail", ctx.hostname);
        }
        HdrField::Newsgroups => {
            if let Some(meta) = ctx.store.article_meta(aid)? {
                for (i, (name, _)) in group_names(ctx, state, &meta.memberships)?.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(name.as_bytes());
                }
            }
        }
        HdrField::Other(name) => {
            if let Some(article) = ctx.store.article(aid)?
                && let Some(v) = header_value(article.head(), name)
            {
                push_field(out, overview::trim(v));
            }
        }
    }
    Ok(())
}

pub(super) fn entry_field(ctx: &Context, state: &State, entry: &OverviewEntry, field: &HdrField, out: &mut Vec<u8>) {
    match field {
        HdrField::Overview(i) => out.extend_from_slice(entry.field(*i)),
        HdrField::Xref => {
            out.extend_from_slice(ctx.hostname.as_bytes());
            out.push(b' ');
            out.extend_from_slice(&ctx.xref(state, entry.xref()));
        }
        _ => {}
    }
}

/// The raw (folded) value of the first `name:` header in a stored head.
pub(super) fn header_value<'a>(head: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut lines = head.split_inclusive(|&b| b == b'\n').peekable();
    let mut start = 0;
    while let Some(line) = lines.next() {
        let here = start;
        start += line.len();
        let body = line.strip_prefix(b".").filter(|_| line.starts_with(b"..")).unwrap_or(line);
        if body.len() > name.len()
            && body[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            && body[name.len()] == b':'
        {
            let value_start = here + (line.len() - body.len()) + name.len() + 1;
            let mut end = start;
            while let Some(next) = lines.peek() {
                if matches!(next.first(), Some(b' ' | b'\t')) {
                    end += next.len();
                    lines.next();
                } else {
                    break;
                }
            }
            return Some(&head[value_start..end]);
        }
    }
    None
}

/// XTHREAD (listnews extension): every article of a thread in thread order, as overview
/// lines with `Xref:`, `Parent:` and `Depth:` fields; unseen parents as placeholder lines.
pub(super) fn xthread(ctx: &Context, state: &mut State, spec: Option<ArticleRef>, out: &mut Vec<u8>) -> Result<()> {
    let id = match spec {
        Some(ArticleRef::MessageId(id)) => id,
        spec => {
            // A number (or none: the current article) names an article of the current group.
            let Some((_, gid)) = state.group.clone() else {
                response::status(out, 412, "No newsgroup selected");
                return Ok(());
            };
            let num = match spec {
                Some(ArticleRef::Number(n)) => n,
                _ => match state.article {
                    Some(n) => n,
                    None => {
                        response::status(out, 420, "Current article number is invalid");
                        return Ok(());
                    }
                },
            };
            match ctx.store.overview(gid, num)? {
                Some(e) => String::from_utf8_lossy(e.field(3)).into_owned(),
                None => {
                    response::status(out, 423, "No article with that number");
                    return Ok(());
                }
            }
        }
    };
    // Any id the thread graph knows works, a placeholder's too (a reader following a
    // References link to a missing parent); an article in a group this session cannot see
    // does not.
    let hidden = match ctx.store.message_id(&id)?.filter(|e| e.aid != 0) {
        Some(e) => !ctx.store.article_meta(e.aid)?.is_some_and(|m| ctx.visible(state, &m.memberships).unwrap_or(false)),
        None => false,
    };
    let thread = if hidden { None } else { ctx.store.thread(&id)? };
    let Some(thread) = thread else {
        response::status(out, 430, "No article with that message-id");
        return Ok(());
    };
    response::status(out, 224, format_args!("Thread of {id} follows ({} messages)", thread.len()));
    let current = state.group.as_ref().map(|(_, gid)| *gid);
    for entry in thread {
        let meta = if entry.aid != 0 { ctx.store.article_meta(entry.aid)? } else { None };
        // Articles this session may not see show as placeholders.
        let meta = meta.filter(|m| ctx.visible(state, &m.memberships).unwrap_or(false));
        let overview = match &meta {
            Some(m) => match m.memberships.first() {
                Some(&(gid, num)) => ctx.store.overview(gid, num)?,
                None => None,
            },
            None => None,
        };
        match (&meta, &overview) {
            (Some(m), Some(e)) => {
                let num = current.and_then(|g| m.number_in(g)).unwrap_or(0);
                let _ = write!(out, "{num}\t");
                out.extend_from_slice(e.fields());
                let _ = write!(out, "\tXref: {} ", ctx.hostname);
                out.extend_from_slice(&ctx.xref(state, e.xref()));
            }
            // A placeholder: referenced by the thread, never seen here.
            _ => {
                let _ = write!(out, "0\t\t\t\t{}\t\t0\t0\tXref:", entry.message_id);
            }
        }
        let _ = write!(out, "\tParent: {}\tDepth: {}\r\n", entry.parent.as_deref().unwrap_or(""), entry.depth);
    }
    response::end(out);
    Ok(())
}

/// Continues a chunked listing; returns the cursor for the next chunk, or `None` once the
/// terminating `.` line has been written.
pub fn resume(
    ctx: &Context,
    state: &State,
    cursor: Cursor,
    out: &mut Vec<u8>,
) -> std::result::Result<Option<Cursor>, StoreError> {
    match cursor {
        Cursor::Over { gid, next, end } => {
            for item in ctx.store.overview_range(gid, next, end) {
                let (num, entry) = item?;
                overview::write_line(out, num, entry.fields(), &ctx.hostname, &ctx.xref(state, entry.xref()));
                if out.len() >= CHUNK && num < end {
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
                if filter.as_ref().is_none_or(|w| w.matches_bytes(&value)) {
                    let _ = write!(out, "{num} ");
                    out.extend_from_slice(&value);
                    out.extend_from_slice(b"\r\n");
                }
                if out.len() >= CHUNK && num < end {
                    return Ok(Some(Cursor::Hdr { gid, field, filter, next: num + 1, end }));
                }
            }
        }
        Cursor::ListGroup { gid, next, end } => {
            for item in ctx.store.overview_range(gid, next, end) {
                let (num, _) = item?;
                let _ = write!(out, "{num}\r\n");
                if out.len() >= CHUNK && num < end {
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
                    response::line(out, article.message_id.as_bytes());
                }
                if out.len() >= CHUNK {
                    return Ok(Some(Cursor::NewNews { wildmat, since: time, from_aid: aid + 1 }));
                }
            }
        }
    }
    response::end(out);
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_found_folded_and_case_insensitively() {
        let head = b"Subject: a\r\n b\r\nX-Thing: one\r\nx-thing: two\r\nTo: z\r\n";
        assert_eq!(header_value(head, "subject"), Some(&b" a\r\n b\r\n"[..]));
        assert_eq!(header_value(head, "X-THING"), Some(&b" one\r\n"[..]));
        assert_eq!(header_value(head, "Cc"), None);
        assert_eq!(header_value(head, "X-Thin"), None);
    }
}
