/**
 * Keeps the preview in step with the fields: renders in the browser with the sender's own liquid code a
 * moment after the last keystroke, fetching stored partials from the API when the template first needs
 * them, and shows any error at its part and line.
 */
import type { ResolvedPartials } from '../../../../core/templates/partials.ts';
import { client } from '../../api.ts';
import { loadPartials, preview } from '../../preview.ts';
import type { PreviewPane } from './preview-pane.ts';
import type { SampleValues } from './sample-values.ts';
import type { TemplateFields } from './template-fields.ts';

const TYPING_PAUSE_MS = 120;

export interface LivePreview {
  /** Renders now. */
  update(): void;
  /** Renders once typing pauses. */
  schedule(): void;
}

export function livePreview(
  fields: TemplateFields,
  pane: PreviewPane,
  samples: SampleValues,
  signal: AbortSignal,
): LivePreview {
  // Stored templates used as partials, fetched from the API when the template first needs them.
  let partials: ResolvedPartials = new Map();
  let loadingPartials = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const update = () => {
    const content = fields.content();
    const outcome = preview(content, samples.values(), partials);
    if (!outcome.ok && outcome.needsPartials && !loadingPartials) {
      loadingPartials = true;
      loadPartials(content, (id, version) => client.getTemplate(id, version)).then(
        (loaded) => {
          loadingPartials = false;
          partials = loaded;
          update();
        },
        (error: Error) => {
          loadingPartials = false;
          pane.markStale();
          fields.showProblem({ ok: false, message: error.message });
        },
      );
    }
    if (outcome.compiled) samples.show(outcome.compiled.variables);
    if (!outcome.ok) {
      pane.markStale();
      fields.showProblem(outcome);
      return;
    }
    fields.clearProblems();
    pane.show(outcome.rendered);
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(update, TYPING_PAUSE_MS);
  };
  signal.addEventListener('abort', () => clearTimeout(timer));
  for (const control of Object.values(fields.controls)) control.addEventListener('input', schedule);
  return { update, schedule };
}
