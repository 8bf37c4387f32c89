//! LIST and its keywords, XGTITLE, XPATH, NEWGROUPS and NEWNEWS.

use super::{Answer, Context, Cursor, Flow, Lookup, State};
use crate::protocol::command::ClientDate;
use crate::protocol::response::Listing;
use crate::protocol::{Status, Wildmat, article, block};
use crate::store::{GroupMeta, StoreError};

/// The groups this session may read whose names match `pattern` (all without one).
fn matching(ctx: &Context, state: &State, pattern: Option<&str>) -> Result<Vec<(String, GroupMeta)>, StoreError> {
    let wildmat = pattern.map_or_else(Wildmat::any, Wildmat::parse);
    Ok(ctx.groups(state)?.into_iter().filter(|(name, _)| wildmat.matches(name)).collect())
}

/// A LIST answer of one line per group this session may read whose name matches `pattern`.
fn per_group(
    ctx: &Context,
    state: &State,
    pattern: Option<&str>,
    listing: Listing,
    out: &mut Vec<u8>,
    line: impl Fn(&str, &GroupMeta) -> String,
) -> Answer {
    let groups = matching(ctx, state, pattern)?;
    Status::ListFollows(listing).write(out);
    for (name, meta) in groups {
        block::line(out, line(&name, &meta).as_bytes());
    }
    block::end(out);
    Ok(Flow::Continue)
}

/// A group's status flag for this session: `y` where it may post to it (relayed to the list),
/// `n` otherwise (as public-inbox sends for every group).
fn flag(ctx: &Context, state: &State, name: &str) -> char {
    if ctx.postable(state, name) { 'y' } else { 'n' }
}

/// LIST ACTIVE: `group high low status`.
pub(super) fn active(ctx: &Context, state: &State, pattern: Option<&str>, out: &mut Vec<u8>) -> Answer {
    per_group(ctx, state, pattern, Listing::Active, out, |name, meta| {
        format!("{name} {} {} {}", meta.high, meta.low, flag(ctx, state, name))
    })
}

/// LIST ACTIVE.TIMES: `group created creator`.
pub(super) fn active_times(ctx: &Context, state: &State, pattern: Option<&str>, out: &mut Vec<u8>) -> Answer {
    per_group(ctx, state, pattern, Listing::ActiveTimes, out, |name, meta| {
        let creator = ctx.groups.get(name).and_then(|g| g.address.as_deref()).unwrap_or("listnews");
        format!("{name} {} {creator}", meta.created)
    })
}

/// LIST COUNTS (RFC 6048 §2.2): like ACTIVE, with the count before the status.
pub(super) fn counts(ctx: &Context, state: &State, pattern: Option<&str>, out: &mut Vec<u8>) -> Answer {
    per_group(ctx, state, pattern, Listing::Counts, out, |name, meta| {
        format!("{name} {} {} {} {}", meta.high, meta.low, meta.count, flag(ctx, state, name))
    })
}

/// LIST NEWSGROUPS.
pub(super) fn newsgroups(ctx: &Context, state: &State, pattern: Option<&str>, out: &mut Vec<u8>) -> Answer {
    let groups = matching(ctx, state, pattern)?;
    Status::ListFollows(Listing::Newsgroups).write(out);
    descriptions(ctx, &groups, out);
    Ok(Flow::Continue)
}

/// XGTITLE (RFC 2980 §2.4): LIST NEWSGROUPS under another code; without an argument, the
/// current group.
pub(super) fn xgtitle(ctx: &Context, state: &State, pattern: Option<String>, out: &mut Vec<u8>) -> Answer {
    let pattern = match pattern {
        Some(p) => p,
        None => state.group.as_ref().map(|(name, _)| name.clone()).ok_or(Status::NoGroupSelected)?,
    };
    let groups = matching(ctx, state, Some(&pattern))?;
    Status::DescriptionsFollow.write(out);
    descriptions(ctx, &groups, out);
    Ok(Flow::Continue)
}

/// `group<TAB>description` lines, then the terminator.
fn descriptions(ctx: &Context, groups: &[(String, GroupMeta)], out: &mut Vec<u8>) {
    for (name, _) in groups {
        let description = ctx.groups.get(name).map_or("", |g| g.description.as_str());
        let mut line = name.clone().into_bytes();
        line.push(b'\t');
        article::push_field(&mut line, description.as_bytes());
        block::line(out, &line);
    }
    block::end(out);
}

/// LIST MOTD (RFC 6048 §2.5).
pub(super) fn motd(ctx: &Context, out: &mut Vec<u8>) -> Answer {
    let motd = ctx.motd.as_ref().ok_or(Status::NoMotd)?;
    Status::ListFollows(Listing::Motd).write(out);
    for line in motd.lines() {
        block::line(out, line.trim_end_matches('\r').as_bytes());
    }
    block::end(out);
    Ok(Flow::Continue)
}

/// LIST SUBSCRIPTIONS (RFC 6048 §2.6).
pub(super) fn subscriptions(ctx: &Context, state: &State, out: &mut Vec<u8>) -> Answer {
    let mut groups: Vec<&String> =
        ctx.groups.values().filter(|g| g.subscribe && ctx.can_read(state, &g.name)).map(|g| &g.name).collect();
    groups.sort();
    if groups.is_empty() {
        return Err(Status::NoSubscriptions.into());
    }
    Status::ListFollows(Listing::Subscriptions).write(out);
    for name in groups {
        block::line(out, name.as_bytes());
    }
    block::end(out);
    Ok(Flow::Continue)
}

/// LIST DISTRIB.PATS and DISTRIBUTIONS: a known keyword without data is 503 (RFC 6048). Mail
/// has no distributions.
pub(super) fn distributions() -> Answer {
    Err(Status::NoDistributions.into())
}

/// LIST OVERVIEW.FMT; the metadata items in the old form until the client sent CAPABILITIES
/// (slrn 1.0 turns XOVER off on `:bytes`; INN does the same).
pub(super) fn overview_fmt(state: &State, out: &mut Vec<u8>) -> Answer {
    Status::ListFollows(Listing::OverviewFmt).write(out);
    let metadata: [&str; 2] = if state.sent_capabilities { [":bytes", ":lines"] } else { ["Bytes:", "Lines:"] };
    for field in ["Subject:", "From:", "Date:", "Message-ID:", "References:", metadata[0], metadata[1], "Xref:full"] {
        block::line(out, field.as_bytes());
    }
    block::end(out);
    Ok(Flow::Continue)
}

/// LIST HEADERS: `:` means any header (RFC 3977 §8.6); metadata items are listed by name. HDR
/// answers any header by range and by message-id alike, so MSGID and RANGE list the same.
pub(super) fn headers(out: &mut Vec<u8>) -> Answer {
    Status::ListFollows(Listing::Headers).write(out);
    for item in [":", ":bytes", ":lines"] {
        block::line(out, item.as_bytes());
    }
    block::end(out);
    Ok(Flow::Continue)
}

/// XPATH (RFC 2980 §2.10): where an article is, as `group/number` pairs.
pub(super) fn xpath(ctx: &Context, state: &State, id: &str, out: &mut Vec<u8>) -> Answer {
    let Lookup::Visible(_, meta) = ctx.by_id(state, id)? else {
        return Err(Status::NoArticleWithId.into());
    };
    let mut paths: Vec<String> =
        ctx.group_names(state, &meta.memberships)?.into_iter().map(|(name, num)| format!("{name}/{num}")).collect();
    paths.sort();
    Status::Paths(paths.join(" ")).write(out);
    Ok(Flow::Continue)
}

pub(super) fn newgroups(ctx: &Context, state: &State, date: ClientDate, out: &mut Vec<u8>) -> Answer {
    let since = date.timestamp(crate::clock::current_year());
    let groups = if since.is_some() { ctx.groups(state)? } else { Vec::new() };
    Status::NewGroupsFollow.write(out);
    for (name, meta) in groups {
        if since.is_some_and(|since| meta.created >= since) {
            block::line_fmt(out, format_args!("{name} {} {} n", meta.high, meta.low));
        }
    }
    block::end(out);
    Ok(Flow::Continue)
}

/// NEWNEWS: the ids, in arrival order, sent in chunks ([`super::resume`]).
pub(super) fn newnews(wildmat: &str, date: ClientDate, out: &mut Vec<u8>) -> Answer {
    let since = date.timestamp(crate::clock::current_year()).unwrap_or(0);
    Status::NewArticlesFollow.write(out);
    Ok(Flow::More(Cursor::NewNews { wildmat: Wildmat::parse(wildmat), since, from_aid: 0 }))
}
