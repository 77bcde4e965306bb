/**
 * Whether two hosts can be the same site, in the sense of `SameSite` cookies (RFC 6265bis
 * §5.2: the same registrable domain), without a public-suffix list: a conservative answer that
 * is `false` only when they certainly are not.
 *
 * @packageDocumentation
 */
import { isIP } from 'node:net';

/**
 * What two hosts of one site must share, as far as can be told without a public-suffix list: an
 * IP address whole (an address is its own site), a name's last two labels (`sso.example.com` →
 * `example.com`), a one-label name whole (`localhost`). A registrable domain is at least one
 * label more than its public suffix, and a public suffix at least the last label, so two names
 * whose last two labels differ have different registrable domains.
 */
function siteKey(hostname: string): string {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (isIP(host) !== 0) return host;
  return host.split('.').slice(-2).join('.');
}

/**
 * `false` only when `a` and `b` (host names or IP addresses, as `URL.hostname` gives them) are
 * certainly different sites: IP addresses that differ, an IP address and a name, or names whose
 * last two labels differ (`sso.example.com` and `app.example.org`; `localhost` and `127.0.0.1`).
 * `true` otherwise, also where a public-suffix list would tell them apart: names under a public
 * suffix of two labels or more (`a.co.uk` and `b.co.uk`, `a.github.io` and `b.github.io`), which
 * are different sites. Schemes are not compared (schemeful same-site is not in every browser).
 */
export function mayBeSameSite(a: string, b: string): boolean {
  return siteKey(a) === siteKey(b);
}
