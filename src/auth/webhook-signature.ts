// Signed webhooks, for catalogue systems that cannot hold a bearer key. The sender signs
// each request with its space's secret:
//   X-EmerFlow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
// The timestamp is inside the MAC, so a captured request cannot be re-dated; the window
// bounds how long one stays usable, and the record of accepted signatures (Postgres)
// refuses a second use within it. Several v1= values may be sent (a sender rotating).
import crypto from 'node:crypto';

export const SIGNATURE_HEADER = 'x-emerflow-signature';
/** How far a signature's timestamp may be from now, either way. */
export const SIGNATURE_WINDOW_S = 300;

export const newWebhookSecret = (): string => `whsec_${crypto.randomBytes(32).toString('base64url')}`;

export function sign(secret: string, timestamp: number, body: Buffer | string): string {
  return crypto.createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export interface ParsedSignature {
  timestamp: number;
  macs: string[];
}

/** Null when the header is not of the form t=<digits>,v1=<64 hex>[,v1=…]. */
export function parseSignatureHeader(header: string): ParsedSignature | null {
  if (header.length > 1024) return null;
  let timestamp: number | null = null;
  const macs: string[] = [];
  for (const part of header.split(',')) {
    const [k, v, ...rest] = part.trim().split('=');
    if (rest.length || v === undefined) return null;
    if (k === 't' && /^\d{1,12}$/.test(v)) timestamp = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/i.test(v)) macs.push(v.toLowerCase());
    else return null;
  }
  return timestamp === null || macs.length === 0 ? null : { timestamp, macs };
}

export type Verdict = { ok: true; mac: string; secretId: string } | { ok: false; reason: 'malformed' | 'expired' | 'mismatch' };

/** Checks a signature against the space's secrets in force; constant time per comparison. */
export function verify(
  header: string,
  body: Buffer | string,
  secrets: { id: string; secret: string }[],
  nowS = Math.floor(Date.now() / 1000),
): Verdict {
  const sig = parseSignatureHeader(header);
  if (!sig) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowS - sig.timestamp) > SIGNATURE_WINDOW_S) return { ok: false, reason: 'expired' };
  for (const s of secrets) {
    const want = Buffer.from(sign(s.secret, sig.timestamp, body), 'hex');
    for (const mac of sig.macs) if (crypto.timingSafeEqual(want, Buffer.from(mac, 'hex'))) return { ok: true, mac, secretId: s.id };
  }
  return { ok: false, reason: 'mismatch' };
}
