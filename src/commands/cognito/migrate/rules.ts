/**
 * Cognito's own rules for values, applied while planning so the plan rejects
 * exactly what the API would refuse, and normalises what it would accept in
 * another spelling (E.164 phone numbers, punycode domains).
 *
 * Limits (Cognito API reference): Username 1–128 characters of
 * [\p{L}\p{M}\p{S}\p{N}\p{P}]; in email-as-username pools the email is the
 * Username, so it gets the same 128; any attribute value at most 2048
 * characters; phone_number is E.164 (+ and up to 15 digits).
 */
import { domainToASCII } from 'node:url';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

export const USERNAME_MAX = 128;
export const ATTRIBUTE_MAX = 2048;
/** RFC 5321: a forward path (the whole address) is at most 254 octets. */
export const EMAIL_MAX = 254;
const USERNAME = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$/u;
const LOCAL_PART = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export type Checked = { ok: true; value: string } | { ok: false; reason: string };

/**
 * An email as Cognito stores it: lower-cased (Devise downcases on save too),
 * an internationalised domain in punycode. `asUsername` applies the 128 limit.
 */
export function normaliseEmail(raw: string, asUsername: boolean): Checked {
  const value = raw.trim().toLowerCase();
  const at = value.lastIndexOf('@');
  const bad: Checked = { ok: false, reason: `invalid email address "${value.slice(0, 80)}"` };
  if (at <= 0 || at === value.length - 1) return bad;
  const local = value.slice(0, at);
  if (!LOCAL_PART.test(local) || local.length > 64 || local.startsWith('.') || local.endsWith('.') || local.includes('..')) return bad;
  const domain = domainToASCII(value.slice(at + 1));
  if (!domain) return bad;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return bad;
  const email = `${local}@${domain}`;
  const max = asUsername ? USERNAME_MAX : EMAIL_MAX;
  if (email.length > max) return { ok: false, reason: `email is ${email.length} characters long; Cognito allows at most ${max}${asUsername ? ' (it is the username)' : ''}` };
  return { ok: true, value: email };
}

/** A phone number in E.164, parsed by libphonenumber (spaces, dashes, brackets and 00 prefixes are fine). */
export function normalisePhone(raw: string, defaultCountry?: string): Checked {
  const text = raw.trim().replace(/^00(?=[1-9])/, '+');
  const parsed = parsePhoneNumberFromString(text, defaultCountry ? { defaultCountry: defaultCountry.toUpperCase() as CountryCode } : undefined);
  if (!parsed || !parsed.isPossible()) {
    const hint = text.startsWith('+') || defaultCountry ? '' : ' (no country code: pass --phone-country, e.g. US)';
    return { ok: false, reason: `phone_number is not a phone number Cognito accepts (E.164 like +14155550100), got "${raw.slice(0, 30)}"${hint}` };
  }
  return { ok: true, value: parsed.number };
}

export function checkUsername(name: string): Checked {
  const len = [...name].length;
  if (len > USERNAME_MAX) return { ok: false, reason: `username is ${len} characters long; Cognito allows at most ${USERNAME_MAX}` };
  if (!USERNAME.test(name)) return { ok: false, reason: `username "${name.slice(0, 40)}" is not a valid Cognito username (letters, digits, symbols and punctuation; no spaces)` };
  return { ok: true, value: name };
}

/** The password-hash formats Cognito import jobs take (PasswordHashingAlgorithm) and how each looks. */
export const HASH_FORMATS = {
  // Devise, has_secure_password, PHP password_hash: modular crypt $2a$/$2b$/$2y$, cost, 53 chars of salt+hash.
  BCRYPT: /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/,
  // Django: pbkdf2_sha256$<iterations>$<salt>$<base64 hash>.
  PBKDF2_SHA256: /^pbkdf2_sha256\$\d+\$[^$]+\$[A-Za-z0-9+/=]+$/,
  // PHC string format (argon2-cffi, Django's Argon2PasswordHasher after its "argon2" prefix is removed).
  ARGON2ID: /^(?:argon2)?\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/,
  // PHC-style scrypt ($scrypt$ln=…,r=…,p=…$salt$hash) or Django's scrypt$<salt>$<n>$<r>$<p>$<hash>.
  SCRYPT: /^(?:\$scrypt\$ln=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+|scrypt\$[^$]+\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+)$/,
} as const;
export type HashAlgorithm = keyof typeof HASH_FORMATS;
export const HASH_ALGORITHMS = Object.keys(HASH_FORMATS) as HashAlgorithm[];

/** Which of the formats a stored hash looks like (for "the algorithm does not match" messages). */
export function detectHashAlgorithm(hash: string): HashAlgorithm | undefined {
  return HASH_ALGORITHMS.find((a) => HASH_FORMATS[a].test(hash));
}
