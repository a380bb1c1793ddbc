import { Option, type Command } from "commander";

import type { CliIo } from "./cli-io";
import { CliError } from "./cli-error";
import { EXIT_CODES_HELP, ExitCode } from "./exit-codes";
import { grantNameProblem, grantStatements, type GrantProvider } from "./grant-statements";

interface GrantsCommandOptions {
  provider: GrantProvider;
  appRole: string;
  archiverRole: string;
  schema?: string;
  host: string;
  eventsTable: string;
  archiveTable: string;
  checkpointsTable: string;
}

const EXAMPLES = `
Examples:
  $ audit-events grants --provider postgresql --app-role shop_app > grants.sql && psql -f grants.sql "$ADMIN_URL"
  $ audit-events grants --provider mysql --schema shop --host 10.0.%`;

/**
 * Adds `grants --provider postgresql|mysql [--app-role] [--archiver-role] [--schema]
 * [--host] [--events-table] [--archive-table] [--checkpoints-table]`: prints the
 * GRANT/REVOKE statements of an insert-only application role and an archiver role (see
 * `grantStatements`). It needs no config file and connects to no database.
 *
 * @example
 * ```ts
 * addGrantsCommand(program, { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
 * ```
 */
export function addGrantsCommand(program: Command, io: CliIo): void {
  program
    .command("grants")
    .description("Print the GRANT/REVOKE statements of an insert-only application role and an archiver role.")
    .addOption(new Option("--provider <provider>", "the database").choices(["postgresql", "mysql"]).makeOptionMandatory())
    .option("--app-role <name>", "the role (user) the application connects as", "audit_app")
    .option("--archiver-role <name>", "the role (user) that runs archival", "audit_archiver")
    .option("--schema <name>", "PostgreSQL: the schema of the tables (default public); MySQL/MariaDB: their database (required)")
    .option("--host <host>", "MySQL/MariaDB: the host part of both users", "%")
    .option("--events-table <name>", "the live events table", "audit_events")
    .option("--archive-table <name>", "the archive table", "archived_audit_events")
    .option("--checkpoints-table <name>", "the checkpoints table", "audit_checkpoints")
    .addHelpText("after", `${EXAMPLES}\n${EXIT_CODES_HELP}`)
    .action((options: GrantsCommandOptions) => {
      if (options.provider === "mysql" && options.schema === undefined) {
        throw new CliError("--schema names the database of the audit tables on MySQL/MariaDB, such as --schema shop; it is required there.", ExitCode.Usage);
      }
      const names: [string, string | undefined, ("name" | "host")?][] = [
        ["--app-role", options.appRole],
        ["--archiver-role", options.archiverRole],
        ["--schema", options.schema],
        ["--host", options.host, "host"],
        ["--events-table", options.eventsTable],
        ["--archive-table", options.archiveTable],
        ["--checkpoints-table", options.checkpointsTable],
      ];
      for (const [option, value, pattern] of names) {
        const problem = value === undefined ? undefined : grantNameProblem(option, value, pattern);
        if (problem !== undefined) throw new CliError(problem, ExitCode.Usage);
      }
      if (options.appRole === options.archiverRole) {
        throw new CliError("--app-role and --archiver-role must differ: the application's role must not be able to delete events.", ExitCode.Usage);
      }
      io.stdout.write(`${grantStatements(options).join("\n")}\n`);
    });
}
