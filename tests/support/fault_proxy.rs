//! A fault-injecting HTTP/1.1 proxy for the S3 tests: it sits on 127.0.0.1 between an
//! aws-sdk-s3 client and the test S3 server ([`super::s3_server`]), forwards every request and
//! answer byte for byte, and, when a [`Rule`] says so, replaces the answer to a request with a
//! fault: a connection reset, a well-formed S3 `InternalError` (500) or `SlowDown` (503), a
//! stall, or (for `GetObject`) an answer whose body is cut short by a reset.
//!
//! The client is pointed at the proxy's address, so the `Host` header it signs (SigV4) is the
//! proxy's; as the proxy never changes a request byte, the server checks the signature over
//! exactly what was signed (s3s does not compare `Host` with its own address).
//!
//! Each client connection gets its own upstream connection (opened when the first request has
//! to be forwarded), and requests on it are handled one at a time, as HTTP/1.1 keep-alive
//! without pipelining has them: the whole request (head and body, `Content-Length` or
//! `chunked`) is read from the client, classified ([`Kind`]), counted, then either forwarded
//! with its answer streamed back, or answered with the fault. Anything the proxy cannot parse
//! ends that connection (the client sees it closed); nothing panics.
//!
//! The proxy runs on its own thread and tokio runtime, like the server, so a test's runtime
//! and its blocking threads do not affect it. Dropping the [`FaultProxy`] stops it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::TcpStream;

/// Largest request or response head (request or status line and headers) the proxy accepts.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body the proxy buffers (a part of a multipart upload is at most a few MiB
/// in the tests).
const MAX_BODY: u64 = 256 * 1024 * 1024;

/// What an S3 request does, as far as the proxy can tell from the method, path and query
/// (path-style addressing: `/bucket` or `/bucket/key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `GET /bucket/key` without a sub-resource query.
    GetObject,
    /// `HEAD /bucket/key`.
    HeadObject,
    /// `PUT /bucket/key` without `partNumber` / `uploadId`.
    PutObject,
    /// `POST /bucket/key?uploads`.
    CreateMultipartUpload,
    /// `PUT /bucket/key?partNumber=N&uploadId=ID`.
    UploadPart,
    /// `POST /bucket/key?uploadId=ID`.
    CompleteMultipartUpload,
    /// `DELETE /bucket/key?uploadId=ID`.
    AbortMultipartUpload,
    /// Anything else (bucket operations, listings, deletes).
    Other,
}

impl Kind {
    /// Classifies a request by its method and request target.
    pub fn classify(method: &str, target: &str) -> Kind {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let params: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').map_or(p, |(name, _)| name))
            .collect();
        let has = |name: &str| params.contains(&name);
        // `/bucket/key...`: an object when something follows the bucket.
        let on_object = path
            .trim_start_matches('/')
            .split_once('/')
            .is_some_and(|(_, key)| !key.is_empty());
        if !on_object {
            return Kind::Other;
        }
        match method {
            "GET" if params.is_empty() || params.iter().all(|p| p.starts_with("response-")) => {
                Kind::GetObject
            }
            "GET" if has("x-id") && !has("uploadId") && !has("tagging") && !has("acl") => {
                Kind::GetObject
            }
            "HEAD" => Kind::HeadObject,
            "PUT" if has("partNumber") && has("uploadId") => Kind::UploadPart,
            "PUT" if !has("tagging") && !has("acl") && !has("retention") => Kind::PutObject,
            "POST" if has("uploads") => Kind::CreateMultipartUpload,
            "POST" if has("uploadId") => Kind::CompleteMultipartUpload,
            "DELETE" if has("uploadId") => Kind::AbortMultipartUpload,
            _ => Kind::Other,
        }
    }
}

/// What the proxy does instead of (or to) the normal answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Reads the request, does not forward it, and resets the connection (TCP RST): the
    /// server never sees the request, the client sees its connection torn down.
    Reset,
    /// Forwards the request, waits for the server's answer, and resets the connection instead
    /// of passing the answer on: the server did the work, the client never learns it.
    ResetAfterForward,
    /// Answers `500 Internal Server Error` with S3's `InternalError` XML body (not forwarded).
    InternalError,
    /// Answers `503 Slow Down` with S3's `SlowDown` XML body (not forwarded).
    SlowDown,
    /// Holds the request for this long, then forwards it (if the client is still there: a
    /// client that gave up and closed the connection has the request dropped, not forwarded).
    Stall(Duration),
    /// Forwards the request and passes on the answer's head and only this many bytes of its
    /// body, then resets the connection (meant for `GetObject`).
    TruncateBody(u64),
    /// Forwards the request and passes on the answer's head and this many bytes of its body,
    /// then sends nothing more for the duration (the connection stays open), then resets.
    StallBody(u64, Duration),
}

/// Which of the requests of a kind a [`Rule`] applies to (counted from 1, per kind, over the
/// proxy's lifetime or since [`FaultProxy::set_rules`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The `from`th to the `to`th requests, inclusive.
    Range { from: u64, to: u64 },
    /// Every `n`th request (the `n`th, `2n`th, ...).
    Every(u64),
    /// Every request.
    All,
}

impl Which {
    fn matches(self, nth: u64) -> bool {
        match self {
            Which::Range { from, to } => (from..=to).contains(&nth),
            Which::Every(n) => n > 0 && nth.is_multiple_of(n),
            Which::All => true,
        }
    }
}

/// Requests of `kind` picked by `which` get `fault`. The first rule that matches a request
/// decides; a request no rule matches is forwarded unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub kind: Kind,
    pub which: Which,
    pub fault: Fault,
    /// Only requests that are the first attempt of their operation (the SDK's
    /// `amz-sdk-request: attempt=1` header): an operation is then never faulted twice, so
    /// every faulted operation succeeds on its first retry, however requests interleave.
    pub first_attempts_only: bool,
}

impl Rule {
    /// The same rule, applied only to first attempts (see [`Rule::first_attempts_only`]).
    pub fn on_first_attempts(mut self) -> Rule {
        self.first_attempts_only = true;
        self
    }

    /// The first `n` requests of `kind`.
    pub fn first(kind: Kind, n: u64, fault: Fault) -> Rule {
        Rule {
            kind,
            which: Which::Range { from: 1, to: n },
            fault,
            first_attempts_only: false,
        }
    }

    /// The `from`th to `to`th requests of `kind` (inclusive, from 1).
    pub fn nth(kind: Kind, from: u64, to: u64, fault: Fault) -> Rule {
        Rule {
            kind,
            which: Which::Range { from, to },
            fault,
            first_attempts_only: false,
        }
    }

    /// Every `n`th request of `kind`.
    pub fn every(kind: Kind, n: u64, fault: Fault) -> Rule {
        Rule {
            kind,
            which: Which::Every(n),
            fault,
            first_attempts_only: false,
        }
    }

    /// Every request of `kind`.
    pub fn always(kind: Kind, fault: Fault) -> Rule {
        Rule {
            kind,
            which: Which::All,
            fault,
            first_attempts_only: false,
        }
    }
}

/// Rules and counters, shared by the connections.
#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    /// Requests seen per kind (counted when the whole request has been read).
    seen: HashMap<Kind, u64>,
    /// Faults injected per kind.
    injected: HashMap<Kind, u64>,
    /// Requests seen per kind since the rules were last set (what [`Which`] counts).
    since_rules: HashMap<Kind, u64>,
}

impl State {
    /// Counts a request of `kind` and returns the fault it gets, if any.
    fn on_request(&mut self, kind: Kind, first_attempt: bool) -> Option<Fault> {
        *self.seen.entry(kind).or_default() += 1;
        let nth = {
            let n = self.since_rules.entry(kind).or_default();
            *n += 1;
            *n
        };
        let fault = self
            .rules
            .iter()
            .find(|r| {
                r.kind == kind && r.which.matches(nth) && (first_attempt || !r.first_attempts_only)
            })
            .map(|r| r.fault);
        if fault.is_some() {
            *self.injected.entry(kind).or_default() += 1;
        }
        fault
    }
}

/// A running proxy. Dropping it stops accepting connections and ends the open ones.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`: point the client here.
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl FaultProxy {
    /// Starts a proxy on a free port of 127.0.0.1 forwarding to `upstream` (an
    /// `http://127.0.0.1:PORT` endpoint), with no rules: everything is forwarded.
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream: SocketAddr = upstream
            .strip_prefix("http://")
            .unwrap_or(upstream)
            .trim_end_matches('/')
            .parse()
            .expect("upstream is http://IP:PORT");
        assert!(
            upstream.ip().is_loopback(),
            "the proxy only talks to 127.0.0.1"
        );
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("listener address");
        let state = Arc::new(Mutex::new(State::default()));
        let (shutdown_tx, mut shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let shared = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("proxy runtime");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    loop {
                        tokio::select! {
                            _ = &mut shutdown_rx => break,
                            accepted = listener.accept() => {
                                let Ok((client, _)) = accepted else { continue };
                                let state = Arc::clone(&shared);
                                tokio::spawn(async move {
                                    // A failed connection only ends that connection.
                                    let _ = serve_connection(client, upstream, state).await;
                                });
                            }
                        }
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .expect("proxy thread");
        FaultProxy {
            endpoint: format!("http://{addr}"),
            state,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the rules; [`Which`] counts requests from here on.
    pub fn set_rules(&self, rules: Vec<Rule>) {
        let mut state = self.state();
        state.rules = rules;
        state.since_rules.clear();
    }

    /// Removes every rule: everything is forwarded from now on.
    pub fn clear_rules(&self) {
        self.set_rules(Vec::new());
    }

    /// Requests of `kind` seen so far (faulted or not).
    pub fn seen(&self, kind: Kind) -> u64 {
        self.state().seen.get(&kind).copied().unwrap_or(0)
    }

    /// Faults injected so far into requests of `kind`.
    pub fn injected(&self, kind: Kind) -> u64 {
        self.state().injected.get(&kind).copied().unwrap_or(0)
    }

    /// Requests seen per kind, sorted by kind name (for messages).
    pub fn counts(&self) -> Vec<(String, u64, u64)> {
        let state = self.state();
        let mut out: Vec<(String, u64, u64)> = state
            .seen
            .iter()
            .map(|(k, n)| {
                (
                    format!("{k:?}"),
                    *n,
                    state.injected.get(k).copied().unwrap_or(0),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Sets every counter back to zero (the rules stay).
    pub fn reset_counts(&self) {
        let mut state = self.state();
        state.seen.clear();
        state.injected.clear();
        state.since_rules.clear();
    }
}

/// A parsed request or response head, with its raw bytes (forwarded as they are).
struct Head {
    raw: Vec<u8>,
    /// Request line or status line, without CRLF.
    first_line: String,
    /// Header names lower-cased, values trimmed, in order.
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
    }

    fn content_length(&self) -> Option<u64> {
        self.header("content-length")
            .and_then(|v| v.trim().parse().ok())
    }

    /// Whether this is the first attempt of an SDK operation (`amz-sdk-request: attempt=1;
    /// max=3`); a request without the header counts as a first attempt.
    fn is_first_attempt(&self) -> bool {
        self.header("amz-sdk-request").is_none_or(|v| {
            v.split(';')
                .filter_map(|p| p.trim().strip_prefix("attempt="))
                .all(|n| n.trim() == "1")
        })
    }

    fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|c| c.to_ascii_lowercase().contains("close"))
    }
}

/// How a message's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(u64),
    Chunked,
    /// Until the connection closes (a response without length, HTTP/1.0 style).
    UntilClose,
}

fn invalid(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_owned())
}

/// Reads a message head (up to the empty line). `None` on a clean end of stream before any
/// byte: the peer closed an idle keep-alive connection.
async fn read_head<R: AsyncBufRead + Unpin>(r: &mut R) -> std::io::Result<Option<Head>> {
    let mut raw = Vec::new();
    loop {
        let before = raw.len();
        let n = r.read_until(b'\n', &mut raw).await?;
        if n == 0 {
            return if raw.is_empty() {
                Ok(None)
            } else {
                Err(invalid("connection closed inside a message head"))
            };
        }
        if raw.len() > MAX_HEAD {
            return Err(invalid("message head too large"));
        }
        let line = &raw[before..];
        if line == b"\r\n" || line == b"\n" {
            if before == 0 {
                // Stray empty line between messages (allowed by RFC 9112): skip it.
                raw.clear();
                continue;
            }
            break;
        }
    }
    let text = std::str::from_utf8(&raw).map_err(|_| invalid("message head is not UTF-8"))?;
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let first_line = lines.next().unwrap_or("").to_owned();
    let headers = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Some(Head {
        raw,
        first_line,
        headers,
    }))
}

/// Copies a body delimited by `framing` from `r` to `w`, raw (chunk sizes, extensions and
/// trailers included). With `limit`, stops after that many raw bytes and returns `false`;
/// otherwise returns `true` once the whole body was copied.
async fn copy_body<R, W>(
    r: &mut R,
    w: &mut W,
    framing: Framing,
    limit: Option<u64>,
) -> std::io::Result<bool>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut budget = limit.unwrap_or(u64::MAX);
    match framing {
        Framing::Empty => Ok(true),
        Framing::Length(n) => copy_exact(r, w, n, &mut budget).await,
        Framing::UntilClose => {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let want = buf.len().min(usize::try_from(budget).unwrap_or(usize::MAX));
                if want == 0 {
                    return Ok(false);
                }
                let n = r.read(&mut buf[..want]).await?;
                if n == 0 {
                    return Ok(true);
                }
                w.write_all(&buf[..n]).await?;
                budget -= n as u64;
            }
        }
        Framing::Chunked => loop {
            // Chunk size line: hex size, optional extensions.
            let mut line = Vec::new();
            if r.read_until(b'\n', &mut line).await? == 0 {
                return Err(invalid("connection closed inside a chunked body"));
            }
            if !write_budgeted(w, &line, &mut budget).await? {
                return Ok(false);
            }
            let text = std::str::from_utf8(&line).map_err(|_| invalid("bad chunk size"))?;
            let size_text = text.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
            if size == 0 {
                // Trailers, then the final empty line.
                loop {
                    let mut trailer = Vec::new();
                    if r.read_until(b'\n', &mut trailer).await? == 0 {
                        return Err(invalid("connection closed inside chunk trailers"));
                    }
                    if !write_budgeted(w, &trailer, &mut budget).await? {
                        return Ok(false);
                    }
                    if trailer == b"\r\n" || trailer == b"\n" {
                        return Ok(true);
                    }
                }
            }
            // The chunk's data and its CRLF.
            if !copy_exact(r, w, size + 2, &mut budget).await? {
                return Ok(false);
            }
        },
    }
}

/// Writes `data`, or as much of it as `budget` allows (then `false`).
async fn write_budgeted<W: AsyncWrite + Unpin>(
    w: &mut W,
    data: &[u8],
    budget: &mut u64,
) -> std::io::Result<bool> {
    let n = usize::try_from(*budget)
        .unwrap_or(usize::MAX)
        .min(data.len());
    w.write_all(&data[..n]).await?;
    *budget -= n as u64;
    Ok(n == data.len())
}

/// Copies exactly `n` bytes, or stops (`false`) when `budget` runs out.
async fn copy_exact<R, W>(r: &mut R, w: &mut W, n: u64, budget: &mut u64) -> std::io::Result<bool>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut left = n;
    while left > 0 {
        if *budget == 0 {
            return Ok(false);
        }
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            return Err(invalid("connection closed inside a body"));
        }
        let take = chunk
            .len()
            .min(usize::try_from(left.min(*budget)).unwrap_or(usize::MAX));
        w.write_all(&chunk[..take]).await?;
        r.consume(take);
        left -= take as u64;
        *budget -= take as u64;
    }
    Ok(true)
}

/// How a request's body is delimited.
fn request_framing(head: &Head) -> Framing {
    if head.is_chunked() {
        Framing::Chunked
    } else {
        match head.content_length() {
            Some(0) | None => Framing::Empty,
            Some(n) => Framing::Length(n),
        }
    }
}

/// How a response's body is delimited (`method` is the request's).
fn response_framing(method: &str, head: &Head) -> Framing {
    let status: u16 = head
        .first_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if method == "HEAD" || (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::Empty
    } else if head.is_chunked() {
        Framing::Chunked
    } else {
        match head.content_length() {
            Some(0) => Framing::Empty,
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        }
    }
}

/// An S3 error answer: status line, headers with `Content-Length`, XML body.
fn s3_error(status: u16, reason: &str, code: &str, message: &str, request_id: u64) -> Vec<u8> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-{request_id}</RequestId><HostId>fault-proxy</HostId></Error>"
    );
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nx-amz-request-id: fault-{request_id}\r\nx-amz-id-2: fault-proxy\r\nServer: AmazonS3\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Ends the connection with a TCP reset (`SO_LINGER` 0, then close).
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Resolves when the client closes its side (or sends anything unexpected: pipelining is not
/// supported, so that ends the wait too).
async fn client_gone<R: AsyncBufRead + Unpin>(r: &mut R) {
    let _ = r.fill_buf().await;
}

/// Serves one client connection until either side closes it or a fault ends it.
async fn serve_connection(
    client: TcpStream,
    upstream_addr: SocketAddr,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let _ = client.set_nodelay(true);
    let mut client = BufReader::new(client);
    let mut upstream: Option<BufReader<TcpStream>> = None;
    let mut request_id = 0u64;
    loop {
        let Some(head) = read_head(&mut client).await? else {
            return Ok(());
        };
        request_id += 1;
        let mut parts = head.first_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let target = parts.next().unwrap_or("").to_owned();
        let framing = request_framing(&head);
        if let Framing::Length(n) = framing {
            if n > MAX_BODY {
                return Err(invalid("request body too large"));
            }
        }
        // The whole request, raw, as the client sent it.
        let mut request = head.raw.clone();
        copy_body(&mut client, &mut request, framing, None).await?;
        let kind = Kind::classify(&method, &target);
        let fault = state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .on_request(kind, head.is_first_attempt());

        match fault {
            Some(Fault::Reset) => {
                reset(client.into_inner());
                return Ok(());
            }
            Some(Fault::InternalError) => {
                let answer = s3_error(
                    500,
                    "Internal Server Error",
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                    request_id,
                );
                client.get_mut().write_all(&answer).await?;
                continue;
            }
            Some(Fault::SlowDown) => {
                let answer = s3_error(
                    503,
                    "Slow Down",
                    "SlowDown",
                    "Please reduce your request rate.",
                    request_id,
                );
                client.get_mut().write_all(&answer).await?;
                continue;
            }
            Some(Fault::Stall(duration)) => {
                tokio::select! {
                    _ = tokio::time::sleep(duration) => {}
                    _ = client_gone(&mut client) => return Ok(()),
                }
            }
            _ => {}
        }

        // Forward the request (connecting, or reconnecting after the server closed).
        if upstream.is_none() {
            let stream = TcpStream::connect(upstream_addr).await?;
            let _ = stream.set_nodelay(true);
            upstream = Some(BufReader::new(stream));
        }
        let Some(server) = upstream.as_mut() else {
            return Ok(());
        };
        server.get_mut().write_all(&request).await?;

        // The answer: interim 1xx answers are passed on, then the final one.
        let answer_head = loop {
            let Some(h) = read_head(server).await? else {
                return Err(invalid(
                    "the server closed the connection without answering",
                ));
            };
            let interim = h
                .first_line
                .split_whitespace()
                .nth(1)
                .is_some_and(|s| s.starts_with('1') && s != "101");
            if interim {
                client.get_mut().write_all(&h.raw).await?;
                continue;
            }
            break h;
        };
        let answer_framing = response_framing(&method, &answer_head);

        match fault {
            Some(Fault::ResetAfterForward) => {
                // Let the server finish its answer first, so it has done all the work.
                copy_body(server, &mut tokio::io::sink(), answer_framing, None).await?;
                reset(client.into_inner());
                return Ok(());
            }
            Some(Fault::TruncateBody(keep)) => {
                client.get_mut().write_all(&answer_head.raw).await?;
                copy_body(server, client.get_mut(), answer_framing, Some(keep)).await?;
                client.get_mut().flush().await?;
                reset(client.into_inner());
                return Ok(());
            }
            Some(Fault::StallBody(keep, duration)) => {
                client.get_mut().write_all(&answer_head.raw).await?;
                copy_body(server, client.get_mut(), answer_framing, Some(keep)).await?;
                client.get_mut().flush().await?;
                tokio::select! {
                    _ = tokio::time::sleep(duration) => {}
                    _ = client_gone(&mut client) => {}
                }
                reset(client.into_inner());
                return Ok(());
            }
            _ => {}
        }

        client.get_mut().write_all(&answer_head.raw).await?;
        let complete = copy_body(server, client.get_mut(), answer_framing, None).await?;
        client.get_mut().flush().await?;
        if !complete || answer_framing == Framing::UntilClose || answer_head.wants_close() {
            return Ok(());
        }
        if head.wants_close() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn requests_are_classified_by_method_and_query() {
        let cases = [
            ("GET", "/input/a/b.csv?x-id=GetObject", Kind::GetObject),
            ("GET", "/input/a.csv", Kind::GetObject),
            ("HEAD", "/input/a.csv", Kind::HeadObject),
            ("GET", "/input?list-type=2", Kind::Other),
            ("GET", "/output?uploads", Kind::Other),
            ("PUT", "/output/a.csv?x-id=PutObject", Kind::PutObject),
            ("PUT", "/output", Kind::Other),
            (
                "PUT",
                "/output/a.csv?x-id=UploadPart&partNumber=2&uploadId=abc",
                Kind::UploadPart,
            ),
            ("POST", "/output/a.csv?uploads", Kind::CreateMultipartUpload),
            (
                "POST",
                "/output/a.csv?uploadId=abc",
                Kind::CompleteMultipartUpload,
            ),
            (
                "DELETE",
                "/output/a.csv?x-id=AbortMultipartUpload&uploadId=abc",
                Kind::AbortMultipartUpload,
            ),
            ("DELETE", "/output/a.csv?x-id=DeleteObject", Kind::Other),
        ];
        for (method, target, kind) in cases {
            assert_eq!(Kind::classify(method, target), kind, "{method} {target}");
        }
    }
}
