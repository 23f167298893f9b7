// Quota warnings: which threshold a mailbox's usage has crossed, and what its owner is told.
// Invariants:
// - One mail per crossing: a threshold is told about once, when the usage first reaches it; the
//   mailbox remembers the highest one told (quota_warned_percent). Jumping past several thresholds
//   at once tells only the highest.
// - Dropping under a threshold lowers what is remembered (no mail), so the next crossing warns anew.
// - An unlimited mailbox (quota 0) is under every threshold.
// - The mail is in the mailbox's language (core/src/mailbox-language.ts), English when it has none.
import { DEFAULT_LANGUAGE, isMailboxLanguage, type MailboxLanguage } from './mailbox-language.js';
import { headerText } from './render/mail-header.js';
import { fillTemplate } from './render/mailstack-config.js';

/** The highest threshold `usedBytes` reaches of `quotaMb` (0 = none, or no limit). */
export function warningLevel(usedBytes: number, quotaMb: number, thresholds: readonly number[]): number {
  if (quotaMb <= 0) return 0;
  const percent = (usedBytes / (quotaMb * 1024 * 1024)) * 100;
  return thresholds.filter((t) => percent >= t).reduce((a, b) => Math.max(a, b), 0);
}

/** What to do after a measurement: tell the owner about `level`, or just remember `level`. */
export function nextWarning(told: number, level: number): { remember: number; tell: boolean } | null {
  if (level === told) return null;
  return { remember: level, tell: level > told };
}

export interface QuotaWarningMail {
  subject: string;
  text: string;
}

interface QuotaWarningTemplate {
  subject: string;
  usage: string;
  /** At the higher thresholds (95 % and up): what happens when it is full. */
  nearlyFull: string;
  filling: string;
  once: string;
}

// The warning in each language of MAILBOX_LANGUAGES. Placeholders: {{address}} {{percent}} {{usedMb}}
// {{quotaMb}} {{level}}; fillTemplate refuses any other, so a typo fails the tests, not a customer's mail.
const TEMPLATES: Record<MailboxLanguage, QuotaWarningTemplate> = {
  en: {
    subject: 'Your mailbox {{address}} is {{percent}} % full',
    usage: 'Your mailbox {{address}} uses {{usedMb}} MB of its {{quotaMb}} MB ({{percent}} %).',
    nearlyFull: 'When it is full, new mail to it is refused and returned to the senders. Delete or archive mail you no longer need, or ask your provider for more space.',
    filling: 'Delete or archive mail you no longer need before it fills up; when it is full, new mail to it is refused.',
    once: 'You get this message once when the mailbox passes {{level}} % of its space.',
  },
  de: {
    subject: 'Ihr Postfach {{address}} ist zu {{percent}} % voll',
    usage: 'Ihr Postfach {{address}} belegt {{usedMb}} MB von {{quotaMb}} MB ({{percent}} %).',
    nearlyFull: 'Ist es voll, wird neue E-Mail an das Postfach abgewiesen und an die Absender zurückgeschickt. Löschen oder archivieren Sie E-Mails, die Sie nicht mehr brauchen, oder bitten Sie Ihren Anbieter um mehr Speicherplatz.',
    filling: 'Löschen oder archivieren Sie E-Mails, die Sie nicht mehr brauchen, bevor es voll ist; ist es voll, wird neue E-Mail an das Postfach abgewiesen.',
    once: 'Sie erhalten diese Nachricht einmal, wenn das Postfach {{level}} % seines Speicherplatzes überschreitet.',
  },
  fr: {
    subject: 'Votre boîte aux lettres {{address}} est pleine à {{percent}} %',
    usage: 'Votre boîte aux lettres {{address}} utilise {{usedMb}} Mo sur {{quotaMb}} Mo ({{percent}} %).',
    nearlyFull: 'Lorsqu’elle est pleine, les nouveaux messages sont refusés et renvoyés aux expéditeurs. Supprimez ou archivez les messages dont vous n’avez plus besoin, ou demandez plus d’espace à votre fournisseur.',
    filling: 'Supprimez ou archivez les messages dont vous n’avez plus besoin avant qu’elle soit pleine ; lorsqu’elle est pleine, les nouveaux messages sont refusés.',
    once: 'Vous recevez ce message une seule fois, lorsque la boîte dépasse {{level}} % de son espace.',
  },
  es: {
    subject: 'Su buzón {{address}} está lleno al {{percent}} %',
    usage: 'Su buzón {{address}} usa {{usedMb}} MB de sus {{quotaMb}} MB ({{percent}} %).',
    nearlyFull: 'Cuando esté lleno, el correo nuevo se rechazará y se devolverá a los remitentes. Elimine o archive el correo que ya no necesite, o pida más espacio a su proveedor.',
    filling: 'Elimine o archive el correo que ya no necesite antes de que se llene; cuando esté lleno, el correo nuevo se rechazará.',
    once: 'Recibe este mensaje una sola vez, cuando el buzón supera el {{level}} % de su espacio.',
  },
  nl: {
    subject: 'Uw mailbox {{address}} is voor {{percent}} % vol',
    usage: 'Uw mailbox {{address}} gebruikt {{usedMb}} MB van de {{quotaMb}} MB ({{percent}} %).',
    nearlyFull: 'Als hij vol is, wordt nieuwe e-mail geweigerd en teruggestuurd naar de afzenders. Verwijder of archiveer e-mail die u niet meer nodig hebt, of vraag uw provider om meer ruimte.',
    filling: 'Verwijder of archiveer e-mail die u niet meer nodig hebt voordat hij vol raakt; als hij vol is, wordt nieuwe e-mail geweigerd.',
    once: 'U ontvangt dit bericht één keer, wanneer de mailbox {{level}} % van zijn ruimte overschrijdt.',
  },
};

/** The warning in the mailbox's language (English when it has none). Values are numbers (written as
 *  the language writes them) and the validated address; the subject goes through the header
 *  renderer, and the MIME encoding of headers is left to the mail composer. */
export function quotaWarningMail(m: { address: string; level: number; usedBytes: number; quotaMb: number; language?: string | null }): QuotaWarningMail {
  const language = isMailboxLanguage(m.language) ? m.language : DEFAULT_LANGUAGE;
  const t = TEMPLATES[language];
  const number = new Intl.NumberFormat(language, { maximumFractionDigits: 1, useGrouping: false });
  const usedMb = Math.round((m.usedBytes / (1024 * 1024)) * 10) / 10;
  const percent = Math.min(100, Math.round((m.usedBytes / (m.quotaMb * 1024 * 1024)) * 100));
  const vars = { address: m.address, percent: String(percent), usedMb: number.format(usedMb), quotaMb: number.format(m.quotaMb), level: String(m.level) };
  return {
    subject: headerText(fillTemplate(`quota warning (${language}) subject`, t.subject, vars), 'subject'),
    text: [
      fillTemplate(`quota warning (${language}) usage`, t.usage, vars),
      '',
      m.level >= 95 ? t.nearlyFull : t.filling,
      '',
      fillTemplate(`quota warning (${language}) once`, t.once, vars),
    ].join('\n'),
  };
}
