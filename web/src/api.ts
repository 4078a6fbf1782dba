/**
 * The console talks only to the sixback API, with the bearer token kept in sessionStorage (per tab, gone
 * when the tab closes; never in a URL once the console has started). Every call goes through `api()`,
 * which turns the API's `{error: {code, message, details}}` answers into ApiError.
 */
import type { CampaignView } from '../../core/campaigns/view.ts';
import type { SuppressionEntry, SuppressionReason } from '../../core/compliance/suppression.ts';
import type { JobView } from '../../core/jobs/jobs.ts';
import type { PresignedUpload, RecipientsUploadCheck, UploadKind } from '../../core/recipients/uploads.ts';
import type { CampaignRequest, ShortRowAction, TemplateInput, TemplateRecord } from '../../core/schemas.ts';
import type { TemplateSummary } from '../../core/templates/store.ts';

export type { CampaignView, PresignedUpload, RecipientsUploadCheck, TemplateRecord, TemplateSummary };

const TOKEN_KEY = 'sixback.token';
const INBOX_KEY = 'sixback.inbox';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * `sixback dev` opens the console as /#token=…&inbox=…: the fragment never reaches a server or a Referer
 * header. The token moves to sessionStorage and the fragment is wiped from the address bar and history.
 * `inbox` is the local SES inbox's address; only a loopback http(s) address is kept, so a crafted link
 * cannot make the console point somewhere else.
 */
export function adoptTokenFromFragment(): void {
  const params = new URLSearchParams(location.hash.replace(/^#\/?/, ''));
  const token = params.get('token');
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  const inbox = params.get('inbox');
  if (inbox && isLoopbackUrl(inbox)) sessionStorage.setItem(INBOX_KEY, inbox);
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
}

function isLoopbackUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return /^https?:$/.test(url.protocol) && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}

export const getInboxUrl = () => sessionStorage.getItem(INBOX_KEY);

export const getToken = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (token: string) => sessionStorage.setItem(TOKEN_KEY, token.trim());
export const clearToken = () => sessionStorage.removeItem(TOKEN_KEY);

/**
 * sessionStorage is per tab, so a console page opened in a new tab asks the console's other open tabs
 * (same origin only: BroadcastChannel never crosses origins) for the token instead of a new sign-in.
 */
interface AuthMessage {
  type: 'request' | 'token';
  token?: string;
  inbox?: string | undefined;
}
const channel = typeof BroadcastChannel === 'undefined' ? undefined : new BroadcastChannel('sixback-auth');
channel?.addEventListener('message', (event: MessageEvent<AuthMessage>) => {
  const token = getToken();
  if (event.data?.type === 'request' && token) {
    channel.postMessage({ type: 'token', token, inbox: getInboxUrl() ?? undefined });
  }
});

export function borrowToken(timeoutMs = 1000): Promise<string | null> {
  if (!channel) return Promise.resolve(null);
  const ask = channel;
  return new Promise((resolve) => {
    const done = (token: string | null) => {
      clearTimeout(timer);
      ask.removeEventListener('message', listener);
      resolve(token);
    };
    const listener = (event: MessageEvent<AuthMessage>) => {
      if (event.data?.type !== 'token' || !event.data.token) return;
      if (event.data.inbox && isLoopbackUrl(event.data.inbox))
        sessionStorage.setItem(INBOX_KEY, event.data.inbox);
      done(event.data.token);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    ask.addEventListener('message', listener);
    ask.postMessage({ type: 'request' });
  });
}

/** Raised when the API refuses the token: the app shows the sign-in form. */
export const UNAUTHORIZED_EVENT = 'sixback:unauthorized';

export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      credentials: 'omit',
    });
  } catch (error) {
    throw new ApiError(
      0,
      'network',
      `The API did not answer (${(error as Error).message}). Is sixback dev running?`,
    );
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)
      ?.error;
    if (response.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    throw new ApiError(
      response.status,
      error?.code ?? 'http',
      error?.message ?? `${method} ${path} answered ${response.status} ${response.statusText}`,
      error?.details,
    );
  }
  return parsed as T;
}

const enc = encodeURIComponent;

export interface Page<T> {
  items: T[];
  cursor?: string | null;
}

export type { JobView, SuppressionEntry, SuppressionReason };

/**
 * Polls a job until it ends, reporting its progress; rejects with the job's error if it failed. Work that
 * can outlast the API's 29 s (a stopped campaign's report) runs as a job.
 */
export async function waitForJob(
  job: JobView,
  onProgress: (job: JobView) => void,
  signal?: AbortSignal,
): Promise<JobView> {
  let current = job;
  while (current.status === 'running') {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (signal?.aborted) return current;
    current = await client.getJob(job.id);
    onProgress(current);
  }
  if (current.status === 'failed') throw new Error(current.error?.message ?? `Job ${current.id} failed.`);
  return current;
}

/** "Writing the report: 12,000 of 1,000,000 rows" */
export function describeJob(what: string, job: JobView): string {
  const p = job.progress;
  if (!p) return `${what}…`;
  return `${what}: ${p.done.toLocaleString()}${p.total ? ` of ${p.total.toLocaleString()}` : ''} ${p.unit}`;
}

export const client = {
  health: () => api<{ ok: boolean }>('GET', '/v1/health'),
  listTemplates: () => api<Page<TemplateSummary>>('GET', '/v1/templates'),
  getTemplate: (id: string, version?: number) =>
    api<TemplateRecord>('GET', `/v1/templates/${enc(id)}${version ? `?version=${version}` : ''}`),
  templateVersions: (id: string) => api<Page<TemplateSummary>>('GET', `/v1/templates/${enc(id)}/versions`),
  saveTemplate: (id: string, input: TemplateInput) =>
    api<TemplateRecord>('PUT', `/v1/templates/${enc(id)}`, input),

  presignUpload: (kind: UploadKind, contentType: string, size: number) =>
    api<PresignedUpload & { publicUrl?: string }>('POST', '/v1/uploads', { kind, contentType, size }),
  checkUpload: (key: string, emailColumn?: string, shortRows?: ShortRowAction) =>
    api<RecipientsUploadCheck>('POST', '/v1/uploads/check', {
      key,
      ...(emailColumn ? { emailColumn } : {}),
      ...(shortRows ? { shortRows } : {}),
    }),

  listCampaigns: (cursor?: string) =>
    api<Page<CampaignView>>('GET', `/v1/campaigns?limit=50${cursor ? `&cursor=${enc(cursor)}` : ''}`),
  getCampaign: (id: string) => api<CampaignView>('GET', `/v1/campaigns/${enc(id)}`),
  createCampaign: (request: CampaignRequest, idempotencyKey: string) =>
    api<CampaignView>('POST', '/v1/campaigns', request, { 'idempotency-key': idempotencyKey }),
  /** A cancel answers at once with the job that writes the report (`job`); resume and resend do not. */
  campaignAction: (id: string, action: 'cancel' | 'resume' | 'resend-failed') =>
    api<CampaignView & { job?: JobView }>('POST', `/v1/campaigns/${enc(id)}/${action}`),
  /** The report's link, or (202) the job still writing a stopped campaign's report. */
  reportUrl: (id: string) =>
    api<{ url: string } | { job: JobView }>('GET', `/v1/campaigns/${enc(id)}/report?format=url`),
  getJob: (id: string) => api<JobView>('GET', `/v1/jobs/${enc(id)}`),
  /** A test send of a campaign not created yet (the new-campaign form). */
  testSend: (request: Record<string, unknown>) =>
    api<{ sent: { to: string; messageId: string }[] }>('POST', '/v1/campaigns/test', request),

  listSuppressed: (query: string, cursor?: string) =>
    api<Page<SuppressionEntry>>(
      'GET',
      `/v1/suppression?limit=50${query ? `&search=${enc(query)}` : ''}${cursor ? `&cursor=${enc(cursor)}` : ''}`,
    ),
  suppress: (email: string, reason: SuppressionReason) =>
    api<SuppressionEntry>('POST', '/v1/suppression', { email, reason, source: 'console' }),
  unsuppress: (email: string) => api<unknown>('DELETE', `/v1/suppression/${enc(email)}`),
};

/**
 * Uploads a file with the presigned POST the API hands out; returns the stored key. `confirmed` is false
 * when the storage did not let the page read its answer: a bucket without a CORS rule for this origin
 * (the local S3 unless configured) still stores the file, but the browser hides the response. The API
 * re-checks every upload before using it (present, size, type), so the caller goes on and that check says
 * whether the file arrived.
 */
export async function uploadFile(
  kind: UploadKind,
  file: File,
  contentType = file.type,
): Promise<PresignedUpload & { publicUrl?: string; confirmed: boolean }> {
  const presigned = await client.presignUpload(kind, contentType, file.size);
  const form = new FormData();
  for (const [name, value] of Object.entries(presigned.fields)) form.append(name, value);
  form.append('file', file);
  let response: Response;
  try {
    response = await fetch(presigned.url, { method: 'POST', body: form, credentials: 'omit' });
  } catch (error) {
    if (error instanceof TypeError) return { ...presigned, confirmed: false };
    throw new ApiError(0, 'upload', `The upload to storage failed (${(error as Error).message}).`);
  }
  if (!response.ok) {
    throw new ApiError(response.status, 'upload', `Storage refused the upload (${response.status}).`);
  }
  return { ...presigned, confirmed: true };
}
