import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSchemaRegistryStandin } from '@ghostdns/testkit';
import { builtinSchemaId, BuiltinSchemaTable } from '../src/builtin-schema-table.js';
import { createEventCodec, readSchemaId } from '../src/codec.js';
import { ConfluentSchemaRegistryResolver } from '../src/confluent-schema-registry-resolver.js';
import { ContractError } from '../src/errors.js';
import { loadSchema, loadSchemaJson } from '../src/schemas.js';
import { Topics, topicNames, topicValueSchema } from '../src/topics.js';
import { presenceEvent, samples } from './sample-events.js';

const registryContentType = 'application/vnd.schemaregistry.v1+json';

describe('ConfluentSchemaRegistryResolver against the registry stand-in', () => {
  let registry: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    registry = await startSchemaRegistryStandin();
  });

  afterAll(async () => {
    await registry.close();
  });

  async function registryGet(path: string): Promise<{ status: number; contentType: string | null; body: unknown }> {
    const response = await fetch(`${registry.url}${path}`);
    return { status: response.status, contentType: response.headers.get('content-type'), body: await response.json() };
  }

  it('registers the value schema of a topic under <topic>-value on first use', async () => {
    const resolver = new ConfluentSchemaRegistryResolver({ url: registry.url });
    const id = await resolver.idFor(Topics.queries);

    const latest = await registryGet(`/subjects/${Topics.queries}-value/versions/latest`);
    expect(latest.status).toBe(200);
    expect(latest.contentType).toBe(registryContentType);
    expect(latest.body).toMatchObject({ subject: 'dns.queries.v1-value', id, version: 1 });
    const { schema } = latest.body as { schema: string };
    expect(JSON.parse(schema)).toEqual(loadSchemaJson('QueryEvent'));

    expect((await registryGet(`/subjects/${Topics.queries}-value/versions/1`)).body).toMatchObject({ id });
    expect((await registryGet('/subjects')).body).toContain('dns.queries.v1-value');
    expect((await registryGet(`/config/${Topics.queries}-value`)).body).toEqual({ compatibilityLevel: 'FULL_TRANSITIVE' });
  });

  it('reuses the id of an identical schema, also from another client', async () => {
    const first = new ConfluentSchemaRegistryResolver({ url: registry.url });
    const second = new ConfluentSchemaRegistryResolver({ url: registry.url });
    const id = await first.idFor(Topics.presence);
    expect(await first.idFor(Topics.presence)).toBe(id);
    expect(await second.idFor(Topics.presence)).toBe(id);
    expect((await registryGet(`/subjects/${Topics.presence}-value/versions`)).body).toEqual([1]);
  });

  it('gives different schemas different ids', async () => {
    const resolver = new ConfluentSchemaRegistryResolver({ url: registry.url });
    const ids = await Promise.all(topicNames.map((topic) => resolver.idFor(topic)));
    expect(new Set(ids).size).toBe(topicNames.length);
  });

  it('encodes with registry ids and decodes with a fresh client that fetches the writer schemas', async () => {
    const writer = createEventCodec(new ConfluentSchemaRegistryResolver({ url: registry.url }));
    await writer.init();
    const reader = createEventCodec(new ConfluentSchemaRegistryResolver({ url: registry.url }));
    for (const topic of topicNames) {
      for (const sample of samples[topicValueSchema[topic]]) {
        const message = writer.encode(topic, sample);
        expect(readSchemaId(message)).toBeLessThan(builtinSchemaId('QueryEvent', 1));
        expect(await reader.decodeAsync(topic, message)).toEqual(sample);
      }
    }
  });

  it('fetches a writer schema by id as an avsc Type', async () => {
    const resolver = new ConfluentSchemaRegistryResolver({ url: registry.url });
    const id = await resolver.idFor(Topics.queries);
    const fresh = new ConfluentSchemaRegistryResolver({ url: registry.url });
    const type = await fresh.schemaFor(id);
    expect(type?.equals(loadSchema('QueryEvent'))).toBe(true);
  });

  it('answers an unknown id with undefined (registry 404, error_code 40403)', async () => {
    expect(await registryGet('/schemas/ids/999999')).toEqual({
      status: 404,
      contentType: registryContentType,
      body: { error_code: 40403, message: 'Schema 999999 not found' },
    });
    const resolver = new ConfluentSchemaRegistryResolver({ url: registry.url });
    expect(await resolver.schemaFor(999_999)).toBeUndefined();
  });

  it('still reads messages written with built-in ids', async () => {
    const builtin = createEventCodec(new BuiltinSchemaTable());
    await builtin.init();
    const reader = createEventCodec(new ConfluentSchemaRegistryResolver({ url: registry.url }));
    const message = builtin.encode(Topics.presence, presenceEvent);
    expect(await reader.decodeAsync(Topics.presence, message)).toEqual(presenceEvent);
  });

  it('reports a registry it cannot use as REGISTRY_FAILED', async () => {
    const unreachable = await startSchemaRegistryStandin();
    await unreachable.close();
    const resolver = new ConfluentSchemaRegistryResolver({ url: unreachable.url });
    const failure = await resolver.idFor(Topics.queries).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ContractError);
    expect(failure).toMatchObject({ code: 'GHOSTDNS_CONTRACT_REGISTRY_FAILED' });
  });

  it('answers subject lookups and unknown subjects as documented', async () => {
    const resolver = new ConfluentSchemaRegistryResolver({ url: registry.url });
    const id = await resolver.idFor(Topics.queries);
    const lookup = await fetch(`${registry.url}/subjects/${Topics.queries}-value`, {
      method: 'POST',
      headers: { 'content-type': registryContentType },
      body: JSON.stringify({ schema: JSON.stringify(loadSchemaJson('QueryEvent'), null, 2) }),
    });
    expect(await lookup.json()).toMatchObject({ subject: 'dns.queries.v1-value', id, version: 1 });
    expect(await registryGet('/subjects/nope-value/versions/latest')).toMatchObject({
      status: 404,
      body: { error_code: 40401, message: "Subject 'nope-value' not found." },
    });
    expect(await registryGet(`/subjects/${Topics.queries}-value/versions/9`)).toMatchObject({
      status: 404,
      body: { error_code: 40402 },
    });
  });
});
