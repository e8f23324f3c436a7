//! What the e-mails say: a learner's daily nudge, a manager's weekly digest, an invitation and a
//! password reset, each as plain text and as HTML with every value escaped.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::mail::Letter;
use crate::analytics::digest::{Digest, DigestGroup};
use crate::domain::nudges::NudgeText;

/// Who a letter goes to and its fixed parts.
pub struct Envelope<'a> {
    pub to_name: &'a str,
    pub to_email: &'a str,
    /// Reminders and digests only: the one-click unsubscribe URL.
    pub unsubscribe: Option<&'a str>,
    pub message_id: String,
}

/// The daily nudge: how many nuggets wait, the first one's opening, and a link that signs the
/// reader in once.
pub fn nudge(to: Envelope<'_>, words: &NudgeText, sign_in: &str) -> Letter {
    let plain = format!(
        "Hello {name},\n\n{title}. The first one:\n{body}\n\n\
         Answer now (this link signs you in once, for 24 hours):\n{sign_in}\n{footer}",
        name = to.to_name,
        title = words.title,
        body = words.body,
        footer = plain_footer(to.unsubscribe),
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>Hello {name},</p>\
         <p><strong>{title}.</strong> The first one:</p><blockquote>{body}</blockquote>\
         <p><a href=\"{sign_in}\">Answer today's nuggets</a> (the link signs you in once, \
         for 24 hours).</p>{footer}</body></html>",
        name = text(to.to_name),
        title = text(&words.title),
        body = text(&words.body),
        sign_in = attr(sign_in),
        footer = html_footer(to.unsubscribe),
    );
    letter(to, words.title.clone(), plain, html)
}

/// The weekly digest of a manager's teams, with links into the console's analytics.
pub fn digest(to: Envelope<'_>, d: &Digest, console: &str) -> Letter {
    let analytics = format!("{console}/#/hr");
    let subject = format!(
        "Your teams this week: proficiency {}{}, {} at risk",
        percent(d.everyone.proficiency),
        change(d.everyone.proficiency_change),
        d.at_risk_total
    );
    let line = |g: &DigestGroup| {
        format!(
            "{}: proficiency {}{}, {} of {} learners active in the last 7 days",
            g.team,
            percent(g.proficiency),
            change(g.proficiency_change),
            g.active_learners,
            g.learners
        )
    };
    let mut plain = format!(
        "Hello {},\n\nYour teams, week of {}:\n\n",
        to.to_name, d.week_start
    );
    for g in d.teams.iter().chain([&d.everyone]) {
        plain.push_str(&format!("- {}\n", line(g)));
    }
    let unnamed = d.at_risk_total - d.at_risk.len();
    if d.at_risk.is_empty() {
        plain.push_str("\nNobody is about to forget what they learnt.\n");
    } else {
        plain.push_str("\nAbout to forget (predicted recall below 80 % within 7 days):\n");
        for l in &d.at_risk {
            plain.push_str(&format!("- {}: {}\n", l.learner, l.topics.join(", ")));
        }
        if unnamed > 0 {
            plain.push_str(&format!("- and {unnamed} more\n"));
        }
    }
    plain.push_str(&format!(
        "\nSee the details and assign refreshers: {analytics}\n{}",
        plain_footer(to.unsubscribe)
    ));

    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>Hello {},</p>\
         <p>Your teams, week of {}:</p><ul>",
        text(to.to_name),
        d.week_start
    );
    for g in d.teams.iter().chain([&d.everyone]) {
        html.push_str(&format!("<li>{}</li>", text(&line(g))));
    }
    html.push_str("</ul>");
    if d.at_risk.is_empty() {
        html.push_str("<p>Nobody is about to forget what they learnt.</p>");
    } else {
        html.push_str(
            "<p><strong>About to forget</strong> (predicted recall below 80 % within 7 days):</p><ul>",
        );
        for l in &d.at_risk {
            html.push_str(&format!(
                "<li>{}: {}</li>",
                text(&l.learner),
                text(&l.topics.join(", "))
            ));
        }
        if unnamed > 0 {
            html.push_str(&format!("<li>and {unnamed} more</li>"));
        }
        html.push_str("</ul>");
    }
    html.push_str(&format!(
        "<p><a href=\"{}\">See the details and assign refreshers</a></p>{}</body></html>",
        attr(&analytics),
        html_footer(to.unsubscribe)
    ));
    letter(to, subject, plain, html)
}

/// An invitation to set a password and start: the organization's name and the link, which
/// works once within `days`.
pub fn invitation(to: Envelope<'_>, organization: &str, link: &str, days: i64) -> Letter {
    let subject = format!("You are invited to {organization} on Reprise");
    let plain = format!(
        "Hello {name},\n\n{organization} invites you to Reprise: a few short questions a day \
         that keep your training fresh.\n\nChoose your password here (the link works once, \
         for {days} days):\n{link}\n",
        name = to.to_name,
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>Hello {name},</p>\
         <p>{org} invites you to Reprise: a few short questions a day that keep your training \
         fresh.</p><p><a href=\"{href}\">Choose your password</a> (the link works once, for \
         {days} days).</p></body></html>",
        name = text(to.to_name),
        org = text(organization),
        href = attr(link),
    );
    letter(to, subject, plain, html)
}

/// A password reset: the link, which works once within `minutes`.
pub fn password_reset(to: Envelope<'_>, link: &str, minutes: i64) -> Letter {
    let subject = "Reset your Reprise password".to_string();
    let plain = format!(
        "Hello {name},\n\nSomeone asked to reset the password of this account. Choose a new \
         one here (the link works once, for {minutes} minutes):\n{link}\n\nIf it was not you, \
         ignore this message: your password stays as it is.\n",
        name = to.to_name,
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>Hello {name},</p>\
         <p>Someone asked to reset the password of this account. <a href=\"{href}\">Choose a \
         new one</a> (the link works once, for {minutes} minutes).</p><p>If it was not you, \
         ignore this message: your password stays as it is.</p></body></html>",
        name = text(to.to_name),
        href = attr(link),
    );
    letter(to, subject, plain, html)
}

fn letter(to: Envelope<'_>, subject: String, plain: String, html: String) -> Letter {
    Letter {
        to_name: to.to_name.into(),
        to_email: to.to_email.into(),
        subject,
        plain,
        html,
        unsubscribe: to.unsubscribe.map(String::from),
        message_id: to.message_id,
    }
}

fn plain_footer(unsubscribe: Option<&str>) -> String {
    unsubscribe.map_or_else(String::new, |u| {
        format!("\nNo more e-mails like this: {u}\n")
    })
}

fn html_footer(unsubscribe: Option<&str>) -> String {
    unsubscribe.map_or_else(String::new, |u| {
        format!(
            "<p style=\"color:#666;font-size:small\"><a href=\"{}\">No more e-mails like this</a></p>",
            attr(u)
        )
    })
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "–".into(), |p| format!("{:.0} %", p * 100.0))
}

/// A change in proficiency, in percentage points.
fn change(c: Option<f64>) -> String {
    c.map_or_else(String::new, |c| format!(" ({:+.0} pts)", c * 100.0))
}
