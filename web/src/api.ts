/**
 * The console talks only to the sixback API, with the bearer token kept in sessionStorage (per tab, gone
 * when the tab closes; never in a URL once the console has started). Every call goes through `api()`,
 * which turns the API's `{error: {code, message, details}}` answers into ApiError.
 */
import type { CampaignView } from '../../core/campaign-view.ts';
import type { CampaignRequest, TemplateInput, TemplateRecord } from '../../core/schemas.ts';
import type { SuppressionEntry, SuppressionReason } from '../../core/suppression.ts';
import type { TemplateSummary } from '../../core/templates.ts';
import type { PresignedUpload, RecipientsUploadCheck, UploadKind } from '../../core/uploads.ts';

export type { CampaignView, PresignedUpload, RecipientsUploadCheck, TemplateRecord, TemplateSummary };

const TOKEN_KEY = 'sixback.token';

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
 * `sixback dev` opens the console as /#token=…: the fragment never reaches a server or a Referer header.
 * The token moves to sessionStorage and the fragment is wiped from the address bar and history.
 */
export function adoptTokenFromFragment(): void {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1] as string));
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
}

export const getToken = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (token: string) => sessionStorage.setItem(TOKEN_KEY, token.trim());
export const clearToken = () => sessionStorage.removeItem(TOKEN_KEY);

/**
 * sessionStorage is per tab, so a console page opened in a new tab asks the console's other open tabs
 * (same origin only: BroadcastChannel never crosses origins) for the token instead of a new sign-in.
 */
const channel = typeof BroadcastChannel === 'undefined' ? undefined : new BroadcastChannel('sixback-auth');
channel?.addEventListener('message', (event: MessageEvent<{ type: string; token?: string }>) => {
  const token = getToken();
  if (event.data?.type === 'request' && token) channel.postMessage({ type: 'token', token });
});

export function borrowToken(timeoutMs = 400): Promise<string | null> {
  if (!channel) return Promise.resolve(null);
  const ask = channel;
  return new Promise((resolve) => {
    const done = (token: string | null) => {
      clearTimeout(timer);
      ask.removeEventListener('message', listener);
      resolve(token);
    };
    const listener = (event: MessageEvent<{ type: string; token?: string }>) => {
      if (event.data?.type === 'token' && event.data.token) done(event.data.token);
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

export interface PreviewResult {
  subject: string;
  html: string;
  text: string;
  variables?: Record<string, unknown>;
}

export type { SuppressionEntry, SuppressionReason };

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
  checkUpload: (key: string, emailColumn?: string) =>
    api<RecipientsUploadCheck>('POST', '/v1/uploads/check', { key, ...(emailColumn ? { emailColumn } : {}) }),

  listCampaigns: (cursor?: string) =>
    api<Page<CampaignView>>('GET', `/v1/campaigns?limit=50${cursor ? `&cursor=${enc(cursor)}` : ''}`),
  getCampaign: (id: string) => api<CampaignView>('GET', `/v1/campaigns/${enc(id)}`),
  createCampaign: (request: CampaignRequest, idempotencyKey: string) =>
    api<CampaignView>('POST', '/v1/campaigns', request, { 'idempotency-key': idempotencyKey }),
  campaignAction: (id: string, action: 'cancel' | 'resume' | 'resend-failed') =>
    api<CampaignView>('POST', `/v1/campaigns/${enc(id)}/${action}`),
  reportUrl: (id: string) => api<{ url: string }>('GET', `/v1/campaigns/${enc(id)}/report?format=url`),
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

/** Uploads a file with the presigned POST the API hands out; returns the stored key. */
export async function uploadFile(
  kind: UploadKind,
  file: File,
  contentType = file.type,
): Promise<PresignedUpload & { publicUrl?: string }> {
  const presigned = await client.presignUpload(kind, contentType, file.size);
  const form = new FormData();
  for (const [name, value] of Object.entries(presigned.fields)) form.append(name, value);
  form.append('file', file);
  let response: Response;
  try {
    response = await fetch(presigned.url, { method: 'POST', body: form, credentials: 'omit' });
  } catch (error) {
    throw new ApiError(0, 'upload', `The upload to storage failed (${(error as Error).message}).`);
  }
  if (!response.ok) {
    throw new ApiError(response.status, 'upload', `Storage refused the upload (${response.status}).`);
  }
  return presigned;
}
