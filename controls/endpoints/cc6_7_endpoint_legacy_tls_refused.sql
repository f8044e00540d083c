-- an accepted old version fails whatever the other probe says; a refusal counts only when the server made it
SELECT endpoint AS resource_id,
       endpoint AS resource_name,
       url AS resource_url,
       CASE WHEN tls1_0 = 'accepted' OR tls1_1 = 'accepted' THEN 'fail'
            WHEN tls1_0 = 'refused' AND tls1_1 = 'refused' THEN 'pass'
            ELSE 'unknown' END AS status,
       'TLS 1.0 ' || tls1_0 || ' (' || coalesce(tls1_0_detail, 'no detail') || '); TLS 1.1 ' || tls1_1
         || ' (' || coalesce(tls1_1_detail, 'no detail') || ')' AS reason,
       CASE WHEN tls1_0 = 'accepted' OR tls1_1 = 'accepted' THEN 'legacy_tls_accepted' END AS failure,
       tls1_0,
       tls1_1,
       probed_at
FROM raw_endpoints_probes
WHERE snapshot_date = $snapshot_date
