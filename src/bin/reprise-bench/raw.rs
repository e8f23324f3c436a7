//! The baseline of the answer write path: the raw rate of the transactions an answer commits
//! (insert one review row, update one memory state row), straight through the store layer on
//! the same engine, disk and pragmas, without HTTP, grading or scheduling.

use std::time::{Duration, Instant};

use chrono::{Duration as Days, Utc};

use super::seed;
use reprise::domain::content::Pack;
use reprise::domain::scheduler::{CardState, CardStatus, MemoryState};
use reprise::store::{self, content, enrolments, learning, reviews, DbPool, StoreError};

/// Transactions per second over `seconds`, with `threads` writers (each on its own learners, so
/// no two writers touch the same row).
pub fn write_rate(
    pool: &DbPool,
    packs: &[Pack],
    threads: usize,
    seconds: f64,
) -> anyhow::Result<f64> {
    let now = Utc::now();
    let conn = &mut pool.get()?;
    let org = seed::generate(conn, threads.max(1) * 4, &packs[..1], now)?;
    let org_id = org.org_id.clone();
    let active = enrolments::enrolment(conn, &org_id, &org.learner_ids[0], now.date_naive())?;
    let assignment = active
        .assignments
        .first()
        .ok_or_else(|| anyhow::anyhow!("nothing assigned"))?;
    let version = content::latest_version_id(conn, &org_id, &assignment.pack_id)?
        .ok_or_else(|| anyhow::anyhow!("pack unpublished"))?;
    let nugget = content::version_nuggets(conn, &org_id, &version)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("empty pack"))?;
    let first = |reps: u32| learning::StoredState {
        nugget_id: nugget.nugget_id.clone(),
        pack_version_id: version.clone(),
        assignment_id: assignment.id.clone(),
        card: CardState {
            memory: Some(MemoryState {
                stability: 3.0,
                difficulty: 5.0,
            }),
            status: CardStatus::Review,
            reps,
            last_review: Some(now),
            due: Some(now + Days::days(3)),
            ..CardState::default()
        },
        first_correct: Some(true),
        first_answered_at: Some(now),
    };
    for learner in &org.learner_ids {
        learning::save_state(conn, &org_id, learner, &first(1), None, now)?;
    }
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let total: usize = std::thread::scope(|s| -> anyhow::Result<usize> {
        let workers: Vec<_> = org
            .learner_ids
            .chunks(4)
            .take(threads.max(1))
            .map(|learners| {
                let (org_id, first) = (&org_id, &first);
                let (version, assignment) = (&version, &assignment.id);
                let nugget = &nugget.nugget_id;
                s.spawn(move || -> anyhow::Result<usize> {
                    let conn = &mut pool.get()?;
                    let mut reps = vec![1u32; learners.len()];
                    let mut done = 0usize;
                    while Instant::now() < deadline {
                        let i = done % learners.len();
                        let t = Utc::now();
                        let row = reviews::ReviewRow {
                            org_id: org_id.to_string(),
                            id: uuid::Uuid::now_v7().to_string(),
                            learner_id: learners[i].to_string(),
                            nugget_id: nugget.to_string(),
                            pack_version_id: version.to_string(),
                            assignment_id: assignment.to_string(),
                            attempt_id: uuid::Uuid::new_v4().to_string(),
                            request_hash: "0".repeat(64),
                            selected: "[\"a\"]".into(),
                            correct: true,
                            partial_credit: 1.0,
                            response_ms: 9000,
                            confidence: None,
                            rating: 3,
                            client_answered_at: t.naive_utc(),
                            answered_at: t.naive_utc(),
                            received_at: t.naive_utc(),
                            clock_flag: None,
                            elapsed_days: Some(1.0),
                            stability_before: Some(3.0),
                            difficulty_before: Some(5.0),
                            stability_after: 4.0,
                            difficulty_after: 5.0,
                            status_after: "review".into(),
                            due_after: Some((t + Days::days(4)).naive_utc()),
                            practice: None,
                        };
                        let state = first(reps[i] + 1);
                        store::write_tx(conn, |conn| -> Result<(), StoreError> {
                            reviews::insert(conn, &row)?;
                            learning::save_state(
                                conn,
                                org_id,
                                &learners[i],
                                &state,
                                Some(reps[i]),
                                t,
                            )
                        })?;
                        reps[i] += 1;
                        done += 1;
                    }
                    Ok(done)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("writer thread panicked"))
            .sum()
    })?;
    Ok(total as f64 / started.elapsed().as_secs_f64())
}
