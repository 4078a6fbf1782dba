/**
 * What the pipeline process's resident memory is made of, sampled while a benchmark runs
 * (`BENCH_MEMORY_TRACE=1`, one line a second on stderr): the process's RSS split as Linux counts it
 * (anonymous, file-backed, shared), and per thread with a V8 isolate (the engine's, each sender worker's)
 * the heap's committed and used bytes, by space, and the off-heap Buffers the isolate accounts for.
 * docs/bench-rss.md reads these lines.
 */
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics, getHeapStatistics, type HeapInfo, type HeapSpaceInfo } from 'node:v8';

export interface IsolateMemory {
  heap: HeapInfo;
  spaces: HeapSpaceInfo[];
  external: number;
  arrayBuffers: number;
}

export interface ProcessMemory {
  rss: number;
  anon: number;
  file: number;
  shmem: number;
  hwm: number;
}

/** /proc/self/status's split of the resident set (bytes). */
export function processMemory(): ProcessMemory {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return {
    rss: kb('VmRSS'),
    anon: kb('RssAnon'),
    file: kb('RssFile'),
    shmem: kb('RssShmem'),
    hwm: kb('VmHWM'),
  };
}

/** This thread's isolate. */
export function isolateMemory(): IsolateMemory {
  const m = process.memoryUsage();
  return {
    heap: getHeapStatistics(),
    spaces: getHeapSpaceStatistics(),
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

const mb = (n: number) => Math.round(n / 2 ** 20);

/** One isolate in a line: committed/used MB of the heap, the young generation, old, code; external. */
export function describeIsolate(name: string, m: IsolateMemory): string {
  const space = (id: string) => m.spaces.find((s) => s.space_name === id);
  const young = ['new_space', 'new_large_object_space']
    .map(space)
    .reduce((sum, s) => sum + (s?.space_size ?? 0), 0);
  const youngUsed = ['new_space', 'new_large_object_space']
    .map(space)
    .reduce((sum, s) => sum + (s?.space_used_size ?? 0), 0);
  const code = (space('code_space')?.space_size ?? 0) + (space('code_large_object_space')?.space_size ?? 0);
  const old = m.heap.total_heap_size - young - code;
  return `${name} heap ${mb(m.heap.total_physical_size)}/${mb(m.heap.total_heap_size)} (used ${mb(m.heap.used_heap_size)}; young ${mb(young)} used ${mb(youngUsed)}, old+lo+map ${mb(old)}, code ${mb(code)}, malloced ${mb(m.heap.malloced_memory)}) ext ${mb(m.external)} ab ${mb(m.arrayBuffers)}`;
}

export function describeProcess(p: ProcessMemory): string {
  return `rss ${mb(p.rss)} (anon ${mb(p.anon)}, file ${mb(p.file)}, shmem ${mb(p.shmem)}; peak ${mb(p.hwm)})`;
}
