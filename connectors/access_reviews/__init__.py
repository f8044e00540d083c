"""Access-review campaigns: the signed campaign chain under <EVIDENCE_HOME>/evidence/campaigns/, read each day."""

from connectors.access_reviews.streams import CampaignDecisions, CampaignPopulation, CampaignReader, Campaigns

__all__ = ["CampaignDecisions", "CampaignPopulation", "CampaignReader", "Campaigns"]
