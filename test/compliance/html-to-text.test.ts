import { describe, expect, it } from 'vitest';
import { htmlToText } from '../../core/templates/html-to-text.ts';
import { compileTemplate, renderTemplate } from '../../core/templates/render.ts';

describe('htmlToText', () => {
  it('turns blocks into paragraphs, keeps link targets, bullets lists and decodes entities', () => {
    const html = `<!DOCTYPE html><html><head><title>x</title><style>p{color:red}</style></head>
<body><h1>Welcome, Ann!</h1>
<p>Thanks for joining &amp; <strong>welcome</strong>.<br>Second&nbsp;line</p>
<ul><li>One</li><li>Two</li></ul>
<p><a href="https://example.com/u/abc">Unsubscribe</a> &middot; <a href="https://example.com">https://example.com</a></p>
<script>alert(1)</script></body></html>`;
    expect(htmlToText(html)).toBe(
      'Welcome, Ann!\n\nThanks for joining & welcome.\nSecond line\n\n• One\n• Two\n\n' +
        'Unsubscribe (https://example.com/u/abc) · https://example.com',
    );
  });

  it('renders a text part from the HTML when the template has none', () => {
    const compiled = compileTemplate({
      subject: 'Hi',
      html: '<p>Hello {{ name }}</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    });
    const out = renderTemplate(compiled, {
      name: '<Ann & co>',
      unsubscribe_url: 'https://x.example/u/t?a=1&b=2',
    });
    expect(out.text).toBe('Hello <Ann & co>\n\nUnsubscribe (https://x.example/u/t?a=1&b=2)');
  });

  it('keeps the template text part when there is one', () => {
    const compiled = compileTemplate({ subject: 'Hi', html: '<p>HTML</p>', text: 'Plain {{ name }}' });
    expect(renderTemplate(compiled, { name: 'Ann' }).text).toBe('Plain Ann');
  });
});
