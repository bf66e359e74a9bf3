/**
 * What kind of address an http target reaches: the classes the target policy (./policy.ts) allows or
 * refuses. Address ranges come from ipaddr.js (its IANA special-purpose tables); this module only maps its
 * range names onto the policy's classes, unwraps IPv4 addresses carried inside IPv6 ones, and adds the
 * cloud metadata endpoints, which no table lists.
 *
 * Every notation a URL accepts is covered because IPv4 text goes through the WHATWG URL parser, the one
 * `http.request` and `fetch` use: `2130706433`, `0x7f000001`, `0177.0.0.1` and `127.1` all become
 * `127.0.0.1` there before they are classified. An IPv4-mapped (`::ffff:127.0.0.1`), NAT64
 * (`64:ff9b::7f00:1`) or 6to4 (`2002:7f00:1::`) address takes the class of the IPv4 address inside it.
 */
import ipaddr from 'ipaddr.js';

/** The classes of addresses; every one but `public` is refused by the stack's default policy. */
export const ADDRESS_CLASSES = [
  'public',
  'loopback',
  'private',
  'uniqueLocal',
  'carrierGradeNat',
  'linkLocal',
  'metadata',
  'multicast',
  'unspecified',
  'broadcast',
  'reserved',
] as const;
export type AddressClass = (typeof ADDRESS_CLASSES)[number];

/** What each class is, for the refusal messages and the docs. */
export const ADDRESS_CLASS_RULES: Record<AddressClass, string> = {
  public: 'a public address',
  loopback: 'a loopback address (127.0.0.0/8, ::1)',
  private: 'a private address (RFC 1918: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)',
  uniqueLocal: 'a unique local address (fc00::/7)',
  carrierGradeNat: 'a carrier-grade NAT address (100.64.0.0/10)',
  linkLocal: 'a link-local address (169.254.0.0/16, fe80::/10)',
  metadata: 'a cloud metadata or credentials endpoint',
  multicast: 'a multicast address (224.0.0.0/4, ff00::/8)',
  unspecified: 'an unspecified address (0.0.0.0/8, ::)',
  broadcast: 'the broadcast address (255.255.255.255)',
  reserved: 'a reserved or special-purpose address',
};

/**
 * Classes no target policy can allow: the instance metadata service, the ECS/EKS credentials endpoints and
 * the Amazon DNS and time servers all live on link-local addresses (or on the metadata addresses below).
 */
export const NEVER_ALLOWED_CLASSES: readonly AddressClass[] = ['linkLocal', 'metadata'];

/**
 * Cloud metadata, credentials and infrastructure endpoints, by address. Most are link-local already; the
 * ones that are not (the IPv6 IMDS in a ULA range, Alibaba's in CGNAT space, Oracle's in 192.0.0.0/24)
 * are why this list exists.
 */
export const METADATA_ADDRESSES: readonly string[] = [
  '169.254.169.254', // EC2 IMDS, also GCP, Azure, OpenStack, DigitalOcean
  '169.254.169.253', // Amazon DNS resolver
  '169.254.169.123', // Amazon Time Sync
  '169.254.170.2', // ECS task role credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)
  '169.254.170.23', // EKS Pod Identity agent
  'fd00:ec2::254', // EC2 IMDS over IPv6
  'fd00:ec2::253', // Amazon DNS resolver over IPv6
  'fd00:ec2::123', // Amazon Time Sync over IPv6
  'fd00:ec2::23', // EKS Pod Identity agent over IPv6
  '100.100.100.200', // Alibaba Cloud metadata
  '192.0.0.192', // Oracle Cloud metadata
];

/** Host names of metadata services (they resolve to one of the addresses above, where they resolve). */
export const METADATA_HOSTS: readonly string[] = [
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
];

const METADATA = new Set(METADATA_ADDRESSES.map((text) => ipaddr.parse(text).toNormalizedString()));

export interface ClassifiedAddress {
  /** The address in canonical form (`127.0.0.1`, `fd00:ec2::254`). */
  address: string;
  class: AddressClass;
  /** For an IPv6 address carrying an IPv4 address (mapped, NAT64, 6to4): the IPv4 address it was classed by. */
  embedded?: string;
}

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * The address `text` denotes, in any notation a URL host accepts (brackets and an IPv6 zone allowed), or
 * undefined when `text` is a host name.
 *
 * @example parseAddress('0x7f000001')?.toString(); // '127.0.0.1'
 */
export function parseAddress(text: string): IpAddress | undefined {
  let host = text.trim();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.includes(':')) {
    const zone = host.indexOf('%');
    if (zone > 0) host = host.slice(0, zone);
    return ipaddr.IPv6.isValid(host) ? ipaddr.IPv6.parse(host) : undefined;
  }
  // Anything that would make the text more than a host (userinfo, path, port) is not an address.
  if (host === '' || /[\s/?#@\\:]/.test(host)) return undefined;
  let canonical: string;
  try {
    canonical = new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
  return ipaddr.IPv4.isValidFourPartDecimal(canonical) ? ipaddr.IPv4.parse(canonical) : undefined;
}

function classOfIPv4(ip: ipaddr.IPv4): AddressClass {
  if (METADATA.has(ip.toNormalizedString())) return 'metadata';
  const range = ip.range();
  switch (range) {
    case 'unspecified':
    case 'broadcast':
    case 'multicast':
    case 'linkLocal':
    case 'loopback':
    case 'carrierGradeNat':
    case 'private':
    case 'reserved':
      return range;
    default:
      // 'unicast', and the anycast services (as112, amt) that are routed like any public address.
      return 'public';
  }
}

const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');

/** The IPv4 address an IPv6 address forwards to, where it is one of the forms that do. */
function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const range = ip.range();
  const bytes = ip.toByteArray();
  if (range === 'ipv4Mapped' || range === 'rfc6145' || (range === 'rfc6052' && ip.match(NAT64_WELL_KNOWN))) {
    return ipaddr.IPv4.parse(bytes.slice(12, 16).join('.'));
  }
  if (range === '6to4') return ipaddr.IPv4.parse(bytes.slice(2, 6).join('.'));
  return undefined;
}

function classOfIPv6(ip: ipaddr.IPv6): AddressClass {
  if (METADATA.has(ip.toNormalizedString())) return 'metadata';
  const range = ip.range() as string;
  switch (range) {
    case 'unspecified':
    case 'linkLocal':
    case 'multicast':
    case 'loopback':
    case 'uniqueLocal':
      return range;
    case 'amt':
    case 'as112v6':
      return 'public';
    case 'unicast':
      // ipaddr.js calls everything it has no table for unicast; only 2000::/3 is allocated as global
      // unicast. The rest (IPv4-compatible ::a.b.c.d among them) is refused as reserved.
      return ip.match(GLOBAL_UNICAST) ? 'public' : 'reserved';
    default:
      // teredo, rfc6052's local-use prefix, discard, benchmarking, documentation, orchid, site-local, SRv6…
      return 'reserved';
  }
}

/**
 * The class of an address (any notation `parseAddress` takes, or a parsed address).
 *
 * @example classifyAddress('::ffff:169.254.169.254'); // { address: '::ffff:a9fe:a9fe', class: 'metadata', embedded: '169.254.169.254' }
 */
export function classifyAddress(input: string | IpAddress): ClassifiedAddress {
  const ip = typeof input === 'string' ? parseAddress(input) : input;
  if (!ip) throw new TypeError(`${JSON.stringify(input)} is not an IP address`);
  if (ip.kind() === 'ipv4') return { address: ip.toString(), class: classOfIPv4(ip as ipaddr.IPv4) };
  const v6 = ip as ipaddr.IPv6;
  const inner = METADATA.has(v6.toNormalizedString()) ? undefined : embeddedIPv4(v6);
  if (inner) return { address: v6.toString(), class: classOfIPv4(inner), embedded: inner.toString() };
  return { address: v6.toString(), class: classOfIPv6(v6) };
}

/** `127.0.0.1, a loopback address (127.0.0.0/8, ::1)`; an embedded IPv4 address is shown after `=`. */
export function describeAddress(classified: ClassifiedAddress): string {
  const shown = classified.embedded ? `${classified.address} = ${classified.embedded}` : classified.address;
  return `${shown}, ${ADDRESS_CLASS_RULES[classified.class]}`;
}

/** A host name as compared with allow-lists and the metadata names: lower case, without a trailing dot. */
export function normalizeHostName(host: string): string {
  return host.toLowerCase().replace(/\.+$/, '');
}

/**
 * Why no target policy could ever allow an http target at `hostname` (a URL's hostname, brackets and
 * all): the host as it is understood, its class and the rule; or undefined. Checked when a job is validated, so such a job is refused before it is stored.
 *
 * @example neverAllowedHost('[::ffff:a9fe:a9fe]'); // '::ffff:a9fe:a9fe = 169.254.169.254, a cloud metadata … endpoint, which no target policy allows'
 */
export function neverAllowedHost(hostname: string): string | undefined {
  const ip = parseAddress(hostname);
  if (!ip) {
    const name = normalizeHostName(hostname);
    return METADATA_HOSTS.includes(name)
      ? `${name}, the host name of a cloud metadata service, which no target policy allows`
      : undefined;
  }
  const classified = classifyAddress(ip);
  if (!NEVER_ALLOWED_CLASSES.includes(classified.class)) return undefined;
  return `${describeAddress(classified)}, which no target policy allows`;
}
