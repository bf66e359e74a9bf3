import { describe, expect, it } from 'vitest';
import { JobValidationError } from '../../../shared/errors.js';
import { parseJob } from '../../../shared/jobs/index.js';
import {
  type AddressClass,
  classifyAddress,
  METADATA_ADDRESSES,
  neverAllowedHost,
  parseAddress,
} from '../../../shared/targets/address.js';

function classOf(text: string): AddressClass {
  return classifyAddress(text).class;
}

describe('address classifier: every notation of one address', () => {
  it.each([
    '127.0.0.1',
    '2130706433', // decimal
    '0x7f000001', // hex
    '0x7F000001',
    '017700000001', // octal
    '0177.0.0.1', // octal octet
    '0x7f.0.0.1', // hex octet
    '127.1', // short forms
    '127.0.1',
    '0x7f.1',
    '%31%32%37.0.0.1', // percent-encoded, as a URL host
  ])('reads IPv4 %s as 127.0.0.1 (loopback)', (text) => {
    // act
    const classified = classifyAddress(text);

    // assert
    expect(classified).toEqual({ address: '127.0.0.1', class: 'loopback' });
  });

  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1', 'loopback'],
    ['[::ffff:7f00:1]', '127.0.0.1', 'loopback'],
    ['0:0:0:0:0:ffff:127.0.0.1', '127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.8', '10.0.0.8', 'private'],
    ['::ffff:0:a9fe:a9fe', '169.254.169.254', 'metadata'], // RFC 6145 translated
    ['64:ff9b::7f00:1', '127.0.0.1', 'loopback'], // NAT64 (RFC 6052)
    ['64:ff9b::a9fe:a9fe', '169.254.169.254', 'metadata'],
    ['2002:c0a8:0101::1', '192.168.1.1', 'private'], // 6to4
    ['::ffff:8.8.8.8', '8.8.8.8', 'public'],
    ['64:ff9b::808:808', '8.8.8.8', 'public'],
  ] as const)('takes the class of the IPv4 address inside IPv6 %s', (text, embedded, expected) => {
    // act
    const classified = classifyAddress(text);

    // assert
    expect(classified.class).toBe(expected);
    expect(classified.embedded).toBe(embedded);
  });

  it('reads bracketed IPv6 and drops a zone', () => {
    // act + assert
    expect(classifyAddress('[::1]')).toEqual({ address: '::1', class: 'loopback' });
    expect(classifyAddress('fe80::1%eth0')).toEqual({ address: 'fe80::1', class: 'linkLocal' });
    expect(classifyAddress('0:0:0:0:0:0:0:1').address).toBe('::1');
  });

  it('is not fooled by text that only contains an address', () => {
    // act + assert
    expect(parseAddress('evil.example@127.0.0.1')).toBeUndefined();
    expect(parseAddress('127.0.0.1/admin')).toBeUndefined();
    expect(parseAddress('127.0.0.1.nip.io')).toBeUndefined();
    expect(parseAddress('localhost')).toBeUndefined();
    expect(parseAddress('256.0.0.1')).toBeUndefined();
    expect(parseAddress('1.2.3.4.5')).toBeUndefined();
    expect(parseAddress('')).toBeUndefined();
    expect(() => classifyAddress('example.com')).toThrow(/is not an IP address/);
  });
});

describe('address classifier: classes', () => {
  it.each([
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.10', 'private'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.254', 'carrierGradeNat'],
    ['169.254.1.1', 'linkLocal'],
    ['fe80::abcd', 'linkLocal'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['2001::1', 'reserved'], // Teredo: the IPv4 address inside is obfuscated
    ['::7f00:1', 'reserved'], // deprecated IPv4-compatible form
    ['100::1', 'reserved'], // discard
    ['fec0::1', 'reserved'], // deprecated site-local
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['100.128.0.1', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4001::200e', 'public'],
  ] as const)('%s is %s', (text, expected) => {
    // act + assert
    expect(classOf(text)).toBe(expected);
  });

  it.each(METADATA_ADDRESSES)('metadata endpoint %s is metadata, not its range', (text) => {
    // act + assert
    expect(classOf(text)).toBe('metadata');
  });

  it('knows the metadata endpoints in the other notations too', () => {
    // act + assert
    expect(classOf('2852039166')).toBe('metadata'); // 169.254.169.254 in decimal
    expect(classOf('0xa9fea9fe')).toBe('metadata');
    expect(classOf('0251.0376.0251.0376')).toBe('metadata');
    expect(classOf('169.254.43518')).toBe('metadata');
    expect(classOf('::ffff:169.254.169.254')).toBe('metadata');
    expect(classOf('::ffff:a9fe:aa02')).toBe('metadata'); // 169.254.170.2
    expect(classOf('fd00:ec2:0:0:0:0:0:254')).toBe('metadata');
    expect(classOf('[FD00:EC2::254]')).toBe('metadata');
  });
});

describe('hosts no target policy allows', () => {
  it.each([
    '169.254.169.254',
    '[fd00:ec2::254]',
    '169.254.170.2',
    '[::ffff:a9fe:a9fe]',
    '169.254.10.10',
    '[fe80::1]',
    'metadata.google.internal',
    'METADATA.Google.Internal.',
    'metadata',
    'instance-data.ec2.internal',
  ])('refuses %s', (host) => {
    // act + assert
    expect(neverAllowedHost(host)).toMatch(/which no target policy allows$/);
  });

  it.each(['127.0.0.1', 'localhost', '10.0.0.1', '[fd12::1]', 'example.com', 'metadata.example.com'])(
    'leaves %s to the policy',
    (host) => {
      // act + assert
      expect(neverAllowedHost(host)).toBeUndefined();
    },
  );

  it('names the address in canonical form and the IPv4 address it carries', () => {
    // act
    const rule = neverAllowedHost('[::ffff:169.254.169.254]');

    // assert
    expect(rule).toBe(
      '::ffff:a9fe:a9fe = 169.254.169.254, a cloud metadata or credentials endpoint, which no target policy allows',
    );
  });
});

describe('job validation: http targets at never-allowed hosts', () => {
  const job = (url: string) => ({
    id: 'probe',
    schedule: 'rate(5 minutes)',
    target: { type: 'http', url },
  });

  function urlViolation(url: string) {
    try {
      parseJob(job(url));
    } catch (error) {
      expect(error).toBeInstanceOf(JobValidationError);
      return (error as JobValidationError).violations.find((v) => v.path === 'target.url');
    }
    return undefined;
  }

  it.each([
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'http://2852039166/latest/meta-data/',
    'http://0xa9fea9fe/',
    'http://169.254.43518/',
    'http://[::ffff:169.254.169.254]/',
    'http://[fd00:ec2::254]/latest/api/token',
    'http://169.254.170.2/v2/credentials',
    'http://metadata.google.internal/computeMetadata/v1/',
    'https://metadata.google.internal./',
    'http://[fe80::1]:8080/',
  ])('refuses %s, naming the field, the value and the rule', (url) => {
    // act
    const violation = urlViolation(url);

    // assert
    expect(violation).toBeDefined();
    expect(violation?.value).toBe(url);
    expect(violation?.message).toMatch(/^host .*which no target policy allows \(docs\/security\.md\)$/);
  });

  it('accepts loopback and private hosts, which the policy decides at run time', () => {
    // act + assert
    expect(parseJob(job('http://127.0.0.1:8787/hook')).target).toMatchObject({ type: 'http' });
    expect(parseJob(job('http://localhost:3000/x')).target).toMatchObject({ type: 'http' });
    expect(parseJob(job('https://10.0.3.7/hook')).target).toMatchObject({ type: 'http' });
  });
});
