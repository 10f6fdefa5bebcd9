// The I/O seam of the health checks: one HTTP GET. 2xx and 3xx mean healthy (a
// redirect is an answering service, and following it could leave the instance).
export interface HealthProbe {
  /** Resolves true when the instance answered healthy in time; never rejects. */
  check(url: string, timeoutMs: number): Promise<boolean>;
}

export const fetchHealthProbe: HealthProbe = {
  async check(url, timeoutMs) {
    try {
      const res = await fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      return res.status >= 200 && res.status < 400;
    } catch {
      return false;
    }
  },
};
