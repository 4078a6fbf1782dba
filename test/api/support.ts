/** A local stack plus the API on port 0, and a small JSON client for tests. */
import type { ApiServer } from '../../api/node.ts';
import { startApiServer } from '../../api/node.ts';
import type { RouteModule } from '../../api/types.ts';
import type { LocalStack, LocalStackOptions } from '../../local/stack.ts';
import { startTestStack } from '../support/local-stack.ts';

export interface ApiTest {
  stack: LocalStack;
  server: ApiServer;
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown>; headers: Headers; text: string }>;
  stop(): Promise<void>;
}

export const TEMPLATE = {
  name: 'Hello',
  subject: 'Hello {{ first_name }}',
  html: '<p>Hi {{ first_name }} from {{ city }}.</p><a href="{{ unsubscribe_url }}">unsubscribe</a>',
  text: 'Hi {{ first_name }}. Unsubscribe: {{ unsubscribe_url }}',
};

export async function startApiTest(
  options: { stack?: LocalStackOptions; extraModules?: RouteModule[] } = {},
): Promise<ApiTest> {
  const stack = await startTestStack(options.stack);
  const server = await startApiServer({
    deps: { app: stack.deps, campaigns: stack.campaignDeps },
    ...(options.extraModules ? { extraModules: options.extraModules } : {}),
    log: () => undefined,
  });
  return {
    stack,
    server,
    async call(method, path, body, headers = {}) {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${server.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await response.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON (the CSV report): callers read `text`.
      }
      return { status: response.status, body: parsed, headers: response.headers, text };
    },
    async stop() {
      await server.close();
      await stack.stop();
    },
  };
}

/** Uploads a file the way a browser or the CLI does: a multipart POST of the presigned fields, then the file. */
export async function postUpload(
  presigned: { url: string; fields: Record<string, string> },
  content: string,
  contentType = 'text/csv',
): Promise<number> {
  const form = new FormData();
  for (const [name, value] of Object.entries(presigned.fields)) form.append(name, value);
  form.append('file', new Blob([content], { type: contentType }));
  const response = await fetch(presigned.url, { method: 'POST', body: form });
  await response.arrayBuffer();
  return response.status;
}
