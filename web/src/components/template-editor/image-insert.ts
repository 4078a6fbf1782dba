/**
 * "Insert an image": uploads the file, checks that its public address shows it (that is what recipients
 * load), and inserts an <img> tag for it at the cursor in the HTML.
 */
import { uploadFile } from '../../api.ts';
import { errorBox, field, h, mount } from '../../dom.ts';

/** `onInserted` runs once the tag is in the HTML. */
export function imageInsertField(html: HTMLTextAreaElement, onInserted: () => void): HTMLDivElement {
  const imageInput = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp' });
  const imageStatus = h('div', { role: 'status', 'aria-live': 'polite', class: 'small' });
  imageInput.addEventListener('change', async () => {
    const file = imageInput.files?.[0];
    if (!file) return;
    mount(imageStatus, `Uploading ${file.name}…`);
    try {
      const uploaded = await uploadFile('image', file);
      const url = uploaded.publicUrl ?? `${uploaded.url.replace(/\/$/, '')}/${uploaded.key}`;
      await imageShows(url);
      const tag = `<img src="${url}" alt="" width="600" style="max-width:100%;height:auto">`;
      const at = html.selectionStart ?? html.value.length;
      html.setRangeText(tag, at, html.selectionEnd ?? at, 'end');
      mount(imageStatus, `Inserted ${file.name}. Describe it in the alt attribute.`);
      onInserted();
    } catch (error) {
      mount(imageStatus, errorBox(error));
    } finally {
      imageInput.value = '';
    }
  });
  return field('Insert an image', imageInput, imageStatus);
}

/** Proves the upload arrived and that its address shows the image. */
function imageShows(url: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const probe = new Image();
    probe.onload = () => resolve();
    probe.onerror = () => reject(new Error(`The image was uploaded but ${url} does not show it.`));
    probe.src = url;
  });
}
