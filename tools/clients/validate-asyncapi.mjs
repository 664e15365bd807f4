// Validates an AsyncAPI document with the AsyncAPI Initiative's parser (@asyncapi/parser: the
// specification's JSON Schema and its Spectral rules) and prints every diagnostic as JSON lines,
// {severity, code, message, path}; severity is error, warning, info or hint. Exit code 0 when
// the parser ran (the caller judges the diagnostics), 2 when it could not.
// Usage: node validate-asyncapi.mjs docs/asyncapi.yaml
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Parser, fromFile } from "@asyncapi/parser";

const SEVERITIES = ["error", "warning", "info", "hint"];

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate-asyncapi.mjs FILE");
  process.exit(2);
}
await readFile(file); // a clear error for a missing file before the parser's
const { diagnostics } = await fromFile(new Parser(), resolve(file)).parse();
for (const d of diagnostics) {
  console.log(
    JSON.stringify({
      severity: SEVERITIES[d.severity] ?? String(d.severity),
      code: String(d.code),
      message: d.message,
      path: d.path.join("."),
    }),
  );
}
