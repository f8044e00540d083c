-- a 404 entrypoint is no ruleset in the phase; only enabled block/challenge rules and enabled execute rules count
SELECT zone_id AS resource_id,
       zone_name AS resource_name,
       'https://dash.cloudflare.com/' || coalesce(account_id, '') || '/' || coalesce(zone_name, zone_id) AS resource_url,
       CASE WHEN paused IS NOT FALSE OR status IS DISTINCT FROM 'active' THEN 'unknown'
            WHEN custom_blocking_rules > 0 OR json_array_length(managed_rulesets_executed) > 0 THEN 'pass'
            ELSE 'fail' END AS status,
       CASE WHEN paused IS NOT FALSE OR status IS DISTINCT FROM 'active'
              THEN 'zone ' || coalesce(status, 'status not reported') || CASE WHEN paused THEN ', paused' ELSE '' END
                || ': Cloudflare does not proxy its traffic'
            ELSE 'custom phase: ' || CASE WHEN custom_entrypoint = 'none' THEN 'no ruleset'
                                          ELSE custom_blocking_rules::VARCHAR || ' enabled blocking rules of '
                                               || custom_rules::VARCHAR END
              || '; managed phase: ' || CASE WHEN managed_entrypoint = 'none' THEN 'no ruleset'
                                             ELSE 'executes ' || managed_rulesets_executed || ' ('
                                                  || managed_rules::VARCHAR || ' rules)' END END AS reason,
       CASE WHEN paused IS FALSE AND status = 'active' AND custom_blocking_rules = 0
                 AND json_array_length(managed_rulesets_executed) = 0 THEN 'no_waf_rules' END AS failure,
       custom_blocking_rules,
       managed_rulesets_executed
FROM raw_cloudflare_zones
WHERE snapshot_date = $snapshot_date
