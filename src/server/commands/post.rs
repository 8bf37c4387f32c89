//! POST (RFC 3977 §6.3.1): who may post, and an article's checks against this server's groups
//! and users. The session reads the article and relays it ([`crate::post::relay`]).

use super::{Answer, Context, Flow, State};
use crate::config::PostPolicy;
use crate::post::{Article, Outgoing};
use crate::protocol::Status;

/// POST: where posting is off, `440` naming the current group's list address (mail it
/// there); before AUTHINFO where only users may post, `480`; otherwise the session goes on
/// to read the article.
pub(super) fn post(ctx: &Context, state: &State) -> Answer {
    if ctx.post_policy == PostPolicy::Off {
        let list = state.group.as_ref().and_then(|(name, _)| {
            ctx.groups.get(name).and_then(|g| g.address.clone()).map(|address| (address, name.clone()))
        });
        return Err(Status::PostingNotPermitted { list }.into());
    }
    ctx.may_post(state)?;
    Ok(Flow::ReadArticle)
}

/// Checks an article this session sent against the groups and the user, and makes it a post
/// for the relay: its Newsgroups must name groups this session can read that take posts (and
/// have a list address); under `post_policy = "users"` its From must be one of the user's
/// addresses; a Message-ID already in the archive is refused. Answers `441` with the reason.
pub fn prepare(ctx: &Context, state: &State, text: &[u8]) -> Result<Outgoing, Status> {
    let failed = |why: String| Status::PostFailed(why);
    let article = Article::parse(text).map_err(|e| failed(e.0))?;
    let poster = article.from().map_err(|e| failed(e.0))?;
    if ctx.post_policy == PostPolicy::Users {
        let user = state.user.as_deref().unwrap_or_default();
        let allowed = ctx.addresses.get(user).map(Vec::as_slice).unwrap_or_default();
        if !allowed.contains(&poster.address_lower()) {
            return Err(failed(format!(
                "user {user:?} may not post as {}; use one of: {}",
                poster.address,
                allowed.join(", ")
            )));
        }
    }
    let groups = article.newsgroups();
    let mut lists: Vec<String> = Vec::new();
    for name in &groups {
        let config = ctx.groups.get(name).filter(|_| ctx.can_read(state, name));
        let Some(config) = config else { return Err(failed(format!("no such newsgroup here: {name}"))) };
        if !config.post {
            return Err(failed(format!("{name} does not take posts")));
        }
        let Some(address) = &config.address else {
            return Err(failed(format!("{name} has no list address to relay to")));
        };
        if !lists.contains(address) {
            lists.push(address.clone());
        }
    }
    let now = crate::clock::now();
    let (message_id, id_added) = match article.get("message-id") {
        Some(id) => {
            let known = ctx.store.message_id(id).map_err(|e| {
                tracing::error!(error = %e, "store failure checking a posted Message-ID");
                Status::Fault
            })?;
            if known.is_some() {
                return Err(failed(format!("{id} is already in the archive")));
            }
            (id.to_string(), false)
        }
        None => (crate::post::new_message_id(&ctx.hostname, now), true),
    };
    Ok(Outgoing { article, lists, groups, poster, user: state.user.clone(), message_id, id_added })
}
