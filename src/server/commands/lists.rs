//! LIST and its keywords, XGTITLE, XPATH and NEWGROUPS.

use super::*;

pub(super) fn list(ctx: &Context, state: &State, kind: ListKind, out: &mut Vec<u8>) -> Result<()> {
    let matching = |pattern: Option<&str>| -> Result<Vec<(String, GroupMeta)>> {
        let wildmat = pattern.map_or_else(Wildmat::any, Wildmat::parse);
        Ok(ctx.groups(state)?.into_iter().filter(|(name, _)| wildmat.matches(name)).collect())
    };
    match kind {
        ListKind::Active(pattern) => {
            response::status(out, 215, "List of newsgroups follows");
            for (name, meta) in matching(pattern.as_deref())? {
                // An archive takes no posts: status `n`, as public-inbox sends.
                response::line_fmt(out, format_args!("{name} {} {} n", meta.high, meta.low));
            }
            response::end(out);
        }
        ListKind::ActiveTimes(pattern) => {
            response::status(out, 215, "Group creation times follow");
            for (name, meta) in matching(pattern.as_deref())? {
                let creator = ctx.groups.get(&name).and_then(|g| g.address.as_deref()).unwrap_or("listnews");
                response::line_fmt(out, format_args!("{name} {} {creator}", meta.created));
            }
            response::end(out);
        }
        ListKind::Counts(pattern) => {
            // RFC 6048 §2.2: like ACTIVE, with the count before the status.
            response::status(out, 215, "Groups and counts follow");
            for (name, meta) in matching(pattern.as_deref())? {
                response::line_fmt(out, format_args!("{name} {} {} {} n", meta.high, meta.low, meta.count));
            }
            response::end(out);
        }
        ListKind::Newsgroups(pattern) => {
            response::status(out, 215, "Descriptions follow");
            newsgroups(ctx, state, pattern.as_deref(), out)?;
        }
        ListKind::Motd => match &ctx.motd {
            Some(motd) => {
                response::status(out, 215, "Message of the day follows");
                for line in motd.lines() {
                    response::line(out, line.trim_end_matches('\r').as_bytes());
                }
                response::end(out);
            }
            None => response::status(out, 503, "No message of the day"),
        },
        ListKind::Subscriptions => {
            let groups: Vec<&String> = {
                let mut g: Vec<&String> = ctx
                    .groups
                    .values()
                    .filter(|g| g.subscribe && ctx.can_read(state, &g.name))
                    .map(|g| &g.name)
                    .collect();
                g.sort();
                g
            };
            if groups.is_empty() {
                response::status(out, 503, "No default subscriptions");
            } else {
                response::status(out, 215, "Default subscriptions follow");
                for name in groups {
                    response::line(out, name.as_bytes());
                }
                response::end(out);
            }
        }
        // RFC 6048: a known keyword without data is 503. Mail has no distributions.
        ListKind::DistribPats | ListKind::Distributions => {
            response::status(out, 503, "No distributions on this server")
        }
        ListKind::OverviewFmt => {
            response::status(out, 215, "Order of fields in overview database");
            let metadata: [&str; 2] = if state.sent_capabilities { [":bytes", ":lines"] } else { ["Bytes:", "Lines:"] };
            for field in
                ["Subject:", "From:", "Date:", "Message-ID:", "References:", metadata[0], metadata[1], "Xref:full"]
            {
                response::line(out, field.as_bytes());
            }
            response::end(out);
        }
        ListKind::Headers(_) => {
            response::status(out, 215, "Headers and metadata items supported");
            // `:` means any header (RFC 3977 §8.6); metadata items are listed by name. HDR
            // answers any header by range and by message-id alike, so MSGID and RANGE list
            // the same.
            response::line(out, b":");
            response::line(out, b":bytes");
            response::line(out, b":lines");
            response::end(out);
        }
    }
    Ok(())
}

/// The body of LIST NEWSGROUPS and XGTITLE: `group<TAB>description`, then the terminator.
pub(super) fn newsgroups(ctx: &Context, state: &State, pattern: Option<&str>, out: &mut Vec<u8>) -> Result<()> {
    let wildmat = pattern.map_or_else(Wildmat::any, Wildmat::parse);
    for (name, _) in ctx.groups(state)? {
        if wildmat.matches(&name) {
            let description = ctx.groups.get(&name).map_or("", |g| g.description.as_str());
            let mut line = name.into_bytes();
            line.push(b'\t');
            push_field(&mut line, description.as_bytes());
            response::line(out, &line);
        }
    }
    response::end(out);
    Ok(())
}

/// XPATH (RFC 2980 §2.10): where an article is, as `group/number` pairs.
pub(super) fn xpath(ctx: &Context, state: &State, id: &str, out: &mut Vec<u8>) -> Result<()> {
    let meta = match ctx.store.message_id(id)?.filter(|e| e.aid != 0) {
        Some(e) => ctx.store.article_meta(e.aid)?,
        None => None,
    };
    let Some(meta) = meta.filter(|m| ctx.visible(state, &m.memberships).unwrap_or(false)) else {
        response::status(out, 430, "No article with that message-id");
        return Ok(());
    };
    let mut paths: Vec<String> =
        group_names(ctx, state, &meta.memberships)?.into_iter().map(|(name, num)| format!("{name}/{num}")).collect();
    paths.sort();
    response::status(out, 223, paths.join(" "));
    Ok(())
}

pub(super) fn newgroups(ctx: &Context, state: &State, since: Option<i64>, out: &mut Vec<u8>) -> Result<()> {
    response::status(out, 231, "List of new newsgroups follows");
    if let Some(since) = since {
        for (name, meta) in ctx.groups(state)? {
            if meta.created >= since {
                response::line_fmt(out, format_args!("{name} {} {} n", meta.high, meta.low));
            }
        }
    }
    response::end(out);
    Ok(())
}
