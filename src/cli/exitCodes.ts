// Exit codes, the same for every command (documented in the README).
export const EXIT = {
  OK: 0,
  /** `audit` found a non-excepted finding at or above --fail-on. */
  FINDINGS: 1,
  /** Bad usage or configuration. */
  USAGE: 2,
  /** Docker unreachable for a one-shot command. */
  DOCKER_UNREACHABLE: 3,
  /** A bug: an error rootwatch did not expect (EX_SOFTWARE of sysexits.h). */
  INTERNAL: 70,
} as const;

/** An error that the CLI prints as one line and turns into an exit code, without a stack trace. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'CliError';
  }
}
