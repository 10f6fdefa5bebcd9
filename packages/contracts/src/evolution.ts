import avro from 'avsc';
import type { AvroSchemaJson } from './schemas.js';

/** What checkEvolution reports; see README "Evolution rule". */
export type EvolutionViolationKind =
  | 'FIELD_REMOVED'
  | 'FIELD_ADDED_WITHOUT_DEFAULT'
  | 'TYPE_CHANGED'
  | 'NAME_CHANGED'
  | 'ENUM_SYMBOL_REMOVED'
  | 'ENUM_SYMBOLS_REORDERED'
  | 'ENUM_WITHOUT_DEFAULT';

export interface EvolutionViolation {
  kind: EvolutionViolationKind;
  /** Dotted path from the top-level record, e.g. QueryEvent.flags.ad; [] marks array items, {} map values. */
  path: string;
  message: string;
}

/**
 * The parts of an Avro schema the evolution rule looks at. Built from the JSON
 * rather than from avsc Types because avsc drops what we compare: logicalType
 * annotations it does not implement and enum defaults.
 */
type SchemaNode =
  | { kind: 'primitive'; type: string; logicalType: string | undefined }
  | { kind: 'record'; name: string; fields: FieldNode[] }
  | { kind: 'enum'; name: string; symbols: string[]; default: string | undefined }
  | { kind: 'fixed'; name: string; size: number; logicalType: string | undefined }
  | { kind: 'array'; items: SchemaNode }
  | { kind: 'map'; values: SchemaNode }
  | { kind: 'union'; branches: SchemaNode[] };

interface FieldNode {
  name: string;
  type: SchemaNode;
  hasDefault: boolean;
}

type JsonObject = Record<string, unknown>;

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function fullName(name: string, namespace: string | undefined): string {
  return name.includes('.') || namespace === undefined || namespace === '' ? name : `${namespace}.${name}`;
}

/** Parses schema JSON that avsc has already accepted, so structure is not re-validated here. */
function toSchemaNode(json: unknown, namespace: string | undefined, named: Map<string, SchemaNode>): SchemaNode {
  if (Array.isArray(json)) {
    return { kind: 'union', branches: json.map((branch) => toSchemaNode(branch, namespace, named)) };
  }
  if (typeof json === 'string') {
    return named.get(fullName(json, namespace)) ?? named.get(json) ?? { kind: 'primitive', type: json, logicalType: undefined };
  }
  if (!isJsonObject(json)) {
    throw new TypeError(`not an Avro schema: ${JSON.stringify(json)}`);
  }
  const type = json.type;
  const logicalType = optionalString(json.logicalType);
  switch (type) {
    case 'record':
    case 'error': {
      const name = fullName(String(json.name), optionalString(json.namespace) ?? namespace);
      const record: SchemaNode = { kind: 'record', name, fields: [] };
      named.set(name, record);
      const innerNamespace = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : undefined;
      const fields = Array.isArray(json.fields) ? json.fields : [];
      for (const field of fields) {
        if (!isJsonObject(field)) continue;
        record.fields.push({
          name: String(field.name),
          type: toSchemaNode(field.type, innerNamespace, named),
          hasDefault: 'default' in field,
        });
      }
      return record;
    }
    case 'enum': {
      const name = fullName(String(json.name), optionalString(json.namespace) ?? namespace);
      const symbols = Array.isArray(json.symbols) ? json.symbols.map(String) : [];
      const node: SchemaNode = { kind: 'enum', name, symbols, default: optionalString(json.default) };
      named.set(name, node);
      return node;
    }
    case 'fixed': {
      const name = fullName(String(json.name), optionalString(json.namespace) ?? namespace);
      const node: SchemaNode = { kind: 'fixed', name, size: Number(json.size), logicalType };
      named.set(name, node);
      return node;
    }
    case 'array':
      return { kind: 'array', items: toSchemaNode(json.items, namespace, named) };
    case 'map':
      return { kind: 'map', values: toSchemaNode(json.values, namespace, named) };
    default: {
      if (typeof type === 'string') {
        const referenced = named.get(fullName(type, namespace)) ?? named.get(type);
        return referenced ?? { kind: 'primitive', type, logicalType };
      }
      // {"type": {...}} or {"type": [...]}: a schema wrapped in an object.
      return toSchemaNode(type, namespace, named);
    }
  }
}

function describe(node: SchemaNode): string {
  switch (node.kind) {
    case 'primitive':
      return node.logicalType === undefined ? node.type : `${node.type} (${node.logicalType})`;
    case 'record':
    case 'enum':
      return `${node.kind} ${node.name}`;
    case 'fixed':
      return `fixed ${node.name} (${node.size})`;
    case 'array':
      return `array<${describe(node.items)}>`;
    case 'map':
      return `map<${describe(node.values)}>`;
    case 'union':
      return `[${node.branches.map(describe).join(', ')}]`;
  }
}

function compare(
  previous: SchemaNode,
  next: SchemaNode,
  path: string,
  violations: EvolutionViolation[],
  compared: Set<string>,
): void {
  const typeChanged = (): void => {
    violations.push({ kind: 'TYPE_CHANGED', path, message: `${path} was ${describe(previous)}, is now ${describe(next)}` });
  };
  const nameChanged = (previousName: string, nextName: string): boolean => {
    if (previousName === nextName) return false;
    // Avro resolution matches named types by full name.
    violations.push({ kind: 'NAME_CHANGED', path, message: `${path} was named ${previousName}, is now ${nextName}` });
    return true;
  };

  switch (previous.kind) {
    case 'primitive':
      if (next.kind !== 'primitive' || next.type !== previous.type || next.logicalType !== previous.logicalType) typeChanged();
      return;
    case 'fixed':
      if (next.kind !== 'fixed' || next.size !== previous.size || next.logicalType !== previous.logicalType) typeChanged();
      else nameChanged(previous.name, next.name);
      return;
    case 'array':
      if (next.kind === 'array') compare(previous.items, next.items, `${path}[]`, violations, compared);
      else typeChanged();
      return;
    case 'map':
      if (next.kind === 'map') compare(previous.values, next.values, `${path}{}`, violations, compared);
      else typeChanged();
      return;
    case 'union':
      if (next.kind !== 'union' || next.branches.length !== previous.branches.length) {
        typeChanged();
        return;
      }
      previous.branches.forEach((branch, i) => {
        const nextBranch = next.branches[i];
        if (nextBranch !== undefined) compare(branch, nextBranch, path, violations, compared);
      });
      return;
    case 'enum': {
      if (next.kind !== 'enum') {
        typeChanged();
        return;
      }
      if (nameChanged(previous.name, next.name)) return;
      previous.symbols.forEach((symbol, i) => {
        const nextIndex = next.symbols.indexOf(symbol);
        if (nextIndex === -1) {
          violations.push({ kind: 'ENUM_SYMBOL_REMOVED', path, message: `${path}: enum symbol ${symbol} was removed` });
        } else if (nextIndex !== i) {
          violations.push({
            kind: 'ENUM_SYMBOLS_REORDERED',
            path,
            message: `${path}: enum symbol ${symbol} moved from position ${i} to ${nextIndex}; symbols may only be appended`,
          });
        }
      });
      return;
    }
    case 'record': {
      if (next.kind !== 'record') {
        typeChanged();
        return;
      }
      if (nameChanged(previous.name, next.name)) return;
      const pair = `${previous.name}\u0000${next.name}`;
      if (compared.has(pair)) return; // a recursive type, already being compared
      compared.add(pair);
      const nextFields = new Map(next.fields.map((field) => [field.name, field]));
      for (const field of previous.fields) {
        const fieldPath = `${path}.${field.name}`;
        const nextField = nextFields.get(field.name);
        if (nextField === undefined) {
          violations.push({ kind: 'FIELD_REMOVED', path: fieldPath, message: `${fieldPath} was removed (or renamed)` });
        } else {
          compare(field.type, nextField.type, fieldPath, violations, compared);
        }
      }
      const previousNames = new Set(previous.fields.map((field) => field.name));
      for (const field of next.fields) {
        if (!previousNames.has(field.name) && !field.hasDefault) {
          const fieldPath = `${path}.${field.name}`;
          violations.push({
            kind: 'FIELD_ADDED_WITHOUT_DEFAULT',
            path: fieldPath,
            message: `${fieldPath} was added without a default, so data written before it cannot be read`,
          });
        }
      }
      return;
    }
  }
}

/** Every enum of the schema must declare a default, so that older readers can read symbols appended later. */
function findEnumsWithoutDefault(node: SchemaNode, path: string, violations: EvolutionViolation[], visited: Set<SchemaNode>): void {
  if (visited.has(node)) return;
  visited.add(node);
  switch (node.kind) {
    case 'enum':
      if (node.default === undefined) {
        violations.push({ kind: 'ENUM_WITHOUT_DEFAULT', path, message: `${path}: enum ${node.name} has no default symbol` });
      }
      return;
    case 'record':
      for (const field of node.fields) findEnumsWithoutDefault(field.type, `${path}.${field.name}`, violations, visited);
      return;
    case 'array':
      findEnumsWithoutDefault(node.items, `${path}[]`, violations, visited);
      return;
    case 'map':
      findEnumsWithoutDefault(node.values, `${path}{}`, violations, visited);
      return;
    case 'union':
      for (const branch of node.branches) findEnumsWithoutDefault(branch, path, violations, visited);
      return;
    case 'primitive':
    case 'fixed':
      return;
  }
}

function rootPath(node: SchemaNode): string {
  return node.kind === 'record' || node.kind === 'enum' || node.kind === 'fixed'
    ? node.name.slice(node.name.lastIndexOf('.') + 1)
    : '(schema)';
}

/**
 * Violations of the evolution rule going from `previous` to `next` (both schema
 * JSON as in the .avsc files): fields may only be added, each with a default;
 * nothing is removed, renamed or retyped; enum symbols are only appended and
 * every enum has a default. An empty list means `next` may be published.
 * Throws if either is not a valid Avro schema.
 */
export function checkEvolution(previous: AvroSchemaJson, next: AvroSchemaJson): EvolutionViolation[] {
  avro.Type.forSchema(previous);
  avro.Type.forSchema(next);
  const previousNode = toSchemaNode(previous, undefined, new Map());
  const nextNode = toSchemaNode(next, undefined, new Map());
  const violations: EvolutionViolation[] = [];
  compare(previousNode, nextNode, rootPath(previousNode), violations, new Set());
  findEnumsWithoutDefault(nextNode, rootPath(nextNode), violations, new Set());
  return violations;
}
