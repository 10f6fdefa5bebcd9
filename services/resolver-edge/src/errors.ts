/** Stable error codes of resolver-edge (GHOSTDNS_<AREA>_<WHAT>). */
export type ResolverEdgeErrorCode =
  | 'GHOSTDNS_RESOLVER_BAD_ADDRESS'
  | 'GHOSTDNS_RESOLVER_WORKERS_NEED_KAFKA'
  | 'GHOSTDNS_RESOLVER_WORKER_FAILED'
  | 'GHOSTDNS_RESOLVER_TLS_CONFIG'
  | 'GHOSTDNS_RESOLVER_BAD_FORWARD_ZONE'
  | 'GHOSTDNS_RESOLVER_BIND_FAILED'
  | 'GHOSTDNS_RESOLVER_UPSTREAM_UNRESOLVABLE'
  | 'GHOSTDNS_RESOLVER_NOT_STARTED'
  | 'GHOSTDNS_RESOLVER_MALFORMED_MESSAGE'
  | 'GHOSTDNS_RESOLVER_SPOOL_FAILED'
  | 'GHOSTDNS_RESOLVER_RELOAD_FAILED'
  | 'GHOSTDNS_RESOLVER_BAD_ACL'
  | 'GHOSTDNS_RESOLVER_POLICY_SOURCE'
  | 'GHOSTDNS_RESOLVER_ZONE_PARSE'
  | 'GHOSTDNS_RESOLVER_ZONE_TRANSFER';

export class ResolverEdgeError extends Error {
  override readonly name = 'ResolverEdgeError';
  readonly code: ResolverEdgeErrorCode;

  constructor(code: ResolverEdgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
