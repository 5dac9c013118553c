// The rootwatch command line: `run` (the daemon, default), `audit` (one-shot), `version`.
// Errors the user can fix print one line and exit with the documented code; never a stack trace.
import { Command, CommanderError, Option } from 'commander';
import { CliError, EXIT } from './exitCodes.js';
import { configPath, loadSettings, type GlobalOptions } from './setup.js';
import { VERSION } from '../version.js';
import { sanitize } from '../log/sanitize.js';

/** Hard deadline for shutdown: systemd and tests expect the process gone within 5 s of SIGTERM. */
const SHUTDOWN_DEADLINE_MS = 4500;

function buildProgram(): Command {
  const program = new Command('rootwatch')
    .description('Docker host breakout and exposure monitor')
    .option('-c, --config <file>', 'YAML config file (default /etc/rootwatch/rootwatch.yaml, or $ROOTWATCH_CONFIG)')
    .option('--log-level <level>', 'emerg|alert|crit|error|warning|notice|info|debug')
    .option('--docker-host <url>', 'Docker API endpoint (default $DOCKER_HOST, then unix:///var/run/docker.sock); repeat for several engines', (url: string, all: string[]) => [...all, url], [] as string[])
    .exitOverride()
    .showHelpAfterError(false);

  program
    .command('run', { isDefault: true })
    .description('run the monitoring daemon (the default command)')
    .option('--listen <host:port>', 'address for /metrics (overrides metrics.listen)')
    .action(async (cmdOpts: { listen?: string }) => {
      const g = program.opts<GlobalOptions>();
      const settings = loadSettings(g);
      if (cmdOpts.listen !== undefined && !/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/.test(cmdOpts.listen)) {
        throw new CliError(`--listen "${cmdOpts.listen}": expected HOST:PORT`, EXIT.USAGE);
      }
      // Each command loads only its own code: `audit` and `version` must start fast (a CI step).
      const { startDaemon } = await import('./run.js');
      const daemon = await startDaemon({
        ...settings, configExplicit: configPath(g).explicit, listen: cmdOpts.listen,
        logLevel: g.logLevel ? settings.config.log.level : undefined,
      });
      await new Promise<void>((resolve) => {
        const shutdown = (): void => {
          setTimeout(() => process.exit(0), SHUTDOWN_DEADLINE_MS).unref();
          void daemon.stop().then(resolve);
        };
        process.once('SIGTERM', shutdown);
        process.once('SIGINT', shutdown);
        process.on('SIGHUP', () => daemon.reload());
      });
    });

  program
    .command('audit')
    .description('audit all running containers and the host once, then exit')
    .option('--json', 'print the report as JSON')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a non-excepted finding reaches this severity'))
    .action(async (cmdOpts: { json?: boolean; failOn?: string }) => {
      const settings = loadSettings(program.opts<GlobalOptions>());
      const { runAudit } = await import('./audit.js');
      process.exitCode = await runAudit(settings.config, settings.endpoints, cmdOpts);
    });

  program
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`rootwatch ${VERSION} (node ${process.version})\n`);
    });
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and --version print and exit 0; everything else commander rejects is a usage error.
      process.exitCode = e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return;
    }
    if (e instanceof CliError) {
      // The message may quote a config file or the engine: one line, no control characters.
      process.stderr.write(`rootwatch: ${sanitize(e.message.split('\n')[0] ?? '', 1000)}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    process.stderr.write(`rootwatch: internal error: ${sanitize((e as Error).message.split('\n')[0] ?? '', 1000)}\n`);
    process.exitCode = EXIT.INTERNAL;
  }
}

// Last-resort handlers: a bug must leave one line in the log, not a silent death. A rejected promise
// is logged and the daemon goes on; an uncaught exception leaves the process in an unknown state, so
// it exits and systemd (Restart=on-failure) starts it afresh.
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`rootwatch: internal error (unhandled rejection): ${sanitize(String((reason as Error)?.message ?? reason).split('\n')[0] ?? '', 1000)}\n`);
});
process.on('uncaughtException', (e) => {
  process.stderr.write(`rootwatch: internal error: ${sanitize(e.message.split('\n')[0] ?? '', 1000)}\n`);
  process.exit(EXIT.INTERNAL);
});

await main(process.argv);
