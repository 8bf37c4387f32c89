//! The transports a session runs over: TCP, TLS over TCP, and DEFLATE over either
//! (RFC 8054), all behind one boxed type so STARTTLS and COMPRESS can swap them mid-session.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::DeflateDecoder;
use async_compression::tokio::write::DeflateEncoder;
use tokio::io::{AsyncRead, AsyncWrite, BufReader, ReadBuf, ReadHalf, WriteHalf};

pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub type BoxStream = Box<dyn Stream>;

/// A placeholder while the real stream is moved into a TLS or DEFLATE wrapper.
pub fn nothing() -> BoxStream {
    Box::new(tokio::io::join(tokio::io::empty(), tokio::io::sink()))
}

/// Raw DEFLATE in both directions (no zlib header, as RFC 8054 §2.2.2 requires). Flushing
/// the writer emits a sync flush, so each response is decodable when it is sent.
pub struct Deflated {
    reader: DeflateDecoder<BufReader<ReadHalf<BoxStream>>>,
    writer: DeflateEncoder<WriteHalf<BoxStream>>,
}

impl Deflated {
    pub fn new(inner: BoxStream) -> Deflated {
        let (read, write) = tokio::io::split(inner);
        let mut reader = DeflateDecoder::new(BufReader::new(read));
        // A client may end one deflate stream and start another; keep decoding.
        reader.multiple_members(true);
        Deflated { reader, writer: DeflateEncoder::new(write) }
    }
}

impl AsyncRead for Deflated {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.reader).poll_read(cx, buf)
    }
}

impl AsyncWrite for Deflated {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.writer).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.writer).poll_shutdown(cx)
    }
}
