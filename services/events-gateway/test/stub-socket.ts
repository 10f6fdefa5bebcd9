import type { LiveSocket } from '../src/fanout.js';

/** Every listener the fan-out registers fits this ('pong' and 'close' ones ignore the argument). */
type Listener = (err: Error) => void;

/** A LiveSocket stub: records what the fan-out does to it. */
export class StubSocket implements LiveSocket {
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  pings = 0;
  closedWith: { code: number | undefined; reason: string | undefined } | null = null;
  terminated = false;
  throwOnSend = false;
  private readonly listeners = new Map<string, Listener[]>();

  send(data: string): void {
    if (this.throwOnSend) throw new Error('send failed');
    this.sent.push(data);
  }

  ping(): void {
    this.pings++;
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 2;
  }

  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
    this.emit('close');
  }

  on(event: 'pong' | 'close' | 'error', listener: Listener): this {
    const list = this.listeners.get(event) ?? [];
    list.push(listener);
    this.listeners.set(event, list);
    return this;
  }

  emit(event: 'pong' | 'close' | 'error', err: Error = new Error(event)): void {
    for (const l of this.listeners.get(event) ?? []) l(err);
  }

  /** The peer completed the close handshake. */
  finishClose(): void {
    this.readyState = 3;
    this.emit('close');
  }

  listenerCount(event: string): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  messages(): unknown[] {
    return this.sent.map((s) => JSON.parse(s) as unknown);
  }
}
