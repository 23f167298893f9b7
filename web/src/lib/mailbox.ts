// The mailbox selection shared by the table, the owner's page and the live subscription.
import { ErrorFields, graphql } from './graphql';

export const MailboxFields = graphql(`
  fragment MailboxFields on Mailbox {
    id
    address
    localPart
    quotaMb
    maxMessageSizeBytes
    status
    provisioning
    provisioningError
    autoresponderActive
    createdAt
    deletedAt
    purgeAt
    deleteGraceDays
    language
    webmailUrl
    domain { id name }
    customer { id name }
    quota { usedMb limitMb percent messages updatedAt warningPercent }
    autoresponder { enabled active subject message startsAt endsAt }
  }
`);

export const MailboxChangedSubscription = graphql(
  `
    subscription MailboxChanged($id: ID!) {
      mailboxChanged(id: $id) { ...MailboxFields }
    }
  `,
  [MailboxFields],
);

export const MailboxQuotaSubscription = graphql(`
  subscription MailboxQuota($mailboxId: ID!) {
    mailboxQuota(mailboxId: $mailboxId) { usedMb limitMb percent messages updatedAt warningPercent }
  }
`);

export const RecalculateQuota = graphql(
  `
    mutation RecalculateQuota($mailboxId: ID!) {
      recalculateQuota(mailboxId: $mailboxId) { __typename ... on MutationRecalculateQuotaSuccess { mailbox { id } } ...ErrorFields }
    }
  `,
  [ErrorFields],
);
