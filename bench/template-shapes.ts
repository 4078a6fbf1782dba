/**
 * `npx tsx bench/template-shapes.ts [FILE...] [--n N]`: for each template (default: bench/templates/*.html
 * and the 100 KB fixture), which of renderTemplate's paths it takes (the prepared HTML with pre-encoded
 * JSON pieces, the derived text part, or liquidjs and htmlToText), the single-thread CPU per email of the
 * render and the SendEmail body (as the thin transport writes it), and whether every email is what a plain
 * liquidjs render and the reference htmlToText (test/support/html-to-text-reference.ts) give, serialised
 * as sendEmailBody serialises them; and the stand-in's parse of one body (its firstRecipient). A FILE.txt beside FILE.html is its text part (loadBenchTemplate).
 */
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodedBodyBound, sendEmailBody, writeEncodedBody } from '../core/aws/fast/ses-transport.ts';
import type { OutgoingEmail } from '../core/sending/email-sender.ts';
import { untrackUnsubscribeLinks } from '../core/sending/tracking.ts';
import { compileTemplate, createEngines, fastRenderStats, renderTemplate } from '../core/templates/render.ts';
import { firstRecipient } from '../local/ses-standin.ts';
import { htmlToText as referenceText } from '../test/support/html-to-text-reference.ts';
import { benchVariables, loadBenchTemplate, TEMPLATE_FILES } from './fixtures.ts';

const { values, positionals } = parseArgs({
  options: { n: { type: 'string', default: '400' } },
  allowPositionals: true,
});
const n = Number(values.n);
const dir = fileURLToPath(new URL('./templates/', import.meta.url));
const files =
  positionals.length > 0
    ? positionals
    : [
        TEMPLATE_FILES[100] as string,
        ...readdirSync(dir)
          .filter((f) => f.endsWith('.html'))
          .sort()
          .map((f) => dir + f),
      ];

const engines = createEngines(new Map());
for (const file of files) {
  const content = loadBenchTemplate(file);
  const compiled = compileTemplate(content);
  const refHtml = engines.html.parse(untrackUnsubscribeLinks(content.html));
  const refText = content.text === undefined ? undefined : engines.text.parse(content.text);
  const refSubject = engines.subject.parse(content.subject);
  const mismatches0 = fastRenderStats.mismatches;
  const textMismatches0 = fastRenderStats.textMismatches;
  let wrong = 0;
  let firstWrong = '';
  let withJson = 0;
  const buffer = Buffer.allocUnsafe(4 << 20);
  const emailOf = (i: number) => {
    const variables = benchVariables(i);
    const rendered = renderTemplate(compiled, variables);
    const email: OutgoingEmail = {
      from: 'news@sixback.example',
      to: variables.email as string,
      subject: rendered.subject,
      get html() {
        return rendered.html;
      },
      get text() {
        return rendered.text;
      },
      json: rendered.json,
    };
    return { variables, email };
  };
  const bodyOf = (email: OutgoingEmail) =>
    email.json === undefined
      ? Buffer.from(sendEmailBody(email))
      : buffer.subarray(0, writeEncodedBody(email, email.json, buffer));
  // Correctness first (the first 16 renders are the safety net's; the rest are the fast paths).
  for (let i = 0; i < 64; i++) {
    const { variables, email } = emailOf(i);
    if (email.json) withJson++;
    if (email.json && encodedBodyBound(email, email.json) > buffer.length) throw new Error('bound');
    const body = bodyOf(email);
    const html = engines.html.renderSync(refHtml, variables) as string;
    const text = refText ? (engines.text.renderSync(refText, variables) as string) : referenceText(html);
    const subject = (engines.subject.renderSync(refSubject, variables) as string).trim();
    const expected = sendEmailBody({ ...email, subject, html, text, json: undefined });
    const got = body.toString('utf8');
    JSON.parse(got);
    if (got !== expected || email.html !== html || email.text !== text) {
      wrong++;
      if (!firstWrong) {
        let at = 0;
        while (at < got.length && got[at] === expected[at]) at++;
        firstWrong = `recipient ${i}: body differs at ${at}: got ${JSON.stringify(got.slice(at - 40, at + 60))} expected ${JSON.stringify(expected.slice(at - 40, at + 60))}`;
      }
    }
  }
  // Then the cost: render and body, as a sender thread does them (warm first).
  for (let i = 64; i < 200; i++) bodyOf(emailOf(i).email);
  const cpu0 = process.cpuUsage();
  for (let i = 200; i < 200 + n; i++) bodyOf(emailOf(i).email);
  const cpu = process.cpuUsage(cpu0);
  const us = (cpu.user + cpu.system) / n;
  // What the SES stand-in spends finding the recipient in one body (local/ses-standin.ts firstRecipient).
  const sample = Buffer.from(bodyOf(emailOf(1).email));
  for (let i = 0; i < 50; i++) firstRecipient(sample);
  const parse0 = process.cpuUsage();
  for (let i = 0; i < n; i++) firstRecipient(sample);
  const parse = process.cpuUsage(parse0);
  const prepared = compiled.fast?.prepared;
  console.log(
    JSON.stringify({
      template: basename(file),
      kb: Math.round(Buffer.byteLength(content.html) / 1024),
      bodyBytes: bodyOf(emailOf(0).email).length,
      prepared: prepared !== undefined,
      fastDisabled: compiled.fast?.disabled ?? null,
      derived: prepared?.render(benchVariables(1))?.derived ?? false,
      jsonPieces: `${withJson}/64`,
      fastMismatches: fastRenderStats.mismatches - mismatches0,
      textMismatches: fastRenderStats.textMismatches - textMismatches0,
      wrong: `${wrong}/64`,
      cpuUsPerEmail: Math.round(us),
      standinParseUs: Math.round((parse.user + parse.system) / n),
      nonAsciiBodyBytes: sample.reduce((k, b) => k + (b >= 0x80 ? 1 : 0), 0),
      ...(firstWrong ? { firstWrong } : {}),
    }),
  );
}
