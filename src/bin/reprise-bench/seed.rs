//! A generated organization for the benchmark, written straight through the store layer (no
//! HTTP, one shared password hash) so that a thousand learners take seconds, not minutes.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};

use reprise::auth::password;
use reprise::domain::accounts::Role;
use reprise::domain::assignments::Settings as AssignmentSettings;
use reprise::domain::content::{Nugget, NuggetKind, NuggetOption, Pack, PackDefaults};
use reprise::domain::ids::{AssignmentId, OrgId, TeamId, UserId};
use reprise::store::{self, accounts, assignments, content, new_id, DbConnection};

/// Learners per team; teams are grouped under regions, and packs are assigned to regions, so an
/// assignment reaches a learner through a nested team as in a real sales organization.
const TEAM_SIZE: usize = 50;
const TEAMS_PER_REGION: usize = 5;
/// Nuggets a learner gets per assignment and day (the product default).
pub const DAILY_CAP: i32 = reprise::domain::assignments::DEFAULT_DAILY_CAP;
/// Packs assigned to each region: a learner follows this many campaigns at once.
const PACKS_PER_REGION: usize = 2;

/// Daily cap of the answerers' assignments: the largest an assignment takes, so that every
/// nugget of every pack is theirs to answer today.
const ANSWERER_DAILY_CAP: i32 = 20;

/// What the load generator needs to know about the generated organization.
pub struct Org {
    pub org_id: OrgId,
    /// Learners as the product serves them: a few nuggets a day, whose queues are read.
    pub learner_ids: Vec<UserId>,
    /// As many learners again, assigned every pack with the largest daily cap, who send the
    /// answers. Only the first answer of the day to a nugget the queue serves counts (the rest
    /// is practice, which writes far less), so answers are spread over these learners' many
    /// nuggets and each is answered once: every answer measured is a counted one.
    pub answerer_ids: Vec<UserId>,
}

/// The sample packs of `content_dir`, or eight generated packs of fourteen nuggets when the
/// folder is missing (the benchmark then runs from any directory).
pub fn packs(content_dir: &Path) -> anyhow::Result<Vec<Pack>> {
    if content_dir.is_dir() {
        let files = reprise::catalog_files::collect(&[content_dir.to_path_buf()])?;
        if let Ok(reprise::catalog_files::Files { packs, .. }) =
            reprise::catalog_files::parse_all(&files, Default::default())
        {
            if !packs.is_empty() {
                return Ok(packs);
            }
        }
    }
    Ok((1..=8).map(generated_pack).collect())
}

fn generated_pack(p: usize) -> Pack {
    let nuggets = (1..=14)
        .map(|n| Nugget {
            kind: NuggetKind::Choice,
            rubric: Vec::new(),
            max_seconds: None,
            key: format!("q{n}"),
            topic: format!("Topic {}", n % 3 + 1),
            tags: Vec::new(),
            prompt: format!("Pack {p}, question {n}: which answer fits the scenario best?"),
            options: (0..4)
                .map(|o| NuggetOption {
                    text: format!("Option {o} of question {n}"),
                    correct: o == n % 4,
                    feedback: (o != n % 4).then(|| "Not quite: think about the buyer.".into()),
                })
                .collect(),
            explanation: format!("Question {n} rewards asking before telling."),
            media_url: None,
        })
        .collect();
    Pack {
        slug: format!("bench-pack-{p}"),
        title: format!("Bench pack {p}"),
        description: "Generated for the benchmark.".into(),
        language: "en".into(),
        defaults: PackDefaults::default(),
        nuggets,
    }
}

/// Creates an organization with `learners` learners in teams of fifty under regions, publishes
/// `packs` and assigns two of them to each region (in turn) from yesterday on.
pub fn generate(
    conn: &mut DbConnection,
    learners: usize,
    packs: &[Pack],
    now: DateTime<Utc>,
) -> anyhow::Result<Org> {
    let hash = password::hash("bench-password-not-secret");
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let new_user = |email: String, role: Role| accounts::NewUser {
        id: new_id(),
        name: email.split('@').next().unwrap_or_default().to_string(),
        email,
        password_hash: hash.clone(),
        role,
        timezone: None,
    };
    let (org, _) = accounts::create_org_with_admin(
        conn,
        accounts::NewOrg {
            id: new_id(),
            slug: format!("bench-{tag}"),
            name: format!("Bench Sales {tag}"),
            timezone: "UTC".into(),
        },
        new_user(format!("admin@{tag}.bench.example"), Role::Admin),
        now,
    )?;
    let author = accounts::create_user(
        conn,
        &org.id,
        new_user(format!("author@{tag}.bench.example"), Role::Author),
        &[],
        now,
    )?;
    let teams = learners.div_ceil(TEAM_SIZE).max(1);
    let mut regions = Vec::new();
    let mut team_ids = Vec::with_capacity(teams);
    for t in 0..teams {
        if t % TEAMS_PER_REGION == 0 {
            let name = format!("Region {}", regions.len() + 1);
            regions.push(accounts::create_team(conn, &org.id, &new_id(), &name, None, now)?.id);
        }
        let parent = regions.last().map(String::as_str);
        let name = format!("Team {}", t + 1);
        team_ids.push(accounts::create_team(conn, &org.id, &new_id(), &name, parent, now)?.id);
    }
    let mut learner_ids = Vec::with_capacity(learners);
    for i in 0..learners {
        let email = format!("seller{i:05}@{tag}.bench.example");
        let team = TeamId::from(team_ids[i / TEAM_SIZE].as_str());
        let user =
            accounts::create_user(conn, &org.id, new_user(email, Role::Learner), &[team], now)?;
        learner_ids.push(user.id);
    }
    let answer_team = accounts::create_team(conn, &org.id, &new_id(), "Answer load", None, now)?.id;
    let mut answerer_ids = Vec::with_capacity(learners);
    for i in 0..learners {
        let email = format!("answerer{i:05}@{tag}.bench.example");
        let team = [TeamId::from(answer_team.as_str())];
        let user =
            accounts::create_user(conn, &org.id, new_user(email, Role::Learner), &team, now)?;
        answerer_ids.push(user.id);
    }
    let settings = AssignmentSettings {
        daily_cap: DAILY_CAP,
        ..AssignmentSettings::defaults(now.date_naive() - Duration::days(1))
    };
    let answerer_settings = AssignmentSettings {
        daily_cap: ANSWERER_DAILY_CAP,
        ..settings.clone()
    };
    store::write_tx(conn, |conn| -> anyhow::Result<()> {
        for pack in packs {
            content::save_draft(conn, &org.id, pack, now)?;
            content::publish(conn, &org.id, &pack.slug, &author.id, now)?;
        }
        for (r, region) in regions.iter().enumerate() {
            for k in 0..PACKS_PER_REGION {
                let pack = &packs[(r * PACKS_PER_REGION + k) % packs.len()];
                let id = AssignmentId::new(new_id());
                let new = assignments::NewAssignment {
                    id: &id,
                    pack_slug: &pack.slug,
                    team_id: Some(region),
                    learner_ids: &[],
                    settings: &settings,
                    created_by: &author.id,
                };
                assignments::create(conn, &org.id, new, now)?
                    .map_err(|m| anyhow::anyhow!("cannot assign {}: {m:?}", pack.slug))?;
            }
        }
        for pack in packs {
            let id = AssignmentId::new(new_id());
            let new = assignments::NewAssignment {
                id: &id,
                pack_slug: &pack.slug,
                team_id: Some(&answer_team),
                learner_ids: &[],
                settings: &answerer_settings,
                created_by: &author.id,
            };
            assignments::create(conn, &org.id, new, now)?
                .map_err(|m| anyhow::anyhow!("cannot assign {}: {m:?}", pack.slug))?;
        }
        Ok(())
    })?;
    Ok(Org {
        org_id: org.id,
        learner_ids,
        answerer_ids,
    })
}
