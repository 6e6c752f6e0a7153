//! A small HTTP load generator for `bloggo serve` (loopback only, bounded in requests and time).
//!
//! cargo run --release --example loadgen -- ADDR [--path /posts/hello/] [--threads 4]
//!     [--requests 100000] [--seconds 60]
//!
//! Each thread keeps one connection open and sends GETs one after another, rotating desktop,
//! phone and tablet user agents (no bots, so every 200 is a view). Prints the requests
//! acknowledged with 200, requests/s and p50/p99/max latency, and `acknowledged=N` last for scripts.
//!
//! `--fresh 1`: each request on a new connection (`Connection: close`), as a browser opening
//! the site or curl does. `--pause-ms N`: a pause after each request.
//! `--slowloris N`: instead of requests, N connections that each send one byte of a request
//! head every `--trickle-ms` (3000), reconnecting when the server drops them, for `--seconds`;
//! prints the bytes sent and how often the server dropped a connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const AGENTS: [&str; 3] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
];

struct Opts {
    addr: SocketAddr,
    path: String,
    threads: usize,
    requests: usize,
    seconds: u64,
    fresh: bool,
    pause: Duration,
    slowloris: usize,
    trickle: Duration,
}

fn parse() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .ok_or("usage: loadgen ADDR [--path P] [--threads N] [--requests N] [--seconds S]")?
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .map_err(|e| format!("ADDR: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err("loadgen only talks to loopback addresses".into());
    }
    let mut o = Opts {
        addr,
        path: "/posts/hello/".into(),
        threads: 4,
        requests: 100_000,
        seconds: 60,
        fresh: false,
        pause: Duration::ZERO,
        slowloris: 0,
        trickle: Duration::from_secs(3),
    };
    while let Some(flag) = args.next() {
        let v = args.next().ok_or(format!("{flag} needs a value"))?;
        let num = || v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--path" => o.path = v.clone(),
            "--threads" => o.threads = num()?.max(1),
            "--requests" => o.requests = num()?,
            "--seconds" => o.seconds = num()? as u64,
            "--fresh" => o.fresh = num()? != 0,
            "--pause-ms" => o.pause = Duration::from_millis(num()? as u64),
            "--slowloris" => o.slowloris = num()?,
            "--trickle-ms" => o.trickle = Duration::from_millis(num()? as u64),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(o)
}

/// Sends `n` requests on one connection (reconnecting when the server closes it).
fn run_thread(o: &Opts, t: usize, n: usize, deadline: Instant) -> (usize, usize, Vec<u32>) {
    let mut lat = Vec::with_capacity(n);
    let (mut ok, mut failed) = (0, 0);
    let mut conn: Option<(BufReader<TcpStream>, TcpStream)> = None;
    let mut line = String::new();
    for i in 0..n {
        if Instant::now() > deadline {
            break;
        }
        if conn.is_none() {
            let s = TcpStream::connect(o.addr).expect("connect");
            s.set_nodelay(true).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            conn = Some((BufReader::new(s.try_clone().unwrap()), s));
        }
        let (r, w) = conn.as_mut().unwrap();
        let req = format!(
            "GET {} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: {}\r\n{}\r\n",
            o.path,
            AGENTS[(t + i) % AGENTS.len()],
            if o.fresh { "Connection: close\r\n" } else { "" }
        );
        let start = Instant::now();
        let mut status = 0;
        let mut len = 0usize;
        let mut close = false;
        let good = w.write_all(req.as_bytes()).is_ok() && {
            line.clear();
            let mut good = r.read_line(&mut line).map(|n| n > 0).unwrap_or(false);
            status = line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            while good {
                line.clear();
                good = r.read_line(&mut line).map(|n| n > 0).unwrap_or(false);
                let l = line.trim_end().to_ascii_lowercase();
                if l.is_empty() {
                    break;
                }
                if let Some(v) = l.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if l == "connection: close" {
                    close = true;
                }
            }
            good && r
                .by_ref()
                .take(len as u64)
                .read_to_end(&mut Vec::new())
                .is_ok()
        };
        lat.push(start.elapsed().as_micros() as u32);
        if good && status == 200 {
            ok += 1;
        } else {
            failed += 1;
        }
        if !good || close || o.fresh {
            conn = None;
        }
        if !o.pause.is_zero() {
            std::thread::sleep(o.pause);
        }
    }
    (ok, failed, lat)
}

/// Slowloris: `n` connections each sending one byte of a request head every `trickle`,
/// reconnecting when dropped, until `deadline`. Returns (bytes sent, connections dropped).
fn slowloris(o: &Opts, deadline: Instant) -> (usize, usize) {
    const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
    let connect = || TcpStream::connect_timeout(&o.addr, Duration::from_secs(2)).ok();
    let mut conns: Vec<(Option<TcpStream>, usize)> =
        (0..o.slowloris).map(|_| (connect(), 0)).collect();
    let (mut sent, mut dropped) = (0, 0);
    while Instant::now() < deadline {
        let round = Instant::now();
        for (c, at) in conns.iter_mut() {
            let byte = HEAD.get(*at).copied().unwrap_or(b'a');
            if c.as_mut().is_some_and(|s| s.write_all(&[byte]).is_ok()) {
                *at += 1;
                sent += 1;
            } else {
                dropped += 1;
                *c = connect();
                *at = 0;
            }
        }
        while round.elapsed() < o.trickle && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    (sent, dropped)
}

fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    if o.slowloris > 0 {
        let (sent, dropped) = slowloris(&o, deadline);
        println!(
            "slowloris: {} connections for {} s, one byte each every {} ms: {sent} bytes sent, {dropped} connections dropped by the server",
            o.slowloris,
            o.seconds,
            o.trickle.as_millis()
        );
        return;
    }
    let per = o.requests / o.threads;
    let started = Instant::now();
    let results: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..o.threads)
            .map(|t| {
                let o = &o;
                s.spawn(move || run_thread(o, t, per, deadline))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let ok: usize = results.iter().map(|r| r.0).sum();
    let failed: usize = results.iter().map(|r| r.1).sum();
    let mut lat: Vec<u32> = results.into_iter().flat_map(|r| r.2).collect();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{} threads, {} requests in {:.2} s: {:.0} requests/s; latency p50 {} µs, p99 {} µs, max {} µs; failed {}",
        o.threads,
        ok + failed,
        elapsed,
        (ok + failed) as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        lat.last().copied().unwrap_or(0),
        failed
    );
    println!("acknowledged={ok}");
}
