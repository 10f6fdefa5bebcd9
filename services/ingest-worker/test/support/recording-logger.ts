import type { IngestLogger } from '../../src/ports.js';

/** Keeps every line logged, for assertions. */
export class RecordingLogger implements IngestLogger {
  readonly lines: { level: string; obj: object | string; msg?: string }[] = [];
  info(obj: object | string, msg?: string): void {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: object | string, msg?: string): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
  error(obj: object | string, msg?: string): void {
    this.lines.push({ level: 'error', obj, msg });
  }
}
