//! Grading a chosen set of options against a nugget's answer key.

use super::catalog::StoredOption;
use super::validation::{quoted, FieldError};

#[derive(Debug, Clone, PartialEq)]
pub struct Grade {
    /// All-or-nothing: exactly the correct options were chosen.
    pub correct: bool,
    /// Share of the correct options found, less wrong picks, in 0..=1 (recorded for
    /// multi-select analysis; scheduling uses `correct`).
    pub partial_credit: f64,
}

/// Checks that `selected` names 1..=n distinct options of the nugget, then grades it.
pub fn grade(options: &[StoredOption], selected: &[String]) -> Result<Grade, FieldError> {
    if selected.is_empty() {
        return Err(FieldError::new("selected", "choose at least one option"));
    }
    let mut seen: Vec<&str> = Vec::with_capacity(selected.len());
    for id in selected {
        if !options.iter().any(|o| &o.id == id) {
            return Err(FieldError::new(
                "selected",
                format!("{} is not an option of this nugget", quoted(id)),
            ));
        }
        if seen.contains(&id.as_str()) {
            return Err(FieldError::new(
                "selected",
                format!("{} is chosen twice", quoted(id)),
            ));
        }
        seen.push(id);
    }
    let right = options.iter().filter(|o| o.correct).count().max(1) as f64;
    let hits = options
        .iter()
        .filter(|o| o.correct && seen.contains(&o.id.as_str()))
        .count() as f64;
    let misses = options
        .iter()
        .filter(|o| !o.correct && seen.contains(&o.id.as_str()))
        .count() as f64;
    Ok(Grade {
        correct: misses == 0.0 && hits == right,
        partial_credit: ((hits - misses) / right).clamp(0.0, 1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(correct: &[bool]) -> Vec<StoredOption> {
        correct
            .iter()
            .zip(["a", "b", "c", "d"])
            .map(|(&c, id)| StoredOption {
                id: id.into(),
                text: id.into(),
                correct: c,
                feedback: None,
            })
            .collect()
    }

    fn sel(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn single_choice_is_right_or_wrong() {
        let o = opts(&[false, true, false]);
        assert_eq!(
            grade(&o, &sel(&["b"])).unwrap(),
            Grade {
                correct: true,
                partial_credit: 1.0
            }
        );
        assert_eq!(
            grade(&o, &sel(&["a"])).unwrap(),
            Grade {
                correct: false,
                partial_credit: 0.0
            }
        );
    }

    #[test]
    fn multi_select_is_all_or_nothing_with_partial_credit() {
        let o = opts(&[true, false, true, false]);
        assert!(grade(&o, &sel(&["a", "c"])).unwrap().correct);
        let half = grade(&o, &sel(&["a"])).unwrap();
        assert_eq!((half.correct, half.partial_credit), (false, 0.5));
        let mixed = grade(&o, &sel(&["a", "c", "d"])).unwrap();
        assert_eq!((mixed.correct, mixed.partial_credit), (false, 0.5));
    }

    #[test]
    fn bad_selections_are_field_errors() {
        let o = opts(&[true, false]);
        assert!(grade(&o, &[]).is_err());
        assert!(grade(&o, &sel(&["z"])).is_err());
        assert!(grade(&o, &sel(&["a", "a"])).is_err());
    }
}
