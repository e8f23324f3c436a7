-- Each learner's answers per ISO week (the Monday starting it, UTC): what the engagement and
-- trends views need, written in the answer's transaction so they read at most learners × weeks
-- rows instead of the whole answer log. `on_time` counts answers given by the day after the
-- nugget fell due (first answers count as on time); `days` has bit d set when an answer was given
-- on the week's day d (Monday = 0), so "active in the last 7 / 30 days" stays exact to the day.
-- rt_00 … rt_49 count response times in quarter-octave buckets: rt_00 below 250 ms, rt_k from
-- round(250 · 2^((k-1)/4)) ms up to the next edge, rt_49 from 1,024,000 ms (17 min) up; the
-- weekly median is interpolated within its bucket (src/domain/analytics.rs, `ResponseTimes`).
CREATE TABLE learner_weeks (
    org_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    week_start DATE NOT NULL,
    answers BIGINT NOT NULL,
    correct BIGINT NOT NULL,
    on_time BIGINT NOT NULL,
    days INTEGER NOT NULL,
    rt_00 INTEGER NOT NULL,
    rt_01 INTEGER NOT NULL,
    rt_02 INTEGER NOT NULL,
    rt_03 INTEGER NOT NULL,
    rt_04 INTEGER NOT NULL,
    rt_05 INTEGER NOT NULL,
    rt_06 INTEGER NOT NULL,
    rt_07 INTEGER NOT NULL,
    rt_08 INTEGER NOT NULL,
    rt_09 INTEGER NOT NULL,
    rt_10 INTEGER NOT NULL,
    rt_11 INTEGER NOT NULL,
    rt_12 INTEGER NOT NULL,
    rt_13 INTEGER NOT NULL,
    rt_14 INTEGER NOT NULL,
    rt_15 INTEGER NOT NULL,
    rt_16 INTEGER NOT NULL,
    rt_17 INTEGER NOT NULL,
    rt_18 INTEGER NOT NULL,
    rt_19 INTEGER NOT NULL,
    rt_20 INTEGER NOT NULL,
    rt_21 INTEGER NOT NULL,
    rt_22 INTEGER NOT NULL,
    rt_23 INTEGER NOT NULL,
    rt_24 INTEGER NOT NULL,
    rt_25 INTEGER NOT NULL,
    rt_26 INTEGER NOT NULL,
    rt_27 INTEGER NOT NULL,
    rt_28 INTEGER NOT NULL,
    rt_29 INTEGER NOT NULL,
    rt_30 INTEGER NOT NULL,
    rt_31 INTEGER NOT NULL,
    rt_32 INTEGER NOT NULL,
    rt_33 INTEGER NOT NULL,
    rt_34 INTEGER NOT NULL,
    rt_35 INTEGER NOT NULL,
    rt_36 INTEGER NOT NULL,
    rt_37 INTEGER NOT NULL,
    rt_38 INTEGER NOT NULL,
    rt_39 INTEGER NOT NULL,
    rt_40 INTEGER NOT NULL,
    rt_41 INTEGER NOT NULL,
    rt_42 INTEGER NOT NULL,
    rt_43 INTEGER NOT NULL,
    rt_44 INTEGER NOT NULL,
    rt_45 INTEGER NOT NULL,
    rt_46 INTEGER NOT NULL,
    rt_47 INTEGER NOT NULL,
    rt_48 INTEGER NOT NULL,
    rt_49 INTEGER NOT NULL,
    PRIMARY KEY (org_id, learner_id, week_start)
);

-- Answers already recorded. An answer's predecessor is the previous answer of the same learner
-- to the same nugget; the sum of the distinct day bits of a week is their bitwise or.
INSERT INTO learner_weeks (org_id, learner_id, week_start, answers, correct, on_time, days,
    rt_00, rt_01, rt_02, rt_03, rt_04, rt_05, rt_06, rt_07, rt_08, rt_09, rt_10, rt_11, rt_12, rt_13, rt_14, rt_15, rt_16, rt_17, rt_18, rt_19, rt_20, rt_21, rt_22, rt_23, rt_24, rt_25, rt_26, rt_27, rt_28, rt_29, rt_30, rt_31, rt_32, rt_33, rt_34, rt_35, rt_36, rt_37, rt_38, rt_39, rt_40, rt_41, rt_42, rt_43, rt_44, rt_45, rt_46, rt_47, rt_48, rt_49)
SELECT org_id, learner_id, week_start, COUNT(*), SUM(correct), SUM(on_time), SUM(DISTINCT day_bit),
    SUM(CASE WHEN rt = 0 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 1 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 2 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 3 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 4 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 5 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 6 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 7 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 8 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 9 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 10 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 11 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 12 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 13 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 14 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 15 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 16 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 17 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 18 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 19 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 20 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 21 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 22 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 23 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 24 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 25 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 26 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 27 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 28 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 29 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 30 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 31 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 32 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 33 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 34 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 35 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 36 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 37 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 38 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 39 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 40 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 41 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 42 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 43 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 44 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 45 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 46 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 47 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 48 THEN 1 ELSE 0 END),
    SUM(CASE WHEN rt = 49 THEN 1 ELSE 0 END)
FROM (
    SELECT org_id, learner_id,
        date(answered_at, 'weekday 0', '-6 days') AS week_start,
        CASE WHEN correct THEN 1 ELSE 0 END AS correct,
        CASE
            WHEN LAG(due_after) OVER w IS NULL THEN 1
            WHEN julianday(answered_at) <= julianday(LAG(due_after) OVER w) + 1 THEN 1
            ELSE 0
        END AS on_time,
        1 << ((CAST(strftime('%w', answered_at) AS INTEGER) + 6) % 7) AS day_bit,
        CASE
            WHEN response_ms < 250 THEN 0
            WHEN response_ms < 297 THEN 1
            WHEN response_ms < 354 THEN 2
            WHEN response_ms < 420 THEN 3
            WHEN response_ms < 500 THEN 4
            WHEN response_ms < 595 THEN 5
            WHEN response_ms < 707 THEN 6
            WHEN response_ms < 841 THEN 7
            WHEN response_ms < 1000 THEN 8
            WHEN response_ms < 1189 THEN 9
            WHEN response_ms < 1414 THEN 10
            WHEN response_ms < 1682 THEN 11
            WHEN response_ms < 2000 THEN 12
            WHEN response_ms < 2378 THEN 13
            WHEN response_ms < 2828 THEN 14
            WHEN response_ms < 3364 THEN 15
            WHEN response_ms < 4000 THEN 16
            WHEN response_ms < 4757 THEN 17
            WHEN response_ms < 5657 THEN 18
            WHEN response_ms < 6727 THEN 19
            WHEN response_ms < 8000 THEN 20
            WHEN response_ms < 9514 THEN 21
            WHEN response_ms < 11314 THEN 22
            WHEN response_ms < 13454 THEN 23
            WHEN response_ms < 16000 THEN 24
            WHEN response_ms < 19027 THEN 25
            WHEN response_ms < 22627 THEN 26
            WHEN response_ms < 26909 THEN 27
            WHEN response_ms < 32000 THEN 28
            WHEN response_ms < 38055 THEN 29
            WHEN response_ms < 45255 THEN 30
            WHEN response_ms < 53817 THEN 31
            WHEN response_ms < 64000 THEN 32
            WHEN response_ms < 76109 THEN 33
            WHEN response_ms < 90510 THEN 34
            WHEN response_ms < 107635 THEN 35
            WHEN response_ms < 128000 THEN 36
            WHEN response_ms < 152219 THEN 37
            WHEN response_ms < 181019 THEN 38
            WHEN response_ms < 215269 THEN 39
            WHEN response_ms < 256000 THEN 40
            WHEN response_ms < 304437 THEN 41
            WHEN response_ms < 362039 THEN 42
            WHEN response_ms < 430539 THEN 43
            WHEN response_ms < 512000 THEN 44
            WHEN response_ms < 608874 THEN 45
            WHEN response_ms < 724077 THEN 46
            WHEN response_ms < 861078 THEN 47
            WHEN response_ms < 1024000 THEN 48
            ELSE 49
        END AS rt
    FROM reviews
    WINDOW w AS (PARTITION BY org_id, learner_id, nugget_id ORDER BY answered_at)
) a
GROUP BY org_id, learner_id, week_start;
