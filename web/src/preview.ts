/**
 * The live preview renders in the browser with the sender's own code (core/templates/render.ts, bundled with
 * liquidjs's browser build): same engines, same options, same HTML escaping. Missing variables get the
 * same `[name]` samples the API's preview uses (core/templates/preview.ts, which is not bundled: it pulls in SES).
 */
import { NotFoundError, TemplatePartialError, type TemplateSyntaxError } from '../../core/errors.ts';
import { type PartialSource, type ResolvedPartials, resolvePartials } from '../../core/templates/partials.ts';
import {
  type CompiledTemplate,
  compileTemplate,
  parseTemplatePart,
  type RenderedEmail,
  renderTemplate,
  SYSTEM_VARIABLES,
  type TemplateContent,
} from '../../core/templates/render.ts';

/** The same placeholder as core/templates/preview.ts: a preview never carries a working unsubscribe link. */
export const PREVIEW_UNSUBSCRIBE_URL = 'https://unsubscribe.invalid/this-is-a-test';

export interface SyntaxProblem {
  part: 'subject' | 'html' | 'text';
  line: number | null;
  column: number | null;
  problem: string;
  message: string;
}

export type PreviewOutcome =
  | { ok: true; compiled: CompiledTemplate; rendered: RenderedEmail; sampled: string[] }
  | {
      ok: false;
      syntax?: SyntaxProblem;
      message: string;
      compiled?: CompiledTemplate;
      /** The template uses stored partials not loaded yet: load them (loadPartials) and preview again. */
      needsPartials?: boolean;
    };

export const isSystemVariable = (name: string) => (SYSTEM_VARIABLES as readonly string[]).includes(name);

export function preview(
  content: TemplateContent,
  given: Record<string, string>,
  partials: ResolvedPartials = new Map(),
): PreviewOutcome {
  let compiled: CompiledTemplate;
  try {
    compiled = compileTemplate(content, partials);
  } catch (error) {
    if (error instanceof TemplatePartialError) {
      const problem = (error.details as { problem?: string } | undefined)?.problem;
      return { ok: false, message: error.message, needsPartials: problem === 'not loaded' };
    }
    const details = (error as TemplateSyntaxError).details as Omit<SyntaxProblem, 'message'> | undefined;
    const message = error instanceof Error ? error.message : String(error);
    return details?.part ? { ok: false, syntax: { ...details, message }, message } : { ok: false, message };
  }
  const variables: Record<string, string> = {
    email: 'recipient@example.com',
    campaign_id: 'preview',
    unsubscribe_url: PREVIEW_UNSUBSCRIBE_URL,
  };
  const sampled: string[] = [];
  for (const name of compiled.variables) {
    const value = given[name];
    if (value !== undefined && value !== '') variables[name] = value;
    else if (!isSystemVariable(name)) {
      variables[name] = `[${name}]`;
      sampled.push(name);
    }
  }
  try {
    return { ok: true, compiled, rendered: renderTemplate(compiled, variables), sampled };
  } catch (error) {
    return { ok: false, compiled, message: `The template does not render: ${(error as Error).message}` };
  }
}

/**
 * The stored templates `content` uses as partials, fetched through the API (the same resolution as the
 * server's: cycles and depth refused). The browser, like the server, never reads a file for a template.
 */
export async function loadPartials(
  content: TemplateContent,
  getTemplate: (id: string, version?: number) => Promise<PartialSource>,
): Promise<ResolvedPartials> {
  const load = async (id: string, version?: number) => {
    try {
      return await getTemplate(id, version);
    } catch (error) {
      if ((error as { status?: number }).status === 404) throw new NotFoundError((error as Error).message);
      throw error;
    }
  };
  return resolvePartials(content, load, parseTemplatePart);
}
