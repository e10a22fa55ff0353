//! COMPRESS=DEFLATE (RFC 4978, `usecompression`): the deflate state of
//! one connection, both ways.
//!
//! The stream is raw deflate (no zlib header or trailer). Every flush of
//! our writer ends the compressed data so far with a sync flush (an empty
//! stored block), so the server can decode each command whole without
//! waiting for more, as OfflineIMAP does. The transport (`ImapStream` in
//! connect.rs) calls in here once the server's OK to COMPRESS has been
//! read; before that, and for the trace, bytes stay plain.

use std::io;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Compressed bytes read from the transport in one go.
pub(crate) const READ_CHUNK: usize = 16 * 1024;

/// Both directions' deflate state, and what went through it.
pub(crate) struct Deflate {
    enc: Compress,
    dec: Decompress,
    /// Compressed bytes read but not yet inflated: `inbuf[inpos..]`.
    inbuf: Vec<u8>,
    inpos: usize,
    /// Plain and wire byte counts, for the trace.
    pub plain_out: u64,
    pub wire_out: u64,
    pub plain_in: u64,
    pub wire_in: u64,
}

impl Deflate {
    pub fn new() -> Self {
        Deflate {
            // `false`: raw deflate, as RFC 4978 asks.
            enc: Compress::new(Compression::default(), false),
            dec: Decompress::new(false),
            inbuf: Vec::new(),
            inpos: 0,
            plain_out: 0,
            wire_out: 0,
            plain_in: 0,
            wire_in: 0,
        }
    }

    /// Deflates `plain` onto the end of `out`; with `sync`, everything
    /// given so far is made decodable (Z_SYNC_FLUSH).
    pub fn compress(&mut self, plain: &[u8], out: &mut Vec<u8>, sync: bool) -> io::Result<()> {
        let flush = if sync {
            FlushCompress::Sync
        } else {
            FlushCompress::None
        };
        let start_out = out.len();
        let mut input = plain;
        loop {
            out.reserve(input.len() / 2 + 64);
            let before_in = self.enc.total_in();
            self.enc
                .compress_vec(input, out, flush)
                .map_err(|e| io::Error::other(format!("deflate: {e}")))?;
            let used = usize::try_from(self.enc.total_in() - before_in).unwrap_or(input.len());
            input = &input[used.min(input.len())..];
            // Done when all input is taken and, for a sync flush, the
            // output did not fill up (so nothing is held back).
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        self.plain_out += plain.len() as u64;
        self.wire_out += (out.len() - start_out) as u64;
        Ok(())
    }

    /// Whether compressed input is waiting to be inflated.
    pub fn has_input(&self) -> bool {
        self.inpos < self.inbuf.len()
    }

    /// Takes compressed bytes just read from the transport.
    pub fn feed(&mut self, wire: &[u8]) {
        if !self.has_input() {
            self.inbuf.clear();
            self.inpos = 0;
        }
        self.inbuf.extend_from_slice(wire);
        self.wire_in += wire.len() as u64;
    }

    /// Inflates what it can of the waiting input into `out`; returns how
    /// many plain bytes it wrote (0: more input is needed).
    pub fn decompress(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        loop {
            let (before_in, before_out) = (self.dec.total_in(), self.dec.total_out());
            let status = self
                .dec
                .decompress(
                    &self.inbuf[self.inpos..],
                    &mut out[written..],
                    FlushDecompress::None,
                )
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("inflate: {e}")))?;
            let used = usize::try_from(self.dec.total_in() - before_in).unwrap_or(0);
            let made = usize::try_from(self.dec.total_out() - before_out).unwrap_or(0);
            self.inpos = (self.inpos + used).min(self.inbuf.len());
            written += made;
            if status == Status::StreamEnd {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the server ended the compressed stream",
                ));
            }
            if written == out.len() || (used == 0 && made == 0) {
                break;
            }
        }
        self.plain_in += written as u64;
        Ok(written)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Pairs of ends: what one side compresses the other inflates.
    fn roundtrip(a: &mut Deflate, b: &mut Deflate, plain: &[u8]) -> Vec<u8> {
        let mut wire = Vec::new();
        a.compress(plain, &mut wire, true).unwrap();
        // A sync flush ends with the empty stored block.
        assert!(wire.ends_with(&[0, 0, 0xff, 0xff]), "{wire:?}");
        b.feed(&wire);
        let mut out = Vec::new();
        let mut chunk = [0u8; 7];
        loop {
            let n = b.decompress(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        out
    }

    #[test]
    fn commands_survive_the_trip_and_repetition_shrinks() {
        let (mut a, mut b) = (Deflate::new(), Deflate::new());
        let one = b"A0001 UID FETCH 1:* (FLAGS)\r\n";
        assert_eq!(roundtrip(&mut a, &mut b, one), one);
        let big: Vec<u8> = one.iter().copied().cycle().take(30_000).collect();
        assert_eq!(roundtrip(&mut a, &mut b, &big), big);
        assert!(
            a.wire_out < a.plain_out / 10,
            "{} {}",
            a.wire_out,
            a.plain_out
        );
        assert_eq!(b.plain_in, a.plain_out);
    }

    #[test]
    fn the_stream_is_raw_deflate_that_zlib_tools_read() {
        let mut a = Deflate::new();
        let mut wire = Vec::new();
        a.compress(b"hello\r\n", &mut wire, true).unwrap();
        let mut d = flate2::read::DeflateDecoder::new(&wire[..]);
        let mut s = Vec::new();
        // The stream has no end (no final block); read what is there.
        let _ = std::io::Read::read_to_end(&mut d, &mut s);
        assert_eq!(s, b"hello\r\n");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut b = Deflate::new();
        b.feed(&[0xff; 32]);
        assert!(b.decompress(&mut [0u8; 64]).is_err());
    }
}
