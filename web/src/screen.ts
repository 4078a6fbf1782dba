/**
 * What the shell (main.ts) hands each screen. Its own module so the screens do not import the shell
 * that imports them.
 */
export interface ScreenContext {
  root: HTMLElement;
  params: Record<string, string>;
  query: URLSearchParams;
  signal: AbortSignal;
  setTitle(title: string): void;
}
export type Screen = (context: ScreenContext) => Promise<void> | void;
