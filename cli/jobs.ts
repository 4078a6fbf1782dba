/**
 * Waiting for a job the API started (a report, a suppression import): polls GET /v1/jobs/:id until it
 * ends, showing its progress on stderr (one redrawn line on a terminal, a line per change otherwise), so
 * stdout keeps only the command's result.
 */
import type { JobView } from '../core/jobs/jobs.ts';
import type { ApiClient } from './client.ts';
import { CliError, EXIT } from './exit.ts';
import { isTty, progressBar } from './output.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitForJob(
  client: ApiClient,
  job: JobView,
  options: { what: string; quiet?: boolean; intervalMs?: number },
): Promise<JobView> {
  const tty = isTty() && !options.quiet;
  let current = job;
  let lastLine = '';
  while (current.status === 'running') {
    await sleep(options.intervalMs ?? 1000);
    current = await client.json<JobView>('GET', `/v1/jobs/${encodeURIComponent(job.id)}`, { retries: 3 });
    const p = current.progress;
    const line = p
      ? `${options.what}: ${p.total ? `${progressBar(p.done, p.total)} ` : ''}${p.done}${p.total ? `/${p.total}` : ''} ${p.unit}`
      : `${options.what}…`;
    if (options.quiet || line === lastLine) continue;
    lastLine = line;
    if (tty) process.stderr.write(`\r${line}\u001b[K`);
    else process.stderr.write(`${line}\n`);
  }
  if (tty && lastLine) process.stderr.write('\n');
  if (current.status === 'failed') {
    throw new CliError(
      `${options.what} failed: ${current.error?.message ?? 'unknown error'} (job ${current.id})`,
      EXIT.failed,
    );
  }
  return current;
}
