//! The PROXY protocol header (HAProxy's spec, v1 text and v2 binary) that a load balancer
//! sends before the client's first byte, carrying the client's real address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// A v1 header is at most 107 octets including CRLF.
const V1_MAX: usize = 107;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyHeader {
    /// A whole header of `len` octets; `source` is the client, or `None` when the proxy sent
    /// no address (v1 UNKNOWN, v2 LOCAL: e.g. its own health checks).
    Parsed {
        len: usize,
        source: Option<SocketAddr>,
    },
    /// More input is needed.
    Incomplete,
    Invalid(&'static str),
}

pub fn parse(buf: &[u8]) -> ProxyHeader {
    if buf.len() < V2_SIGNATURE.len() {
        let n = buf.len();
        if V2_SIGNATURE[..n] == *buf || b"PROXY "[..n.min(6)] == buf[..n.min(6)] {
            return ProxyHeader::Incomplete;
        }
        return ProxyHeader::Invalid("not a PROXY protocol header");
    }
    if buf.starts_with(V2_SIGNATURE) {
        return parse_v2(buf);
    }
    if buf.starts_with(b"PROXY ") {
        return parse_v1(buf);
    }
    ProxyHeader::Invalid("not a PROXY protocol header")
}

fn parse_v1(buf: &[u8]) -> ProxyHeader {
    let Some(end) = buf.windows(2).take(V1_MAX - 1).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX {
            ProxyHeader::Invalid("PROXY v1 line too long")
        } else {
            ProxyHeader::Incomplete
        };
    };
    let Ok(line) = std::str::from_utf8(&buf[..end]) else { return ProxyHeader::Invalid("PROXY v1 not ASCII") };
    let parts: Vec<&str> = line.split(' ').collect();
    let len = end + 2;
    match parts.as_slice() {
        ["PROXY", "UNKNOWN", ..] => ProxyHeader::Parsed { len, source: None },
        ["PROXY", family @ ("TCP4" | "TCP6"), src, _dst, sport, _dport] => {
            let Ok(ip) = src.parse::<IpAddr>() else { return ProxyHeader::Invalid("PROXY v1 bad source address") };
            if (*family == "TCP4") != ip.is_ipv4() {
                return ProxyHeader::Invalid("PROXY v1 address family mismatch");
            }
            let Ok(port) = sport.parse::<u16>() else { return ProxyHeader::Invalid("PROXY v1 bad source port") };
            ProxyHeader::Parsed { len, source: Some(SocketAddr::new(ip, port)) }
        }
        _ => ProxyHeader::Invalid("PROXY v1 malformed"),
    }
}

fn parse_v2(buf: &[u8]) -> ProxyHeader {
    if buf.len() < 16 {
        return ProxyHeader::Incomplete;
    }
    let (ver_cmd, family) = (buf[12], buf[13]);
    if ver_cmd >> 4 != 2 {
        return ProxyHeader::Invalid("PROXY v2 bad version");
    }
    let addr_len = u16::from_be_bytes([buf[14], buf[15]]) as usize;
    let len = 16 + addr_len;
    if buf.len() < len {
        return ProxyHeader::Incomplete;
    }
    let addr = &buf[16..len];
    match ver_cmd & 0x0f {
        0 => return ProxyHeader::Parsed { len, source: None }, // LOCAL
        1 => {}
        _ => return ProxyHeader::Invalid("PROXY v2 bad command"),
    }
    let source = match family >> 4 {
        1 if addr.len() >= 12 => {
            let ip = Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]);
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be_bytes([addr[8], addr[9]])))
        }
        2 if addr.len() >= 36 => {
            let octets: [u8; 16] = addr[..16].try_into().unwrap_or([0; 16]);
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), u16::from_be_bytes([addr[32], addr[33]])))
        }
        // UNSPEC or UNIX: no usable client address.
        0 | 3 => None,
        _ => return ProxyHeader::Invalid("PROXY v2 bad address block"),
    };
    ProxyHeader::Parsed { len, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1() {
        let h = b"PROXY TCP4 192.0.2.7 127.0.0.1 56324 119\r\nGROUP x\r\n";
        assert_eq!(parse(h), ProxyHeader::Parsed { len: 42, source: Some("192.0.2.7:56324".parse().unwrap()) });
        let h = b"PROXY TCP6 2001:db8::1 ::1 4000 563\r\n";
        assert_eq!(parse(h), ProxyHeader::Parsed { len: h.len(), source: Some("[2001:db8::1]:4000".parse().unwrap()) });
        assert_eq!(parse(b"PROXY UNKNOWN\r\n"), ProxyHeader::Parsed { len: 15, source: None });
        assert_eq!(parse(b"PROXY TCP4 192.0.2.7"), ProxyHeader::Incomplete);
        assert_eq!(parse(b"PRO"), ProxyHeader::Incomplete);
        assert!(matches!(parse(b"PROXY TCP4 ::1 ::1 1 2\r\n"), ProxyHeader::Invalid(_)));
        assert!(matches!(parse(b"GROUP alt.test\r\n"), ProxyHeader::Invalid(_)));
        assert!(matches!(parse(&[b'P'; 200]), ProxyHeader::Invalid(_)));
        let mut long = b"PROXY ".to_vec();
        long.extend(std::iter::repeat_n(b'x', 200));
        assert!(matches!(parse(&long), ProxyHeader::Invalid(_)));
    }

    #[test]
    fn v2() {
        let mut h = V2_SIGNATURE.to_vec();
        h.extend_from_slice(&[0x21, 0x11, 0, 12, 192, 0, 2, 9, 127, 0, 0, 1, 0x1f, 0x90, 0, 119]);
        h.extend_from_slice(b"DATE\r\n");
        assert_eq!(parse(&h), ProxyHeader::Parsed { len: 28, source: Some("192.0.2.9:8080".parse().unwrap()) });
        assert_eq!(parse(&h[..20]), ProxyHeader::Incomplete);
        let mut local = V2_SIGNATURE.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0, 0]);
        assert_eq!(parse(&local), ProxyHeader::Parsed { len: 16, source: None });
        let mut v6 = V2_SIGNATURE.to_vec();
        v6.extend_from_slice(&[0x21, 0x21, 0, 36]);
        let mut src = [0u8; 16];
        src[0] = 0x20;
        src[1] = 0x01;
        src[15] = 5;
        v6.extend_from_slice(&src);
        v6.extend_from_slice(&[0; 16]);
        v6.extend_from_slice(&[0x30, 0x39, 0, 119]);
        assert_eq!(parse(&v6), ProxyHeader::Parsed { len: 52, source: Some("[2001::5]:12345".parse().unwrap()) });
        let mut bad = V2_SIGNATURE.to_vec();
        bad.extend_from_slice(&[0x11, 0x11, 0, 0]);
        assert!(matches!(parse(&bad), ProxyHeader::Invalid(_)));
    }
}
