/**
 * The browser tier's Chromium lookup (test/support/chromium.ts): CHROMIUM_PATH wins when it names a file,
 * a CHROMIUM_PATH that names nothing means "none" (not a silent fall back to another browser), and the
 * browser tests' launch path says how to install one when there is none.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHROMIUM_INSTALL_HINT, chromiumPath, findChromium } from '../support/chromium.ts';

describe('findChromium', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('takes CHROMIUM_PATH when the file exists', () => {
    expect(findChromium({ CHROMIUM_PATH: process.execPath })).toBe(process.execPath);
  });

  it('finds none when CHROMIUM_PATH names a missing file', () => {
    expect(findChromium({ CHROMIUM_PATH: '/nonexistent/chromium' })).toBeUndefined();
  });

  it('tells the browser tests how to install one when there is none', () => {
    vi.stubEnv('CHROMIUM_PATH', '/nonexistent/chromium');
    expect(() => chromiumPath()).toThrow(CHROMIUM_INSTALL_HINT);
  });
});
