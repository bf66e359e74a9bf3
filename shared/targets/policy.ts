/**
 * The operator's target policy: which destinations `http` targets may reach. A job author picks a URL; the
 * operator decides which networks a URL may lead into. The construct's `targetPolicy` prop and
 * `punctual dev --target-policy FILE` take the same shape (docs/security.md).
 *
 * The policy is enforced twice for every request (./http.ts): on the URL before anything is sent (scheme,
 * literal addresses), and on every address a host name resolves to, inside the connection's DNS lookup, so
 * that the address checked is the address connected to (no DNS rebinding, no name resolving inward).
 */
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { JobValidationError, PunctualError, type Violation } from '../errors.js';
import {
  ADDRESS_CLASS_RULES,
  type AddressClass,
  type ClassifiedAddress,
  classifyAddress,
  describeAddress,
  type IpAddress,
  NEVER_ALLOWED_CLASSES,
  neverAllowedHost,
  normalizeHostName,
  parseAddress,
} from './address.js';

/** The classes an operator may allow for every destination; the others only through `allow.cidrs`. */
export const ALLOWABLE_ADDRESS_CLASSES = ['loopback', 'private', 'uniqueLocal', 'carrierGradeNat'] as const;
export type AllowableAddressClass = (typeof ALLOWABLE_ADDRESS_CLASSES)[number];

export const TARGET_SCHEMES = ['http', 'https'] as const;
export type TargetScheme = (typeof TARGET_SCHEMES)[number];

/** Most redirect hops a policy may allow. */
export const MAX_REDIRECTS_LIMIT = 10;

/**
 * Destinations allowed although their addresses are not public. None of them lifts the link-local and
 * metadata refusal.
 *
 * @example allow: { hosts: ['billing.internal', '*.svc.example.internal'], cidrs: ['10.20.0.0/16'] }
 */
export interface TargetAllowList {
  /**
   * Host names (`billing.internal`) or wildcards (`*.svc.example.internal`, any name below it) whose
   * addresses may be private, loopback, CGNAT or any other class. The scheme must still be in `schemes`.
   * @default none
   */
  readonly hosts?: readonly string[];
  /**
   * URL prefixes (`http://10.0.3.7:8080/hooks/`): a URL with the same origin whose path starts with the
   * prefix's path may reach any address its host resolves to, with the prefix's scheme even when
   * `schemes` leaves it out. End a path prefix with `/`.
   * @default none
   */
  readonly urlPrefixes?: readonly string[];
  /** Address ranges (`10.20.0.0/16`, `fd12:3456::/48`, `192.168.1.10/32`) allowed for any host. @default none */
  readonly cidrs?: readonly string[];
  /**
   * Whole classes allowed for any host: `loopback`, `private` (RFC 1918), `uniqueLocal` (fc00::/7),
   * `carrierGradeNat` (100.64.0.0/10). `punctual dev` allows `loopback` unless its policy file sets this.
   * @default none on a stack
   */
  readonly addressClasses?: readonly AllowableAddressClass[];
}

/**
 * What an operator lets http targets reach. Every field left out keeps its default (the stack's, or
 * `punctual dev`'s, which adds `http` and loopback); every field given replaces it.
 *
 * @example
 * new Scheduler(stack, 'Scheduler', {
 *   targetPolicy: { allow: { hosts: ['billing.internal'], cidrs: ['10.20.0.0/16'] }, maxRedirects: 2 },
 * });
 */
export interface TargetPolicy {
  /** URL schemes http targets may use. @default ['https'] on a stack; ['http', 'https'] in `punctual dev` */
  readonly schemes?: readonly TargetScheme[];
  /**
   * Redirect hops followed (each checked like the first request; credentials dropped when the origin
   * changes). With 0 a 3xx response fails the run.
   * @default 0
   */
  readonly maxRedirects?: number;
  /** Destinations allowed besides public addresses. @default none on a stack; loopback in `punctual dev` */
  readonly allow?: TargetAllowList;
}

/** A policy with every field present and checked; what the executor receives in its environment. */
export interface ResolvedTargetPolicy {
  readonly schemes: readonly TargetScheme[];
  readonly maxRedirects: number;
  readonly allow: {
    readonly hosts: readonly string[];
    readonly urlPrefixes: readonly string[];
    readonly cidrs: readonly string[];
    readonly addressClasses: readonly AllowableAddressClass[];
  };
}

/** The default on a stack: https only, public addresses only, no redirects. */
export const STACK_TARGET_POLICY: ResolvedTargetPolicy = {
  schemes: ['https'],
  maxRedirects: 0,
  allow: { hosts: [], urlPrefixes: [], cidrs: [], addressClasses: [] },
};

/** `punctual dev`'s default: the stack's, plus http and loopback (its echo server and workers live there). */
export const LOCAL_TARGET_POLICY: ResolvedTargetPolicy = {
  schemes: ['http', 'https'],
  maxRedirects: 0,
  allow: { hosts: [], urlPrefixes: [], cidrs: [], addressClasses: ['loopback'] },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

function stringList(
  value: unknown,
  path: string,
  violations: Violation[],
  check: (item: string) => string | undefined,
): string[] | undefined {
  if (!Array.isArray(value)) {
    violations.push({ path, value, message: 'must be a list of strings' });
    return undefined;
  }
  const items: string[] = [];
  value.forEach((item, i) => {
    const rule = typeof item === 'string' ? check(item) : 'must be a string';
    if (rule) violations.push({ path: `${path}[${i}]`, value: item, message: rule });
    else items.push(item as string);
  });
  return items;
}

function hostRule(host: string): string | undefined {
  const name = normalizeHostName(host);
  if (parseAddress(name)) return 'is an address: allow addresses with allow.cidrs (e.g. 10.0.3.7/32)';
  if (!HOST_PATTERN.test(name)) {
    return 'must be a host name (billing.internal) or a wildcard below a domain (*.svc.example.internal)';
  }
  const never = neverAllowedHost(name);
  return never ? `is ${never}` : undefined;
}

function urlPrefixRule(prefix: string): string | undefined {
  let url: URL;
  try {
    url = new URL(prefix);
  } catch {
    return 'is not a URL: write the scheme, host and path, e.g. http://10.0.3.7:8080/hooks/';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (url.username || url.password || url.search || url.hash) {
    return 'must be scheme, host, port and path only (no user:password@, query or fragment)';
  }
  const never = neverAllowedHost(url.hostname);
  return never ? `has host ${never}` : undefined;
}

function cidrRule(text: string): string | undefined {
  if (!ipaddr.isValidCIDR(text)) {
    return 'must be an address range in CIDR notation (10.20.0.0/16, fd12:3456::/48, 192.168.1.10/32)';
  }
  // A wider range (0.0.0.0/0) may contain link-local addresses: they stay refused all the same.
  const network = classifyAddress(ipaddr.parseCIDR(text)[0]);
  return NEVER_ALLOWED_CLASSES.includes(network.class)
    ? `starts in ${ADDRESS_CLASS_RULES[network.class]}, which no target policy allows`
    : undefined;
}

/**
 * Checks a policy (the construct prop, or a `--target-policy` file's content) and fills in the fields it
 * leaves out from `base`. Violations are pushed with paths under `prefix` (`targetPolicy.allow.cidrs[0]`).
 */
export function resolveTargetPolicy(
  input: unknown,
  base: ResolvedTargetPolicy,
  violations: Violation[],
  prefix = 'targetPolicy',
): ResolvedTargetPolicy {
  if (input === undefined) return base;
  const at = (key: string) => (prefix ? `${prefix}.${key}` : key);
  if (!isRecord(input)) {
    violations.push({
      path: prefix,
      value: input,
      message: 'must be an object { schemes, maxRedirects, allow }',
    });
    return base;
  }
  const known = ['schemes', 'maxRedirects', 'allow'];
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) {
      violations.push({
        path: at(key),
        value: undefined,
        message: `is not a policy setting (known: ${known.join(', ')})`,
      });
    }
  }
  let schemes = base.schemes;
  if (input.schemes !== undefined) {
    const list = stringList(input.schemes, at('schemes'), violations, (s) =>
      (TARGET_SCHEMES as readonly string[]).includes(s) ? undefined : 'must be http or https',
    );
    if (list) schemes = list as TargetScheme[];
  }
  let maxRedirects = base.maxRedirects;
  if (input.maxRedirects !== undefined) {
    const value = input.maxRedirects;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_REDIRECTS_LIMIT) {
      violations.push({
        path: at('maxRedirects'),
        value,
        message: `must be a whole number from 0 to ${MAX_REDIRECTS_LIMIT} (redirect hops followed)`,
      });
    } else maxRedirects = value;
  }
  const allow = { ...base.allow };
  if (input.allow !== undefined) {
    const raw = input.allow;
    const allowPath = at('allow');
    if (!isRecord(raw)) {
      violations.push({
        path: allowPath,
        value: raw,
        message: 'must be an object { hosts, urlPrefixes, cidrs, addressClasses }',
      });
    } else {
      const lists = ['hosts', 'urlPrefixes', 'cidrs', 'addressClasses'];
      for (const key of Object.keys(raw)) {
        if (!lists.includes(key)) {
          violations.push({
            path: `${allowPath}.${key}`,
            value: undefined,
            message: `is not an allow-list (known: ${lists.join(', ')})`,
          });
        }
      }
      const rules: Record<string, (item: string) => string | undefined> = {
        hosts: hostRule,
        urlPrefixes: urlPrefixRule,
        cidrs: cidrRule,
        addressClasses: (c) =>
          (ALLOWABLE_ADDRESS_CLASSES as readonly string[]).includes(c)
            ? undefined
            : `must be one of ${ALLOWABLE_ADDRESS_CLASSES.join(', ')} (other classes only through allow.cidrs; ` +
              'link-local and metadata addresses never)',
      };
      for (const key of lists) {
        if (raw[key] === undefined) continue;
        const list = stringList(raw[key], `${allowPath}.${key}`, violations, rules[key]!);
        if (!list) continue;
        if (key === 'hosts') allow.hosts = list.map(normalizeHostName);
        else if (key === 'urlPrefixes') allow.urlPrefixes = list.map((p) => new URL(p).href);
        else if (key === 'cidrs') allow.cidrs = list;
        else allow.addressClasses = list as AllowableAddressClass[];
      }
    }
  }
  return { schemes, maxRedirects, allow };
}

/**
 * A checked policy from `input` over `base`.
 *
 * @throws JobValidationError (subject `target policy`) naming every field, value and rule broken.
 * @example parseTargetPolicy({ allow: { cidrs: ['10.0.0.0/8'] } }, STACK_TARGET_POLICY);
 */
export function parseTargetPolicy(
  input: unknown,
  base: ResolvedTargetPolicy,
  subject = 'target policy',
): ResolvedTargetPolicy {
  const violations: Violation[] = [];
  const policy = resolveTargetPolicy(input, base, violations, '');
  if (violations.length > 0) throw new JobValidationError(violations, subject);
  return policy;
}

/** The rule of a refusal, as the error names it. */
export type PolicyRule = 'scheme' | 'redirect' | 'never' | AddressClass;

/**
 * A destination the target policy refuses. Carried out of the connection's DNS lookup and turned into a
 * final `TargetError` by the http target: no retry would pass the same policy.
 */
export class TargetPolicyRefusal extends PunctualError {
  constructor(
    message: string,
    readonly rule: PolicyRule,
    readonly address?: string,
  ) {
    super(message);
    this.name = 'TargetPolicyRefusal';
  }
}

const HOW_TO_ALLOW =
  'an operator can allow it with targetPolicy.allow (hosts, urlPrefixes, cidrs or addressClasses; docs/security.md)';

function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

/** How host names become addresses; `dns.lookup` (the resolver `http.request` uses) by default. */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/**
 * The target policy, enforced: what the http target asks before it sends and as each connection resolves
 * its host. One per executor (and per local runtime); tests give their own resolver.
 *
 * @example const guard = new TargetGuard(parseTargetPolicy({ allow: { cidrs: ['10.0.0.0/8'] } }, STACK_TARGET_POLICY));
 */
export class TargetGuard {
  private readonly cidrs: [IpAddress, number][];
  readonly resolve: Resolver;

  constructor(
    readonly policy: ResolvedTargetPolicy = STACK_TARGET_POLICY,
    options: { resolve?: Resolver } = {},
  ) {
    this.cidrs = policy.allow.cidrs.map((text) => ipaddr.parseCIDR(text));
    this.resolve = options.resolve ?? systemResolver;
  }

  /**
   * Whether `url`'s destination is allow-listed by host or URL prefix: then its addresses may be of any
   * class but link-local and metadata.
   */
  destinationAllowed(url: URL): boolean {
    const host = normalizeHostName(url.hostname);
    if (this.policy.allow.hosts.some((pattern) => hostMatches(pattern, host))) return true;
    return this.matchesPrefix(url);
  }

  private matchesPrefix(url: URL): boolean {
    return this.policy.allow.urlPrefixes.some((text) => {
      const prefix = new URL(text);
      return prefix.origin === url.origin && url.pathname.startsWith(prefix.pathname);
    });
  }

  /**
   * Refuses `url` before anything is sent: a host no policy allows (metadata names, link-local and metadata
   * addresses), a scheme the policy leaves out, or a literal address it refuses. A host name passes here; its addresses are checked as the connection resolves it.
   */
  checkUrl(url: URL): void {
    const never = neverAllowedHost(url.hostname);
    if (never) {
      throw new TargetPolicyRefusal(
        `refused by the target policy (rule: never): ${never}`,
        'never',
        url.hostname,
      );
    }
    const scheme = url.protocol.replace(/:$/, '');
    if (!(this.policy.schemes as readonly string[]).includes(scheme) && !this.matchesPrefix(url)) {
      throw new TargetPolicyRefusal(
        `refused by the target policy (rule: scheme): ${scheme} is not an allowed scheme ` +
          `(targetPolicy.schemes: ${this.policy.schemes.join(', ') || 'none'})`,
        'scheme',
      );
    }
    const literal = parseAddress(url.hostname);
    if (literal) this.checkAddress(literal, url.hostname, this.destinationAllowed(url));
  }

  /** Refuses an address `host` is (a literal) or resolves to, unless the policy allows it. */
  checkAddress(address: string | IpAddress, host: string, destinationAllowed: boolean): ClassifiedAddress {
    const classified = classifyAddress(address);
    if (classified.class === 'public') return classified;
    const via = parseAddress(host) ? '' : `${host} resolves to `;
    if (NEVER_ALLOWED_CLASSES.includes(classified.class)) {
      throw new TargetPolicyRefusal(
        `refused by the target policy (rule: never): ${via}${describeAddress(classified)}, which no target policy allows`,
        'never',
        classified.address,
      );
    }
    if (destinationAllowed || this.allowedAddress(classified)) return classified;
    throw new TargetPolicyRefusal(
      `refused by the target policy (rule: ${classified.class}): ${via}${describeAddress(classified)}; ${HOW_TO_ALLOW}`,
      classified.class,
      classified.address,
    );
  }

  private allowedAddress(classified: ClassifiedAddress): boolean {
    if ((this.policy.allow.addressClasses as readonly string[]).includes(classified.class)) return true;
    const candidates = [ipaddr.parse(classified.address)];
    if (classified.embedded) candidates.push(ipaddr.parse(classified.embedded));
    return candidates.some((ip) =>
      this.cidrs.some(([network, bits]) => network.kind() === ip.kind() && ip.match(network, bits)),
    );
  }

  /** Refuses the redirect that would be hop number `hop` (1 for the first) when the policy allows fewer. */
  checkRedirect(hop: number, status: number, location: string): void {
    if (hop <= this.policy.maxRedirects) return;
    throw new TargetPolicyRefusal(
      `refused by the target policy (rule: redirect): HTTP ${status} redirect to ${location} not followed ` +
        `(targetPolicy.maxRedirects: ${this.policy.maxRedirects})`,
      'redirect',
    );
  }
}
