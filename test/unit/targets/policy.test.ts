import { describe, expect, it } from 'vitest';
import { ENV, targetPolicyFromEnv } from '../../../functions/commons/config.js';
import { JobValidationError } from '../../../shared/errors.js';
import {
  LOCAL_TARGET_POLICY,
  parseTargetPolicy,
  STACK_TARGET_POLICY,
  TargetGuard,
  TargetPolicyRefusal,
} from '../../../shared/targets/policy.js';

function violations(input: unknown) {
  try {
    parseTargetPolicy(input, STACK_TARGET_POLICY);
  } catch (error) {
    expect(error).toBeInstanceOf(JobValidationError);
    return (error as JobValidationError).violations;
  }
  throw new Error('the policy was accepted');
}

function refusalOf(check: () => unknown): TargetPolicyRefusal {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(TargetPolicyRefusal);
    return error as TargetPolicyRefusal;
  }
  throw new Error('nothing was refused');
}

describe('target policy: defaults and merging', () => {
  it('is https only, public addresses only, no redirects on a stack', () => {
    // act
    const policy = parseTargetPolicy(undefined, STACK_TARGET_POLICY);

    // assert
    expect(policy).toEqual({
      schemes: ['https'],
      maxRedirects: 0,
      allow: { hosts: [], urlPrefixes: [], cidrs: [], addressClasses: [] },
    });
  });

  it('adds http and loopback in punctual dev, and a file replaces only the fields it sets', () => {
    // act
    const local = parseTargetPolicy({ allow: { hosts: ['Billing.Internal.'] } }, LOCAL_TARGET_POLICY);

    // assert
    expect(local).toEqual({
      schemes: ['http', 'https'],
      maxRedirects: 0,
      allow: { hosts: ['billing.internal'], urlPrefixes: [], cidrs: [], addressClasses: ['loopback'] },
    });
  });

  it('lets a dev policy file take loopback away, to try the stack default locally', () => {
    // act
    const strict = parseTargetPolicy(
      { schemes: ['https'], allow: { addressClasses: [] } },
      LOCAL_TARGET_POLICY,
    );

    // assert
    expect(strict).toEqual(STACK_TARGET_POLICY);
  });

  it('normalizes URL prefixes', () => {
    // act
    const policy = parseTargetPolicy(
      { allow: { urlPrefixes: ['HTTP://Billing.Internal:80/hooks/'] } },
      STACK_TARGET_POLICY,
    );

    // assert
    expect(policy.allow.urlPrefixes).toEqual(['http://billing.internal/hooks/']);
  });
});

describe('target policy: invalid input names the field, the value and the rule', () => {
  it('reports every violation at once', () => {
    // act
    const found = violations({
      schemes: ['ftp'],
      maxRedirects: 11,
      allow: {
        hosts: ['10.0.0.1', 'bad host', 'metadata.google.internal'],
        urlPrefixes: ['not a url', 'https://u:p@billing.internal/', 'http://169.254.169.254/'],
        cidrs: ['10.0.0.0/33', '169.254.0.0/16'],
        addressClasses: ['linkLocal'],
        ports: [80],
      },
      redirect: true,
    });

    // assert
    expect(found.map((v) => [v.path, v.value])).toEqual([
      ['redirect', undefined],
      ['schemes[0]', 'ftp'],
      ['maxRedirects', 11],
      ['allow.ports', undefined],
      ['allow.hosts[0]', '10.0.0.1'],
      ['allow.hosts[1]', 'bad host'],
      ['allow.hosts[2]', 'metadata.google.internal'],
      ['allow.urlPrefixes[0]', 'not a url'],
      ['allow.urlPrefixes[1]', 'https://u:p@billing.internal/'],
      ['allow.urlPrefixes[2]', 'http://169.254.169.254/'],
      ['allow.cidrs[0]', '10.0.0.0/33'],
      ['allow.cidrs[1]', '169.254.0.0/16'],
      ['allow.addressClasses[0]', 'linkLocal'],
    ]);
    const message = (path: string) => found.find((v) => v.path === path)?.message;
    expect(message('schemes[0]')).toBe('must be http or https');
    expect(message('maxRedirects')).toBe('must be a whole number from 0 to 10 (redirect hops followed)');
    expect(message('allow.hosts[0]')).toBe(
      'is an address: allow addresses with allow.cidrs (e.g. 10.0.3.7/32)',
    );
    expect(message('allow.hosts[2]')).toMatch(
      /^is metadata.google.internal, the host name of a cloud metadata/,
    );
    expect(message('allow.urlPrefixes[2]')).toMatch(/^has host 169.254.169.254, a cloud metadata/);
    expect(message('allow.cidrs[1]')).toMatch(/^starts in a link-local address/);
    expect(message('allow.addressClasses[0]')).toMatch(
      /^must be one of loopback, private, uniqueLocal, carrierGradeNat/,
    );
  });

  it('says what a policy is when it is not an object', () => {
    // act + assert
    expect(violations(['https'])).toEqual([
      { path: '', value: ['https'], message: 'must be an object { schemes, maxRedirects, allow }' },
    ]);
  });

  it('names the subject in the error message', () => {
    // act + assert
    expect(() =>
      parseTargetPolicy({ maxRedirects: -1 }, LOCAL_TARGET_POLICY, 'target policy policy.yaml'),
    ).toThrow(/^invalid target policy policy\.yaml:\n {2}- maxRedirects -1: must be a whole number/);
  });
});

describe('target guard: decisions', () => {
  const guard = new TargetGuard(
    parseTargetPolicy(
      {
        schemes: ['https'],
        allow: {
          hosts: ['billing.internal', '*.svc.example.internal'],
          urlPrefixes: ['http://10.9.9.9:8080/hooks/'],
          cidrs: ['10.20.0.0/16', 'fd12:3456::/32'],
          addressClasses: ['carrierGradeNat'],
        },
      },
      STACK_TARGET_POLICY,
    ),
  );

  it('allows public addresses, allow-listed ranges and classes', () => {
    // act + assert
    expect(guard.checkAddress('93.184.215.14', 'example.com', false).class).toBe('public');
    expect(guard.checkAddress('10.20.3.4', 'x.example', false).class).toBe('private');
    expect(guard.checkAddress('::ffff:10.20.3.4', 'x.example', false).embedded).toBe('10.20.3.4');
    expect(guard.checkAddress('fd12:3456::9', 'x.example', false).class).toBe('uniqueLocal');
    expect(guard.checkAddress('100.64.1.1', 'x.example', false).class).toBe('carrierGradeNat');
  });

  it('refuses other inward addresses, naming the rule, the host and the address', () => {
    // act
    const refusal = refusalOf(() => guard.checkAddress('10.21.0.1', 'x.example', false));

    // assert
    expect(refusal.rule).toBe('private');
    expect(refusal.address).toBe('10.21.0.1');
    expect(refusal.message).toBe(
      'refused by the target policy (rule: private): x.example resolves to 10.21.0.1, a private address ' +
        '(RFC 1918: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16); an operator can allow it with ' +
        'targetPolicy.allow (hosts, urlPrefixes, cidrs or addressClasses; docs/security.md)',
    );
  });

  it('matches hosts exactly or below a wildcard, never by suffix alone', () => {
    // act + assert
    expect(guard.destinationAllowed(new URL('https://billing.internal/x'))).toBe(true);
    expect(guard.destinationAllowed(new URL('https://BILLING.internal./x'))).toBe(true);
    expect(guard.destinationAllowed(new URL('https://a.svc.example.internal/'))).toBe(true);
    expect(guard.destinationAllowed(new URL('https://svc.example.internal/'))).toBe(false);
    expect(guard.destinationAllowed(new URL('https://evilsvc.example.internal/'))).toBe(false);
    expect(guard.destinationAllowed(new URL('https://billing.internal.evil.com/'))).toBe(false);
  });

  it('lets a URL prefix bring its own scheme, for its origin and path only', () => {
    // act + assert
    expect(() => guard.checkUrl(new URL('http://10.9.9.9:8080/hooks/run?x=1'))).not.toThrow();
    expect(refusalOf(() => guard.checkUrl(new URL('http://10.9.9.9:8080/admin'))).rule).toBe('scheme');
    expect(refusalOf(() => guard.checkUrl(new URL('https://10.9.9.9:8080/admin'))).rule).toBe('private');
    expect(refusalOf(() => guard.checkUrl(new URL('http://10.9.9.9:8081/hooks/'))).rule).toBe('scheme');
  });

  it('refuses metadata hosts and addresses first, whatever else the policy allows', () => {
    // act + assert
    expect(refusalOf(() => guard.checkUrl(new URL('http://metadata.google.internal/'))).rule).toBe('never');
    expect(refusalOf(() => guard.checkUrl(new URL('https://[::ffff:169.254.169.254]/'))).rule).toBe('never');
    expect(refusalOf(() => guard.checkAddress('169.254.170.2', 'billing.internal', true)).rule).toBe('never');
  });

  it('counts redirect hops against maxRedirects', () => {
    // prepare
    const two = new TargetGuard(parseTargetPolicy({ maxRedirects: 2 }, STACK_TARGET_POLICY));

    // act + assert
    expect(() => two.checkRedirect(2, 302, 'https://b.example/')).not.toThrow();
    const refusal = refusalOf(() => two.checkRedirect(3, 302, 'https://c.example/'));
    expect(refusal.message).toBe(
      'refused by the target policy (rule: redirect): HTTP 302 redirect to https://c.example/ not followed (targetPolicy.maxRedirects: 2)',
    );
  });
});

describe('the executor reads the policy the construct wrote', () => {
  it('takes the stack default when the variable is absent', () => {
    // act + assert
    expect(targetPolicyFromEnv({})).toEqual(STACK_TARGET_POLICY);
  });

  it('checks the variable again, so that a hand edit cannot widen it by a typo', () => {
    // prepare
    const written = {
      ...STACK_TARGET_POLICY,
      allow: { ...STACK_TARGET_POLICY.allow, cidrs: ['10.0.0.0/8'] },
    };

    // act + assert
    expect(targetPolicyFromEnv({ [ENV.targetPolicy]: JSON.stringify(written) })).toEqual(written);
    expect(() => targetPolicyFromEnv({ [ENV.targetPolicy]: '{"allow":{"cidr":["0.0.0.0/0"]}}' })).toThrow(
      /invalid target policy \(PUNCTUAL_TARGET_POLICY\):\n {2}- allow.cidr: is not an allow-list/,
    );
    expect(() => targetPolicyFromEnv({ [ENV.targetPolicy]: 'allow all' })).toThrow(/is not JSON/);
  });
});
