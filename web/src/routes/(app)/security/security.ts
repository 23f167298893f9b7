import { graphql } from '$lib/graphql';

export const DnsRecordFields = graphql(`
  fragment DnsRecordFields on DnsRecord {
    name
    type
    value
    values
    zoneValue
  }
`);

export const DkimKeyFields = graphql(
  `
    fragment DkimKeyFields on DkimKey {
      id
      selector
      algorithm
      status
      provisioning
      provisioningError
      createdAt
      activatedAt
      dnsRecord { ...DnsRecordFields }
    }
  `,
  [DnsRecordFields],
);

export const SecurityFields = graphql(
  `
    fragment SecurityFields on Domain {
      id
      name
      dkimKeys { ...DkimKeyFields }
      spfRecord { ...DnsRecordFields }
      dmarcRecord { ...DnsRecordFields }
      mailRecords { kind record { ...DnsRecordFields } }
      spamSettings { threshold action greylisting updatedAt }
      sendingLimit { limit used remaining resetsAt packageLimit override }
    }
  `,
  [DkimKeyFields, DnsRecordFields],
);
