//! The transports a session runs over: TCP, TLS over TCP, and DEFLATE over either
//! (RFC 8054), all behind one boxed type so STARTTLS and COMPRESS can swap them mid-session.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::DeflateDecoder;
use async_compression::tokio::write::DeflateEncoder;
use tokio::io::{AsyncRead, AsyncWrite, BufReader, ReadBuf, ReadHalf, WriteHalf};

pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {
    /// Ready once a read may find input, holding no buffer meanwhile: an idle session waits
    /// here. A stream that cannot tell without reading (TLS and DEFLATE keep input of their
    /// own) is always ready, and its session waits in the read.
    fn poll_input(&mut self, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Stream for tokio::net::TcpStream {
    fn poll_input(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.poll_read_ready(cx)
    }
}
impl Stream for BoxStream {
    fn poll_input(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        (**self).poll_input(cx)
    }
}
impl<S: Stream> Stream for tokio_rustls::server::TlsStream<S> {}
impl Stream for Deflated {}
impl Stream for tokio::io::Join<tokio::io::Empty, tokio::io::Sink> {}

pub type BoxStream = Box<dyn Stream>;

/// A session's transport: plain TCP in place (most connections, and no allocation of its
/// own), or anything else boxed.
pub enum Transport {
    Tcp(tokio::net::TcpStream),
    Wrapped(BoxStream),
}

impl Transport {
    /// The stream underneath, whichever it is.
    fn stream(&mut self) -> &mut dyn Stream {
        match self {
            Transport::Tcp(tcp) => tcp,
            Transport::Wrapped(inner) => &mut **inner,
        }
    }

    /// Takes the transport out to wrap it (TLS, DEFLATE), leaving a placeholder.
    pub fn detach(&mut self) -> BoxStream {
        match std::mem::replace(self, Transport::Wrapped(nothing())) {
            Transport::Tcp(tcp) => Box::new(tcp),
            Transport::Wrapped(inner) => inner,
        }
    }
}

impl AsyncRead for Transport {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(self.get_mut().stream()).poll_read(cx, buf)
    }
}

impl AsyncWrite for Transport {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(self.get_mut().stream()).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(self.get_mut().stream()).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(self.get_mut().stream()).poll_shutdown(cx)
    }
}

impl Stream for Transport {
    fn poll_input(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.stream().poll_input(cx)
    }
}

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
