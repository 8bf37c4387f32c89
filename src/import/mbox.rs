//! mbox reading (mboxrd and mboxo; gzip too), streaming, with byte offsets for resuming.
//!
//! A line starting with `From ` separates messages when it opens the file or follows a blank
//! line. mboxrd unquotes `>From `, `>>From `, … by one `>`; mboxo unquotes only `>From `.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MboxFormat {
    #[default]
    Mboxrd,
    Mboxo,
}

/// One message read from an mbox.
pub struct MboxMessage {
    /// Offset of its `From ` line in the (decompressed) file.
    pub start: u64,
    /// Offset just past it: where the next message starts.
    pub end: u64,
    pub raw: Vec<u8>,
}

pub struct MboxReader<R> {
    reader: R,
    format: MboxFormat,
    offset: u64,
    line: Vec<u8>,
    /// A separator line already read, belonging to the next message.
    next_start: Option<u64>,
    done: bool,
}

/// Opens `path` (gzip when it ends in `.gz`), positioned at `offset`.
/// Why `path` is not an mbox file (its text, unpacked if `.gz`, must start with a `From `
/// line; an empty file is an empty mbox), or `None` when it is one.
pub fn sniff(path: &Path) -> io::Result<Option<String>> {
    let mut start = Vec::with_capacity(5);
    let mut reader = open(path, MboxFormat::Mboxrd, 0)?.reader;
    if let Err(e) = (&mut reader).take(5).read_to_end(&mut start) {
        // A `.gz` that is not gzip data, or is cut short.
        if matches!(e.kind(), io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof) {
            return Ok(Some(format!("not an mbox file: cannot unpack it ({e})")));
        }
        return Err(e);
    }
    Ok(if start.is_empty() || start == b"From " {
        None
    } else if start.iter().any(|&b| b == 0 || (b < 0x20 && !b"\t\r\n".contains(&b))) {
        Some("not an mbox file: it holds binary data, not mail".into())
    } else {
        Some(
            "not an mbox file: it does not start with a \"From \" line (one message goes in with `listnews deliver`)"
                .into(),
        )
    })
}

pub fn open(path: &Path, format: MboxFormat, offset: u64) -> io::Result<MboxReader<Box<dyn BufRead + Send>>> {
    let mut file = File::open(path)?;
    let reader: Box<dyn BufRead + Send> = if path.extension().is_some_and(|e| e == "gz") {
        let mut r = BufReader::with_capacity(1 << 20, flate2::read::MultiGzDecoder::new(file));
        let skipped = io::copy(&mut (&mut r).take(offset), &mut io::sink())?;
        if skipped < offset {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "mbox is shorter than its checkpoint"));
        }
        Box::new(r)
    } else {
        file.seek(SeekFrom::Start(offset))?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    Ok(MboxReader::new(reader, format, offset))
}

impl<R: BufRead> MboxReader<R> {
    pub fn new(reader: R, format: MboxFormat, offset: u64) -> Self {
        MboxReader { reader, format, offset, line: Vec::with_capacity(1024), next_start: None, done: false }
    }

    fn read_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        let n = self.reader.read_until(b'\n', &mut self.line)?;
        self.offset += n as u64;
        Ok(n > 0)
    }

    fn unquote<'a>(&self, line: &'a [u8]) -> &'a [u8] {
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        let quoted_from = quotes > 0 && line[quotes..].starts_with(b"From ");
        match self.format {
            MboxFormat::Mboxrd if quoted_from => &line[1..],
            MboxFormat::Mboxo if quoted_from && quotes == 1 => &line[1..],
            _ => line,
        }
    }

    fn next_message(&mut self) -> io::Result<Option<MboxMessage>> {
        if self.done {
            return Ok(None);
        }
        let mut start = self.next_start.take();
        // A `From ` line makes a message, even an empty one (set aside later, not lost).
        let mut separated = start.is_some();
        let mut raw: Vec<u8> = Vec::with_capacity(8192);
        let mut prev_blank = true;
        loop {
            let line_start = self.offset;
            if !self.read_line()? {
                self.done = true;
                break;
            }
            let is_blank = self.line == b"\n" || self.line == b"\r\n";
            if prev_blank && self.line.starts_with(b"From ") {
                if separated || raw.iter().any(|b| !b.is_ascii_whitespace()) {
                    self.next_start = Some(line_start);
                    return Ok(Some(finish(start.unwrap_or(line_start), line_start, raw)));
                }
                start = Some(line_start);
                separated = true;
                raw.clear();
                prev_blank = false;
                continue;
            }
            if start.is_none() && raw.is_empty() {
                start = Some(line_start);
            }
            let line = self.unquote(&self.line);
            raw.extend_from_slice(line);
            prev_blank = is_blank;
        }
        if !separated && raw.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(None);
        }
        Ok(Some(finish(start.unwrap_or(self.offset), self.offset, raw)))
    }
}

/// Drops the blank line that mbox puts between messages.
fn finish(start: u64, end: u64, mut raw: Vec<u8>) -> MboxMessage {
    if raw.ends_with(b"\r\n\r\n") {
        raw.truncate(raw.len() - 2);
    } else if raw.ends_with(b"\n\n") {
        raw.truncate(raw.len() - 1);
    }
    MboxMessage { start, end, raw }
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = io::Result<MboxMessage>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_message().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(data: &[u8], format: MboxFormat) -> Vec<(u64, u64, Vec<u8>)> {
        MboxReader::new(data, format, 0).map(|m| m.unwrap()).map(|m| (m.start, m.end, m.raw)).collect()
    }

    const MBOX: &[u8] = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\n>From here\n>>From there\nFrom inside is not a separator\n\nFrom c@d Mon Jan  1 00:00:01 2024\nSubject: two\n\nbody\n\n";

    #[test]
    fn mboxrd_splits_and_unquotes() {
        let msgs = read(MBOX, MboxFormat::Mboxrd);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].2, b"Subject: one\n\nFrom here\n>From there\nFrom inside is not a separator\n");
        assert_eq!(msgs[1].2, b"Subject: two\n\nbody\n");
        assert_eq!(msgs[0].0, 0);
        assert_eq!(msgs[0].1, msgs[1].0);
        assert_eq!(msgs[1].1, MBOX.len() as u64);
        assert_eq!(&MBOX[msgs[1].0 as usize..msgs[1].0 as usize + 7], b"From c@");
    }

    #[test]
    fn mboxo_unquotes_one_level_only() {
        let msgs = read(MBOX, MboxFormat::Mboxo);
        assert_eq!(msgs[0].2, b"Subject: one\n\nFrom here\n>>From there\nFrom inside is not a separator\n");
    }

    #[test]
    fn resuming_at_an_offset_gives_the_rest() {
        let all = read(MBOX, MboxFormat::Mboxrd);
        let rest: Vec<_> =
            MboxReader::new(&MBOX[all[0].1 as usize..], MboxFormat::Mboxrd, all[0].1).map(|m| m.unwrap()).collect();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].raw, all[1].2);
        assert_eq!(rest[0].start, all[1].0);
    }

    #[test]
    fn text_before_the_first_separator_is_not_lost() {
        let msgs = read(b"Subject: stray\n\nx\n\nFrom a@b Mon\nSubject: y\n\nz\n", MboxFormat::Mboxrd);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].2, b"Subject: stray\n\nx\n");
        assert!(read(b"", MboxFormat::Mboxrd).is_empty());
        assert!(read(b"\n\n", MboxFormat::Mboxrd).is_empty());
    }

    #[test]
    fn crlf_mbox() {
        let msgs =
            read(b"From a@b x\r\nSubject: y\r\n\r\nz\r\n\r\nFrom c@d x\r\nSubject: w\r\n\r\nv\r\n", MboxFormat::Mboxrd);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].2, b"Subject: y\r\n\r\nz\r\n");
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// mboxrd-quotes and frames messages the way MTAs write them.
        fn write(messages: &[String]) -> Vec<u8> {
            let mut out = Vec::new();
            for m in messages {
                out.extend_from_slice(b"From sender@example.org Mon Jan  1 00:00:00 2024\n");
                for line in m.split_inclusive('\n') {
                    let quotes = line.bytes().take_while(|&b| b == b'>').count();
                    if line[quotes..].starts_with("From ") {
                        out.push(b'>');
                    }
                    out.extend_from_slice(line.as_bytes());
                }
                out.extend_from_slice(b"\n");
            }
            out
        }

        proptest! {
            #[test]
            fn mboxrd_round_trips(bodies in proptest::collection::vec(
                proptest::collection::vec(prop_oneof!["[a-z ]{0,20}", ">*From [a-z]{0,5}", "", "\\.+"], 0..8), 1..6
            )) {
                let messages: Vec<String> = bodies
                    .iter()
                    .enumerate()
                    .map(|(i, lines)| format!("Subject: m{i}\n\n{}", lines.iter().map(|l| format!("{l}\n")).collect::<String>()))
                    .collect();
                let data = write(&messages);
                let read: Vec<Vec<u8>> = MboxReader::new(&data[..], MboxFormat::Mboxrd, 0).map(|m| m.unwrap().raw).collect();
                let expected: Vec<Vec<u8>> = messages.iter().map(|m| m.as_bytes().to_vec()).collect();
                prop_assert_eq!(read, expected);
            }
        }
    }
}
