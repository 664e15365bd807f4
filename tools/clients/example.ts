// A member's app and an operator's tool calling the platform through the TypeScript client
// generated from docs/openapi/gateway-internal.json (@hey-api/openapi-ts; an app for members
// would use gateway.json, the public host's). The test suite generates the
// client into ./generated and compiles this file with it (`tsc --noEmit`), so an API change
// that breaks these calls fails there (tests/platform/test_typescript_client.py).
import { client } from "./generated/client.gen";
import { createAdjustment, getPoints, type PointsBalance, type Problem } from "./generated";

/** An operator grants a welcome bonus; the member then reads the points they can spend. */
export async function welcomeBonus(
  baseUrl: string,
  operatorToken: string,
  memberToken: string,
  memberId: string,
): Promise<number> {
  client.setConfig({ baseUrl });
  const granted = await createAdjustment({
    auth: operatorToken,
    path: { member_id: memberId },
    body: { points: 100, reason: "welcome bonus" },
  });
  if (granted.error !== undefined) {
    const problem: Problem = granted.error;
    throw new Error(`${problem.status} ${problem.title}`);
  }
  const read = await getPoints({ auth: memberToken, path: { member_id: memberId } });
  if (read.error !== undefined) {
    throw new Error(`${read.error.status} ${read.error.title}`);
  }
  const balance: PointsBalance = read.data;
  return balance.available;
}
