//! KPIs uploaded for an experiment: `email,kpi,value` per learner (e.g. quota attainment), read
//! with every error reported by line.

use std::collections::HashSet;

use crate::domain::accounts::Email;
use crate::domain::validation::FieldError;

/// One line of an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiLine {
    pub line: usize,
    pub email: String,
    pub kpi: String,
    pub value: f64,
}

fn error(line: usize, field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        line: Some(line),
        ..FieldError::new(field, message)
    }
}

/// Reads an upload: the header `email,kpi,value`, then one learner and KPI a line (a learner and
/// KPI at most once). All or nothing: every bad line is reported.
pub fn parse(text: &str) -> Result<Vec<KpiLine>, Vec<FieldError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let (mut errors, mut lines, mut seen) = (Vec::new(), Vec::new(), HashSet::new());
    let mut header = false;
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                errors.push(error(line, "body", format!("not valid CSV: {e}")));
                break;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if !header {
            header = true;
            let names: Vec<String> = record.iter().map(str::to_lowercase).collect();
            if names != ["email", "kpi", "value"] {
                errors.push(error(
                    line,
                    "header",
                    "the first line must be the header email,kpi,value",
                ));
                break;
            }
            continue;
        }
        if record.len() != 3 {
            errors.push(error(
                line,
                "body",
                format!("expected 3 columns, found {}", record.len()),
            ));
            continue;
        }
        let before = errors.len();
        let email = match Email::parse("email", &record[0]) {
            Ok(e) => e.as_str().to_string(),
            Err(e) => {
                errors.push(error(line, "email", e.message));
                String::new()
            }
        };
        let kpi = record[1].to_string();
        if kpi.is_empty() || kpi.chars().count() > 64 || kpi.chars().any(char::is_control) {
            errors.push(error(line, "kpi", "must be 1 to 64 characters"));
        }
        let value = match record[2].parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                errors.push(error(line, "value", "must be a number"));
                0.0
            }
        };
        if errors.len() == before {
            if !seen.insert((email.clone(), kpi.clone())) {
                errors.push(error(
                    line,
                    "email",
                    format!("{email} has two values for {kpi}"),
                ));
                continue;
            }
            lines.push(KpiLine {
                line,
                email,
                kpi,
                value,
            });
        }
    }
    if !header && errors.is_empty() {
        errors.push(error(
            1,
            "header",
            "the first line must be the header email,kpi,value",
        ));
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_is_read_with_every_error_by_line() {
        let ok =
            parse("email,kpi,value\nsam@acme.example,quota,0.93\nana@acme.example,quota,1.1\n")
                .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].value, 1.1);
        let bad = parse("email,kpi,value\nnot-an-email,quota,x\nsam@acme.example,quota,1\nsam@acme.example,quota,2\n")
            .unwrap_err();
        let found: Vec<(Option<usize>, &str)> =
            bad.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(
            found,
            vec![(Some(2), "email"), (Some(2), "value"), (Some(4), "email")]
        );
        assert_eq!(parse("").unwrap_err()[0].field, "header");
        assert_eq!(parse("email,value\n").unwrap_err()[0].field, "header");
    }
}
