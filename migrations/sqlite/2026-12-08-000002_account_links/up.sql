-- One-time links have a purpose: 'sign_in' (a reminder's one-tap link), 'invite' (set a first
-- password) or 'reset' (choose a new one). A link is redeemed only for its own purpose.
ALTER TABLE sign_in_links ADD COLUMN purpose TEXT NOT NULL DEFAULT 'sign_in';
