import { graphql } from '$lib/graphql';

export const CustomerFields = graphql(`
  fragment CustomerFields on Customer {
    id
    name
    email
    createdAt
    requireTwoFactor
    package { id name maxDomains maxMailboxes maxForwards totalQuotaMb }
    sendingLimit { limit used }
    usage { domains mailboxes forwards quotaAllocatedMb quotaUsedBytes }
  }
`);
