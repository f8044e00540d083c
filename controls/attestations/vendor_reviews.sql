-- Every vendor of the register has a current review (vendor_review attestation whose subject is the vendor's name,
-- compared case-insensitively), its validity capped at $max_valid_months.
WITH register AS (
    SELECT vendor, service, data_access, owner, row_number
    FROM raw_attestations_vendors
    WHERE snapshot_date = $snapshot_date
), attested AS (
    SELECT *, least(expires, (performed + to_months(least(valid_months, $max_valid_months)))::DATE) AS valid_until
    FROM raw_attestations_attestations
    WHERE snapshot_date = $snapshot_date AND kind = 'vendor_review' AND performed <= $snapshot_date
), latest AS (
    SELECT lower(trim(subject)) AS vendor_key,
           arg_max({'performed': performed, 'valid_until': valid_until, 'performer': performer, 'approver': approver,
                    'artefact_name': artefact_name, 'artefact_sha256': artefact_sha256, 'line': line},
                   (valid_until, -line)) AS a
    FROM attested
    GROUP BY ALL
)
SELECT r.vendor AS resource_id,
       r.vendor || ' (' || r.service || ')' AS resource_name,
       NULL::VARCHAR AS resource_url,
       CASE WHEN l.a.valid_until >= $snapshot_date THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN l.a IS NULL
                THEN 'no review of ' || r.vendor || ' (register row ' || r.row_number || ', data access: '
                     || r.data_access || ', owner ' || r.owner || ') is attested'
            ELSE 'reviewed ' || l.a.performed || ' by ' || l.a.performer || ' (approved by ' || l.a.approver || ')'
                 || CASE WHEN l.a.valid_until >= $snapshot_date THEN ', current until ' || l.a.valid_until
                         ELSE ', expired on ' || l.a.valid_until || ' (entry on line ' || l.a.line || ')' END
                 || '; artefact ' || l.a.artefact_name || ' (sha256 ' || l.a.artefact_sha256[:12] || '…)' END
           AS reason,
       CASE WHEN l.a IS NULL THEN 'missing' WHEN l.a.valid_until < $snapshot_date THEN 'expired' END AS failure,
       r.service, r.data_access, r.owner, l.a.performed, l.a.valid_until, l.a.artefact_name, l.a.artefact_sha256
FROM register r
LEFT JOIN latest l ON l.vendor_key = lower(trim(r.vendor))
