import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";

/**
 * A `redis-server` of the test's own, on a free port, without persistence: a test may
 * kill it, restart it empty or reconfigure it without touching the shared Redis.
 */
export interface PrivateRedis {
  readonly url: string;
  /** Kills the server (SIGKILL: a crash, nothing saved) and starts it again, empty, on the same port. */
  restart(): Promise<void>;
  /** Kills the server. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts `redis-server` on `port`; resolves once it accepts connections. */
function startServer(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let output = "";
    const heard = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) resolve(child);
    };
    child.stdout!.on("data", heard);
    child.stderr!.on("data", heard);
    child.once("exit", (code) => reject(new Error(`redis-server on port ${port} exited (${code}): ${output}`)));
    child.once("error", reject);
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

/** Starts a private Redis (see {@link PrivateRedis}). */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child = await startServer(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await kill(child);
      child = await startServer(port);
    },
    stop: () => kill(child),
  };
}
