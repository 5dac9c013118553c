// The /events stream is newline-delimited JSON, but a chunk can hold half an event or two of them:
// split on "\n" ourselves, and cap the buffer so a hostile or broken endpoint cannot grow it forever.
import type { DockerEvent } from '../model/dockerTypes.js';

export const MAX_EVENT_BYTES = 1024 * 1024;

export interface EventLineSink {
  event(e: DockerEvent): void;
  /** A line that was not a JSON object, or a line that exceeded the cap. */
  malformed(reason: string): void;
}

export class EventLineSplitter {
  private buffer = '';
  private discarding = false;

  constructor(private readonly sink: EventLineSink) {}

  push(chunk: Buffer | string): void {
    let text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (this.discarding) {
      // The rest of an over-long line: drop it up to its newline, without a warning per chunk.
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      this.discarding = false;
      text = text.slice(nl + 1);
    }
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      this.line(line);
    }
    if (this.buffer.length > MAX_EVENT_BYTES) {
      this.buffer = '';
      this.discarding = true;
      this.sink.malformed(`event line longer than ${MAX_EVENT_BYTES} bytes dropped`);
    }
  }

  private line(raw: string): void {
    const line = raw.trim();
    if (!line) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.sink.malformed('event line is not valid JSON');
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.sink.malformed('event line is not a JSON object');
      return;
    }
    this.sink.event(parsed as DockerEvent);
  }
}
