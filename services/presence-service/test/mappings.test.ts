// Unit: what a hostname mapping may hold (names sanitized, custom domains normalized or
// refused) and the rows databasePeerMappings writes, over a stub pool.
import { describe, expect, it } from 'vitest';
import { PresenceError } from '../src/errors.js';
import { databasePeerMappings, mappingDomain, mappingName, type PeerMappingInput } from '../src/mappings.js';
import { KEY } from './wg-keys.js';

const invalid = (err: unknown): boolean => err instanceof PresenceError && err.code === 'GHOSTDNS_PRESENCE_MAPPING_INVALID';

describe('mappingName', () => {
  it.each([
    ['Work Laptop', 'work-laptop'],
    ['nas', 'nas'],
  ])('%j -> %j', (raw, name) => expect(mappingName(raw)).toBe(name));

  it('refuses a name that makes no label, naming it', () => {
    expect(() => mappingName('---')).toThrow(/"---" makes no DNS label/);
  });
});

describe('mappingDomain', () => {
  it.each([
    ['home.example', 'home.example'],
    ['Home.Example', 'home.example'],
    ['home.example.', 'home.example'],
    ['  lab.home.example ', 'lab.home.example'],
    ['lan', 'lan'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    [`${'a'.repeat(63)}.example`, `${'a'.repeat(63)}.example`],
  ])('%j -> %j', (raw, domain) => expect(mappingDomain(raw)).toBe(domain));

  it.each([
    { raw: '', text: /empty label/ },
    { raw: '.', text: /empty label/ },
    { raw: 'home..example', text: /empty label/ },
    { raw: '.home.example', text: /empty label/ },
    { raw: 'my_home.example', text: /invalid label "my_home"/ },
    { raw: 'home example', text: /invalid label/ },
    { raw: '-home.example', text: /invalid label/ },
    { raw: `${'a'.repeat(64)}.example`, text: /invalid label/ },
    { raw: 'bücher.example', text: /invalid label/ },
    { raw: '10.0.0.1', text: /all-numeric/ },
    { raw: Array.from({ length: 4 }, () => 'a'.repeat(50)).join('.'), text: /longer than 200/ },
  ])('refuses $raw, naming it', ({ raw, text }) => {
    let thrown: unknown;
    try {
      mappingDomain(raw);
    } catch (err) {
      thrown = err;
    }
    expect(invalid(thrown)).toBe(true);
    expect((thrown as Error).message).toContain(`custom domain "${raw}"`);
    expect((thrown as Error).message).toMatch(text);
  });
});

describe('databasePeerMappings writes', () => {
  function recording() {
    const calls: { sql: string; values: unknown[] }[] = [];
    // Answers as the table does over an existing row whose domain is kept.example.
    const pool = {
      query: async (sql: string, values: unknown[]) => {
        calls.push({ sql, values });
        return { rows: [{ device_id: values[1], name: values[2], enabled: values[3], custom_domain: values[5] === false ? 'kept.example' : values[4] }], rowCount: 1 };
      },
    };
    return { calls, mappings: databasePeerMappings({ pool } as never) };
  }
  const base: PeerMappingInput = { source: 'wireguard', deviceId: KEY.laptop, name: 'Work Laptop', enabled: true };

  it.each([
    { name: 'no domain given: an existing mapping keeps its own', input: base, values: ['work-laptop', true, null, false], stored: 'kept.example' },
    { name: 'a domain, normalized', input: { ...base, customDomain: 'Home.Example.' }, values: ['work-laptop', true, 'home.example', true], stored: 'home.example' },
    { name: 'no domain (--no-domain): the suffix again', input: { ...base, enabled: false, customDomain: null }, values: ['work-laptop', false, null, true], stored: null },
  ])('upsert: $name', async ({ input, values, stored }) => {
    const { calls, mappings } = recording();
    const result = await mappings.upsert(input);
    expect(calls.map((c) => c.values.slice(2))).toEqual([values]);
    expect(result).toEqual({ source: 'wireguard', deviceId: KEY.laptop, name: 'work-laptop', enabled: input.enabled, customDomain: stored });
  });

  it('refuses an invalid name or domain before any query', async () => {
    const { calls, mappings } = recording();
    await expect(mappings.upsert({ ...base, customDomain: 'not a domain' })).rejects.toSatisfy(invalid);
    await expect(mappings.insertMissing([{ ...base, name: '!!!' }])).rejects.toSatisfy(invalid);
    expect(calls).toEqual([]);
  });

  it('insertMissing creates mappings under the suffix unless a domain is given', async () => {
    const { calls, mappings } = recording();
    expect(await mappings.insertMissing([base, { ...base, deviceId: KEY.phone, name: 'phone', customDomain: 'home.example' }])).toBe(2);
    expect(calls.map((c) => c.values)).toEqual([
      ['wireguard', KEY.laptop, 'work-laptop', true, null],
      ['wireguard', KEY.phone, 'phone', true, 'home.example'],
    ]);
  });
});
