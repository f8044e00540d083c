-- The organisation's current attestation of one kind ($kind): performed on or before the day, its validity (the
-- file's valid_months, capped at the control's max_valid_months) not yet over. One row, the organisation's.
WITH attested AS (
    SELECT *, least(expires, (performed + to_months(least(valid_months, $max_valid_months)))::DATE) AS valid_until
    FROM raw_attestations_attestations
    WHERE snapshot_date = $snapshot_date AND kind = $kind AND performed <= $snapshot_date
), latest AS (
    -- the attestation current longest (ties: the one written first); its fields all come from that one entry
    SELECT count(*) AS attestations,
           arg_max({'performed': performed, 'valid_until': valid_until, 'performer': performer, 'approver': approver,
                    'summary': summary, 'artefact_name': artefact_name, 'artefact_sha256': artefact_sha256,
                    'line': line}, (valid_until, -line)) AS a
    FROM attested
)
SELECT $kind AS resource_id,
       replace($kind, '_', ' ') AS resource_name,
       NULL::VARCHAR AS resource_url,
       CASE WHEN a.valid_until >= $snapshot_date THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN a IS NULL THEN 'no ' || replace($kind, '_', ' ') || ' is attested as performed on or before '
                                || $snapshot_date
            ELSE 'the latest ' || replace($kind, '_', ' ') || ', performed ' || a.performed || ' by ' || a.performer
                 || ' (approved by ' || a.approver || '; entry on line ' || a.line || ')'
                 || CASE WHEN a.valid_until >= $snapshot_date THEN ', is current until ' || a.valid_until
                         ELSE ', expired on ' || a.valid_until END
                 || '; artefact ' || a.artefact_name || ' (sha256 ' || a.artefact_sha256[:12] || '…)' END AS reason,
       CASE WHEN a IS NULL THEN 'missing' WHEN a.valid_until < $snapshot_date THEN 'expired' END AS failure,
       a.performed, a.valid_until, a.performer, a.approver, a.summary, a.artefact_name, a.artefact_sha256,
       attestations
FROM latest
