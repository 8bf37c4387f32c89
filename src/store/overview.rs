//! Overview lines (RFC 3977 §8.3), precomputed at import so OVER/XOVER is a copy.
//!
//! Stored per article: the seven standard fields after the number. The number and the
//! `Xref:` field are added when served, since they depend on the group and the host name.

use std::io::Write;

/// Header names whose values are stored in the overview, in field order.
pub const FIELDS: [&str; 7] = ["Subject", "From", "Date", "Message-ID", "References", ":bytes", ":lines"];

/// Appends a header value as one overview/HDR field (RFC 3977 §8.3.2): CRLF pairs removed
/// (unfolding), then TAB, CR, LF and NUL each made a space.
pub fn push_field(out: &mut Vec<u8>, value: &[u8]) {
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'\r' if value.get(i + 1) == Some(&b'\n') => i += 2,
            // An LF-only fold unfolds the same way.
            b'\n' => i += 1,
            b'\t' | b'\r' | 0 => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// The values an overview line is built from (raw header values, not decoded: RFC 2047
/// encoded words stay as sent, as INN serves them).
pub struct OverviewSource<'a> {
    pub subject: &'a [u8],
    pub from: &'a [u8],
    pub date: &'a [u8],
    pub message_id: &'a str,
    pub references: &'a [u8],
    /// Article size with CRLF line ends, before dot-stuffing (§8.1: `:bytes`).
    pub bytes: u64,
    /// Body lines (§8.1: `:lines`).
    pub lines: u64,
}

/// Builds the stored part of an overview line.
pub fn fields(src: &OverviewSource<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.subject.len() + src.from.len() + src.references.len() + 80);
    for value in [src.subject, src.from, src.date, src.message_id.as_bytes(), src.references] {
        push_field(&mut out, trim(value));
        out.push(b'\t');
    }
    let _ = write!(out, "{}\t{}", src.bytes, src.lines);
    out
}

/// Writes one served overview line: number, stored fields, `Xref:` extra field, CRLF.
/// Overview lines never begin with `.` (they start with a digit), so no dot-stuffing.
pub fn write_line(out: &mut Vec<u8>, num: u64, fields: &[u8], host: &str, xref: &[u8]) {
    let _ = write!(out, "{num}\t");
    out.extend_from_slice(fields);
    out.extend_from_slice(b"\tXref: ");
    out.extend_from_slice(host.as_bytes());
    out.push(b' ');
    out.extend_from_slice(xref);
    out.extend_from_slice(b"\r\n");
}

/// Strips surrounding white space (including folding) from a header value.
pub fn trim(v: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = v.iter().position(|b| !ws(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !ws(b)).map_or(start, |e| e + 1);
    &v[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(subject: &'a [u8], references: &'a [u8]) -> OverviewSource<'a> {
        OverviewSource {
            subject,
            from: b" A <a@b>",
            date: b" Mon, 1 Jan 2024 00:00:00 +0000\r\n",
            message_id: "<m@x>",
            references,
            bytes: 1234,
            lines: 7,
        }
    }

    #[test]
    fn folded_and_tabbed_values_become_one_line() {
        let f = fields(&sample(b" [PATCH]\r\n\tfix\tit\0now", b" <a@x>\r\n <b@x>"));
        assert_eq!(f, b"[PATCH] fix it now\tA <a@b>\tMon, 1 Jan 2024 00:00:00 +0000\t<m@x>\t<a@x> <b@x>\t1234\t7");
        assert_eq!(f.split(|&b| b == b'\t').count(), 7);
    }

    #[test]
    fn empty_fields_keep_their_tabs() {
        // Thunderbird and fetchnews drop lines with fewer than 8 fields (nntp-notes §1.6).
        let f = fields(&sample(b"", b""));
        let mut line = Vec::new();
        write_line(&mut line, 42, &f, "news.example.org", b"g:42");
        assert!(line.ends_with(b"\r\n"));
        let line = &line[..line.len() - 2];
        let parts: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
        assert_eq!(parts.len(), 9);
        assert_eq!(parts[0], b"42");
        assert_eq!(parts[1], b"");
        assert_eq!(parts[5], b"");
        assert_eq!(parts[8], b"Xref: news.example.org g:42");
    }

    #[test]
    fn eight_bit_values_pass_through() {
        let f = fields(&sample(b"caf\xe9 =?UTF-8?Q?caf=C3=A9?=", b""));
        assert!(f.starts_with(b"caf\xe9 =?UTF-8?Q?caf=C3=A9?=\t"));
    }
}
