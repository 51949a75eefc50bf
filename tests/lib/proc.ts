// Facts about a running process, from /proc.
import { readFileSync } from 'node:fs';

/** The process's peak resident memory so far (VmHWM), in MiB. */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]) / 1024);
}

/** CPU milliseconds (user + system) a process and its reaped children have used so far. */
export function cpuMs(pid: number): number {
  // /proc/PID/stat: fields after the command's closing parenthesis; utime stime cutime cstime are 14–17.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].reduce((a, i) => a + Number(f[i]), 0);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}
