//! A loopback proxy that adds latency (or faults) in front of a registry, for benchmarks.
//!
//! `cargo run -p monorel-e2e --example latency-proxy -- --listen 5001 --upstream http://127.0.0.1:5000 --delay-ms 100`
//! then point `AWS_ENDPOINT_URL` at `http://127.0.0.1:5001`. `--fault 500|throttle`
//! answers every request with that error instead. `--log FILE` appends one line per
//! request (method, path, query parameter names, `X-Amz-Target`, the body's size and the
//! header names; no header value, no body), so a benchmark can count a command's calls
//! and the bytes they sent. `--upstream` given twice or more spreads the requests over
//! those servers in turn (identical moto servers answering in parallel, as S3 does).
//! Runs until killed.

use monorel_e2e::proxy::{Fault, Proxy};

fn main() {
    let mut listen = "127.0.0.1:0".to_string();
    let mut upstreams = Vec::new();
    let mut fault = Fault::None;
    let mut log = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--listen" => {
                let v = value();
                listen = if v.contains(':') {
                    v
                } else {
                    format!("127.0.0.1:{v}")
                };
            }
            "--upstream" => {
                let v = value();
                let v = v.trim_start_matches("http://").trim_end_matches('/');
                upstreams.push(v.to_string());
            }
            "--delay-ms" => {
                let ms = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--delay-ms takes milliseconds"));
                fault = Fault::DelayMs(ms);
            }
            "--fault" => {
                fault = match value().as_str() {
                    "500" => Fault::Http500,
                    "throttle" => Fault::Throttle,
                    other => usage(&format!("unknown fault {other}; use 500 or throttle")),
                }
            }
            "--log" => log = Some(std::path::PathBuf::from(value())),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if upstreams.is_empty() {
        usage("--upstream is required");
    }
    let upstreams: Vec<&str> = upstreams.iter().map(String::as_str).collect();
    let proxy = Proxy::start_spread(&listen, &upstreams, fault).unwrap_or_else(|e| {
        eprintln!("error: cannot listen on {listen}: {e}");
        std::process::exit(1)
    });
    if let Some(path) = log {
        if let Err(e) = proxy.log_to(&path) {
            eprintln!(
                "error: cannot write the request log {}: {e}",
                path.display()
            );
            std::process::exit(1)
        }
    }
    println!("{}", proxy.endpoint);
    loop {
        std::thread::park();
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("error: {problem}");
    }
    eprintln!("usage: latency-proxy --upstream http://HOST:PORT [--upstream …] [--listen PORT] [--delay-ms N | --fault 500|throttle] [--log FILE]");
    std::process::exit(2)
}
