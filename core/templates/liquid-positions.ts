/**
 * liquidjs 10.30 finds a token's row and column (Token.getPosition) by counting characters from the start
 * of the template up to the token, every time it is asked. Its static analysis (analyzeSync, which
 * compileTemplate runs to find the variables a template needs) asks once per variable it meets, so the
 * cost grows with the template's size times its variables: about 100 ms for the 100 KB benchmark template,
 * paid by every campaign creation, template save and preview, and by every sender process before its
 * first send. The same answer comes from a binary search over the template's line starts, built once per
 * template text; this installs that in place of the counting loop (the same row and column for every
 * token: test/unit/liquid-positions.test.ts compares the two).
 */
import { Token } from 'liquidjs';

/** Where each line of a text starts: 0, then one past every line feed. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** Row and column (both from 1) of `offset` in the text whose line starts are `starts`. */
export function positionAt(starts: readonly number[], offset: number): [number, number] {
  // The last line that starts at or before the offset.
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if ((starts[mid] as number) <= offset) low = mid;
    else high = mid - 1;
  }
  return [low + 1, offset - (starts[low] as number) + 1];
}

/** liquidjs's own getPosition, kept for the differential test. */
export const countedPosition = Token.prototype.getPosition;

// The analysis walks one template's tokens in a row: the last text's line starts answer nearly every call.
let lastInput: string | undefined;
let lastStarts: number[] = [];

function indexedPosition(this: Token): [number, number] {
  const input = this.input;
  // liquidjs counts up to `begin` whatever it is: keep its answer for offsets outside the text.
  if (typeof input !== 'string' || this.begin < 0 || this.begin > input.length)
    return countedPosition.call(this) as [number, number];
  if (input !== lastInput) {
    lastInput = input;
    lastStarts = lineStarts(input);
  }
  return positionAt(lastStarts, this.begin);
}

Token.prototype.getPosition = indexedPosition;
