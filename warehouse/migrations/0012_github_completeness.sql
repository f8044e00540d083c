-- GitHub: what could not be read whole. A list GitHub cut short, a nullable field it left null or a repository
-- without a default branch makes the row unknown, never pass (the controls read these columns).

-- isEmpty: no commits yet, so no default branch (defaultBranchRef is null).
ALTER TABLE raw_github_repositories ADD COLUMN is_empty BOOLEAN;
-- why the default branch's list of rules is not known in full (every judgement of the branch depends on it)
ALTER TABLE raw_github_repositories ADD COLUMN rules_incomplete VARCHAR[];
-- why the review requirement's details are not (rulesets' bypass actors, required approvals)
ALTER TABLE raw_github_repositories ADD COLUMN review_incomplete VARCHAR[];

-- on a repository's row without a login: why its outside collaborators could not all be read
ALTER TABLE raw_github_outside_collaborators ADD COLUMN incomplete VARCHAR[];

-- why a pull request's decisive reviews could not all be read
ALTER TABLE raw_github_merged_pull_requests ADD COLUMN incomplete VARCHAR[];
