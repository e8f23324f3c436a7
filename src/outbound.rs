//! The one HTTP client for everything the server calls on a customer's behalf.
//!
//! Every destination is checked against [`EgressPolicy`] twice: when an organization saves the
//! URL ([`Outbound::check_destination`], so the mistake is a 422 naming the field) and again at
//! every request, since a name's addresses can change after it was saved. The client resolves
//! names itself and hands reqwest only the addresses it checked, so the connection goes to an
//! address that passed (no second lookup between check and connect). Redirects are not followed
//! (an allowed host could send the request inside), proxies from the environment are not used
//! (a proxy would resolve the name itself), both the connection and the whole request have a
//! time limit, and a response body is read only up to a small cap.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use crate::domain::egress::{EgressPolicy, EgressRefusal};

/// The most of a response body kept; the rest is not read.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Why an outbound request did not get a response.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("refused: {0}")]
    Refused(#[from] EgressRefusal),
    #[error("{0} does not resolve")]
    Unresolved(String),
    #[error("no response: {0}")]
    Failed(String),
}

/// A response: its status and at most [`MAX_RESPONSE_BYTES`] of its body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Bytes,
}

/// The guarded client. Cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    policy: Arc<EgressPolicy>,
}

impl Outbound {
    /// A client that connects within `connect` and finishes each request within `total`.
    pub fn new(
        policy: EgressPolicy,
        connect: Duration,
        total: Duration,
    ) -> Result<Outbound, OutboundError> {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver {
                policy: policy.clone(),
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(connect)
            .timeout(total)
            .build()
            .map_err(|e| OutboundError::Failed(e.to_string()))?;
        Ok(Outbound { client, policy })
    }

    /// Checks a URL an organization is saving: its form, and the addresses its host resolves
    /// to now. A name that does not resolve at all is accepted (deliveries will retry, and each
    /// is checked again); one that resolves to an address the policy refuses is not.
    pub async fn check_destination(&self, url: &str) -> Result<Url, OutboundError> {
        let parsed = Url::parse(url).map_err(|_| {
            OutboundError::Refused(if self.policy.allow_http {
                EgressRefusal::NotHttp
            } else {
                EgressRefusal::NotHttps
            })
        })?;
        self.policy.check_url(&parsed)?;
        if let Some(url::Host::Domain(host)) = parsed.host() {
            match lookup(host).await {
                Ok(addrs) => self.policy.check_resolved(host, &addrs)?,
                Err(OutboundError::Unresolved(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(parsed)
    }

    /// POSTs a JSON body with basic credentials and extra headers.
    pub async fn post_json<T: serde::Serialize + ?Sized>(
        &self,
        url: &str,
        basic: Option<(&str, &str)>,
        headers: &[(&str, &str)],
        body: &T,
    ) -> Result<Response, OutboundError> {
        let body = serde_json::to_vec(body).map_err(|e| OutboundError::Failed(e.to_string()))?;
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.post(url, basic, &all, body).await
    }

    /// POSTs `body` as it is, with `headers` (a push message, a signed webhook).
    pub async fn post(
        &self,
        url: &str,
        basic: Option<(&str, &str)>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Response, OutboundError> {
        let parsed = Url::parse(url).map_err(|e| OutboundError::Failed(e.to_string()))?;
        // The host's addresses are checked by the resolver as it connects; an address written
        // in the URL never reaches a resolver, so it is checked here.
        self.policy.check_url(&parsed)?;
        let mut request = self.client.post(parsed).body(body);
        if let Some((user, password)) = basic {
            request = request.basic_auth(user, Some(password));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.map_err(request_error)?;
        read_capped(response).await
    }
}

impl Outbound {
    /// Sends a GET or a form POST built elsewhere (an OpenID Connect library's discovery, key
    /// set and token requests), under the same guarantees as every other request here: the
    /// policy checks the URL and the resolver every address, redirects are not followed, the
    /// time limits hold and the body read is capped. Other methods are refused.
    pub async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, OutboundError> {
        let (parts, body) = request.into_parts();
        let parsed =
            Url::parse(&parts.uri.to_string()).map_err(|e| OutboundError::Failed(e.to_string()))?;
        self.policy.check_url(&parsed)?;
        let mut builder = match parts.method {
            http::Method::GET => self.client.get(parsed),
            http::Method::POST => self.client.post(parsed).body(body),
            other => return Err(OutboundError::Failed(format!("{other} is not sent"))),
        };
        for (name, value) in &parts.headers {
            builder = builder.header(name.as_str(), value.as_bytes());
        }
        let response = builder.send().await.map_err(request_error)?;
        let headers = response.headers().clone();
        let read = read_capped(response).await?;
        let mut out = http::Response::builder().status(read.status);
        for (name, value) in &headers {
            out = out.header(name, value);
        }
        out.body(read.body.to_vec())
            .map_err(|e| OutboundError::Failed(e.to_string()))
    }
}

/// reqwest hides the resolver's error inside its own: a refusal found while connecting is
/// reported as the refusal, not as a connection failure.
fn request_error(e: reqwest::Error) -> OutboundError {
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    while let Some(cause) = source {
        if let Some(refusal) = cause.downcast_ref::<EgressRefusal>() {
            return OutboundError::Refused(refusal.clone());
        }
        source = cause.source();
    }
    OutboundError::Failed(e.to_string())
}

async fn read_capped(mut response: reqwest::Response) -> Result<Response, OutboundError> {
    let status = response.status().as_u16();
    let mut body = BytesMut::new();
    while body.len() < MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_RESPONSE_BYTES - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) => break,
            // The status arrived; a body cut short changes nothing the callers rely on.
            Err(_) => break,
        }
    }
    Ok(Response {
        status,
        body: body.freeze(),
    })
}

async fn lookup(host: &str) -> Result<Vec<IpAddr>, OutboundError> {
    let addrs: Vec<IpAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|_| OutboundError::Unresolved(host.to_string()))?
        .map(|a| a.ip())
        .collect();
    if addrs.is_empty() {
        return Err(OutboundError::Unresolved(host.to_string()));
    }
    Ok(addrs)
}

/// Resolves a name and passes on its addresses only if every one of them is allowed.
struct CheckedResolver {
    policy: Arc<EgressPolicy>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = lookup(&host).await?;
            policy.check_resolved(&host, &addrs)?;
            let addrs: Addrs = Box::new(
                addrs
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, 0))
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
            Ok(addrs)
        })
    }
}
