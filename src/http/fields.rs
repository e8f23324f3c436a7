//! Schemas of the text fields the domain checks with rules of its own (names, e-mail addresses,
//! passwords, time zones), so the OpenAPI document states exactly what the server accepts.
//! Request types point at them with `#[schema(value_type = …)]`; the Rust fields stay strings
//! and the domain parsers stay the single source of the rules (tests below hold the two
//! together).

use std::borrow::Cow;

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// Control characters (Unicode category Cc, Rust's `char::is_control`), as a regex class body.
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";
/// Whitespace that `str::trim` removes and that is not a control character.
const SPACE: &str = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Whitespace that is also a control character (tab, line breaks, NEL): trimmed at either end.
const CONTROL_SPACE: &str = r"\t\n\u000b\u000c\r\u0085";
/// Characters whose lower case has an ASCII letter or digit, so an organization name with one
/// has a slug.
const SLUG_CHAR: &str = r"A-Za-z0-9\u0130\u212a";

/// Text as `validation::text` takes it: surrounding whitespace is trimmed; what remains has no
/// control character and at least one character.
fn text_pattern() -> String {
    let edge = format!("[{SPACE}{CONTROL_SPACE}]*");
    let solid = format!("[^{CONTROL}{SPACE}]");
    format!("^{edge}{solid}([^{CONTROL}]*{solid})?{edge}$")
}

/// As `text_pattern`, with at least two characters after trimming, one of them giving the slug a
/// letter or digit.
fn org_name_pattern() -> String {
    let edge = format!("[{SPACE}{CONTROL_SPACE}]*");
    let solid = format!("[^{CONTROL}{SPACE}]");
    let any = format!("[^{CONTROL}]*");
    let slug = format!("[{SLUG_CHAR}]");
    format!("^{edge}({slug}{any}{solid}|{solid}{any}{slug}|{solid}{any}{slug}{any}{solid}){edge}$")
}

fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

macro_rules! field_schema {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let schema: ObjectBuilder = $schema;
                schema.into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

field_schema!(
    /// A person's or a team's name: 1 to 120 characters after trimming, no control characters.
    Name => string("1 to 120 characters once surrounding whitespace is trimmed; no control characters")
        .max_length(Some(120))
        .pattern(Some(text_pattern()))
        .examples(["Ada Admin"])
);

field_schema!(
    /// An organization's name: 2 to 120 characters after trimming, with a letter or digit.
    OrgName => string("2 to 120 characters once surrounding whitespace is trimmed, with at least one ASCII letter or digit (the slug is made of them); no control characters")
        .max_length(Some(120))
        .pattern(Some(org_name_pattern()))
        .examples(["Acme Sales"])
);

field_schema!(
    /// An e-mail address as `Email::parse` takes it.
    EmailAddress => string("An e-mail address: local part and a domain with a dot; compared in lower case")
        .format(Some(SchemaFormat::Custom("email".into())))
        .max_length(Some(254))
        .examples(["ada@acme.example"])
);

field_schema!(
    /// A new password as `Password::parse` takes it.
    Password => string("10 to 256 characters, not the e-mail address (nor its part before the @)")
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .min_length(Some(10))
        .max_length(Some(256))
);

field_schema!(
    /// An IANA time zone name.
    TimeZone => string("An IANA time zone name, e.g. Europe/Brussels")
        .enum_values(Some(time_zone_names()))
        .examples(["Europe/Brussels"])
);

field_schema!(
    /// A time zone, or an empty string to fall back to the organization's.
    TimeZoneOrEmpty => string("An IANA time zone name, or an empty string for the organization's")
        .enum_values(Some(std::iter::once("").chain(time_zone_names())))
);

field_schema!(
    /// A day of the week, as quiet days are named.
    Weekday => string("A day of the week")
        .enum_values(Some(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]))
);

fn time_zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::accounts::{person_name, slugify, time_zone};
    use crate::domain::validation::text;

    fn matches(pattern: &str, s: &str) -> bool {
        regex::Regex::new(pattern).unwrap().is_match(s)
    }

    const SAMPLES: &[&str] = &[
        "",
        " ",
        "A",
        "Ada",
        " Ada ",
        "\tAda\n",
        "Ada\u{0}",
        "A\u{8e}",
        "a b",
        " a ",
        "ab",
        "\u{3000}x\u{3000}",
        "é",
        "éé",
        "é1",
        "\u{212a}\u{212a}",
        "--",
        "x\ty",
        "\u{85}x",
        "x\u{a0}",
    ];

    #[test]
    fn the_name_pattern_is_the_domain_rule() {
        for s in SAMPLES {
            assert_eq!(
                matches(&text_pattern(), s),
                person_name("name", s).is_ok(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn the_org_name_pattern_is_the_domain_rule() {
        for s in SAMPLES {
            let domain = text("org_name", s, 2, 120).is_ok_and(|n| !slugify(&n).is_empty());
            assert_eq!(matches(&org_name_pattern(), s), domain, "{s:?}");
        }
    }

    #[test]
    fn every_listed_time_zone_parses() {
        for name in time_zone_names() {
            assert!(time_zone("timezone", name).is_ok(), "{name}");
        }
        assert!(time_zone_names().count() > 400);
    }
}
