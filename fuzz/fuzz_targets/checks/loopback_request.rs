//! The loopback listener's request parsing: whatever a local process or a browser sends to the
//! port, `parse_request` answers without panicking, a request it takes as the redirect carries a
//! `code` or an `error`, the page it answers with gets no markup from the request, and a real
//! redirect built from the same bytes round-trips its parameters.

use mailoauth::oauth::loopback::{page, parse_request, Request};

const PATHS: [&str; 3] = ["/", "/callback", "/oauth2/redirect"];

/// The page's markup without the text: every `<` beyond it came from the request.
fn tags(status: &str, text: &str) -> usize {
    page(status, "Not found", text).matches('<').count()
}

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let path = PATHS[data.first().map_or(0, |b| usize::from(*b) % PATHS.len())];
    match parse_request(data, path) {
        None => {}
        Some(Request::Redirect(params)) => {
            assert!(
                params.iter().any(|(k, _)| k == "code" || k == "error"),
                "a redirect without code or error: {params:?}"
            );
        }
        Some(Request::Stray(status, why)) => {
            let p = page(status, "Not found", &why);
            assert_eq!(tags(status, &why), tags(status, ""), "markup leaked: {p}");
            let (head, body) = p.split_once("\r\n\r\n").expect("head and body");
            assert!(head.contains(&format!("Content-Length: {}\r\n", body.len())));
        }
    }

    // The same bytes as the code and state of a well-formed redirect.
    let text = String::from_utf8_lossy(data);
    let (code, state) = text.split_at(
        text.char_indices()
            .nth(text.chars().count() / 2)
            .map_or(0, |(i, _)| i),
    );
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", code)
        .append_pair("state", state)
        .finish();
    let request = format!("GET {path}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    match parse_request(request.as_bytes(), path) {
        Some(Request::Redirect(params)) => assert_eq!(
            params,
            vec![
                ("code".to_string(), code.to_string()),
                ("state".to_string(), state.to_string())
            ]
        ),
        other => panic!("a well-formed redirect was not recognised: {other:?} for {request:?}"),
    }
}
