//! E-mail: SMTP through `lettre` when `REPRISE_SMTP_URL` is set, else `.eml` files in a folder
//! (the embedded default, so a demo shows the real messages).
//!
//! Every message is multipart text and HTML, carries `List-Unsubscribe` with a one-click URL
//! (RFC 8058) and a `Message-ID` made from its nudge's id, so a message sent twice after a crash
//! is one message to the mail system.

use std::path::PathBuf;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
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
    pub unsubscribe: String,
    /// Unique per message: `<id@host>`.
    pub message_id: String,
}

impl Mailer {
    /// SMTP at `smtp_url` (`smtp://` with `?tls=required` for STARTTLS, `smtps://` for TLS from
    /// the start, credentials in the URL), else files in `folder` (made now when missing).
    pub fn new(smtp_url: Option<&str>, folder: PathBuf, from: &str) -> Result<Mailer, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("REPRISE_MAIL_FROM is not an address: {e}"))?;
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("REPRISE_SMTP_URL: {e}"))?
                    .build(),
            ),
            None => {
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
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&letter.subject)
            .message_id(Some(letter.message_id.clone()))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{}>", letter.unsubscribe),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ))
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
