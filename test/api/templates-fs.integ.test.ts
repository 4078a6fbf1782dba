/**
 * Over HTTP on the local stack: templates never read files (issue 12, item 1), and stored templates
 * work as partials, pinned by the campaign at creation.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearInbox, inbox } from '../support/local-stack.ts';
import { type ApiTest, postUpload, startApiTest } from './support.ts';

const FROM = 'news@sixback.example';
let t: ApiTest;

beforeAll(async () => {
  t = await startApiTest();
});
afterAll(() => t?.stop());

const draft = (html: string) => ({ template: { subject: 'Hi', html } });

describe('templates and files over HTTP', () => {
  it('a draft preview with {% include "package.json" %} is refused (422) and shows no file', async () => {
    for (const tag of ['include', 'render', 'layout']) {
      const res = await t.call('POST', '/v1/templates/preview', draft(`<p>{% ${tag} 'package.json' %}</p>`));
      expect(res.status, res.text).toBe(422);
      expect(res.body).toMatchObject({ error: { code: 'template_partial' } });
      expect(res.text).not.toContain('"devDependencies"');
    }
  });

  it('the data folder secret files cannot be included, by any path', async () => {
    const paths = [
      '.sixback/unsubscribe-secret',
      '.sixback/api.json',
      join(process.cwd(), '.sixback', 'unsubscribe-secret'),
      '../../../../../../etc/passwd',
      '/etc/passwd',
      'file:///etc/passwd',
      '%2e%2e%2fpackage.json',
    ];
    for (const path of paths) {
      const res = await t.call('POST', '/v1/templates/preview', draft(`{% include '${path}' %}`));
      expect(res.status, path).toBe(422);
      expect(res.text).not.toMatch(/root:|BEGIN|"token"/);
    }
  });

  it('saving a template with an absolute or .. partial path is a 422 that says what to fix, not a 500', async () => {
    for (const path of ['/etc/passwd', '../package.json', 'a/../../b', 'C:\\\\x', 'x.liquid']) {
      const res = await t.call('PUT', '/v1/templates/bad', { subject: 's', html: `{% include '${path}' %}` });
      expect(res.status, path).toBe(422);
      expect(res.body).toMatchObject({
        error: {
          code: 'template_partial',
          message: expect.stringMatching(/stored template.*never read files/),
        },
      });
    }
    const dynamic = await t.call('PUT', '/v1/templates/bad', { subject: 's', html: '{% render file %}' });
    expect(dynamic.status).toBe(422);
    expect((await t.call('GET', '/v1/templates/bad')).status).toBe(404);
  });

  it('a file in the working directory named like a template id is still not read', async () => {
    const name = `fs-probe-${process.pid}`;
    writeFileSync(join(process.cwd(), name), 'FROM-DISK');
    try {
      const res = await t.call('POST', '/v1/templates/preview', draft(`{% include '${name}' %}`));
      expect(res.status).toBe(422);
      expect(res.text).not.toContain('FROM-DISK');
      expect(res.body).toMatchObject({
        error: { message: expect.stringMatching(/Save that template first/) },
      });
    } finally {
      (await import('node:fs')).rmSync(join(process.cwd(), name), { force: true });
    }
  });
});

describe('stored templates as partials', () => {
  it('renders a stored partial in previews, pins its version on the campaign, and sends the pinned one', async () => {
    const footer1 = await t.call('PUT', '/v1/templates/footer', {
      subject: 'footer',
      html: '<footer>Footer one {{ company }}</footer>',
      text: 'Footer one',
    });
    expect(footer1.status).toBe(201);
    const main = {
      subject: 'Hello {{ first_name }}',
      html: '<p>Hi {{ first_name }}</p>{% include \'footer\' %}<a href="{{ unsubscribe_url }}">unsubscribe</a>',
      text: "Hi {{ first_name }}\n{% render 'footer' %}\n{{ unsubscribe_url }}",
    };
    const saved = await t.call('PUT', '/v1/templates/letter', main);
    expect(saved.status, saved.text).toBe(201);
    expect(saved.body.variables).toEqual(['company', 'first_name', 'unsubscribe_url']);

    const draftPreview = await t.call('POST', '/v1/templates/preview', {
      template: main,
      variables: { first_name: 'Ada', company: 'ACME' },
    });
    expect(draftPreview.status, draftPreview.text).toBe(200);
    expect(draftPreview.body.html).toContain('<footer>Footer one ACME</footer>');
    expect(draftPreview.body.text).toContain('Footer one');

    // Cycles are refused at save.
    const cyclic = await t.call('PUT', '/v1/templates/footer', {
      subject: 'f',
      html: "{% include 'letter' %}",
    });
    expect(cyclic.status).toBe(422);
    expect(cyclic.body).toMatchObject({ error: { message: expect.stringMatching(/cycle/) } });

    const presigned = await t.call('POST', '/v1/uploads', { kind: 'recipients', contentType: 'text/csv' });
    await postUpload(
      presigned.body as never,
      'email,first_name\nada@example.com,Ada\ngrace@example.com,Grace\n',
    );
    await clearInbox(t.stack);
    const created = await t.call('POST', '/v1/campaigns', {
      templateId: 'letter',
      recipientsKey: presigned.body.key,
      from: FROM,
      data: { company: 'ACME' },
      sendAt: new Date(Date.now() + 1500).toISOString(),
    });
    expect(created.status, created.text).toBe(201);
    const campaign = await t.stack.deps.campaigns.get(created.body.id as string);
    expect(campaign.partials).toEqual({ footer: 1 });

    // The partial changes after the campaign was created: the campaign still sends version 1.
    const footer2 = await t.call('PUT', '/v1/templates/footer', {
      subject: 'f',
      html: '<footer>Footer TWO</footer>',
      text: 'Footer TWO text',
    });
    expect(footer2.body.version).toBe(2);
    await t.stack.engine.wait(created.body.executionArn as string);
    const done = await t.stack.deps.campaigns.get(campaign.id);
    expect(done.status).toBe('completed');
    const emails = await inbox(t.stack);
    expect(emails).toHaveLength(2);
    for (const email of emails) {
      const raw = JSON.stringify(email);
      expect(raw).toContain('Footer one ACME');
      expect(raw).not.toContain('Footer TWO');
    }

    // A new preview shows the latest footer; a pinned reference shows the old one.
    const latest = await t.call('POST', '/v1/templates/letter/preview', {
      variables: { first_name: 'A', company: 'C' },
    });
    expect(latest.body.html).toContain('Footer TWO');
    const pinned = await t.call('POST', '/v1/templates/preview', {
      template: { subject: 's', html: "{% include 'footer@1' %}" },
      variables: { company: 'C' },
    });
    expect(pinned.body.html).toBe('<footer>Footer one C</footer>');
  });
});
