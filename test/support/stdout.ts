/**
 * What a function writes to stdout while it runs (the EMF lines a Lambda writes there), split in lines,
 * and kept off the test's own output.
 */
export async function stdoutOf<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const chunks: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  try {
    const result = await run();
    return {
      result,
      lines: chunks
        .join('')
        .split('\n')
        .filter((line) => line !== ''),
    };
  } finally {
    process.stdout.write = write;
  }
}
