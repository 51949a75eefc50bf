// Closing the HTTP listener without waiting on connections that carry no request. Node's
// server.close() drops keep-alive connections between requests, but a connection that has sent
// nothing yet (a browser's speculative preconnect, or any client on the network) or only part of
// a request head counts as busy: close() waited on it until the hard close 10 s later (seen: a
// dashboard page open at shutdown). Here a connection is busy only while a request is in flight;
// every other one is dropped when closing starts, and each busy one when its last answer is done.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface Drain {
  /** Stops accepting, drops quiet connections, lets answers in flight finish; all by `hardMs`. */
  close(hardMs: number): Promise<void>;
}

export function drainable(server: Server): Drain {
  const inFlight = new Map<Socket, number>();
  let closing = false;
  server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
  });
  server.on('request', (req, res) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const n = inFlight.get(socket);
      if (n === undefined) return; // the connection closed first
      inFlight.set(socket, n - 1);
      // end(), not destroy(): the answer may still sit in the socket's buffer (a large file).
      if (closing && n === 1) socket.end();
    });
  });
  return {
    close(hardMs) {
      closing = true;
      return new Promise<void>((done) => {
        server.close(() => done());
        for (const [socket, n] of inFlight) if (n === 0) socket.destroy();
        setTimeout(() => server.closeAllConnections(), hardMs).unref();
      });
    },
  };
}
