//! Dot-terminated multi-line blocks (RFC 3977 §3.1.1): every writer and reader of them.
//!
//! - Writing (server answers): [`line`], [`line_fmt`], [`end`]; [`stuff`] for a whole text
//!   (the article store keeps texts stuffed, ready for the wire).
//! - Reading an answer (clients): [`unstuff_line`] decides, line by line, between a data line
//!   and the terminator; [`super::client`] builds its readers on it.
//! - Reading a block a client sends (POST's article): [`BlockReader`], fed bytes as they
//!   arrive, with a size cap.

use std::io::Write;

/// Appends one line of a multi-line block, dot-stuffed, with CRLF. `line` must not hold CR or LF.
pub fn line(out: &mut Vec<u8>, line: &[u8]) {
    if line.first() == Some(&b'.') {
        out.push(b'.');
    }
    out.extend_from_slice(line);
    out.extend_from_slice(b"\r\n");
}

/// Appends a formatted line of a multi-line block.
pub fn line_fmt(out: &mut Vec<u8>, args: std::fmt::Arguments<'_>) {
    let start = out.len();
    let _ = out.write_fmt(args);
    if out.get(start) == Some(&b'.') {
        out.insert(start, b'.');
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends the terminator of a multi-line block.
pub fn end(out: &mut Vec<u8>) {
    out.extend_from_slice(b".\r\n");
}

/// Dot-stuffs a whole CRLF text: every line starting with `.` gets another. Returns the
/// stuffed text and how many dots went into its first `mark` bytes (so a caller can find a
/// position, such as the end of the header lines, in the stuffed text). Runs between dots
/// are copied whole.
pub fn stuff(text: &[u8], mark: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(text.len() + 64);
    let mut before_mark = 0;
    let mut copied = 0;
    let starts = std::iter::once(0).chain(memchr::memmem::find_iter(text, b"\n.").map(|i| i + 1));
    for start in starts.filter(|&s| text.get(s) == Some(&b'.')) {
        out.extend_from_slice(&text[copied..start]);
        out.push(b'.');
        copied = start;
        if start < mark {
            before_mark += 1;
        }
    }
    out.extend_from_slice(&text[copied..]);
    (out, before_mark)
}

/// One line of a block being read, its line end removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockLine<'a> {
    /// A data line, unstuffed.
    Data(&'a [u8]),
    /// The terminating `.` line.
    End,
}

/// Classifies one line of a block (with or without its CRLF or LF) and undoes its stuffing.
pub fn unstuff_line(line: &[u8]) -> BlockLine<'_> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line {
        b"." => BlockLine::End,
        _ if line.starts_with(b"..") => BlockLine::Data(&line[1..]),
        _ => BlockLine::Data(line),
    }
}

/// What [`BlockReader::feed`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fed {
    /// The block is not complete yet: feed more.
    More,
    /// The block ended; `used` bytes of the input belonged to it (the rest is what the client
    /// sent after it). [`BlockReader::into_text`] says whether it fitted under the cap.
    Done { used: usize },
}

/// Reads a block a client sends (an article after `340`), bytes in as they arrive: unstuffed,
/// line ends kept as CRLF (a line ending in a bare LF is read as one ending in CRLF), at most
/// `max` bytes kept. Past the cap the rest of the block is read and dropped, so the session
/// stays in step with the client.
#[derive(Debug)]
pub struct BlockReader {
    max: usize,
    text: Vec<u8>,
    /// The start of a line not yet complete.
    partial: Vec<u8>,
    too_large: bool,
}

impl BlockReader {
    pub fn new(max: usize) -> BlockReader {
        BlockReader { max, text: Vec::new(), partial: Vec::new(), too_large: false }
    }

    /// Takes the next bytes the client sent.
    pub fn feed(&mut self, input: &[u8]) -> Fed {
        let mut used = 0;
        while let Some(nl) = memchr::memchr(b'\n', &input[used..]) {
            let end = used + nl + 1;
            let line: &[u8] = if self.partial.is_empty() {
                &input[used..end]
            } else {
                self.partial.extend_from_slice(&input[used..end]);
                &self.partial
            };
            used = end;
            let done = match unstuff_line(line) {
                BlockLine::End => true,
                BlockLine::Data(data) => {
                    if !self.too_large && self.text.len() + data.len() + 2 <= self.max {
                        self.text.extend_from_slice(data);
                        self.text.extend_from_slice(b"\r\n");
                    } else {
                        self.too_large = true;
                        self.text = Vec::new();
                    }
                    false
                }
            };
            self.partial.clear();
            if done {
                return Fed::Done { used };
            }
        }
        // A line without its end yet: keep it, but never more than the cap allows.
        let rest = &input[used..];
        if self.partial.len() + rest.len() <= self.max + 2 {
            self.partial.extend_from_slice(rest);
        } else {
            self.too_large = true;
            self.text = Vec::new();
            // Keep only what could still be the start of the terminator line.
            let keep = rest.len().min(2);
            self.partial.clear();
            self.partial.extend_from_slice(&rest[rest.len() - keep..]);
        }
        Fed::More
    }

    /// The block read (CRLF line ends, unstuffed), once `feed` said `Done`; `None` when it
    /// was larger than the cap.
    pub fn into_text(self) -> Option<Vec<u8>> {
        (!self.too_large).then_some(self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing() {
        let mut out = Vec::new();
        line(&mut out, b".hidden");
        line(&mut out, b"plain");
        line_fmt(&mut out, format_args!(".{}", 5));
        end(&mut out);
        assert_eq!(out, b"..hidden\r\nplain\r\n..5\r\n.\r\n");
    }

    #[test]
    fn whole_texts_are_stuffed_and_the_mark_moves() {
        let (out, dots) = stuff(b".a\r\nb\r\n\r\n.c\r\n..d\r\n", 7);
        assert_eq!(out, b"..a\r\nb\r\n\r\n..c\r\n...d\r\n");
        assert_eq!(dots, 1);
    }

    #[test]
    fn lines_are_unstuffed() {
        assert_eq!(unstuff_line(b".\r\n"), BlockLine::End);
        assert_eq!(unstuff_line(b"."), BlockLine::End);
        assert_eq!(unstuff_line(b"..x\r\n"), BlockLine::Data(b".x"));
        assert_eq!(unstuff_line(b"x\n"), BlockLine::Data(b"x"));
        assert_eq!(unstuff_line(b"...\r\n"), BlockLine::Data(b".."));
    }

    #[test]
    fn a_client_block_is_read_in_pieces() {
        let mut r = BlockReader::new(1000);
        assert_eq!(r.feed(b"Subject: x\r\n\r\n..dot"), Fed::More);
        assert_eq!(r.feed(b"\r\nbody\r"), Fed::More);
        assert_eq!(r.feed(b"\n.\r\nQUIT\r\n"), Fed::Done { used: 4 });
        assert_eq!(r.into_text().unwrap(), b"Subject: x\r\n\r\n.dot\r\nbody\r\n");
    }

    #[test]
    fn an_oversized_block_is_read_to_its_end_and_dropped() {
        let mut r = BlockReader::new(10);
        assert_eq!(r.feed(b"0123456789abcdef\r\n"), Fed::More);
        assert_eq!(r.feed(&[b'x'; 5000]), Fed::More);
        assert_eq!(r.feed(b"\r\nmore\r\n.\r\nNEXT"), Fed::Done { used: 11 });
        assert_eq!(r.into_text(), None);
        let mut r = BlockReader::new(10);
        assert_eq!(r.feed(&[b'x'; 50]), Fed::More);
        assert_eq!(r.feed(b"\r\n.\r\n"), Fed::Done { used: 5 });
        assert_eq!(r.into_text(), None);
        // Memory stays at the cap whatever comes: a line without end keeps at most two bytes.
        let mut r = BlockReader::new(10);
        for _ in 0..1000 {
            r.feed(&[b'y'; 4096]);
        }
        assert!(r.partial.len() <= 12 && r.text.is_empty());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any text written as a block and fed back in any pieces comes out unchanged.
            #[test]
            fn blocks_round_trip(lines in proptest::collection::vec("[.a-z ]{0,12}", 0..20), cut in 0usize..200) {
                let text: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\r\n").into_bytes()).collect();
                let mut wire = Vec::new();
                for l in &lines {
                    line(&mut wire, l.as_bytes());
                }
                end(&mut wire);
                let (stuffed, _) = stuff(&text, 0);
                let mut whole = stuffed.clone();
                end(&mut whole);
                prop_assert_eq!(&whole, &wire);
                let cut = cut.min(wire.len());
                let mut r = BlockReader::new(1 << 20);
                let first = r.feed(&wire[..cut]);
                let done = |f: &Fed| matches!(f, Fed::Done { .. });
                let fed = if done(&first) { first } else { r.feed(&wire[cut..]) };
                prop_assert!(done(&fed), "{:?}", fed);
                prop_assert_eq!(r.into_text(), Some(text));
            }
        }
    }
}
