import net from "node:net";

/** A TCP proxy in the test process, to cut a real server off without stopping it. */
export interface TcpProxy {
  /** The port clients connect to on 127.0.0.1. */
  readonly port: number;
  /** Drops every open connection and refuses new ones (they are reset at once). */
  cut(): void;
  /**
   * Swallows everything from now on, both ways, and leaves every connection open: what a
   * dropped route or a firewall that forgot the connection looks like (no reset, no reply,
   * ever). New connections are accepted and swallowed too. Ended by {@link restore} for new
   * connections only.
   */
  blackhole(): void;
  /**
   * Forwards `afterBytes` more bytes from clients to the server, then swallows everything,
   * both ways, and cuts nothing off: what a route dead one way with the server still
   * connected looks like. Unlike {@link blackhole}, a side that closes no longer closes
   * the other: the server's session lives on however the client gives its socket up, as
   * it does until its TCP keepalive ends it. New connections are swallowed once it is dead.
   */
  halfDead(afterBytes?: number): void;
  /** Lets connections through again. */
  restore(): void;
  close(): Promise<void>;
}

/** Starts a proxy from an ephemeral port on 127.0.0.1 to `target`. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let open = true;
  let swallowing = false;
  /** Bytes still forwarded from clients before the route dies one way (see halfDead()). */
  let budget = Infinity;
  /** Each open pair: `stopped` forwards nothing; `severed` no longer closes one side with the other. */
  interface Pair {
    stopped: boolean;
    severed: boolean;
    /** Reads both sides again, paused as they may be by backpressure, to drop what comes. */
    drain(): void;
  }
  const pairs = new Set<Pair>();
  const die = () => {
    swallowing = true;
    for (const pair of pairs) {
      pair.stopped = true;
      pair.severed = true;
      pair.drain();
    }
  };
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  };
  const server = net.createServer((client) => {
    track(client);
    if (!open) {
      client.resetAndDestroy();
      return;
    }
    if (swallowing) {
      client.resume();
      return;
    }
    const upstream = net.connect(target);
    track(upstream);
    const pair: Pair = {
      stopped: false,
      severed: false,
      drain: () => {
        client.resume();
        upstream.resume();
      },
    };
    pairs.add(pair);
    // As pipe() forwards (backpressure, end), but byte by byte counted; once stopped, read
    // and drop: nothing reaches the other side, nothing is refused.
    const forward = (from: net.Socket, to: net.Socket, chunk: Buffer) => {
      if (!to.write(chunk) && !pair.stopped) {
        from.pause();
        to.once("drain", () => from.resume());
      }
    };
    client.on("data", (chunk: Buffer) => {
      if (pair.stopped) return;
      if (chunk.length < budget) {
        budget -= chunk.length;
        forward(client, upstream, chunk);
        return;
      }
      upstream.write(chunk.subarray(0, budget));
      budget = 0;
      die();
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!pair.stopped) forward(upstream, client, chunk);
    });
    client.on("end", () => {
      if (!pair.stopped) upstream.end();
    });
    upstream.on("end", () => {
      if (!pair.stopped) client.end();
    });
    client.on("close", () => {
      pairs.delete(pair);
      if (!pair.severed) upstream.destroy();
    });
    upstream.on("close", () => {
      if (!pair.severed) client.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      open = false;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    blackhole() {
      swallowing = true;
      for (const pair of pairs) {
        pair.stopped = true;
        pair.drain();
      }
    },
    halfDead(afterBytes = 0) {
      budget = afterBytes;
      if (afterBytes === 0) die();
    },
    restore() {
      open = true;
      swallowing = false;
      budget = Infinity;
    },
    async close() {
      open = false;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `url` with its host and port replaced by the proxy's. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = "127.0.0.1";
  parsed.port = String(proxy.port);
  return parsed.toString();
}
