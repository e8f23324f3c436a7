//! Every operation of the OpenAPI document, driven with extreme values: the largest and smallest
//! dates and times the server can parse (chrono's +262142-12-31 and its neighbours), integers past 32 and 64 bits, huge and tiny floats, empty
//! and very long strings, wrong types, nulls. Bodies and query strings are generated from each
//! operation's own schema (so new routes are covered without a line here), with a fixed seed.
//! Whatever the input, the answer is never a server error: an overflow in date arithmetic or a
//! cast is a 4xx naming the field, not a panic.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use crate::helpers::*;

/// Generated requests per operation.
const CASES: usize = 48;

struct Generator<'a> {
    spec: &'a Value,
    rng: ChaCha8Rng,
    /// For half the requests, one date (and one time) every such field of the request shares:
    /// boundary bugs need the extremes together (a start and an end both at the maximum).
    shared: Option<(Value, Value)>,
}

impl Generator<'_> {
    fn resolve<'v>(&'v self, schema: &'v Value) -> &'v Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap_or_default();
                self.resolve(&self.spec["components"]["schemas"][name])
            }
            None => schema,
        }
    }

    fn pick(&mut self, values: &[Value]) -> Value {
        values.choose(&mut self.rng).cloned().unwrap_or(Value::Null)
    }

    /// A value for `schema`: mostly of its type at the edges of its range, sometimes of another.
    fn value(&mut self, schema: &Value, depth: usize) -> Value {
        let schema = self.resolve(schema).clone();
        for combinator in ["oneOf", "anyOf", "allOf"] {
            if let Some(options) = schema.get(combinator).and_then(Value::as_array) {
                let options = options.clone();
                let chosen = options
                    .choose(&mut self.rng)
                    .cloned()
                    .unwrap_or(Value::Null);
                return self.value(&chosen, depth);
            }
        }
        if self.rng.gen_ratio(1, 12) {
            return self.pick(&[
                Value::Null,
                json!(true),
                json!(-1),
                json!("x"),
                json!([]),
                json!({}),
            ]);
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            let mut values = allowed.clone();
            values.push(json!("not-one-of-them"));
            return self.pick(&values);
        }
        let kind = match &schema["type"] {
            Value::String(t) => t.clone(),
            Value::Array(types) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("string")
                .to_string(),
            _ if schema.get("properties").is_some() => "object".into(),
            _ => "string".into(),
        };
        match kind.as_str() {
            "integer" => self.pick(&[
                json!(0),
                json!(1),
                json!(-1),
                json!(i32::MAX),
                json!(i32::MAX as i64 + 1),
                json!(i32::MIN),
                json!(i64::MAX),
                json!(i64::MIN),
                json!(u64::MAX),
                json!(1e300),
                json!(2.5),
            ]),
            "number" => self.pick(&[
                json!(0.0),
                json!(-0.0),
                json!(1.0),
                json!(-1.0),
                json!(1e308),
                json!(-1e308),
                json!(5e-324),
                json!(0.5),
                json!(i64::MAX),
            ]),
            "boolean" => self.pick(&[json!(true), json!(false)]),
            "array" if depth < 3 => {
                let item = schema.get("items").cloned().unwrap_or(json!({}));
                let n = *[0usize, 1, 2, 3, 150].choose(&mut self.rng).unwrap();
                Value::Array((0..n).map(|_| self.value(&item, depth + 1)).collect())
            }
            "object" if depth < 3 => Value::Object(self.object(&schema, depth + 1)),
            "array" => json!([]),
            "object" => json!({}),
            _ => self.string(&schema),
        }
    }

    /// Starts a request: decides whether its dates and times share one value.
    fn next_request(&mut self) {
        self.shared = None;
        if self.rng.gen_bool(0.5) {
            let date = self.string(&json!({"format": "date"}));
            let time = self.string(&json!({"format": "date-time"}));
            self.shared = Some((date, time));
        }
    }

    fn string(&mut self, schema: &Value) -> Value {
        let format = schema.get("format").and_then(Value::as_str);
        match (&self.shared, format) {
            (Some((date, _)), Some("date")) => return date.clone(),
            (Some((_, time)), Some("date-time")) => return time.clone(),
            _ => {}
        }
        match format {
            Some("date") => self.pick(&[
                json!("+262142-12-31"),
                json!("+262142-12-01"),
                json!("+262143-01-01"),
                json!("9999-12-31"),
                json!("-262143-01-01"),
                json!("-262144-01-01"),
                json!("0001-01-01"),
                json!("2026-02-30"),
                json!("2026-03-02"),
            ]),
            Some("date-time") => self.pick(&[
                json!("+262142-12-31T23:59:59Z"),
                json!("+262142-12-31T23:59:59-14:00"),
                json!("9999-12-31T23:59:59.999999999Z"),
                json!("-262143-01-01T00:00:00Z"),
                json!("-262144-01-01T00:00:00+14:00"),
                json!("0001-01-01T00:00:00Z"),
                json!("1970-01-01T00:00:00Z"),
                json!("2026-03-02T08:00:00+14:00"),
                json!("2026-03-02T08:00:00Z"),
            ]),
            Some("uuid") => self.pick(&[
                json!(uuid::Uuid::new_v4().to_string()),
                json!("00000000-0000-0000-0000-000000000000"),
                json!("ffffffff-ffff-ffff-ffff-ffffffffffff"),
            ]),
            _ => self.pick(&[
                json!(""),
                json!("a"),
                json!("sample"),
                json!("=HYPERLINK(\"http://x\")"),
                json!("x".repeat(5000)),
                json!("😀".repeat(300)),
                json!("\u{0}"),
                json!("../../etc/passwd"),
                json!("25:99"),
                json!("+262142-12-31"),
            ]),
        }
    }

    fn object(&mut self, schema: &Value, depth: usize) -> Map<String, Value> {
        let schema = self.resolve(schema).clone();
        let required: Vec<String> = schema["required"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let mut out = Map::new();
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                let keep = required.contains(name) || self.rng.gen_bool(0.6);
                // Now and then a required field is left out.
                if keep && !self.rng.gen_ratio(1, 20) {
                    out.insert(name.clone(), self.value(property, depth));
                }
            }
        }
        out
    }

    fn query(&mut self, parameters: &[Value]) -> String {
        let mut pairs = Vec::new();
        for p in parameters.iter().filter(|p| p["in"] == "query") {
            if !self.rng.gen_bool(0.6) {
                continue;
            }
            let value = match self.value(&p["schema"], 2) {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            pairs.push((p["name"].as_str().unwrap_or_default().to_string(), value));
        }
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            url.append_pair(k, v);
        }
        url.finish()
    }
}

#[actix_web::test]
async fn no_input_makes_a_server_error() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let (_, analyst) = app.create_user(&l.org, "hr@acme.example", "analyst").await;
    let spec = expect_json(app.get("/api/v1/openapi.json", None).await, StatusCode::OK).await;
    let mut generator = Generator {
        spec: &spec,
        rng: ChaCha8Rng::seed_from_u64(20261205),
        shared: None,
    };
    // Operations that end something run last, so the others meet live data.
    let mut operations: Vec<(String, String, Value)> = Vec::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            operations.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    let ends = |m: &str, p: &str| m == "DELETE" || p.ends_with("/end") || p.ends_with("/archive");
    operations.sort_by_key(|(m, p, _)| (ends(m, p), p.clone(), m.clone()));

    let mut failures = Vec::new();
    let mut sent = 0;
    for (method, path, op) in &operations {
        let concrete = path
            .replace("{slug}", "sample")
            .replace("{user_id}", &l.learner_id)
            .replace(
                "{id}",
                if path.starts_with("/api/v1/assignments") {
                    &l.assignment_id
                } else if path.starts_with("/api/v1/teams") {
                    &l.team_id
                } else {
                    &l.learner_id
                },
            );
        let body_schema = op["requestBody"]["content"]["application/json"]["schema"].clone();
        let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
        for case in 0..CASES {
            generator.next_request();
            let query = generator.query(&parameters);
            let url = if query.is_empty() {
                app.url(&concrete)
            } else {
                format!("{}?{query}", app.url(&concrete))
            };
            // Each role in turn: what one may not reach, another can.
            let token = [&l.org.admin_token, &l.author, &l.learner, &analyst][case % 4];
            let mut request = app
                .client
                .request(method.parse().unwrap(), &url)
                .bearer_auth(token);
            let body = (!body_schema.is_null()).then(|| generator.value(&body_schema, 0));
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            sent += 1;
            let status = response.status();
            if status.is_server_error() {
                let text = response.text().await.unwrap_or_default();
                failures.push(format!(
                    "{method} {url} body={} → {status} {}",
                    body.map(|b| b.to_string().chars().take(300).collect::<String>())
                        .unwrap_or_default(),
                    text.chars().take(200).collect::<String>()
                ));
            }
        }
    }
    assert!(sent > 500, "only {sent} requests were generated");
    assert!(
        failures.is_empty(),
        "{} of {sent} requests got a server error:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let status = app.get("/healthz", None).await.status();
    assert_eq!(status, StatusCode::OK);
}
