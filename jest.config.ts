import type { Config } from "jest";

const config: Config = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testTimeout: 30_000,
  // Examples import the package by name, as users do; in tests that name is the source.
  moduleNameMapper: { "^audit-events$": "<rootDir>/src/index.ts" },
};

export default config;
