-- How often each option of a nugget was chosen, per organization (`team_id` = '') and per team
-- of the learner at answer time; `option_id` = '' counts the answers themselves. Written in the
-- answer's transaction, so the shares shown after an answer are one indexed read instead of a
-- count over the nugget's whole answer log. `shard` spreads concurrent answers over rows.
CREATE TABLE choice_counts (
    org_id TEXT NOT NULL,
    nugget_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    option_id TEXT NOT NULL,
    shard INTEGER NOT NULL,
    answers BIGINT NOT NULL,
    PRIMARY KEY (org_id, nugget_id, team_id, option_id, shard)
);

-- Answers already recorded, with the teams their learners are in now.
INSERT INTO choice_counts (org_id, nugget_id, team_id, option_id, shard, answers)
SELECT org_id, nugget_id, '', '', 0, COUNT(*) FROM reviews GROUP BY org_id, nugget_id;

INSERT INTO choice_counts (org_id, nugget_id, team_id, option_id, shard, answers)
SELECT r.org_id, r.nugget_id, '', c.value, 0, COUNT(*)
FROM reviews r, json_each(r.selected) c
GROUP BY r.org_id, r.nugget_id, c.value;

INSERT INTO choice_counts (org_id, nugget_id, team_id, option_id, shard, answers)
SELECT r.org_id, r.nugget_id, m.team_id, '', 0, COUNT(*)
FROM reviews r JOIN team_members m ON m.org_id = r.org_id AND m.user_id = r.learner_id
GROUP BY r.org_id, r.nugget_id, m.team_id;

INSERT INTO choice_counts (org_id, nugget_id, team_id, option_id, shard, answers)
SELECT r.org_id, r.nugget_id, m.team_id, c.value, 0, COUNT(*)
FROM reviews r JOIN team_members m ON m.org_id = r.org_id AND m.user_id = r.learner_id,
     json_each(r.selected) c
GROUP BY r.org_id, r.nugget_id, m.team_id, c.value;
