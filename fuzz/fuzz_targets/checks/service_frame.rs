//! The token service's request decoder (`src/service/protocol.rs`): any bytes, read as a frame
//! (4-byte big-endian length, then the body) and as a bare body, decode to a request or to an
//! error without panicking; a length above the limit is refused unread; a decoded request
//! encodes back to a frame that decodes to the same request; an answer decoder never panics; and
//! a report carrying the fuzzed text as the server's reply survives the round trip.

use mailoauth::service::protocol::{
    decode_answer, decode_request, encode_request, ProtocolError, Request, MAX_FRAME,
};

fn round_trip(req: &Request) {
    let frame = encode_request(req);
    let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
    assert_eq!(len, frame.len() - 4, "the prefix is the body's length");
    assert_eq!(
        decode_request(&frame[4..]).as_ref(),
        Ok(req),
        "a request does not survive its encoding"
    );
}

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    if let Ok(req) = decode_request(data) {
        round_trip(&req);
    }
    let _ = decode_answer(data);
    if data.len() >= 4 {
        let len = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let body = &data[4..];
        if len > MAX_FRAME {
            // The reader refuses it before reading the body; the decoder refuses a body as long.
            assert!(
                body.len() <= MAX_FRAME
                    || matches!(decode_request(body), Err(ProtocolError::TooLarge { .. }))
            );
        } else if let Ok(req) = decode_request(&body[..len.min(body.len())]) {
            round_trip(&req);
        }
    }
    let text = String::from_utf8_lossy(data).into_owned();
    round_trip(&Request::Report {
        account: text.chars().take(64).collect(),
        reply: text,
    });
}
