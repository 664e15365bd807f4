// @hey-api/openapi-ts: the TypeScript client of the gateway's API (docs/openapi/gateway.json).
// The test suite runs it from .tools/clients with `-i` and `-o` (tests/platform/
// test_typescript_client.py); the document is validated first and every issue is printed, so the
// test fails on any. By hand, from the repository: cd .tools/clients && node_modules/.bin/openapi-ts
// -f openapi-ts.config.mjs (writes .tools/clients/generated).
export default {
  input: "../../docs/openapi/gateway.json",
  output: "generated",
  parser: { validate_EXPERIMENTAL: true },
  plugins: ["@hey-api/client-fetch", "@hey-api/typescript", "@hey-api/sdk"],
  logs: { file: false },
};
