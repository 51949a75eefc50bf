// A minimal QMP client (QEMU Machine Protocol: JSON lines over a unix socket). Enough for the
// emulator: negotiate capabilities, run a command, wait for its return.
import { connect, type Socket } from 'node:net';

export class Qmp {
  private buf = '';
  private waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  private greeted: Promise<void>;

  private constructor(private readonly sock: Socket) {
    let greet!: () => void;
    this.greeted = new Promise((r) => { greet = r; });
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      this.buf += chunk;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc?: string }; event?: string };
        if (msg.QMP) greet();
        else if (msg.event) continue; // events (SHUTDOWN, RESET…) are not awaited here
        else if ('return' in msg || msg.error) {
          const w = this.waiting.shift();
          if (msg.error) w?.reject(new Error(`QMP: ${msg.error.desc ?? 'error'}`));
          else w?.resolve(msg.return);
        }
      }
    });
    const fail = (e: Error) => { for (const w of this.waiting.splice(0)) w.reject(e); };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('QMP connection closed')));
  }

  /** Connects, retrying while QEMU has not yet created the socket. */
  static async connect(path: string, timeoutMs = 5000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path, () => resolve(s));
          s.once('error', reject);
        });
        const q = new Qmp(sock);
        await q.greeted;
        await q.execute('qmp_capabilities');
        return q;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.sock.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    });
  }

  close(): void { this.sock.destroy(); }
}
