/** Drives test/support/stack-process.ts from a test: start, ask, kill -9. */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CampaignRecord } from '../../core/campaigns/store.ts';
import type { LocalStackOptions } from '../../local/stack.ts';

const SCRIPT = fileURLToPath(new URL('./stack-process.ts', import.meta.url));

export class ChildStack {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  restarted: string[] = [];

  private constructor(readonly child: ChildProcess) {
    child.on('message', (message: { seq?: number; error?: string }) => {
      if (message.seq === undefined) return;
      const waiter = this.waiting.get(message.seq);
      this.waiting.delete(message.seq);
      if (message.error) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message);
    });
    child.on('exit', () => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error('the stack process exited'));
      this.waiting.clear();
    });
  }

  static async start(options: LocalStackOptions): Promise<ChildStack> {
    const child = fork(SCRIPT, [JSON.stringify(options)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const stack = new ChildStack(child);
    stack.restarted = await new Promise<string[]>((resolve, reject) => {
      child.once('message', (message: { op?: string; restarted?: string[] }) => {
        if (message.op === 'ready') resolve(message.restarted ?? []);
      });
      child.once('exit', (code) =>
        reject(new Error(`the stack process exited with ${code} before it was ready`)),
      );
    });
    return stack;
  }

  private ask<T>(message: Record<string, unknown>): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...message, seq });
    });
  }

  async create(request: Record<string, unknown>, csv: string, template: { subject: string; html: string }) {
    return (await this.ask<{ id: string }>({ op: 'create', request, csv, template })).id;
  }

  async get(id: string) {
    return (await this.ask<{ record: CampaignRecord }>({ op: 'get', id })).record;
  }

  async waitFinal(id: string) {
    return (await this.ask<{ record: CampaignRecord }>({ op: 'waitFinal', id })).record;
  }

  async report(id: string) {
    return (await this.ask<{ csv: string }>({ op: 'report', id })).csv;
  }

  /** kill -9: no cleanup, no flush, exactly what a crash does. */
  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async kill(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    if (this.exited || !this.child.connected) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.disconnect();
    await exited;
  }
}
