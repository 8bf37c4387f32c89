//! CAPABILITIES, HELP, DATE, MODE READER, QUIT, POST, IHAVE, AUTHINFO, STARTTLS and COMPRESS:
//! what the server offers, who the client is, and the session's transport.

use super::{Answer, Context, Flow, State};
use crate::protocol::{Status, block, table};

pub(super) fn capabilities(ctx: &Context, state: &mut State, out: &mut Vec<u8>) -> Answer {
    state.sent_capabilities = true;
    Status::CapabilitiesFollow.write(out);
    for line in table::capabilities(&ctx.offer(state)) {
        block::line(out, line.as_bytes());
    }
    block::end(out);
    Ok(Flow::Continue)
}

pub(super) fn help(ctx: &Context, state: &State, out: &mut Vec<u8>) -> Answer {
    Status::HelpFollows.write(out);
    for line in table::help(&ctx.offer(state)) {
        block::line(out, line.as_bytes());
    }
    block::end(out);
    Ok(Flow::Continue)
}

pub(super) fn date(out: &mut Vec<u8>) -> Answer {
    Status::Date(crate::clock::now()).write(out);
    Ok(Flow::Continue)
}

pub(super) fn mode_reader(out: &mut Vec<u8>) -> Answer {
    Status::ReaderMode { posting: false }.write(out);
    Ok(Flow::Continue)
}

pub(super) fn quit(out: &mut Vec<u8>) -> Answer {
    Status::Bye.write(out);
    Ok(Flow::Quit)
}

/// POST: this archive takes mail; the answer names the current group's list address.
pub(super) fn post(ctx: &Context, state: &State) -> Answer {
    let list = state.group.as_ref().and_then(|(name, _)| {
        ctx.groups.get(name).and_then(|g| g.address.clone()).map(|address| (address, name.clone()))
    });
    Err(Status::PostingNotPermitted { list }.into())
}

/// IHAVE: news peers are not fed here.
pub(super) fn ihave() -> Answer {
    Err(Status::NotWanted.into())
}

/// The checks AUTHINFO USER and PASS share (RFC 4643 §2.3).
fn may_authenticate(ctx: &Context, state: &State) -> Result<(), Status> {
    if state.user.is_some() {
        return Err(Status::AlreadyAuthenticated);
    }
    if !state.tls && !ctx.allow_plaintext_auth {
        return Err(Status::EncryptionRequired);
    }
    Ok(())
}

/// AUTHINFO USER.
pub(super) fn auth_user(ctx: &Context, state: &mut State, name: String, out: &mut Vec<u8>) -> Answer {
    may_authenticate(ctx, state)?;
    state.pending_user = Some(name);
    Status::PasswordRequired.write(out);
    Ok(Flow::Continue)
}

/// AUTHINFO PASS.
pub(super) fn auth_pass(ctx: &Context, state: &mut State, password: &str, out: &mut Vec<u8>) -> Answer {
    may_authenticate(ctx, state)?;
    let name = state.pending_user.take().ok_or(Status::AuthOutOfSequence)?;
    let ok = ctx.users.get(&name).is_some_and(|hash| {
        use argon2::PasswordVerifier;
        argon2::PasswordHash::new(hash)
            .is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    });
    if !ok {
        tracing::info!(user = name, "authentication failed");
        return Err(Status::AuthFailed.into());
    }
    tracing::info!(user = name, "authenticated");
    state.user = Some(name);
    Status::AuthAccepted.write(out);
    Ok(Flow::Continue)
}

/// STARTTLS (RFC 4642).
pub(super) fn starttls(ctx: &Context, state: &State, out: &mut Vec<u8>) -> Answer {
    // §2.2.1: 502 once TLS is active or the client authenticated.
    if state.tls || state.user.is_some() || state.compressed {
        return Err(Status::StartTlsNotAllowed.into());
    }
    if !ctx.tls_available {
        return Err(Status::TlsUnavailable.into());
    }
    Status::ContinueWithTls.write(out);
    Ok(Flow::StartTls)
}

/// COMPRESS (RFC 8054).
pub(super) fn compress(state: &State, algorithm: &str, out: &mut Vec<u8>) -> Answer {
    if state.compressed {
        return Err(Status::CompressionAlreadyActive.into());
    }
    if algorithm != "DEFLATE" {
        return Err(Status::CompressionUnsupported.into());
    }
    Status::CompressionActive.write(out);
    Ok(Flow::Compress)
}
