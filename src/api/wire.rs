//! The proxy's view of HTTP: a request as either shell received it and the answer either
//! sends back, independent of the HTTP library of each shell.

use serde_json::json;

/// A request as either shell received it.
#[derive(Debug, Clone, Default)]
pub struct ProxyRequest {
    /// HTTP method.
    pub method: String,
    /// Path, as sent (percent-encoded).
    pub path: String,
    /// Raw query string without `?`.
    pub query: Option<String>,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: bytes::Bytes,
    /// The caller's address as the platform saw it (the function URL's source IP, the
    /// connection's peer), for `ALLOWED_DATA_ACCESS_IP_BLOCKS`.
    pub client_ip: Option<String>,
}

impl ProxyRequest {
    /// A request as an HTTP library hands it over (both shells use `http` 1.x types).
    pub fn from_parts(parts: &hyper::http::request::Parts, body: bytes::Bytes) -> ProxyRequest {
        ProxyRequest {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
            body,
            client_ip: None,
        }
    }

    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The answer either shell sends back.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// Header naming why the proxy refused or failed a request.
pub const ERROR_HEADER: &str = "x-psoxy-error";

impl ProxyResponse {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A JSON answer with `status`.
    pub fn json(status: u16, body: &serde_json::Value) -> ProxyResponse {
        ProxyResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// An error answer: `{"error":{"code","message"}}` with `X-Psoxy-Error: <code>`.
    pub fn error(status: u16, code: &str, message: &str) -> ProxyResponse {
        let mut r = ProxyResponse::json(
            status,
            &json!({"error": {"code": code, "message": message}}),
        );
        r.headers.push((ERROR_HEADER.into(), code.into()));
        r
    }
}
