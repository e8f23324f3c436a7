//! CSV cells a spreadsheet will not run.
//!
//! Spreadsheet programs treat a cell that begins with `=`, `+`, `-` or `@` (and, in some, a tab
//! or a carriage return) as a formula: `=HYPERLINK(…)` in a topic name an author typed would run
//! on the analyst's machine when they open an export. Every CSV the service writes passes its
//! text cells through [`safe_cell`], which puts an apostrophe before such a cell (the rule OWASP
//! gives for CSV injection); spreadsheets show the text as written. Numbers are left alone
//! (`-0.25` is a value, not a formula), so figures stay figures.
//!
//! A CSV the service also reads back (a pack exported for editing) passes each cell through
//! [`restore_cell`] on the way in, which takes exactly that apostrophe off again. So that text
//! which itself begins with apostrophes survives the round trip, the apostrophe is added to a
//! cell whose text *after its leading apostrophes* looks like a formula, and removed only from
//! such a cell: `'=x` is written `''=x` and read back as `'=x`.

use std::borrow::Cow;

/// Whether a spreadsheet would run `text` as a formula.
fn formula_like(text: &str) -> bool {
    let risky = text
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    risky && text.trim().parse::<f64>().is_err()
}

/// `cell`, with an apostrophe in front when a spreadsheet would read it (or it, less leading
/// apostrophes) as a formula.
pub fn safe_cell(cell: &str) -> Cow<'_, str> {
    if formula_like(cell.trim_start_matches('\'')) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The text [`safe_cell`] was given, from what it wrote.
pub fn restore_cell(cell: &str) -> Cow<'_, str> {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_like(rest.trim_start_matches('\'')) => Cow::Borrowed(rest),
        _ => Cow::Borrowed(cell),
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
            ("'=x", "''=x"),
            ("'-0.25", "'-0.25"),
            ("'quoted'", "'quoted'"),
        ] {
            assert_eq!(safe_cell(cell), written, "{cell:?}");
            assert_eq!(restore_cell(written), cell, "{written:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn restoring_undoes_neutralising(cell in "['=+@\\-\t\r0-9a-z. ]{0,8}") {
            let written = safe_cell(&cell);
            proptest::prop_assert_eq!(restore_cell(&written), cell.as_str());
        }
    }
}
