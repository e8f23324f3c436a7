//! The load generator: `clients` keep-alive HTTP/1.1 connections over loopback (hyper on tokio),
//! each issuing one request at a time until the time or request budget is spent. Latencies go
//! into an HDR histogram (microseconds).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{header, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

/// A learner as a client sees them: a token and the nuggets of their first queue.
pub struct Learner {
    pub token: String,
    /// (nugget id, option id answered)
    pub nuggets: Vec<(String, String)>,
    /// The next of `nuggets` to answer, over every scenario of a run: each is answered once, so
    /// each answer counts, until a learner has answered them all.
    next: AtomicUsize,
}

/// Who a scenario acts for: learners whose queues are read, and learners who answer.
pub struct Learners {
    pub readers: Vec<Learner>,
    pub answerers: Vec<Learner>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// `GET /healthz`: no auth, no database.
    Health,
    /// `POST /api/v1/me/answers`, a new attempt id every time.
    AnswerWrite,
    /// `GET /api/v1/me/queue`.
    QueueRead,
    /// Four queue reads to one answer.
    Mixed,
}

/// What one scenario measured.
pub struct Outcome {
    pub requests: u64,
    pub errors: u64,
    /// Answers the server took as practice (not counted): none while the answerers have
    /// nuggets left; any means the run outlasted them and measured cheaper writes.
    pub practice: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub latency_us: Histogram<u64>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    pub fn percentile_ms(&self, q: f64) -> f64 {
        self.latency_us.value_at_quantile(q) as f64 / 1000.0
    }
}

type Sender = SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// One request on a client's connection, reconnecting once if the server dropped it.
pub(super) async fn send(
    addr: SocketAddr,
    sender: &mut Option<Sender>,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> anyhow::Result<(StatusCode, Bytes)> {
    if sender.as_ref().is_none_or(|s| s.is_closed()) {
        *sender = Some(connect(addr).await?);
    }
    let s = sender.as_mut().expect("connected above");
    s.ready().await?;
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(b)))?,
        None => req.body(Full::new(Bytes::new()))?,
    };
    let res = s.send_request(req).await?;
    let status = res.status();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

fn answer_body(nugget: &str, option: &str) -> String {
    format!(
        r#"{{"attempt_id":"{}","nugget_id":"{nugget}","selected":["{option}"],"answered_at":"{}","response_ms":9000,"confidence":"sure"}}"#,
        uuid::Uuid::new_v4(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    )
}

/// Fetches every learner's queue once (not timed) to learn which nuggets they may answer.
pub async fn prepare(
    addr: SocketAddr,
    tokens: Vec<String>,
    clients: usize,
) -> anyhow::Result<Vec<Learner>> {
    let tokens = Arc::new(tokens);
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (tokens, next) = (tokens.clone(), next.clone());
            tokio::spawn(async move {
                let mut sender = None;
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(token) = tokens.get(i) else {
                        return anyhow::Ok(out);
                    };
                    let (status, body) = send(
                        addr,
                        &mut sender,
                        Method::GET,
                        "/api/v1/me/queue",
                        Some(token),
                        None,
                    )
                    .await?;
                    anyhow::ensure!(status == StatusCode::OK, "queue: {status}");
                    let queue: serde_json::Value = serde_json::from_slice(&body)?;
                    let nuggets: Vec<(String, String)> = queue["nuggets"]
                        .as_array()
                        .map(|ns| {
                            ns.iter()
                                .filter_map(|n| {
                                    let id = n["nugget_id"].as_str()?.to_string();
                                    let option = n["options"][0]["id"].as_str()?.to_string();
                                    Some((id, option))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    anyhow::ensure!(!nuggets.is_empty(), "a learner's queue is empty");
                    out.push((
                        i,
                        Learner {
                            token: token.clone(),
                            nuggets,
                            next: AtomicUsize::new(0),
                        },
                    ));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, l)| l).collect())
}

/// Runs `scenario` with `clients` connections for `duration` or `max_requests`, whichever ends
/// first. Client `c` only acts for learners `c, c + clients, …` of each group, so no two
/// in-flight answers touch the same memory state.
pub async fn run(
    addr: SocketAddr,
    scenario: Scenario,
    learners: Arc<Learners>,
    clients: usize,
    duration: Duration,
    max_requests: u64,
) -> anyhow::Result<Outcome> {
    let issued = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (learners, issued, first_error) =
                (learners.clone(), issued.clone(), first_error.clone());
            tokio::spawn(async move {
                let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
                let mut sender = None;
                let (mut requests, mut errors, mut practice) = (0u64, 0u64, 0u64);
                let mine: Vec<&Learner> =
                    learners.readers.iter().skip(c).step_by(clients).collect();
                let answering: Vec<&Learner> =
                    learners.answerers.iter().skip(c).step_by(clients).collect();
                let (mut k, mut answers) = (0usize, 0usize);
                while Instant::now() < deadline
                    && issued.fetch_add(1, Ordering::Relaxed) < max_requests
                {
                    let learner = mine[k % mine.len()];
                    let answer = match scenario {
                        Scenario::AnswerWrite => true,
                        Scenario::Mixed => k % 5 == 4,
                        _ => false,
                    };
                    let t0 = Instant::now();
                    let result = match scenario {
                        Scenario::Health => {
                            send(addr, &mut sender, Method::GET, "/healthz", None, None).await
                        }
                        _ if answer => {
                            let learner = answering[answers % answering.len()];
                            answers += 1;
                            let next = learner.next.fetch_add(1, Ordering::Relaxed);
                            let (nugget, option) = &learner.nuggets[next % learner.nuggets.len()];
                            let body = answer_body(nugget, option);
                            let sent = send(
                                addr,
                                &mut sender,
                                Method::POST,
                                "/api/v1/me/answers",
                                Some(&learner.token),
                                Some(body),
                            )
                            .await;
                            if let Ok((_, body)) = &sent {
                                let text = String::from_utf8_lossy(body);
                                practice += u64::from(text.contains("\"counted\":false"));
                            }
                            sent
                        }
                        _ => {
                            send(
                                addr,
                                &mut sender,
                                Method::GET,
                                "/api/v1/me/queue",
                                Some(&learner.token),
                                None,
                            )
                            .await
                        }
                    };
                    let micros = t0.elapsed().as_micros() as u64;
                    hist.saturating_record(micros.max(1));
                    requests += 1;
                    let failure = match result {
                        Ok((status, _)) if status.is_success() => None,
                        Ok((status, body)) => Some(format!(
                            "{status}: {}",
                            String::from_utf8_lossy(&body[..body.len().min(300)])
                        )),
                        Err(e) => {
                            sender = None;
                            Some(e.to_string())
                        }
                    };
                    if let Some(f) = failure {
                        errors += 1;
                        first_error.lock().expect("not poisoned").get_or_insert(f);
                    }
                    k += 1;
                }
                anyhow::Ok((requests, errors, practice, hist))
            })
        })
        .collect();
    let mut latency_us = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut requests, mut errors, mut practice) = (0, 0, 0);
    for t in tasks {
        let (r, e, p, h) = t.await??;
        requests += r;
        errors += e;
        practice += p;
        latency_us.add(&h)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let first_error = first_error.lock().expect("not poisoned").take();
    Ok(Outcome {
        requests,
        errors,
        practice,
        first_error,
        seconds,
        latency_us,
    })
}
