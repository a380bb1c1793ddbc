#!/usr/bin/env node
"use strict";

const { runCli } = require("../dist/cjs/cli/main.js");

// Exit explicitly, once stdout and stderr are flushed: a database client the config
// did not close would otherwise keep the process alive.
runCli(process.argv.slice(2)).then((code) => {
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
});
