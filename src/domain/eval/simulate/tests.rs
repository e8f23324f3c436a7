use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::run::answer;
use super::*;

/// Small enough for debug-build tests: the planner's tables shrink with the horizon.
fn small() -> SimConfig {
    SimConfig {
        learners: 20,
        nuggets: 16,
        days: 70,
        window: (20, 70),
        seed: 7,
        ..SimConfig::default()
    }
}

fn policy(text: &str) -> SimPolicy {
    text.parse().unwrap()
}

#[test]
fn same_seed_same_result() {
    let truth = Truth::default_population();
    for p in ["qstream-21-42", "fsrs:0.8", "planner"] {
        let a = run(&small(), &truth, &policy(p));
        let b = run(&small(), &truth, &policy(p));
        assert_eq!(a, b, "{p}");
        assert!(a.questions_per_nugget > 0.0, "{p}");
        assert!(a.ci95[0] <= a.mean_recall_window && a.mean_recall_window <= a.ci95[1]);
        assert!(a
            .recall_at
            .get(60)
            .is_some_and(|r| (0.0..=1.0).contains(&r)));
        assert_eq!(a.recall_at.get(90), None);
    }
    let other = run(
        &SimConfig { seed: 8, ..small() },
        &truth,
        &policy("qstream-21-42"),
    );
    assert_ne!(other, run(&small(), &truth, &policy("qstream-21-42")));
}

#[test]
fn guessing_follows_the_option_count() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let share = |rng: &mut ChaCha8Rng, recall: f64, guess: f64| {
        (0..20_000).filter(|_| answer(rng, recall, guess).1).count() as f64 / 20_000.0
    };
    // A learner who does not recall is right about half the time on a true/false question.
    assert!((share(&mut rng, 0.0, 0.5) - 0.5).abs() < 0.02);
    assert!((share(&mut rng, 0.0, 0.25) - 0.25).abs() < 0.02);
    // Recall 0.6 with 4 options: 0.6 + 0.4 / 4.
    assert!((share(&mut rng, 0.6, 0.25) - 0.7).abs() < 0.02);
    assert!((0..1000).all(|_| answer(&mut rng, 1.0, 0.25) == (true, true)));
}

#[test]
fn planner_is_held_to_the_effort_asked() {
    let truth = Truth::default_population();
    let (_, report) = calibrate(&small(), &truth, 1.2);
    assert!(
        report.questions_per_nugget <= 1.2 && report.questions_per_nugget > 1.2 * 0.97,
        "{report:?}"
    );
}

#[test]
fn planner_matches_or_beats_qstream_at_equal_effort() {
    let truth = Truth::default_population();
    let config = small();
    let rule = run(&config, &truth, &policy("qstream-21-42"));
    let planner = run(
        &config,
        &truth,
        &SimPolicy::Planner {
            questions_per_nugget: Some(rule.questions_per_nugget),
        },
    );
    assert!(planner.questions_per_nugget <= rule.questions_per_nugget + 1e-9);
    assert!(
        planner.mean_recall_window >= rule.mean_recall_window,
        "{rule:?}\n{planner:?}"
    );
}

#[test]
fn a_target_date_raises_recall_on_that_date() {
    let truth = Truth::default_population();
    let window = small();
    let target = SimConfig {
        target_day: Some(60),
        ..small()
    };
    let (_, aimed) = calibrate(&target, &truth, 1.2);
    let (_, spread) = calibrate(&window, &truth, 1.2);
    let at60 = |r: &PolicyReport| r.recall_at.get(60).unwrap();
    assert!(at60(&aimed) > at60(&spread) + 0.02, "{aimed:?}\n{spread:?}");
}

#[test]
fn json_has_the_documented_shape() {
    let report = run(
        &small(),
        &Truth::default_population(),
        &policy("qstream-8-16"),
    );
    let json = serde_json::to_value(Reports {
        policies: vec![report],
    })
    .unwrap();
    let p = &json["policies"][0];
    let mut keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "answers_per_learner_day",
            "ci95",
            "mean_recall_window",
            "policy",
            "questions_per_nugget",
            "recall_at",
            "retired_share"
        ]
    );
    assert_eq!(p["policy"], "qstream-8-16");
    assert!(p["recall_at"]["30"].is_number() && p["recall_at"]["120"].is_null());
    assert_eq!(p["ci95"].as_array().unwrap().len(), 2);
}
