-- Practice answers: graded and kept like any answer, but they did not count. An answer counts
-- when its nugget was in the learner's queue for the day (due, or new within the day's
-- allowance) and had no counted answer yet that local day; any other answer is practice and
-- moves no memory state, schedule, statistic or roll-up. `practice` names why (`answered_today`,
-- `not_due`, `over_daily_cap`); NULL for a counted answer, so every answer stored before this
-- migration counts as it did. Every reader of the answer log for figures filters on it.
ALTER TABLE reviews ADD COLUMN practice TEXT;
