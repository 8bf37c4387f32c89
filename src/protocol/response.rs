//! Response formatting (RFC 3977 §3.2, §3.1.1): status lines and dot-stuffed multi-line blocks.
//!
//! Everything writes into a caller-owned buffer so a status line and its body leave in one write.

use std::fmt::Display;
use std::io::Write;

/// Appends `code text\r\n`.
pub fn status(out: &mut Vec<u8>, code: u16, text: impl Display) {
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{code} {text}\r\n");
}

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

/// The DATE response value: `yyyymmddhhmmss`, UTC (RFC 3977 §7.1).
pub fn date_value(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default().format("%Y%m%d%H%M%S").to_string()
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
    fn date_format() {
        assert_eq!(date_value(1704164645), "20240102030405");
    }
}
