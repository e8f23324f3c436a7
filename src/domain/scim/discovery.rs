//! The discovery documents (RFC 7644 §4): what this service provider supports, its resource
//! types, and the schemas of their attributes. The schemas list only the attributes Reprise
//! keeps and returns, so a client that reads them (a compliance checker, a provider's
//! attribute-mapping screen) is not offered attributes that would be dropped.

use serde_json::{json, Value};

use super::{
    CORE_GROUP, CORE_USER, MAX_PAGE, REPRISE_USER, RESOURCE_TYPE, SCHEMA, SERVICE_PROVIDER_CONFIG,
};

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_PAGE},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The organization's SCIM token (POST /api/v1/org/scim-token), sent as `Authorization: Bearer <token>`.",
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}

pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE],
            "id": "User", "name": "User", "endpoint": "/Users",
            "description": "A person of the organization: a Reprise user",
            "schema": CORE_USER,
            "schemaExtensions": [{"schema": REPRISE_USER, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        json!({
            "schemas": [RESOURCE_TYPE],
            "id": "Group", "name": "Group", "endpoint": "/Groups",
            "description": "A team of the organization; its members are users",
            "schema": CORE_GROUP,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ]
}

/// One attribute definition (RFC 7643 §7) with the defaults most attributes share.
fn attr(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": false, "description": description,
        "required": false, "caseExact": false, "mutability": "readWrite",
        "returned": "default", "uniqueness": "none",
    })
}

fn with(mut attribute: Value, changes: Value) -> Value {
    if let (Some(a), Value::Object(c)) = (attribute.as_object_mut(), changes) {
        a.extend(c);
    }
    attribute
}

pub fn schemas(base: &str) -> Vec<Value> {
    let user = json!({
        "schemas": [SCHEMA],
        "id": CORE_USER, "name": "User", "description": "A Reprise user",
        "attributes": [
            with(attr("userName", "string", "The provider's unique name for the user; when it is an e-mail address and no `emails` are sent, the user signs in with it"),
                json!({"required": true, "uniqueness": "server"})),
            with(attr("name", "complex", "The user's name in parts"), json!({"subAttributes": [
                attr("formatted", "string", "The full name"),
                attr("givenName", "string", "Given name"),
                attr("familyName", "string", "Family name"),
            ]})),
            attr("displayName", "string", "The name Reprise shows"),
            // Required because every Reprise user has an address to sign in with; a userName
            // that is an address stands in for a missing list.
            with(attr("emails", "complex", "E-mail addresses; the primary one (else the first) is the one the user signs in with; required unless userName is an address"), json!({
                "multiValued": true, "required": true,
                "subAttributes": [
                    with(attr("value", "string", "The address"), json!({"required": true})),
                    with(attr("type", "string", "work, home or other"), json!({"canonicalValues": ["work", "home", "other"]})),
                    attr("primary", "boolean", "The address the user signs in with"),
                ],
            })),
            attr("active", "boolean", "false deactivates the user: their logins end and their history stays"),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{CORE_USER}")},
    });
    let group = json!({
        "schemas": [SCHEMA],
        "id": CORE_GROUP, "name": "Group", "description": "A Reprise team",
        "attributes": [
            with(attr("displayName", "string", "The team's name, unique in the organization"),
                json!({"required": true, "uniqueness": "server"})),
            with(attr("members", "complex", "The users in the team"), json!({
                "multiValued": true,
                "subAttributes": [
                    with(attr("value", "string", "A user's id"), json!({"mutability": "immutable"})),
                    with(attr("$ref", "reference", "The user's URI"), json!({"mutability": "immutable", "referenceTypes": ["User"]})),
                    with(attr("type", "string", "Always User"), json!({"mutability": "immutable", "canonicalValues": ["User"]})),
                ],
            })),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{CORE_GROUP}")},
    });
    let reprise = json!({
        "schemas": [SCHEMA],
        "id": REPRISE_USER, "name": "RepriseUser", "description": "What Reprise adds to a user",
        "attributes": [
            with(attr("role", "string", "learner (the default), author, manager, analyst or admin; left out, the role stays as it is"),
                json!({"canonicalValues": ["learner", "author", "manager", "analyst", "admin"]})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{REPRISE_USER}")},
    });
    vec![user, group, reprise]
}
