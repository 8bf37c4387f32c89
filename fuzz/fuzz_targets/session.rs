//! Bytes in, responses out, against a real store: the input is split into lines as a
//! session does and each runs through the command executor. Every answer starts with a
//! three-digit status and nothing panics.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use listnews::config::Config;
use listnews::server::commands::{Context, Flow, State, execute_line, resume};

struct Fixture {
    _dir: tempfile::TempDir,
    ctx: std::sync::Arc<Context>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.toml");
        std::fs::write(
            &path,
            "[server]\nhostname = \"fuzz.example\"\ndata_dir = \"data\"\n[[group]]\nname = \"example.list-0\"\nlist_id = \"list-0.lists.example.org\"\n[[group]]\nname = \"example.list-1\"\nlist_id = \"list-1.lists.example.org\"\nreaders = []\n",
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        let store = listnews::store::Store::open(&config.server.data_dir).unwrap();
        let mut importer = listnews::import::Importer::new(&store, &config, None).unwrap();
        let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sample.mbox");
        importer.import_path(&sample, listnews::import::mbox::MboxFormat::Mboxrd).unwrap();
        importer.finish().unwrap();
        Fixture { ctx: Context::new(store, &config), _dir: dir }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut state = State::default();
    for line in data.split(|&b| b == b'\n').take(64) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > 510 {
            continue;
        }
        let mut out = Vec::new();
        let flow = execute_line(&f.ctx, &mut state, line, &mut out);
        assert!(out.len() >= 5 && out[..3].iter().all(u8::is_ascii_digit), "{:?}", String::from_utf8_lossy(&out));
        match flow {
            Flow::More(mut cursor) => {
                // Bounded: a fuzz input may ask for a whole group.
                for _ in 0..4 {
                    match resume(&f.ctx, &state, cursor, &mut out, listnews::server::commands::CHUNK).unwrap() {
                        Some(next) => cursor = next,
                        None => break,
                    }
                    out.clear();
                }
            }
            // The session would change transport, check a password or read a posted
            // article (relayed by SMTP): this input ends there.
            Flow::Quit | Flow::StartTls | Flow::Compress | Flow::Authenticate(_) | Flow::ReadArticle => break,
            Flow::Continue => {}
        }
    }
});
