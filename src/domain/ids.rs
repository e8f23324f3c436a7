//! Typed ids. Every id is UUID v7 text made by the application, so in the database and on the
//! wire they are plain strings; in signatures they are distinct types, so that a learner's id
//! cannot be passed where an organization's is expected, which matters most in functions that
//! take several (`org_id, learner_id, nugget_id`). Queries take them as they take text
//! (`store` lets a typed id stand for a `Text` value); nothing else looks inside.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        /// An id read from a client: any text without control characters (which no id has,
        /// and which PostgreSQL cannot even compare, NUL above all), so an unknown one is
        /// simply not found.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let id = String::deserialize(deserializer)?;
                if id.chars().any(char::is_control) {
                    Err(serde::de::Error::custom("is not an id: it has control characters"))
                } else {
                    Ok($name(id))
                }
            }
        }

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

typed_id!(
    /// An organization (tenant).
    OrgId
);
typed_id!(
    /// A user of an organization, whatever their role; as a learner, the one who answers.
    UserId
);
typed_id!(
    /// A team of an organization.
    TeamId
);
typed_id!(
    /// A content pack (all its versions).
    PackId
);
typed_id!(
    /// One published or draft version of a pack.
    PackVersionId
);
typed_id!(
    /// A nugget: one question of a pack version.
    NuggetId
);
typed_id!(
    /// An assignment of a pack to a team or to learners.
    AssignmentId
);
typed_id!(
    /// An experiment: an assignment's learners split between arms scheduled differently.
    ExperimentId
);
typed_id!(
    /// A refresher: nuggets put back into learners' queues over a few days.
    RefresherId
);
typed_id!(
    /// A coach's note to a seller on a topic.
    NoteId
);
typed_id!(
    /// A manager's field observation of a seller applying a topic.
    ObservationId
);
typed_id!(
    /// One planned nudge: a learner, a channel and a local day.
    NudgeId
);
typed_id!(
    /// A browser's push subscription kept for a learner.
    SubscriptionId
);
typed_id!(
    /// An organization's webhook: a URL and the events it wants.
    WebhookId
);
typed_id!(
    /// One message queued for a webhook; its `webhook-id` header, the same at every retry.
    DeliveryId
);
typed_id!(
    /// A seller's recorded answer to a pitch nugget.
    PitchId
);
typed_id!(
    /// One reviewer's scores of a pitch.
    PitchReviewId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_their_text_on_the_wire() {
        let id = OrgId::new("0190-a");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"0190-a\"");
        let back: OrgId = serde_json::from_str("\"0190-a\"").unwrap();
        assert_eq!(back, id);
        assert_eq!(id.to_string(), "0190-a");
        assert_eq!(id, "0190-a");
    }
}
