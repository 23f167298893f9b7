import { graphql } from '$lib/graphql';

export const PackageFields = graphql(`
  fragment PackageFields on HostingPackage {
    id
    name
    customerCount
    maxDomains
    maxMailboxes
    maxForwards
    totalQuotaMb
    maxEmailsPerHour
    maxEmailsPerHourMailbox
    maxEmailsPerHourDomain
    deleteGraceDays
    createdAt
  }
`);
