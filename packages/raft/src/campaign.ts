/** Why a node campaigns (etcd's CampaignType). */
export enum CampaignType {
  /** A pre-vote round first (PreVote enabled). */
  PreElection = 0,
  Election = 1,
  /** Leadership transfer: voters grant the vote even while they hear a leader (lease). */
  Transfer = 2,
}

/** Context of vote messages of a transfer campaign. */
export const campaignTransfer = new TextEncoder().encode("CampaignTransfer");
