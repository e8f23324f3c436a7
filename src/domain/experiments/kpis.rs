//! KPIs uploaded for an experiment: `email,kpi,value` per learner (e.g. quota attainment), read
//! with every error reported by line.

use crate::domain::analytics::parse_figures;
use crate::domain::validation::FieldError;

/// One line of an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiLine {
    pub line: usize,
    pub email: String,
    pub kpi: String,
    pub value: f64,
}

/// Reads an upload: the header `email,kpi,value`, then one learner and KPI a line (a learner and
/// KPI at most once). All or nothing: every bad line is reported. The same reader as the
/// organization's KPI uploads, with one key column.
pub fn parse(text: &str) -> Result<Vec<KpiLine>, Vec<FieldError>> {
    Ok(parse_figures(text, &["kpi"])?
        .into_iter()
        .map(|mut r| KpiLine {
            line: r.line,
            email: r.email,
            kpi: r.keys.remove(0),
            value: r.value,
        })
        .collect())
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
            vec![(Some(2), "email"), (Some(2), "value"), (Some(4), "body")]
        );
        assert_eq!(parse("").unwrap_err()[0].field, "body");
        assert_eq!(parse("email,value\n").unwrap_err()[0].field, "header");
    }
}
