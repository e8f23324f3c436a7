//! CSV cells a spreadsheet will not run.
//!
//! Spreadsheet programs treat a cell that begins with `=`, `+`, `-` or `@` (and, in some, a tab
//! or a carriage return) as a formula: `=HYPERLINK(…)` in a topic name an author typed would run
//! on the analyst's machine when they open an export. Every CSV the service writes passes its
//! text cells through [`safe_cell`], which puts an apostrophe before such a cell (the rule OWASP
//! gives for CSV injection); spreadsheets show the text as written. Numbers are left alone
//! (`-0.25` is a value, not a formula), so figures stay figures.

use std::borrow::Cow;

/// `cell`, with an apostrophe in front when a spreadsheet would read it as a formula.
pub fn safe_cell(cell: &str) -> Cow<'_, str> {
    let risky = cell
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    if risky && cell.trim().parse::<f64>().is_err() {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        for (cell, written) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "'\tcmd"),
            ("\rcmd", "'\rcmd"),
            ("-0.25", "-0.25"),
            ("+3", "+3"),
            ("1e-3", "1e-3"),
            ("Closing", "Closing"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(safe_cell(cell), written, "{cell:?}");
        }
    }
}
