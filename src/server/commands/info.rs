//! CAPABILITIES, HELP, DATE, MODE READER, QUIT, IHAVE, AUTHINFO, STARTTLS and COMPRESS:
//! what the server offers, who the client is, and the session's transport.

use super::{Answer, Context, Flow, PendingAuth, State};
use crate::protocol::{Status, block, table};
use crate::server::auth::Verdict;

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

/// MODE READER: 200 when this session may post (Thunderbird reads it instead of CAPABILITIES).
pub(super) fn mode_reader(ctx: &Context, state: &State, out: &mut Vec<u8>) -> Answer {
    Status::ReaderMode { posting: ctx.may_post(state).is_ok() }.write(out);
    Ok(Flow::Continue)
}

pub(super) fn quit(out: &mut Vec<u8>) -> Answer {
    Status::Bye.write(out);
    Ok(Flow::Quit)
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

/// AUTHINFO USER: the name is kept for PASS (any name: an unknown one fails at PASS, as a
/// wrong password does).
pub(super) fn auth_user(ctx: &Context, state: &mut State, name: String, out: &mut Vec<u8>) -> Answer {
    may_authenticate(ctx, state)?;
    state.pending_user = Some(name);
    Status::PasswordRequired.write(out);
    Ok(Flow::Continue)
}

/// AUTHINFO PASS: the checks that need no hashing, then the password goes to the session to
/// be checked in the password pool ([`Flow::Authenticate`]). An unknown user name is checked
/// against a decoy of the same cost.
pub(super) fn auth_pass(ctx: &Context, state: &mut State, password: String) -> Answer {
    may_authenticate(ctx, state)?;
    let user = state.pending_user.take().ok_or(Status::AuthOutOfSequence)?;
    // No users configured at all: nothing to check against.
    let credential = ctx.credentials.for_user(&user).ok_or(Status::AuthFailed)?;
    Ok(Flow::Authenticate(PendingAuth { user, credential, password: password.into_bytes() }))
}

/// The answer to AUTHINFO PASS once the password was checked: 281 (the session is that user
/// now), 481, or 403 when the check could not be made.
pub fn finish_auth(state: &mut State, user: String, verdict: Verdict, out: &mut Vec<u8>) {
    match verdict {
        Verdict::Accepted => {
            state.user = Some(user);
            Status::AuthAccepted.write(out);
        }
        Verdict::Rejected => {
            state.auth_failures += 1;
            Status::AuthFailed.write(out);
        }
        Verdict::Busy => Status::AuthBusy.write(out),
    }
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

/// COMPRESS (RFC 8054). The session answers 206 (or 403, when the server already has as
/// many compressed connections as it allows) and switches its transport.
pub(super) fn compress(state: &State, algorithm: &str) -> Answer {
    if state.compressed {
        return Err(Status::CompressionAlreadyActive.into());
    }
    if algorithm != "DEFLATE" {
        return Err(Status::CompressionUnsupported.into());
    }
    Ok(Flow::Compress)
}
