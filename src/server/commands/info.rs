//! CAPABILITIES, HELP, POST and AUTHINFO: what the server offers and who the client is.

use super::*;

pub(super) fn current_year() -> i32 {
    use chrono::Datelike;
    chrono::Utc::now().year()
}

pub(super) fn capabilities(ctx: &Context, state: &mut State, out: &mut Vec<u8>) {
    state.sent_capabilities = true;
    response::status(out, 101, "Capability list:");
    let mut list = String::from("LIST ACTIVE ACTIVE.TIMES COUNTS HEADERS");
    // Only what has data: tin reads LIST MOTD when it is advertised.
    if ctx.motd.is_some() {
        list.push_str(" MOTD");
    }
    list.push_str(" NEWSGROUPS OVERVIEW.FMT");
    if ctx.groups.values().any(|g| g.subscribe) {
        list.push_str(" SUBSCRIPTIONS");
    }
    let mut caps = vec![
        "VERSION 2",
        concat!("IMPLEMENTATION listnews ", env!("CARGO_PKG_VERSION")),
        "READER",
        "HDR",
        &list,
        "NEWNEWS",
        "OVER MSGID",
        // Private extensions (RFC 3977 §3.3.1): XPAT (RFC 2980; tin reads it) and XTHREAD.
        "XPAT",
        "XTHREAD",
    ];
    if ctx.tls_available && !state.tls && state.user.is_none() && !state.compressed {
        caps.push("STARTTLS");
    }
    if !ctx.users.is_empty() && state.user.is_none() {
        // RFC 4643 §2.1: without USER while it would be refused (no TLS yet).
        caps.push(if state.tls || ctx.allow_plaintext_auth { "AUTHINFO USER" } else { "AUTHINFO" });
    }
    if !state.compressed {
        caps.push("COMPRESS DEFLATE");
    }
    for cap in caps {
        response::line(out, cap.as_bytes());
    }
    response::end(out);
}

/// AUTHINFO USER / PASS (RFC 4643 §2.3).
pub(super) fn authinfo(
    ctx: &Context,
    state: &mut State,
    user: Option<String>,
    password: Option<String>,
    out: &mut Vec<u8>,
) {
    if state.user.is_some() {
        response::status(out, 502, "Already authenticated");
        return;
    }
    if !state.tls && !ctx.allow_plaintext_auth {
        response::status(out, 483, "Encryption required: use STARTTLS or NNTPS first");
        return;
    }
    if let Some(name) = user {
        state.pending_user = Some(name);
        response::status(out, 381, "Password required");
        return;
    }
    let Some(name) = state.pending_user.take() else {
        response::status(out, 482, "Authentication commands issued out of sequence");
        return;
    };
    let password = password.unwrap_or_default();
    let ok = ctx.users.get(&name).is_some_and(|hash| {
        use argon2::PasswordVerifier;
        argon2::PasswordHash::new(hash)
            .is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    });
    if ok {
        tracing::info!(user = name, "authenticated");
        state.user = Some(name);
        response::status(out, 281, "Authentication accepted");
    } else {
        tracing::info!(user = name, "authentication failed");
        response::status(out, 481, "Authentication failed");
    }
}

pub(super) fn help(out: &mut Vec<u8>) {
    response::status(out, 100, "Help text follows");
    for c in COMMANDS {
        let text = format!("  {} {}", c.name, c.usage);
        response::line(out, text.trim_end().as_bytes());
    }
    response::end(out);
}

pub(super) fn post(ctx: &Context, state: &State, out: &mut Vec<u8>) {
    let address = state.group.as_ref().and_then(|(name, _)| ctx.groups.get(name)).and_then(|g| g.address.as_deref());
    match (address, &state.group) {
        (Some(addr), Some((name, _))) => {
            response::status(out, 440, format_args!("Posting not permitted; mail {addr} to post to {name}"))
        }
        _ => response::status(out, 440, "Posting not permitted; this archive is read-only, post to the lists by mail"),
    }
}
