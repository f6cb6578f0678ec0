// Where outbound webhooks may go. A subscriber names a URL and the service POSTs to it from
// inside its network, so unless WEBHOOKS_ALLOW_PRIVATE_URLS is set, a URL whose host is (or
// resolves to) a loopback, private, link-local or otherwise non-public address is refused:
// when subscribing, and again at every delivery, where the address checked is the one the
// socket connects to (publicLookup), so a name that re-resolves to a private address after
// the check (DNS rebinding) is refused too.
import dns from 'node:dns';
import net from 'node:net';

const NON_PUBLIC = new net.BlockList();
for (const [subnet, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata endpoints among them
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
] as const)
  NON_PUBLIC.addSubnet(subnet, prefix, 'ipv4');
for (const [subnet, prefix] of [
  ['::', 96], // unspecified, loopback, IPv4-compatible (mapped ones are checked as IPv4 by BlockList)
  ['64:ff9b:1::', 48], // local-use NAT64
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed by some)
  ['ff00::', 8], // multicast
] as const)
  NON_PUBLIC.addSubnet(subnet, prefix, 'ipv6');

/** True for an IP literal that is not a public unicast address. */
export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) throw new Error(`not an IP address: ${address}`);
  return NON_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The URL's host as an address or a name: IPv6 literals lose their brackets. */
export const hostOf = (u: URL): string => u.hostname.replace(/^\[(.*)\]$/, '$1');

/** An error a refused address is reported with; its code is what the delivery log shows. */
export class PrivateAddressError extends Error {
  readonly code = 'private_address';
}

/**
 * What a subscription's URL is refused for, or null when it is fine: http(s) only, no
 * credentials in it, and (unless private addresses are allowed) a host that is, and now
 * resolves to, public addresses only.
 */
export async function webhookUrlProblem(raw: string, allowPrivate: boolean): Promise<string | null> {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'is not a valid absolute URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be an http or https URL';
  if (u.username || u.password) return 'must not carry credentials (the deliveries are signed instead)';
  if (allowPrivate) return null;
  const host = hostOf(u);
  if (net.isIP(host)) return isPrivateAddress(host) ? `has a non-public address (${host}); see WEBHOOKS_ALLOW_PRIVATE_URLS` : null;
  const addresses = await dns.promises.lookup(host, { all: true }).catch(() => null);
  if (!addresses?.length) return `has a host that does not resolve (${host})`;
  const refused = addresses.find((a) => isPrivateAddress(a.address));
  return refused ? `resolves to a non-public address (${host} → ${refused.address}); see WEBHOOKS_ALLOW_PRIVATE_URLS` : null;
}

/**
 * A `lookup` for http.request that resolves as usual and refuses every answer holding a
 * non-public address: the socket connects only to an address that passed the check.
 */
export const publicLookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused) return callback(new PrivateAddressError(`${hostname} resolves to ${refused.address}`), []);
    const first = addresses[0];
    if (options.all) return callback(null, addresses);
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
    callback(null, first.address, first.family);
  });
};
