import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An in-memory stand-in for Confluent Schema Registry, reproducing the REST
 * endpoints @kafkajs/confluent-schema-registry calls, with the documented
 * request/response bodies and error codes:
 * https://docs.confluent.io/platform/current/schema-registry/develop/api.html
 *
 * Like the real registry, an identical schema (compared after JSON
 * normalisation) gets the same global id in every subject, and registering it
 * again in a subject returns the existing id without a new version. Unlike it,
 * compatibility levels are stored and reported but not enforced.
 */
export interface SchemaRegistryStandin {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  close(): Promise<void>;
}

const contentType = 'application/vnd.schemaregistry.v1+json';
const compatibilityLevels = new Set([
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
]);

interface StoredSchema {
  id: number;
  schema: string;
  /** Absent for AVRO, as in the registry's responses. */
  schemaType: string | undefined;
  canonical: string;
}

interface SubjectVersion {
  version: number;
  schema: StoredSchema;
}

/** A response to send: status and JSON body. */
interface Reply {
  status: number;
  body: unknown;
}

class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

const subjectNotFound = (subject: string): RegistryError =>
  new RegistryError(404, 40401, `Subject '${subject}' not found.`);

class SchemaRegistryState {
  private readonly schemasById = new Map<number, StoredSchema>();
  private readonly schemasByCanonical = new Map<string, StoredSchema>();
  private readonly subjects = new Map<string, SubjectVersion[]>();
  private readonly subjectCompatibility = new Map<string, string>();
  private readonly globalCompatibility = 'BACKWARD';

  handle(method: string, segments: string[], body: unknown): Reply {
    const [root, name, child, version, ...rest] = segments;
    if (root === 'schemas' && name === 'ids' && child !== undefined && version === undefined) {
      return this.only(method, 'GET', () => this.schemaById(child));
    }
    if (root === 'subjects' && name === undefined) {
      return this.only(method, 'GET', () => ({ status: 200, body: [...this.subjects.keys()] }));
    }
    if (root === 'subjects' && name !== undefined && child === undefined) {
      return this.only(method, 'POST', () => this.lookup(name, body));
    }
    if (root === 'subjects' && name !== undefined && child === 'versions' && version === undefined) {
      if (method === 'POST') return this.register(name, body);
      return this.only(method, 'GET', () => ({ status: 200, body: this.versions(name).map((v) => v.version) }));
    }
    if (root === 'subjects' && name !== undefined && child === 'versions' && version !== undefined && rest.length === 0) {
      return this.only(method, 'GET', () => this.subjectVersion(name, version));
    }
    if (root === 'config' && child === undefined) {
      if (name === undefined) {
        return this.only(method, 'GET', () => ({ status: 200, body: { compatibilityLevel: this.globalCompatibility } }));
      }
      if (method === 'PUT') return this.setCompatibility(name, body);
      return this.only(method, 'GET', () => this.compatibility(name));
    }
    throw new RegistryError(404, 404, 'HTTP 404 Not Found');
  }

  private only(method: string, allowed: string, reply: () => Reply): Reply {
    if (method !== allowed) throw new RegistryError(405, 405, 'HTTP 405 Method Not Allowed');
    return reply();
  }

  private schemaById(idText: string): Reply {
    const stored = this.schemasById.get(Number(idText));
    if (stored === undefined) throw new RegistryError(404, 40403, `Schema ${idText} not found`);
    return { status: 200, body: { schema: stored.schema, ...typeField(stored) } };
  }

  private versions(subject: string): SubjectVersion[] {
    const versions = this.subjects.get(subject);
    if (versions === undefined) throw subjectNotFound(subject);
    return versions;
  }

  private subjectVersion(subject: string, versionText: string): Reply {
    const versions = this.versions(subject);
    let found: SubjectVersion | undefined;
    if (versionText === 'latest') {
      found = versions.at(-1);
    } else {
      const version = Number(versionText);
      if (!Number.isInteger(version) || version < 1 || version > 2 ** 31 - 1) {
        throw new RegistryError(
          422,
          42202,
          `The specified version '${versionText}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
        );
      }
      found = versions.find((v) => v.version === version);
    }
    if (found === undefined) throw new RegistryError(404, 40402, `Version ${versionText} not found.`);
    return { status: 200, body: describeVersion(subject, found) };
  }

  private register(subject: string, body: unknown): Reply {
    const stored = this.parseSchema(body);
    const versions = this.subjects.get(subject) ?? [];
    const existing = versions.find((v) => v.schema.canonical === stored.canonical);
    if (existing !== undefined) return { status: 200, body: { id: existing.schema.id } };
    const schema = this.schemasByCanonical.get(stored.canonical) ?? this.store(stored);
    versions.push({ version: (versions.at(-1)?.version ?? 0) + 1, schema });
    this.subjects.set(subject, versions);
    return { status: 200, body: { id: schema.id } };
  }

  private lookup(subject: string, body: unknown): Reply {
    const versions = this.versions(subject);
    const { canonical } = this.parseSchema(body);
    const found = versions.find((v) => v.schema.canonical === canonical);
    if (found === undefined) throw new RegistryError(404, 40403, 'Schema not found');
    return { status: 200, body: describeVersion(subject, found) };
  }

  private compatibility(subject: string): Reply {
    const level = this.subjectCompatibility.get(subject);
    if (level === undefined) {
      throw new RegistryError(404, 40408, `Subject '${subject}' does not have subject-level compatibility configured`);
    }
    return { status: 200, body: { compatibilityLevel: level } };
  }

  private setCompatibility(subject: string, body: unknown): Reply {
    const level = isRecord(body) && typeof body.compatibility === 'string' ? body.compatibility.toUpperCase() : '';
    if (!compatibilityLevels.has(level)) throw new RegistryError(422, 42203, 'Invalid compatibility level');
    this.subjectCompatibility.set(subject, level);
    return { status: 200, body: { compatibility: level } };
  }

  private store(schema: Omit<StoredSchema, 'id'>): StoredSchema {
    const stored = { ...schema, id: this.schemasById.size + 1 };
    this.schemasById.set(stored.id, stored);
    this.schemasByCanonical.set(stored.canonical, stored);
    return stored;
  }

  /** The schema of a register/lookup body; the canonical form ignores JSON whitespace for AVRO and JSON schemas. */
  private parseSchema(body: unknown): Omit<StoredSchema, 'id'> {
    if (!isRecord(body) || typeof body.schema !== 'string') {
      throw new RegistryError(422, 42201, 'Invalid schema: the request body has no "schema" string');
    }
    const schemaType = typeof body.schemaType === 'string' && body.schemaType !== 'AVRO' ? body.schemaType : undefined;
    let normalized = body.schema;
    if (schemaType === undefined || schemaType === 'JSON') {
      try {
        normalized = JSON.stringify(JSON.parse(body.schema));
      } catch {
        throw new RegistryError(422, 42201, 'Invalid schema: not valid JSON');
      }
    }
    return { schema: body.schema, schemaType, canonical: `${schemaType ?? 'AVRO'}:${normalized}` };
  }
}

function typeField(schema: StoredSchema): { schemaType?: string } {
  return schema.schemaType === undefined ? {} : { schemaType: schema.schemaType };
}

function describeVersion(subject: string, found: SubjectVersion): unknown {
  return { subject, id: found.schema.id, version: found.version, schema: found.schema.schema, ...typeField(found.schema) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RegistryError(400, 400, 'Unexpected character in request body: not JSON');
  }
}

function send(response: ServerResponse, { status, body }: Reply): void {
  response.writeHead(status, { 'content-type': contentType });
  response.end(JSON.stringify(body));
}

async function handleRequest(state: SchemaRegistryState, request: IncomingMessage): Promise<Reply> {
  const path = new URL(request.url ?? '/', 'http://standin').pathname;
  const segments = path.split('/').filter((segment) => segment !== '').map(decodeURIComponent);
  const body = await readJsonBody(request);
  return state.handle(request.method ?? 'GET', segments, body);
}

function errorReply(error: unknown): Reply {
  return error instanceof RegistryError
    ? { status: error.status, body: { error_code: error.errorCode, message: error.message } }
    : { status: 500, body: { error_code: 50001, message: error instanceof Error ? error.message : 'internal error' } };
}

export async function startSchemaRegistryStandin(): Promise<SchemaRegistryStandin> {
  const state = new SchemaRegistryState();
  const server = createServer((request, response) => {
    void handleRequest(state, request).then(
      (reply) => send(response, reply),
      (error: unknown) => send(response, errorReply(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        // The registry client keeps connections alive; close them so close() returns now.
        server.closeAllConnections();
      }),
  };
}
