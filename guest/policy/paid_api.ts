/**
 * Paid-API hosts (CLOSED_CLAW_PAID_API_PROVIDERS): which host of a URL is a
 * paid provider, so the host can ask for approval before it allows the call
 * and the guest can refuse a redirect that would reach one unapproved.
 * Guest-safe: no imports.
 */

/**
 * The paid-provider entry `host` falls under, or `null`. An entry matches the
 * host itself and every sub-domain (`stripe.com` covers `api.stripe.com`);
 * a leading `*.` is accepted and means the same.
 *
 * @example
 * ```ts
 * paidProviderFor("api.stripe.com", ["stripe.com"]); // "stripe.com"
 * paidProviderFor("example.com", ["stripe.com"]); // null
 * ```
 */
export function paidProviderFor(host: string, providers: readonly string[]): string | null {
  const name = host.toLowerCase().replace(/\.$/, "");
  for (const entry of providers) {
    const provider = entry.trim().toLowerCase().replace(/^\*\./, "").replace(/\.$/, "");
    if (!provider) continue;
    if (name === provider || name.endsWith(`.${provider}`)) return provider;
  }
  return null;
}
