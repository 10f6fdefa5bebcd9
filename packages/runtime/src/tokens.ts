/** Nest token for the ReadinessReporter behind runtime.readiness (used by /readyz). */
export const READINESS = Symbol.for('ghostdns.runtime.readiness');
