import os from "node:os";

import type { Client as PgClient } from "pg";

/** The machine a benchmark ran on, in one line: CPUs, memory, OS. */
export function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus.length} x ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`;
}

/** The PostgreSQL server's version string and the settings that move write and archive figures. */
export async function postgresLines(pg: PgClient): Promise<string[]> {
  const { rows: version } = await pg.query<{ version: string }>("SELECT version()");
  const { rows: settings } = await pg.query<{ name: string; setting: string; unit: string | null }>(
    "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'synchronous_commit', 'fsync', 'max_connections', 'max_wal_size') ORDER BY name",
  );
  return [
    version[0]!.version,
    `PostgreSQL settings: ${settings.map((s) => `${s.name}=${s.setting}${s.unit ? ` (${s.unit})` : ""}`).join(", ")}`,
  ];
}
