//! The client side of NNTP: reading status lines and dot-terminated answers. One
//! implementation, used by everything in this project that talks to an NNTP server: the
//! upstream puller, `listnews thread`, the load generator (line by line, through
//! [`StatusLine::parse`] and [`super::block::unstuff_line`]) and the tests.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};

use super::block::{BlockLine, unstuff_line};

/// A status line as received: its code and the text after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub code: u16,
    pub text: String,
}

impl StatusLine {
    /// Parses `ddd text` (line end optional). `None` when it does not start with three digits.
    pub fn parse(line: &[u8]) -> Option<StatusLine> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let digits = line.get(..3)?;
        if !digits.iter().all(u8::is_ascii_digit) || !matches!(line.get(3), None | Some(b' ')) {
            return None;
        }
        let code = std::str::from_utf8(digits).ok()?.parse().ok()?;
        let text = String::from_utf8_lossy(line.get(4..).unwrap_or_default()).into_owned();
        Some(StatusLine { code, text })
    }

    /// The text's words (GROUP's `count low high name`, ARTICLE's `number id`, …).
    pub fn words(&self) -> Vec<&str> {
        self.text.split_whitespace().collect()
    }
}

impl fmt::Display for StatusLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.text.is_empty() { write!(f, "{}", self.code) } else { write!(f, "{} {}", self.code, self.text) }
    }
}

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("the server closed the connection")]
    Closed,
    #[error("not a status line: {0:?}")]
    Garbled(String),
    #[error("{command} answered {status} (expected {expected})")]
    Unexpected { command: String, expected: u16, status: StatusLine },
    #[error("an answer of more than {0} bytes")]
    TooLarge(usize),
}

/// Reads one line with its line end; `Closed` at the end of the input.
pub fn read_line<R: BufRead>(reader: &mut R, line: &mut Vec<u8>) -> Result<(), ClientError> {
    line.clear();
    if reader.read_until(b'\n', line)? == 0 {
        return Err(ClientError::Closed);
    }
    Ok(())
}

/// Reads a status line.
pub fn read_status<R: BufRead>(reader: &mut R) -> Result<StatusLine, ClientError> {
    let mut line = Vec::new();
    read_line(reader, &mut line)?;
    StatusLine::parse(&line).ok_or_else(|| ClientError::Garbled(String::from_utf8_lossy(&line).into_owned()))
}

/// Reads a dot-terminated block up to its `.` line, calling `each` with every data line
/// (unstuffed, without its line end).
pub fn read_block_lines<R: BufRead>(reader: &mut R, mut each: impl FnMut(&[u8])) -> Result<(), ClientError> {
    let mut line = Vec::new();
    loop {
        read_line(reader, &mut line)?;
        match unstuff_line(&line) {
            BlockLine::End => return Ok(()),
            BlockLine::Data(data) => each(data),
        }
    }
}

/// Reads a dot-terminated block: its lines unstuffed, each ending in CRLF; at most `max` bytes.
pub fn read_block<R: BufRead>(reader: &mut R, max: usize) -> Result<Vec<u8>, ClientError> {
    let mut out = Vec::new();
    let mut over = false;
    read_block_lines(reader, |data| {
        if out.len() + data.len() + 2 > max {
            over = true;
        } else {
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
    })?;
    if over { Err(ClientError::TooLarge(max)) } else { Ok(out) }
}

/// The lines of a block read with [`read_block`] (without their CRLF).
pub fn lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    block.split_inclusive(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r\n").unwrap_or(l))
}

/// Default cap on one answer: larger than any article the store keeps.
pub const MAX_ANSWER: usize = 256 << 20;

/// A blocking NNTP client over any stream.
pub struct Client<S: Read + Write> {
    reader: BufReader<S>,
    /// The server's greeting.
    pub greeting: StatusLine,
    /// Cap on one multi-line answer.
    pub max_answer: usize,
}

impl<S: Read + Write> Client<S> {
    /// Takes a connected stream and reads the greeting.
    pub fn new(stream: S) -> Result<Client<S>, ClientError> {
        let mut reader = BufReader::new(stream);
        let greeting = read_status(&mut reader)?;
        Ok(Client { reader, greeting, max_answer: MAX_ANSWER })
    }

    /// The stream under the client (to change its transport: buffered input must be empty).
    pub fn get_mut(&mut self) -> &mut S {
        self.reader.get_mut()
    }

    /// Input read from the stream but not consumed yet.
    pub fn buffered(&self) -> &[u8] {
        self.reader.buffer()
    }

    /// Sends raw bytes as they are (commands must end in CRLF) and flushes.
    pub fn send(&mut self, raw: &[u8]) -> Result<(), ClientError> {
        let stream = self.reader.get_mut();
        stream.write_all(raw)?;
        stream.flush()?;
        Ok(())
    }

    /// Reads the next status line.
    pub fn status(&mut self) -> Result<StatusLine, ClientError> {
        read_status(&mut self.reader)
    }

    /// Reads a dot-terminated block (lines unstuffed, CRLF line ends).
    pub fn block(&mut self) -> Result<Vec<u8>, ClientError> {
        read_block(&mut self.reader, self.max_answer)
    }

    /// Reads a block line by line.
    pub fn block_lines(&mut self, each: impl FnMut(&[u8])) -> Result<(), ClientError> {
        read_block_lines(&mut self.reader, each)
    }

    /// Reads one raw line (with its line end).
    pub fn raw_line(&mut self) -> Result<Vec<u8>, ClientError> {
        let mut line = Vec::new();
        read_line(&mut self.reader, &mut line)?;
        Ok(line)
    }

    /// Sends one command line and reads its status line, whatever it is.
    pub fn command(&mut self, line: &str) -> Result<StatusLine, ClientError> {
        self.send(format!("{line}\r\n").as_bytes())?;
        self.status()
    }

    /// Sends one command and requires status `code`.
    pub fn expect(&mut self, line: &str, code: u16) -> Result<StatusLine, ClientError> {
        let status = self.command(line)?;
        if status.code == code {
            Ok(status)
        } else {
            Err(ClientError::Unexpected { command: line.to_string(), expected: code, status })
        }
    }

    /// Sends one command, requires status `code` and reads the block that follows it.
    pub fn expect_block(&mut self, line: &str, code: u16) -> Result<(StatusLine, Vec<u8>), ClientError> {
        let status = self.expect(line, code)?;
        Ok((status, self.block()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that replays canned server output and records what is written.
    struct Replay {
        input: io::Cursor<Vec<u8>>,
        written: Vec<u8>,
    }
    impl Read for Replay {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }
    impl Write for Replay {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn status_lines() {
        assert_eq!(StatusLine::parse(b"211 3 1 3 g\r\n"), Some(StatusLine { code: 211, text: "3 1 3 g".into() }));
        assert_eq!(StatusLine::parse(b"205"), Some(StatusLine { code: 205, text: String::new() }));
        assert_eq!(StatusLine::parse(b"21 x"), None);
        assert_eq!(StatusLine::parse(b"2110"), None);
    }

    #[test]
    fn answers_are_read_and_checked() {
        let server = b"200 hello\r\n224 ok\r\n1\tx\r\n..dot\r\n.\r\n430 no\r\n".to_vec();
        let mut c = Client::new(Replay { input: io::Cursor::new(server), written: Vec::new() }).unwrap();
        assert_eq!(c.greeting.code, 200);
        let (_, block) = c.expect_block("XOVER 1", 224).unwrap();
        assert_eq!(block, b"1\tx\r\n.dot\r\n");
        assert_eq!(lines(&block).collect::<Vec<_>>(), vec![&b"1\tx"[..], b".dot"]);
        match c.expect("ARTICLE <a@b>", 220) {
            Err(ClientError::Unexpected { expected: 220, status, .. }) => assert_eq!(status.code, 430),
            other => panic!("{other:?}"),
        }
        assert!(matches!(c.status(), Err(ClientError::Closed)));
        assert_eq!(c.get_mut().written, b"XOVER 1\r\nARTICLE <a@b>\r\n");
    }

    #[test]
    fn oversized_blocks_are_refused() {
        let mut input: &[u8] = b"line one\r\nline two\r\n.\r\n";
        assert!(matches!(read_block(&mut input, 12), Err(ClientError::TooLarge(12))));
    }
}
