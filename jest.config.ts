/**
 * Loaded by ts-node without type-checking it: `npm run typecheck` (tsconfig.json includes this
 * file) already does, and the check cost about 3 s of CPU at every jest start.
 * @jest-config-loader-options {"transpileOnly": true}
 */
import type { Config } from "jest";

const config: Config = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testTimeout: 30_000,
  // One test file at a time (they share the databases), in a worker that is replaced once
  // it holds more than this after a file: each file's modules (Prisma clients included)
  // stay in a process's heap, and one long process ran out of it (CI, Node 24).
  maxWorkers: 1,
  workerIdleMemoryLimit: "1GB",
  // Examples import the package by name, as users do; in tests that name is the source.
  moduleNameMapper: { "^audit-events$": "<rootDir>/src/index.ts", "^audit-events/nestjs$": "<rootDir>/src/nestjs/index.ts" },
  // NestJS 12 ships ES modules only, which jest on Node 20 cannot require().
  transform: {
    "^.+\\.tsx?$": "ts-jest",
    "/node_modules/@nestjs/.+\\.js$": "<rootDir>/test/support/esm-package-transform.js",
  },
  transformIgnorePatterns: ["/node_modules/(?!@nestjs/)"],
};

export default config;
