// Poll a condition until it holds or a deadline passes, with a message that says what was awaited.
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000, stepMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
}
