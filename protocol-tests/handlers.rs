//! Handler-level tests: commands run in this process through the command table
//! (`server::commands::execute_line`), on a store the real importer filled, without sockets.
//! Every row of the table is driven from its own usage text, so a new command is covered the
//! moment its row exists.

use std::sync::Arc;

use listnews::protocol::table::{COMMANDS, Kind, Needs, Row};
use listnews::server::commands::{Context, Flow, State, execute_line, resume};
use listnews::store::Store;

use crate::kit::*;

/// The sample archive, its store open in this process.
fn context() -> (Archive, Arc<Context>) {
    let archive = Archive::new();
    archive.import(None, &[&sample_mbox()]);
    let store = Store::open(&archive.config.server.data_dir).expect("store");
    let ctx = Context::new(store, &archive.config);
    (archive, ctx)
}

/// Runs one line and any chunks that follow it; returns the whole answer.
fn run(ctx: &Context, state: &mut State, line: &str) -> (Vec<u8>, Flow) {
    let mut out = Vec::new();
    let flow = execute_line(ctx, state, line.as_bytes(), &mut out);
    match flow {
        Flow::More(cursor) => {
            let mut next = Some(cursor);
            while let Some(cursor) = next.take() {
                next = resume(ctx, state, cursor, &mut out, listnews::server::commands::CHUNK).expect("store");
            }
            (out, Flow::Continue)
        }
        other => (out, other),
    }
}

/// A command line for `row` built from its usage text: placeholders become values of the
/// sample (`id` a message-id it holds), optional parts are left out.
fn example(row: &Row, id: &str) -> String {
    let mut words = vec![row.name.to_string()];
    words.extend(row.keyword.map(str::to_string));
    for part in row.usage.split(' ').filter(|p| !p.is_empty() && (!p.starts_with('[') || *p == "[yy]yymmdd")) {
        words.push(
            match part {
                "newsgroup" => "example.list-0",
                "header" => "Subject",
                "message-id|range" => "1-",
                "message-id" => id,
                "pattern" => "*",
                "wildmat" => "example.*",
                "name" => "nobody",
                "password" => "secret",
                "DEFLATE" => "DEFLATE",
                // Dates: `[yy]yymmdd hhmmss [GMT]`.
                "[yy]yymmdd" => "19700101",
                "hhmmss" => "000000",
                other => panic!("{}: no example for usage part {other:?}", row.name),
            }
            .to_string(),
        );
    }
    words.join(" ")
}

/// Status codes followed by a dot-terminated block (RFC 3977 §3.4.1), by command.
fn multiline(code: u16, name: &str) -> bool {
    match code {
        100 | 101 | 215 | 220 | 221 | 222 | 224 | 225 | 230 | 231 | 282 => true,
        211 => name == "LISTGROUP",
        _ => false,
    }
}

/// Every row, from its usage text, gets a well-formed answer: a status line (never 500: the
/// verb is known), and a complete block exactly when the code has one.
#[test]
fn every_row_is_answered_in_form() {
    let (_archive, ctx) = context();
    let id = {
        let mut state = State::default();
        let (out, _) = run(&ctx, &mut state, "GROUP example.list-0");
        assert!(out.starts_with(b"211 "), "{}", text(&out));
        let (out, _) = run(&ctx, &mut state, "STAT 1");
        text(&out).split(' ').nth(2).expect("STAT answer").to_string()
    };
    for row in COMMANDS {
        let line = example(row, &id);
        for selected in [false, true] {
            let mut state = State::default();
            if selected {
                run(&ctx, &mut state, "GROUP example.list-0");
            }
            let (out, flow) = run(&ctx, &mut state, &line);
            if matches!(flow, Flow::Compress | Flow::Authenticate(_)) {
                // The session answers these itself, once it has switched transport or
                // checked the password.
                assert!(out.is_empty(), "{line}: {}", text(&out));
                continue;
            }
            let answer = text(&out);
            let status = answer.lines().next().unwrap_or_default().to_string();
            let code = code(&status);
            assert_ne!(code, 500, "{line}: {status}");
            assert!(answer.ends_with("\r\n"), "{line}: {answer:?}");
            if multiline(code, row.name) {
                assert!(answer.ends_with("\r\n.\r\n") || answer == format!("{status}\r\n.\r\n"), "{line}: {answer:?}");
                assert_eq!(answer.matches("\r\n.\r\n").count(), 1, "{line}: one terminator");
            } else {
                assert_eq!(answer, format!("{status}\r\n"), "{line}: one line");
            }
        }
    }
}

/// Rows that need a group answer 412 without one when they work on the current group, and
/// something else once a group is selected.
#[test]
fn rows_needing_a_group_say_so() {
    let (_archive, ctx) = context();
    let needing: Vec<&Row> = COMMANDS.iter().filter(|r| r.needs == Needs::Group).collect();
    assert!(needing.len() > 10, "{needing:?}");
    for row in needing {
        // The current-group form: no message-id, no group named.
        let line = example(row, "<unused@example>");
        let mut state = State::default();
        let (out, _) = run(&ctx, &mut state, &line);
        assert_eq!(code(&text(&out)), 412, "{line}");
        run(&ctx, &mut state, "GROUP example.list-0");
        let (out, _) = run(&ctx, &mut state, &line);
        assert_ne!(code(&text(&out)), 412, "{line} with a group: {}", text(&out));
    }
}

/// What runs on the session's own thread reads a few keys: the quick rows are the
/// one-article, one-group and session commands, never a listing.
#[test]
fn quick_rows_are_not_listings() {
    for row in COMMANDS {
        let listing = row.usage.contains("range") || row.usage.contains("wildmat") || row.name.starts_with("LIST");
        if row.kind == Kind::Quick {
            assert!(!listing, "{row:?} is quick but lists");
        }
        if row.name == "AUTHINFO" && row.keyword == Some("PASS") {
            assert_eq!(row.kind, Kind::Auth, "a password check is never quick");
        }
    }
}

/// The in-process answers are byte for byte what a client reads over a socket.
#[test]
fn answers_in_process_are_the_answers_on_the_wire() {
    let (archive, ctx) = context();
    drop(ctx); // the server opens the store itself
    wait_for_store_release(&archive.config.server.data_dir);
    let lines = [
        "CAPABILITIES",
        "HELP",
        "LIST ACTIVE",
        "LIST NEWSGROUPS example.*",
        "GROUP example.list-1",
        "XOVER 1-",
        "HDR Subject 1-5",
        "XPAT From 1- *a*",
        "ARTICLE 2",
        "XTHREAD 2",
        "NEXT",
        "LISTGROUP example.list-2 3-9",
        "NEWNEWS example.* 19700101 000000 GMT",
        "POST",
        "FROB",
    ];
    let wire: Vec<Vec<u8>> = {
        let server = archive.serve();
        let mut c = server.client();
        lines
            .iter()
            .map(|line| {
                c.send(format!("{line}\r\n").as_bytes());
                let status = c.line();
                let mut answer = format!("{status}\r\n").into_bytes();
                if multiline(code(&status), line.split(' ').next().unwrap()) {
                    for l in c.block() {
                        let mut stuffed = Vec::new();
                        listnews::protocol::block::line(&mut stuffed, &l);
                        answer.extend(stuffed);
                    }
                    answer.extend_from_slice(b".\r\n");
                }
                answer
            })
            .collect()
    };
    let store = Store::open(&archive.config.server.data_dir).expect("store");
    let ctx = Context::new(store, &archive.config);
    let mut state = State::default();
    for (line, over_the_wire) in lines.iter().zip(wire) {
        let (here, _) = run(&ctx, &mut state, line);
        assert_eq!(text(&here), text(&over_the_wire), "{line}");
    }
}
