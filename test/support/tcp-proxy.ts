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
  /** Lets connections through again. */
  restore(): void;
  close(): Promise<void>;
}

/** Starts a proxy from an ephemeral port on 127.0.0.1 to `target`. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let open = true;
  let swallowing = false;
  /** The forwarding of each open pair, stopped by blackhole(). */
  const pipes = new Set<() => void>();
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
    client.pipe(upstream);
    upstream.pipe(client);
    const stop = () => {
      client.unpipe(upstream);
      upstream.unpipe(client);
      // Read and drop: nothing reaches the other side, nothing is refused.
      client.resume();
      upstream.resume();
    };
    pipes.add(stop);
    client.on("close", () => pipes.delete(stop));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
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
      for (const stop of pipes) stop();
      pipes.clear();
    },
    restore() {
      open = true;
      swallowing = false;
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
