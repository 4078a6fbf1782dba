/** CPU time and peak memory of this process's child processes, from /proc (Linux). */
import { readdirSync, readFileSync } from 'node:fs';

export interface ChildUsage {
  pid: number;
  command: string;
  cpuUs: number;
  peakRssMb: number;
}

const TICK_US = 10_000; // USER_HZ is 100 on Linux

export function childUsage(parent = process.pid): ChildUsage[] {
  const children: ChildUsage[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command is in parentheses and may hold spaces; the fields after it are fixed.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== parent) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').slice(-3).join(' ');
      children.push({
        pid: Number(entry),
        command,
        cpuUs: (Number(fields[11]) + Number(fields[12])) * TICK_US,
        peakRssMb: hwm ? Number(hwm[1]) / 1024 : 0,
      });
    } catch {
      // The process ended while being read.
    }
  }
  return children;
}

/** The calling thread's CPU time in microseconds (10 ms resolution). */
export function threadCpuUs(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}
