-- Plain-HTTP listeners: the connector decided from the default action, else from the rules in priority order up to a
-- catch-all one (connectors/aws/posture_ops.py rules_redirect).
SELECT account_id || '/' || region || '/' || coalesce(load_balancer_name, load_balancer_arn) || '/' || port AS resource_id,
       coalesce(load_balancer_name, load_balancer_arn) || ' HTTP:' || port || ' (' || account_id || ' ' || region || ')'
         AS resource_name,
       'https://console.aws.amazon.com/ec2/home?region=' || region || '#LoadBalancers:search='
         || coalesce(load_balancer_name, '') AS resource_url,
       CASE WHEN redirects_to_https IS NULL THEN 'unknown' WHEN redirects_to_https THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN redirects_to_https IS NULL THEN 'whether the listener redirects to HTTPS was not determined'
            WHEN redirects_to_https AND rules_read IS NULL THEN 'the default action redirects to HTTPS'
            WHEN redirects_to_https THEN 'a catch-all rule redirects every request to HTTPS (' || redirect_rule_arn || ')'
            WHEN redirect_rule_arn IS NOT NULL
            THEN 'rule ' || redirect_rule_arn || ' serves plain HTTP before any catch-all redirect to HTTPS'
            ELSE 'the default action serves plain HTTP and no catch-all rule redirects to HTTPS'
       END AS reason,
       CASE WHEN redirects_to_https = false THEN 'http_not_redirected' END AS failure,
       account_id,
       region,
       load_balancer_type,
       scheme
FROM raw_aws_lb_listeners
WHERE snapshot_date = $snapshot_date AND protocol = 'HTTP'
