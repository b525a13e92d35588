//! A real loopback HTTP proxy in front of moto, for fault and latency tests.
//!
//! It forwards every request byte for byte to the upstream server (one upstream
//! connection per request, `Connection: close` on both sides so framing stays trivial)
//! and can instead answer with an injected fault: an HTTP 500, or ECR's throttling or
//! expired-token error in its real awsJson1.1 wire format, or S3's in its REST-XML one. It
//! never imitates a successful answer. It also records each request's `X-Amz-Target` (the
//! API operation of a JSON API), and every request's method, path, headers and body size
//! ([`Proxy::requests`]), so tests can count calls and check the headers a REST API such
//! as S3 gets (the conditional-copy headers that moto ignores).
//!
//! [`Proxy::log_to`] also writes one line per request to a file (method, path, the names
//! of the query parameters, `X-Amz-Target`, the body's size and the header names: never
//! a header value or a body, so no credential or signature), so a benchmark can count the
//! calls of a real command and the bytes they sent.
//!
//! [`Proxy::start_spread`] forwards to several upstreams in turn (one connection each, so
//! one request each): identical moto servers behind it answer in parallel, as S3 does,
//! where one moto answers one request at a time (benchmarks only; see docs/benchmarks.md).
//!
//! [`BlackHole`] is the other bad server: it accepts connections and never answers.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the proxy does with the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward untouched.
    None,
    /// Answer HTTP 500 with an empty JSON body.
    Http500,
    /// Answer HTTP 400 `ThrottlingException`, as ECR does when over its quota.
    Throttle,
    /// Answer HTTP 400 `ExpiredTokenException`, as AWS does for expired session
    /// credentials (an SSO or assumed-role session that ran out).
    ExpiredToken,
    /// Wait this many milliseconds, then forward.
    DelayMs(u64),
    /// Answer HTTP 429 with Docker Hub's rate-limit headers (`ratelimit-limit`,
    /// `ratelimit-remaining`, `retry-after`) and a distribution `TOOMANYREQUESTS` body.
    RateLimited,
    /// Answer HTTP 503 `SlowDown`, as S3 does when a prefix gets too many requests.
    S3SlowDown,
    /// Answer HTTP 400 `ExpiredToken` in S3's XML, as S3 does for expired session
    /// credentials.
    S3ExpiredToken,
    /// Answer HTTP 403 `AccessDenied` in S3's XML, as S3 does when a policy denies the
    /// request.
    S3AccessDenied,
    /// Answer HTTP 412 `PreconditionFailed` in S3's XML, as S3 does for an authorised
    /// request whose precondition does not hold (moto ignores a copy's preconditions).
    S3PreconditionFailed,
}

/// One request the proxy saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// `GET`, `HEAD`, `PUT`, …
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The size of the request body in bytes.
    pub body_len: usize,
}

impl Recorded {
    /// The value of header `name` (any case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

struct Shared {
    fault: Mutex<Fault>,
    /// When set, the fault hits only requests of this operation (`X-Amz-Target` suffix).
    only: Mutex<Option<String>>,
    /// When set, the fault hits only requests that carry this header (REST APIs: S3's
    /// `CopyObject` is the `PUT` with `x-amz-copy-source`).
    only_header: Mutex<Option<String>>,
    targets: Mutex<Vec<String>>,
    requests: Mutex<Vec<Recorded>>,
    log: Mutex<Option<File>>,
    /// Requests being served now, and the most at once so far.
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    stop: AtomicBool,
}

/// A running proxy; stopped on drop.
pub struct Proxy {
    shared: Arc<Shared>,
    /// The proxy's port on 127.0.0.1.
    pub port: u16,
    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub endpoint: String,
}

impl Proxy {
    /// Listens on `listen` (`127.0.0.1:0` for any free port) and forwards to `upstream`
    /// (`host:port`).
    pub fn start(listen: &str, upstream: &str, fault: Fault) -> std::io::Result<Proxy> {
        Proxy::start_spread(listen, &[upstream], fault)
    }

    /// Like [`Proxy::start`], forwarding each connection to the next of `upstreams` in
    /// turn (servers holding the same data, so any of them may answer any request).
    pub fn start_spread(listen: &str, upstreams: &[&str], fault: Fault) -> std::io::Result<Proxy> {
        if upstreams.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "no upstream to forward to",
            ));
        }
        let listener = TcpListener::bind(listen)?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            fault: Mutex::new(fault),
            only: Mutex::new(None),
            only_header: Mutex::new(None),
            targets: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            log: Mutex::new(None),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let upstreams: Vec<String> = upstreams.iter().map(|u| u.to_string()).collect();
        let accept_shared = Arc::clone(&shared);
        thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                if accept_shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&accept_shared);
                let upstream = upstreams[n % upstreams.len()].clone();
                thread::spawn(move || {
                    let _ = serve(stream, &upstream, &shared);
                });
            }
        });
        Ok(Proxy {
            shared,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Changes what the proxy does from the next request on (for every operation, unless
    /// [`Proxy::set_fault_for`] names one).
    pub fn set_fault(&self, fault: Fault) {
        *self.shared.only.lock().expect("only lock") = None;
        *self.shared.only_header.lock().expect("only_header lock") = None;
        *self.shared.fault.lock().expect("fault lock") = fault;
    }

    /// Forwards everything again.
    pub fn clear_fault(&self) {
        self.set_fault(Fault::None);
    }

    /// Injects `fault` into requests of one JSON-API operation only (its `X-Amz-Target`
    /// ends with `.operation`), forwarding the others: a mutating call can fail while
    /// the reads before it succeed.
    pub fn set_fault_for(&self, operation: &str, fault: Fault) {
        *self.shared.only.lock().expect("only lock") = Some(format!(".{operation}"));
        *self.shared.fault.lock().expect("fault lock") = fault;
    }

    /// Injects `fault` into the requests that carry header `name` only, forwarding the
    /// others (a REST API's operation is told by its headers, not by `X-Amz-Target`).
    pub fn set_fault_for_header(&self, name: &str, fault: Fault) {
        *self.shared.only.lock().expect("only lock") = None;
        *self.shared.only_header.lock().expect("only_header lock") = Some(name.to_string());
        *self.shared.fault.lock().expect("fault lock") = fault;
    }

    /// Returns the API operations seen so far (`X-Amz-Target` without the service prefix).
    pub fn operations(&self) -> Vec<String> {
        self.shared
            .targets
            .lock()
            .expect("targets lock")
            .iter()
            .map(|t| t.rsplit('.').next().unwrap_or(t).to_string())
            .collect()
    }

    /// Forgets the operations (and requests) seen so far.
    pub fn clear_operations(&self) {
        self.shared.targets.lock().expect("targets lock").clear();
        self.shared.requests.lock().expect("requests lock").clear();
    }

    /// Returns every request seen so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().expect("requests lock").clone()
    }

    /// The most requests the proxy was serving at the same moment so far (from the
    /// request read to the answer written): with a delay longer than a client needs to
    /// send its batch, the client's concurrency, observed without timing anything.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Appends one line per request from now on to `path` ([`log_line`]); the file is
    /// created if missing.
    pub fn log_to(&self, path: &std::path::Path) -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        *self.shared.log.lock().expect("log lock") = Some(file);
        Ok(())
    }

    /// Returns each request's method and target so far (`HEAD /v2/…`), for HTTP APIs
    /// without an operation header (the OCI distribution API).
    pub fn request_lines(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .map(|r| format!("{} {}", r.method, r.target))
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One HTTP request: its head (without the final blank line) and body.
struct Request {
    head: Vec<String>,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let length = header(&head, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(Request { head, body }))
}

/// One request as a log line: `METHOD /path?name&name X-Amz-Target body=N headers=a,b`
/// (`-` without the target header; N the body's size in bytes; the header names, in
/// lower case, in the order sent). Query values are dropped (a presigned URL carries its
/// signature there), and so are header values (`Authorization`, `X-Amz-Security-Token`)
/// and the body itself: the line names a call and its size, never its content.
pub fn log_line(request: &Recorded) -> String {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((request.target.as_str(), ""));
    let names: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split('=').next().unwrap_or(p))
        .collect();
    let query = if names.is_empty() {
        String::new()
    } else {
        format!("?{}", names.join("&"))
    };
    let target = request.header("x-amz-target").unwrap_or("-");
    // The line is for counting: keep it one line whatever the client sent.
    let names: Vec<&str> = request.headers.iter().map(|(k, _)| k.as_str()).collect();
    format!(
        "{} {path}{query} {target} body={} headers={}",
        request.method,
        request.body_len,
        names.join(",")
    )
    .chars()
    .map(|c| if c.is_control() { '?' } else { c })
    .collect()
}

fn header<'h>(head: &'h [String], name: &str) -> Option<&'h str> {
    head.iter().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then_some(value.trim())
    })
}

/// Rewrites a head so the connection closes after this message.
fn closing(head: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, line) in head.iter().enumerate() {
        let name = line.split(':').next().unwrap_or("").trim();
        if i > 0
            && (name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("keep-alive"))
        {
            continue;
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out
}

fn serve(client: TcpStream, upstream: &str, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let Some(request) = read_request(&mut reader)? else {
        return Ok(());
    };
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let answered = answer(client, request, upstream, shared);
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    answered
}

/// A fault's whole answer: the status, the header lines (each ending in CRLF) and the
/// body, in the service's real wire format; `None` for the faults that forward.
fn canned(fault: Fault) -> Option<(&'static str, &'static str, &'static [u8])> {
    Some(match fault {
        Fault::Http500 => (
            "500 Internal Server Error",
            "Content-Type: application/x-amz-json-1.1\r\n",
            b"{}",
        ),
        Fault::Throttle => (
            "400 Bad Request",
            "Content-Type: application/x-amz-json-1.1\r\nx-amzn-errortype: ThrottlingException\r\n",
            br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        ),
        Fault::ExpiredToken => (
            "400 Bad Request",
            "Content-Type: application/x-amz-json-1.1\r\nx-amzn-errortype: ExpiredTokenException\r\nx-amzn-requestid: 3f1c7c2e-0000-4000-8000-000000000000\r\n",
            br#"{"__type":"ExpiredTokenException","message":"The security token included in the request is expired"}"#,
        ),
        Fault::RateLimited => (
            "429 Too Many Requests",
            "Content-Type: application/json\r\nratelimit-limit: 100;w=21600\r\nratelimit-remaining: 0;w=21600\r\nretry-after: 3600\r\n",
            br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}"#,
        ),
        Fault::S3SlowDown => (
            "503 Slow Down",
            "Content-Type: application/xml\r\n",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>",
        ),
        Fault::S3ExpiredToken => (
            "400 Bad Request",
            "Content-Type: application/xml\r\n",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>",
        ),
        Fault::S3AccessDenied => (
            "403 Forbidden",
            "Content-Type: application/xml\r\n",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>4442587FB7D0A2F9</RequestId><HostId>vlR7PnpV2Ce81l0PRw6jlUpck7Jo5ZsQjryTjKlc5aLWGVHPZLj5NeC6qMa0emYBDXOo6QBU0Wo=</HostId></Error>",
        ),
        Fault::S3PreconditionFailed => (
            "412 Precondition Failed",
            "Content-Type: application/xml\r\n",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>x-amz-copy-source-If-Match</Condition><RequestId>4442587FB7D0A2F9</RequestId></Error>",
        ),
        Fault::None | Fault::DelayMs(_) => return None,
    })
}

/// Records `request`, then forwards it or answers with the fault.
fn answer(
    mut client: TcpStream,
    request: Request,
    upstream: &str,
    shared: &Shared,
) -> std::io::Result<()> {
    {
        let mut first = request
            .head
            .first()
            .map(String::as_str)
            .unwrap_or("")
            .split(' ');
        let recorded = Recorded {
            method: first.next().unwrap_or("").to_string(),
            target: first.next().unwrap_or("").to_string(),
            headers: request
                .head
                .iter()
                .skip(1)
                .filter_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    Some((key.trim().to_ascii_lowercase(), value.trim().to_string()))
                })
                .collect(),
            body_len: request.body.len(),
        };
        if let Some(file) = shared.log.lock().expect("log lock").as_mut() {
            // One write per line, so concurrent requests never interleave within a line.
            let _ = file.write_all(format!("{}\n", log_line(&recorded)).as_bytes());
        }
        shared
            .requests
            .lock()
            .expect("requests lock")
            .push(recorded);
    }
    if let Some(target) = header(&request.head, "x-amz-target") {
        shared
            .targets
            .lock()
            .expect("targets lock")
            .push(target.to_string());
    }
    let mut fault = *shared.fault.lock().expect("fault lock");
    if let Some(only) = shared.only.lock().expect("only lock").as_deref() {
        if !header(&request.head, "x-amz-target").is_some_and(|t| t.ends_with(only)) {
            fault = Fault::None;
        }
    }
    if let Some(name) = shared
        .only_header
        .lock()
        .expect("only_header lock")
        .as_deref()
    {
        if header(&request.head, name).is_none() {
            fault = Fault::None;
        }
    }
    if let Some((status, headers, body)) = canned(fault) {
        write!(
            client,
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )?;
        client.write_all(body)?;
    } else {
        if let Fault::DelayMs(ms) = fault {
            thread::sleep(Duration::from_millis(ms));
        }
        let mut up = TcpStream::connect(upstream)?;
        up.write_all(&closing(&request.head))?;
        up.write_all(&request.body)?;
        up.flush()?;
        // Read the upstream answer's head, rewrite it to close, pass the rest through.
        let mut up_reader = BufReader::new(up);
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if up_reader.read_line(&mut line)? == 0 {
                break;
            }
            let line = line.trim_end_matches(['\r', '\n']).to_string();
            if line.is_empty() {
                break;
            }
            head.push(line);
        }
        client.write_all(&closing(&head))?;
        let mut rest = Vec::new();
        up_reader.read_to_end(&mut rest)?;
        client.write_all(&rest)?;
    }
    client.flush()?;
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

/// A server that accepts connections and never answers (for timeout tests); stopped on drop.
pub struct BlackHole {
    held: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    port: u16,
}

impl BlackHole {
    /// Starts listening on a free loopback port.
    pub fn start() -> BlackHole {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let held = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_held, thread_stop) = (Arc::clone(&held), Arc::clone(&stop));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    thread_held.lock().expect("held lock").push(stream);
                }
            }
        });
        BlackHole {
            held,
            stop,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
        }
    }

    /// How many connections it has accepted (and is holding).
    pub fn connections(&self) -> usize {
        self.held.lock().expect("held lock").len()
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Returns a loopback address where nothing listens (connection refused).
pub fn closed_endpoint() -> String {
    let port = crate::moto::free_port();
    format!("http://127.0.0.1:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that answers every request `204` (enough to forward through).
    fn upstream() -> u16 {
        named_upstream("any")
    }

    /// An upstream that answers `204` with its own name in a header.
    fn named_upstream(name: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let _ = read_request(&mut reader);
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 204 No Content\r\nX-Upstream: {name}\r\nContent-Length: 0\r\n\r\n"
                );
            }
        });
        port
    }

    #[test]
    fn a_spread_proxy_sends_each_request_to_the_next_upstream() {
        let (a, b) = (named_upstream("a"), named_upstream("b"));
        let (a, b) = (format!("127.0.0.1:{a}"), format!("127.0.0.1:{b}"));
        let proxy = Proxy::start_spread("127.0.0.1:0", &[&a, &b], Fault::None).expect("proxy");
        let mut answered = Vec::new();
        for _ in 0..4 {
            let mut stream = TcpStream::connect(("127.0.0.1", proxy.port)).expect("connect");
            stream
                .write_all(b"HEAD /bucket/key HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("send");
            let mut answer = String::new();
            stream.read_to_string(&mut answer).expect("answer");
            let name = answer
                .lines()
                .find_map(|l| l.strip_prefix("X-Upstream: "))
                .unwrap_or_else(|| panic!("no upstream named in {answer}"));
            answered.push(name.to_string());
        }
        assert_eq!(answered, ["a", "b", "a", "b"]);
        assert!(Proxy::start_spread("127.0.0.1:0", &[], Fault::None).is_err());
    }

    #[test]
    fn the_log_has_one_line_per_request_and_no_secrets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("calls.log");
        let proxy = Proxy::start(
            "127.0.0.1:0",
            &format!("127.0.0.1:{}", upstream()),
            Fault::None,
        )
        .expect("proxy");
        proxy.log_to(&log).expect("log");
        let requests = [
            "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDSECRET/x\r\nX-Amz-Target: AmazonEC2ContainerServiceV20141113.DescribeServices\r\nContent-Length: 11\r\n\r\n{\"secret\":1}",
            "GET /2015-03-31/functions/web/aliases/stg?X-Amz-Signature=deadbeef&Qualifier=3 HTTP/1.1\r\nHost: x\r\nX-Amz-Security-Token: TOKENSECRET\r\n\r\n",
        ];
        for request in requests {
            let mut stream = TcpStream::connect(("127.0.0.1", proxy.port)).expect("connect");
            stream.write_all(request.as_bytes()).expect("send");
            let mut answer = String::new();
            stream.read_to_string(&mut answer).expect("answer");
            assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
        }
        let text = std::fs::read_to_string(&log).expect("read log");
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "POST / AmazonEC2ContainerServiceV20141113.DescribeServices body=11 headers=host,authorization,x-amz-target,content-length",
                "GET /2015-03-31/functions/web/aliases/stg?X-Amz-Signature&Qualifier - body=0 headers=host,x-amz-security-token",
            ]
        );
        for secret in ["AKIDSECRET", "TOKENSECRET", "deadbeef", "secret"] {
            assert!(
                !text.contains(secret),
                "{secret} leaked into the log: {text}"
            );
        }
    }
}
