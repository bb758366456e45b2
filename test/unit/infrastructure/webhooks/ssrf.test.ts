import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  SsrfUrlGuard,
  UnsafeUrlError,
  assertPublicUrl,
  forbiddenAddressReason,
  guardedLookup,
  type LookupAll,
} from '../../../../src/infrastructure/webhooks/ssrf.js';

// A fake resolver: no DNS query and no connection leaves this machine in these tests.
const records: Record<string, string[]> = {
  'hooks.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'internal.example.com': ['10.1.2.3'],
  'loopback.example.com': ['127.0.0.1'],
  'metadata.example.com': ['169.254.169.254'],
  'mixed.example.com': ['93.184.215.14', '192.168.1.10'],
  localhost: ['127.0.0.1', '::1'],
};
const lookup: LookupAll = async (hostname) => {
  const addresses = records[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

const refusal = async (url: string, allowPrivate = false): Promise<string | null> => {
  try {
    await assertPublicUrl(url, { allowPrivate, lookup });
    return null;
  } catch (error) {
    if (error instanceof UnsafeUrlError) return error.reason;
    throw error;
  }
};

describe('forbiddenAddressReason', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd00:ec2::254', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:7f00:1::1', '6to4'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['::7f00:1', 'not a global unicast'],
  ])('refuses %s (%s)', (address, kind) => {
    expect(forbiddenAddressReason(address)).toContain(kind);
  });

  it.each(['93.184.215.14', '8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])(
    'allows the public address %s',
    (address) => {
      expect(forbiddenAddressReason(address)).toBeNull();
    },
  );
});

describe('assertPublicUrl (registration)', () => {
  it.each([
    ['http://127.0.0.1/hook', 'loopback'],
    ['http://127.0.0.1:8080/hook', 'loopback'],
    ['http://10.0.0.1/', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://[::1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[fd00:ec2::254]/', 'unique-local'],
    ['http://0x7f.1/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://loopback.example.com/hook', 'resolves to 127.0.0.1'],
    ['http://metadata.example.com/', 'resolves to 169.254.169.254'],
    ['http://internal.example.com/', 'resolves to 10.1.2.3'],
    ['https://mixed.example.com/', 'resolves to 192.168.1.10'],
    ['http://localhost:3000/', 'this machine'],
    ['http://LOCALHOST./', 'this machine'],
    ['http://api.localhost/', 'this machine'],
    ['http://nowhere.example.com/', 'does not resolve'],
    ['ftp://hooks.example.com/', 'only http and https'],
    ['file:///etc/passwd', 'only http and https'],
    ['https://user:pass@hooks.example.com/', 'credentials'],
    ['not a url', 'not a valid'],
  ])('refuses %s', async (url, why) => {
    expect(await refusal(url)).toContain(why);
  });

  it('allows public IPs and host names that resolve only to public addresses', async () => {
    expect(await refusal('https://hooks.example.com/webhooks?x=1')).toBeNull();
    expect(await refusal('http://93.184.215.14:8080/hook')).toBeNull();
    expect(await refusal('https://[2606:4700:4700::1111]/')).toBeNull();
  });

  it('allows private targets when allowPrivate is set, but still checks the URL shape', async () => {
    expect(await refusal('http://127.0.0.1:8080/hook', true)).toBeNull();
    expect(await refusal('http://localhost:3000/', true)).toBeNull();
    expect(await refusal('http://10.0.0.1/', true)).toBeNull();
    expect(await refusal('https://user:pass@127.0.0.1/', true)).toContain('credentials');
  });

  it('is what SsrfUrlGuard answers', async () => {
    const guard = new SsrfUrlGuard({ allowPrivate: false, lookup });
    expect(await guard.refusalFor('http://loopback.example.com/')).toContain('127.0.0.1');
    expect(await guard.refusalFor('https://hooks.example.com/')).toBeNull();
  });
});

describe('guardedLookup (send time)', () => {
  const resolve = (hostname: string, all: boolean, allowPrivate = false) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number | undefined }>(
      (done) => {
        guardedLookup({ allowPrivate, lookup })(hostname, { all }, (error, address, family) =>
          done({ error, address, family }),
        );
      },
    );

  it('refuses a host name whose answer is not public', async () => {
    const { error } = await resolve('loopback.example.com', false);
    expect(error).toBeInstanceOf(UnsafeUrlError);
    expect(error?.message).toContain('127.0.0.1');
    expect((await resolve('mixed.example.com', true)).error).toBeInstanceOf(UnsafeUrlError);
  });

  it('hands public answers to the socket in both callback shapes', async () => {
    expect(await resolve('hooks.example.com', false)).toEqual({ error: null, address: '93.184.215.14', family: 4 });
    const all = await resolve('hooks.example.com', true);
    expect(all.error).toBeNull();
    expect(all.address).toHaveLength(2);
  });

  it('passes private answers through when allowPrivate is set, and resolver errors as they are', async () => {
    expect(await resolve('loopback.example.com', false, true)).toEqual({ error: null, address: '127.0.0.1', family: 4 });
    expect((await resolve('nowhere.example.com', false)).error?.code).toBe('ENOTFOUND');
  });
});
