import type { SecurityEvent, SecuritySeverity } from '@ghostdns/contracts';
import { checks, EventMapper, hasKey, NUL_RE, reasonList, UUID_RE, type Checks } from './mapping.js';
import type { SecurityEventRow } from './row.js';

/** Why a security event was refused. Bounded set: used as a metric label. */
export type SecurityRejectReason =
  | 'invalid_event_id'
  | 'invalid_detected_at'
  | 'invalid_kind'
  | 'invalid_enum'
  | 'invalid_client_ip'
  | 'invalid_qname'
  | 'invalid_node'
  | 'invalid_details';

export const SECURITY_REJECT_REASONS = reasonList<SecurityRejectReason>({
  invalid_event_id: true,
  invalid_detected_at: true,
  invalid_kind: true,
  invalid_enum: true,
  invalid_client_ip: true,
  invalid_qname: true,
  invalid_node: true,
  invalid_details: true,
});

const reject: Checks<SecurityRejectReason>['reject'] = checks.reject;
const text: Checks<SecurityRejectReason>['text'] = checks.text;
const timestamp: Checks<SecurityRejectReason>['timestamp'] = checks.timestamp;
const ipAddress: Checks<SecurityRejectReason>['ip'] = checks.ip;

const SEVERITIES: Record<SecuritySeverity, true> = { LOW: true, MEDIUM: true, HIGH: true, CRITICAL: true };
/** A kind names a detector: short, so it can be filtered on and shown. */
const KIND_MAX_CHARS = 64;
const QNAME_MAX_CHARS = 1_024;
// Any publisher may use the topic: details are evidence, not a payload to store without bound.
const DETAILS_MAX_ENTRIES = 64;
const DETAILS_MAX_JSON_CHARS = 16_384;

/** The details map as JSON text; jsonb holds no NUL, and the map only strings. */
function detailsJson(value: unknown): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return reject('invalid_details', 'details', value);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > DETAILS_MAX_ENTRIES) reject('invalid_details', 'details', `${entries.length} entries`);
  for (const [key, entry] of entries) {
    if (NUL_RE.test(key)) reject('invalid_details', 'details', key);
    if (typeof entry !== 'string' || NUL_RE.test(entry)) reject('invalid_details', `details.${key}`, entry);
  }
  const json = JSON.stringify(value);
  if (json.length > DETAILS_MAX_JSON_CHARS) reject('invalid_details', 'details', `${json.length} characters of JSON`);
  return json;
}

/** Pure SecurityEvent -> security_events row mapping (see EventMapper: rejections, never throws). */
export class SecurityEventMapper extends EventMapper<SecurityEvent, SecurityEventRow, SecurityRejectReason> {
  protected toRow(event: SecurityEvent): SecurityEventRow {
    if (typeof event !== 'object' || event === null) reject('invalid_event_id', 'event', event);
    if (typeof event.event_id !== 'string' || !UUID_RE.test(event.event_id)) reject('invalid_event_id', 'event_id', event.event_id);
    const detectedAt = timestamp(event.detected_at_us, 'detected_at_us', 'invalid_detected_at');
    const kind = text(event.kind, 'kind', 'invalid_kind');
    if (kind.length > KIND_MAX_CHARS) reject('invalid_kind', 'kind', kind);
    if (!hasKey(SEVERITIES, event.severity)) reject('invalid_enum', 'severity', event.severity);
    const qname = event.qname ?? null;
    if (qname !== null && text(qname, 'qname', 'invalid_qname').length > QNAME_MAX_CHARS) reject('invalid_qname', 'qname', qname);
    return {
      detected_at: detectedAt,
      event_id: event.event_id.toLowerCase(),
      node_id: text(event.node_id, 'node_id', 'invalid_node'),
      kind,
      severity: event.severity,
      client_ip: ipAddress(event.client_ip, 'client_ip', 'invalid_client_ip'),
      qname,
      details: detailsJson(event.details),
    };
  }
}
