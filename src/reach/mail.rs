//! E-mail: SMTP through `lettre` when `REPRISE_SMTP_URL` is set, else `.eml` files in a folder
//! (the embedded default, so a demo shows the real messages).
//!
//! Every message is multipart text and HTML, carries `List-Unsubscribe` with a one-click URL
//! (RFC 8058) and a `Message-ID` made from its nudge's id, so a message sent twice after a crash
//! is one message to the mail system.

use std::path::{Path, PathBuf};

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

enum Transport {
    Files(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Where mail goes, and who it is from.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The server refused it for good (5xx), or the address is not one.
    #[error("refused: {0}")]
    Permanent(String),
    /// Worth trying again (connection, 4xx).
    #[error("not sent: {0}")]
    Transient(String),
}

/// An e-mail ready to compose: to whom, its subject, its text and HTML bodies (see
/// [`super::letters`]), and where a one-click unsubscribe is POSTed.
pub struct Letter {
    pub to_name: String,
    pub to_email: String,
    pub subject: String,
    pub plain: String,
    pub html: String,
    /// Reminders and digests: where a one-click unsubscribe is POSTed. Account messages
    /// (invitations, password resets) have none: they are not a list.
    pub unsubscribe: Option<String>,
    /// Unique per message: `<id@host>`.
    pub message_id: String,
}

impl Mailer {
    /// SMTP at `smtp_url` (`smtp://` with `?tls=required` for STARTTLS, `smtps://` for TLS from
    /// the start, credentials in the URL), else files in `folder` (made now when missing).
    /// `smtp_ca_file` is a PEM file of certificates trusted beside the system's roots, for a
    /// server whose certificate a private authority signed.
    pub fn new(
        smtp_url: Option<&str>,
        smtp_ca_file: Option<&Path>,
        folder: PathBuf,
        from: &str,
    ) -> Result<Mailer, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("REPRISE_MAIL_FROM is not an address: {e}"))?;
        let transport = match smtp_url {
            Some(url) => {
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("REPRISE_SMTP_URL: {e}"))?;
                if let Some(path) = smtp_ca_file {
                    let pem = std::fs::read(path).map_err(|e| {
                        format!("REPRISE_SMTP_CA_FILE: cannot read {}: {e}", path.display())
                    })?;
                    builder = builder.tls(tls_trusting(url, &pem)?);
                }
                Transport::Smtp(builder.build())
            }
            None => {
                if smtp_ca_file.is_some() {
                    return Err("REPRISE_SMTP_CA_FILE is set but REPRISE_SMTP_URL is not".into());
                }
                if !folder.exists() {
                    crate::store::create_private_dir(&folder)
                        .map_err(|e| format!("cannot make {}: {e}", folder.display()))?;
                }
                Transport::Files(AsyncFileTransport::new(&folder))
            }
        };
        Ok(Mailer { transport, from })
    }

    pub fn compose(&self, letter: &Letter) -> Result<Message, MailError> {
        let to: Mailbox = format!("{} <{}>", letter.to_name, letter.to_email)
            .parse()
            .or_else(|_| letter.to_email.parse())
            .map_err(|e| MailError::Permanent(format!("bad address: {e}")))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&letter.subject)
            .message_id(Some(letter.message_id.clone()));
        if let Some(unsubscribe) = &letter.unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{unsubscribe}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(letter.plain.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(letter.html.clone()),
                    ),
            )
            .map_err(|e| MailError::Permanent(e.to_string()))
    }

    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        match &self.transport {
            Transport::Files(files) => files
                .send(message)
                .await
                .map(drop)
                .map_err(|e| MailError::Transient(e.to_string())),
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| {
                if e.is_permanent() {
                    MailError::Permanent(e.to_string())
                } else {
                    MailError::Transient(e.to_string())
                }
            }),
        }
    }
}

/// The TLS `url` asks for (read as `from_url` reads it: `smtps://`, or `smtp://` with
/// `?tls=required` or `?tls=opportunistic`), with the certificates of `pem` trusted beside the
/// system's roots. A URL without TLS is refused: the file would silently do nothing.
fn tls_trusting(url: &str, pem: &[u8]) -> Result<Tls, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("REPRISE_SMTP_URL: {e}"))?;
    let mode = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let tls: fn(TlsParameters) -> Tls = match (parsed.scheme(), mode.as_deref()) {
        ("smtps", _) => Tls::Wrapper,
        ("smtp", Some("required")) => Tls::Required,
        ("smtp", Some("opportunistic")) => Tls::Opportunistic,
        _ => {
            return Err(
                "REPRISE_SMTP_CA_FILE needs an SMTP URL with TLS: smtps://… or \
                        smtp://…?tls=required"
                    .into(),
            )
        }
    };
    let host = parsed
        .host_str()
        .ok_or("REPRISE_SMTP_URL names no host")?
        .trim_matches(['[', ']']);
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err("REPRISE_SMTP_CA_FILE holds no PEM certificate".into());
    }
    let certificate =
        Certificate::from_pem(pem).map_err(|e| format!("REPRISE_SMTP_CA_FILE: {e}"))?;
    let parameters = TlsParameters::builder(host.to_string())
        .add_root_certificate(certificate)
        .build()
        .map_err(|e| format!("REPRISE_SMTP_CA_FILE: {e}"))?;
    Ok(tls(parameters))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOT_A_CERTIFICATE: &[u8] =
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

    #[test]
    fn extra_roots_need_a_url_with_tls_and_a_certificate() {
        let refused = |url: &str, pem: &[u8]| tls_trusting(url, pem).err().unwrap_or_default();
        assert!(refused("smtp://mail.example:25", NOT_A_CERTIFICATE).contains("with TLS"));
        assert!(refused("smtp://mail.example:587?tls=required", b"not pem").contains("no PEM"));
        let none = Mailer::new(
            None,
            Some(Path::new("ca.pem")),
            PathBuf::from("."),
            "a@b.example",
        );
        assert!(none
            .err()
            .unwrap_or_default()
            .contains("REPRISE_SMTP_URL is not"));
    }
}
