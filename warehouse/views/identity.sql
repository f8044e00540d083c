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
-- e-mail-shaped identifier its system shows, the primary first) that is a person's e-mail in the HR roster. Most
-- accounts have no alias and match on their first identifier: one equi-join settles them; only the rest (an alias,
-- or a first identifier that is nobody's) have their other identifiers tried and the roster read again.
CREATE OR REPLACE VIEW resolved_accounts AS
WITH keyed AS (
    SELECT *, system || ':' || lower(account_id) AS account_key FROM accounts
), aliases AS (
    SELECT snapshot_date, account_key, normalize_email(person_email) AS email
    FROM raw_identity_map WHERE kind = 'alias'
), approved AS (
    SELECT snapshot_date, account_key, kind, normalize_email(person_email) AS owner, approved_by, reason
    FROM raw_identity_map WHERE kind IN ('service', 'break_glass')
), first_match AS (
    SELECT keyed.*, aliases.email AS alias_email, people.email AS person_email, people.name AS person_name,
           people.status AS person_status, people.start_date AS person_start_date,
           people.end_date AS person_end_date
    FROM keyed
    LEFT JOIN aliases ON aliases.snapshot_date = keyed.snapshot_date AND aliases.account_key = keyed.account_key
    LEFT JOIN people ON people.snapshot_date = keyed.snapshot_date AND people.email = normalize_email(keyed.emails[1])
), settled AS (
    SELECT * EXCLUDE (alias_email), person_email AS matched_email, 'email' AS matched_by
    FROM first_match WHERE alias_email IS NULL AND person_email IS NOT NULL
), unsettled AS (
    SELECT * EXCLUDE (person_email, person_name, person_status, person_start_date, person_end_date)
    FROM first_match WHERE alias_email IS NOT NULL OR person_email IS NULL
), other_identifiers AS (
    SELECT snapshot_date, account_key, normalize_email(unnest(emails[2:])) AS email,
           generate_subscripts(emails[2:], 1) AS position
    FROM unsettled WHERE alias_email IS NULL AND len(emails) > 1
), by_other AS (
    SELECT i.snapshot_date, i.account_key, arg_min(i.email, i.position) AS email
    FROM other_identifiers i
    JOIN people p ON p.snapshot_date = i.snapshot_date AND p.email = i.email
    GROUP BY ALL
), resolved AS (
    SELECT unsettled.* EXCLUDE (alias_email), people.email AS person_email, people.name AS person_name,
           people.status AS person_status, people.start_date AS person_start_date,
           people.end_date AS person_end_date,
           coalesce(unsettled.alias_email, by_other.email, normalize_email(unsettled.email)) AS matched_email,
           CASE WHEN unsettled.alias_email IS NOT NULL THEN 'alias' WHEN people.email IS NOT NULL THEN 'email' END
               AS matched_by
    FROM unsettled
    LEFT JOIN by_other ON by_other.snapshot_date = unsettled.snapshot_date
                      AND by_other.account_key = unsettled.account_key
    LEFT JOIN people ON people.snapshot_date = unsettled.snapshot_date
                    AND people.email = coalesce(unsettled.alias_email, by_other.email, normalize_email(unsettled.email))
)
SELECT accounts.*, approved.kind AS approved_kind, approved.owner AS approved_owner,
       approved.reason AS approved_reason
FROM (SELECT * FROM settled UNION ALL BY NAME SELECT * FROM resolved) AS accounts
LEFT JOIN approved ON approved.snapshot_date = accounts.snapshot_date AND approved.account_key = accounts.account_key;
