/**
 * One call's answer, collected through undici's callback-style dispatch handler: undici calls it directly
 * with the raw header buffers and the body chunks. The controller-style handler (onResponseStart...) goes
 * through an adapter that parses every header into an object first, and `request()` adds a Readable body
 * stream on top: for the thin transports that cost more CPU than the rest of a small call. Errors (refused
 * or reset connections, timeouts) arrive in onError as the same undici/Node errors `request()` rejects
 * with. Subclasses say what the answer becomes (`complete`), so a call needs one object and no closures.
 */
import type { Dispatcher } from 'undici';

const NO_HEADERS: Buffer[] = [];

export abstract class DispatchAnswer implements Dispatcher.DispatchHandler {
  private status = 0;
  private raw: Buffer[] = NO_HEADERS;
  private first: Buffer | undefined;
  private rest: Buffer[] | undefined;

  constructor(protected readonly reject: (error: unknown) => void) {}

  /** The whole answer is in: its final status, undici's raw header buffers and the body as UTF-8 text. */
  protected abstract complete(status: number, raw: Buffer[], body: string): void;

  onConnect(): void {}

  onHeaders(status: number, raw: Buffer[]): boolean {
    // 1xx informational answers come before the real one and carry nothing we need.
    if (status >= 200) {
      this.status = status;
      this.raw = raw;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    // Most answers are one chunk: no array for them.
    if (this.first === undefined) this.first = chunk;
    else if (this.rest === undefined) this.rest = [this.first, chunk];
    else this.rest.push(chunk);
    return true;
  }

  onComplete(): void {
    const body =
      this.rest !== undefined
        ? Buffer.concat(this.rest).toString('utf8')
        : this.first !== undefined
          ? this.first.toString('utf8')
          : '';
    this.complete(this.status, this.raw, body);
  }

  onError(error: Error): void {
    this.reject(error);
  }
}
