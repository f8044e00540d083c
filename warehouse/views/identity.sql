-- requires: raw_hr_roster, raw_identity_map
-- Identity resolution: every account of every system joined to the HR person it belongs to.
-- `accounts` (the union of each system's accounts_<source> view) is created in code just before
-- this file runs, because the set of systems grows with the migrations.

CREATE OR REPLACE MACRO normalize_email(address) AS
    nullif(regexp_replace(lower(trim(address)), '\+[^@]*@', '@'), '');

CREATE OR REPLACE VIEW people AS
SELECT snapshot_date, normalize_email(email) AS email, name, lower(status) AS status, start_date, end_date,
       manager, department
FROM raw_hr_roster;

-- An account resolves to a person by its alias in the identity map, else by the first of its `emails` (every
-- e-mail-shaped identifier its system shows, the primary first) that is a person's e-mail in the HR roster.
CREATE OR REPLACE VIEW resolved_accounts AS
WITH keyed AS (
    SELECT *, system || ':' || lower(account_id) AS account_key FROM accounts
), aliases AS (
    SELECT snapshot_date, account_key, normalize_email(person_email) AS email
    FROM raw_identity_map WHERE kind = 'alias'
), approved AS (
    SELECT snapshot_date, account_key, kind, normalize_email(person_email) AS owner, approved_by, reason
    FROM raw_identity_map WHERE kind IN ('service', 'break_glass')
), identifiers AS (
    SELECT snapshot_date, account_key, normalize_email(unnest(emails)) AS email,
           generate_subscripts(emails, 1) AS position
    FROM keyed
), by_email AS (
    SELECT i.snapshot_date, i.account_key, arg_min(i.email, i.position) AS email
    FROM identifiers i
    JOIN people p ON p.snapshot_date = i.snapshot_date AND p.email = i.email
    GROUP BY ALL
), matched AS (
    SELECT keyed.*, aliases.email AS alias_email,
           coalesce(aliases.email, by_email.email, normalize_email(keyed.email)) AS matched_email
    FROM keyed
    LEFT JOIN aliases ON aliases.snapshot_date = keyed.snapshot_date AND aliases.account_key = keyed.account_key
    LEFT JOIN by_email ON by_email.snapshot_date = keyed.snapshot_date AND by_email.account_key = keyed.account_key
)
SELECT matched.* EXCLUDE (alias_email),
       CASE WHEN matched.alias_email IS NOT NULL THEN 'alias' WHEN people.email IS NOT NULL THEN 'email' END
           AS matched_by,
       people.email AS person_email, people.name AS person_name, people.status AS person_status,
       people.start_date AS person_start_date, people.end_date AS person_end_date,
       approved.kind AS approved_kind, approved.owner AS approved_owner, approved.reason AS approved_reason
FROM matched
LEFT JOIN people ON people.snapshot_date = matched.snapshot_date AND people.email = matched.matched_email
LEFT JOIN approved ON approved.snapshot_date = matched.snapshot_date AND approved.account_key = matched.account_key;
