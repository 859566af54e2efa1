/**
 * Removes secrets from text before it reaches a log, an error or plan output. A secret is also
 * caught in the forms it takes when embedded in JSON (escaped), URL-encoded or base64-encoded,
 * since credentials travel as JSON bodies and certificates are JSON themselves.
 */
export const REDACTED = '[redacted]';

/** Secrets shorter than this are not redacted: replacing every `a` in a text hides nothing and ruins it. */
const MIN_SECRET_LENGTH = 6;

export function redact(text: string, secrets: Iterable<string | undefined | null>): string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
    forms.add(Buffer.from(secret, 'utf8').toString('base64'));
  }
  // Longest first: a secret that contains another must go whole.
  let result = text;
  for (const form of [...forms].sort((a, b) => b.length - a.length)) {
    result = result.split(form).join(REDACTED);
  }
  return result;
}

/** An error whose message (and stack) have been passed through `redact`; the cause is dropped. */
export function redactError(error: unknown, secrets: Iterable<string | undefined | null>): Error {
  const list = [...secrets];
  const redacted = new Error(redact(error instanceof Error ? error.message : String(error), list));
  redacted.name = error instanceof Error ? error.name : 'Error';
  redacted.stack = error instanceof Error && error.stack ? redact(error.stack, list) : redacted.stack;
  return redacted;
}

/**
 * Every secret a set of Taskcluster credentials carries: the token, the certificate, and the
 * certificate's signature and seed (from which, with the issuer's token, the key is derived).
 */
export function secretsOf(credentials: { accessToken?: string; certificate?: string | null }): string[] {
  const secrets: string[] = [];
  if (credentials.accessToken) secrets.push(credentials.accessToken);
  if (credentials.certificate) {
    secrets.push(credentials.certificate);
    try {
      const cert = JSON.parse(credentials.certificate) as { signature?: unknown; seed?: unknown };
      if (typeof cert.signature === 'string') secrets.push(cert.signature);
      if (typeof cert.seed === 'string') secrets.push(cert.seed);
    } catch {
      // Not JSON: the certificate as a whole is already listed.
    }
  }
  return secrets;
}
