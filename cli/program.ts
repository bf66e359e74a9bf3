/**
 * The command tree of `punctual`. Built by a function so that tests and the docs generator get their own
 * program with their own output; `cli/main.ts` runs it on process.argv.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { PunctualError } from '../shared/errors.js';
import { errorMessage } from '../shared/util.js';
import type * as Context from './context.js';
import type { Target, TargetOptions } from './context.js';
import type { Io } from './format.js';
import { reportToken, TOKEN_ENV } from './token.js';

type AsyncVersion<F> = F extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;

/**
 * `name` of a command module, loaded when the command runs: `punctual --help` and `schedule next` then do
 * not load the AWS SDK, zod and yaml, which took most of the CLI's start-up (bench/RESULTS.md).
 */
function lazy<M, K extends keyof M>(load: () => Promise<M>, name: K): AsyncVersion<M[K]> {
  return (async (...args: unknown[]) =>
    ((await load())[name] as (...a: unknown[]) => unknown)(...args)) as AsyncVersion<M[K]>;
}
const devCommands = () => import('./commands/dev.js');
const runConsole = lazy(() => import('./commands/console.js'), 'runConsole');
const dlqCommands = () => import('./commands/dlq.js');
const jobsCommands = () => import('./commands/jobs.js');
const runsCommands = () => import('./commands/runs.js');
const runDev = lazy(devCommands, 'runDev');
const runDlqList = lazy(dlqCommands, 'runDlqList');
const runDlqRedrive = lazy(dlqCommands, 'runDlqRedrive');
const runDlqPurge = lazy(dlqCommands, 'runDlqPurge');
const runDelete = lazy(jobsCommands, 'runDelete');
const runGet = lazy(jobsCommands, 'runGet');
const runList = lazy(jobsCommands, 'runList');
const runPause = lazy(jobsCommands, 'runPause');
const runPut = lazy(jobsCommands, 'runPut');
const runResume = lazy(jobsCommands, 'runResume');
const runTrigger = lazy(jobsCommands, 'runTrigger');
const runValidate = lazy(jobsCommands, 'runValidate');
const runBackfill = lazy(runsCommands, 'runBackfill');
const runRunsList = lazy(runsCommands, 'runRunsList');
const runRunsReplay = lazy(runsCommands, 'runRunsReplay');
const runRunsShow = lazy(runsCommands, 'runRunsShow');
const runRunsReport = lazy(runsCommands, 'runRunsReport');
const calendarCommands = () => import('./commands/calendars.js');
const runCalendarPut = lazy(calendarCommands, 'runCalendarPut');
const runCalendarList = lazy(calendarCommands, 'runCalendarList');
const runCalendarGet = lazy(calendarCommands, 'runCalendarGet');
const runCalendarDelete = lazy(calendarCommands, 'runCalendarDelete');
const runScheduleNext = lazy(() => import('./commands/schedule.js'), 'runScheduleNext');
const runStatus = lazy(() => import('./commands/status.js'), 'runStatus');
const resolveTarget = lazy(() => import('./context.js'), 'resolveTarget');

/** context.ts's UsageError (loaded with the SDK clients it builds, so only when a command needs it). */
async function usageError(message: string): Promise<Context.UsageError> {
  return new (await import('./context.js')).UsageError(message);
}

export interface ProgramOptions {
  /** Fixed help width (the docs generator); else the terminal's. */
  helpWidth?: number;
  now?: () => number;
}

/** What a command asks `main` to exit with (commands that can end unhealthy or invalid set it). */
export interface RunState {
  exitCode: number;
}

interface TargetFlags {
  local?: string | boolean;
  stack?: string;
  region?: string;
  profile?: string;
  endpointUrl?: string;
  endpoint?: string;
}

function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(
        `must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`,
      );
    }
    return n;
  };
}

/** `--tag key=value`, repeatable: collects the tags into one object. */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function tagOption(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`"${value}" is not key=value (e.g. --tag team=payments)`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

function addTargetOptions(command: Command): Command {
  return command
    .option(
      '--local [dir]',
      'the `punctual dev` running in DIR (default: here), found through DIR/.punctual/local.json',
    )
    .option(
      '--stack <name>',
      'a deployed stack, found through its CloudFormation outputs (env: PUNCTUAL_STACK)',
    )
    .option('--region <region>', 'AWS region of the stack (env: PUNCTUAL_REGION, else the SDK default chain)')
    .option('--profile <name>', 'AWS profile for the stack')
    .option('--endpoint-url <url>', 'endpoint for the AWS calls to the stack (LocalStack, a VPC endpoint)')
    .addOption(new Option('--endpoint <url>', 'same as --endpoint-url').hideHelp());
}

function addJson(command: Command): Command {
  return command.option('--json', 'print JSON for scripts (fields in docs/cli.md)');
}

function example(command: Command, ...lines: string[]): Command {
  return command.addHelpText(
    'after',
    `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`,
  );
}

function targetOptionsOf(flags: TargetFlags): TargetOptions {
  const endpointUrl = flags.endpointUrl ?? flags.endpoint;
  return {
    ...(flags.local !== undefined ? { local: flags.local } : {}),
    ...(flags.stack !== undefined ? { stack: flags.stack } : {}),
    ...(flags.region !== undefined ? { region: flags.region } : {}),
    ...(flags.profile !== undefined ? { profile: flags.profile } : {}),
    ...(endpointUrl !== undefined ? { endpointUrl } : {}),
  };
}

/** Runs `fn` against the target the flags name; says plainly when a local runtime does not answer. */
async function withTarget<T>(
  io: Io,
  now: () => number,
  flags: TargetFlags,
  fn: (target: Target) => Promise<T>,
): Promise<T> {
  const target = await resolveTarget(targetOptionsOf(flags), io.env, io.cwd, now);
  try {
    return await fn(target);
  } catch (error) {
    if (
      !(error instanceof PunctualError) &&
      /ECONNREFUSED|socket hang up|ECONNRESET/.test(
        `${errorMessage(error)} ${(error as { code?: string })?.code ?? ''}`,
      )
    ) {
      throw new PunctualError(
        `${target.label} does not answer (${errorMessage(error)}); is it still running?`,
      );
    }
    throw error;
  } finally {
    target.close();
  }
}

export function createProgram(io: Io, state: RunState, options: ProgramOptions = {}): Command {
  const now = options.now ?? Date.now;
  const program = new Command('punctual');
  // Settings set before the subcommands are created are inherited by them.
  program
    .configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      getOutHelpWidth: () => options.helpWidth ?? io.columns,
      getErrHelpWidth: () => options.helpWidth ?? io.columns,
      getOutHasColors: () => io.color,
      getErrHasColors: () => false,
    })
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .description(
      'punctual: a serverless job scheduler for AWS. Operate a deployed stack or the local runtime.',
    )
    .version('0.1.0', '-V, --version', 'print the version')
    .addHelpText(
      'after',
      '\nThe target of a command is the local runtime started with `punctual dev` in the current directory\n' +
        '(or --local DIR), or a deployed stack (--stack NAME, or PUNCTUAL_STACK). Exit codes: 0 ok, 1 failure or\n' +
        'bad input, 2 usage, 3 unhealthy (`status`). NO_COLOR turns colours off.\n' +
        '\nExamples:\n  $ punctual dev --jobs examples/jobs.yaml\n  $ punctual jobs list\n  $ punctual status --stack Punctual --region eu-west-1\n  $ punctual --stack Punctual --region eu-west-1 status\n',
    );
  // The target options and --json may come before the command too (`punctual --stack Punctual status`), as
  // the AWS CLI takes them. They are positional: after the command name they are the command's own.
  addJson(addTargetOptions(program.enablePositionalOptions()));
  program.hook('preAction', async (_program, command) => {
    const globals = program.opts();
    for (const [key, value] of Object.entries(globals)) {
      if (value === undefined) continue;
      const option = program.options.find((o) => o.attributeName() === key);
      const flag = option?.long ?? key;
      if (!command.options.some((o) => o.attributeName() === key)) {
        throw await usageError(`${flag} does not apply to \`${commandPath(command)}\``);
      }
      const own = command.getOptionValueSource(key);
      if (own === 'cli' && command.getOptionValue(key) !== value) {
        throw await usageError(`${flag} is given twice, before and after the command, with different values`);
      }
      if (own !== 'cli') command.setOptionValueWithSource(key, value, 'cli');
    }
  });

  // ── dev ──────────────────────────────────────────────────────────────────────────────────────────
  example(
    program
      .command('dev')
      .description(
        'run the local runtime (DynamoDB Local, SQS emulator, tick, executors) with a live view of the jobs',
      )
      .option('--jobs <file>', 'jobs file (YAML or JSON) to put when it starts (default: none, start empty)')
      .option('--tick <duration>', 'tick interval (EventBridge fires every 60s in AWS)', '60s')
      .option('--duration <duration>', 'stop after this long (default: run until Ctrl-C or SIGTERM)')
      .option('--report <file>', 'when it stops, write every run record to this JSON file')
      .option(
        '--data-dir <dir>',
        'keep the tables on disk here (default: in memory); the state file stays in ./.punctual/',
      )
      .option(
        '--tick-groups <n>',
        'shard groups the tick fans out to, one invocation each, as tickGroups on a stack (the local table has 4 shards)',
        wholeNumber(1, 4),
      )
      .option(
        '--echo-server <port>',
        'also serve http://127.0.0.1:PORT: answers 204, logs each request, checks HMAC signatures',
        wholeNumber(0, 65535),
      )
      .option(
        '--example-worker',
        'also run examples/worker.ts with job async-agent, whose runs it takes, heartbeats and completes (completion: async)',
      )
      .option(
        '--aws-targets',
        'call lambda, sqs, eventbridge, stepfunctions and ecs targets in AWS with your credentials ' +
          '(default: their runs end skipped(aws-targets-off) and nothing leaves the machine)',
      )
      .option(
        '--aws-region <region>',
        'region of those AWS targets (implies --aws-targets; default: the SDK chain)',
      )
      .option('--aws-profile <name>', 'AWS profile for those targets (implies --aws-targets)')
      .option(
        '--target-policy <file>',
        "where http targets may go (JSON or YAML, the shape of the construct's targetPolicy; default: " +
          'https and http, public and loopback addresses, no redirects; docs/security.md)',
      )
      .option(
        '--applications <file>',
        "what each application's jobs may reach (JSON or YAML, the construct's applications shape: " +
          '[{ jobIdPrefix, targetAccess: { functions, queues, buses, stateMachines, ecsTasks } }]; ' +
          'default: no per-application lists; docs/security.md)',
      )
      .option('--no-console', 'do not serve the console (by default its URL is printed at start)')
      .option(
        '--console-port <port>',
        'port of the console on 127.0.0.1 (default: a free one)',
        wholeNumber(0, 65535),
      )
      .option(
        '--allow-actions',
        'let the console trigger, pause, resume, replay, redrive and purge DLQs (default: read-only; docs/console.md)',
      )
      .option(
        '--secret <NAME=ENV_VAR>',
        'declare secret NAME for jobs (hmacSecret, headers { secret }), read from ENV_VAR of this process (repeatable)',
        (value: string, previous: string[] = []) => [...previous, value],
      )
      .option(
        '--secrets-file <file>',
        'declare secrets from FILE: NAME=$ENV_VAR (read from this process) or NAME=value lines; # comments',
      )
      .action(async (flags) => {
        state.exitCode = await runDev(io, flags);
      }),
    'punctual dev --jobs examples/jobs.yaml --tick 5s --duration 90s --report runs.json --echo-server 8787',
  );

  // ── console ──────────────────────────────────────────────────────────────────────────────────────
  example(
    addTargetOptions(
      program
        .command('console')
        .description(
          'serve the console (jobs, slot timelines, runs, DLQs, health) on 127.0.0.1 for a deployed stack or the local runtime; prints its URL with a token',
        )
        .option('--port <port>', 'port on 127.0.0.1 (default: a free one)', wholeNumber(0, 65535))
        .option(
          '--allow-actions',
          'allow trigger, pause, resume, replay, bulk replay, DLQ redrive and purge from the browser, with your credentials (default: read-only)',
        ),
    ).action(async (flags) => {
      state.exitCode = await withTarget(io, now, flags, (target) => runConsole(io, target, flags));
    }),
    'punctual console --stack Punctual --region eu-west-1',
    'punctual console --local --allow-actions --port 8799',
  );

  // ── schedule ─────────────────────────────────────────────────────────────────────────────────────
  const schedule = example(
    program.command('schedule').description('schedule expressions (no runtime needed)'),
    'punctual schedule next "*/15 * * * *"',
  );
  example(
    addJson(
      schedule
        .command('next')
        .description(
          'print the next slots of an expression (several: their union), in UTC and in the zone ' +
            '(rate() anchors at --after, or now)',
        )
        .argument(
          '<expression...>',
          'rate(5 minutes), cron(0 2 * * ? *), a crontab line, or at(2026-12-01T00:00:00); several for a job listing them',
        )
        .option('--tz <zone>', 'IANA time zone the expression is evaluated in', 'UTC')
        .option('--after <iso>', 'list slots at or after this time (default: now)')
        .option('--count <n>', 'how many slots', wholeNumber(1, 1000), 10)
        .option('--calendars <file>', 'a jobs file whose calendars: mark the slots they exclude')
        .option(
          '--exclude <calendar>',
          'with --calendars: only these calendars (repeat; default all)',
          collect,
        ),
    ).action(async (expressions: string[], flags) =>
      runScheduleNext(io, expressions.length === 1 ? (expressions[0] as string) : expressions, flags, now()),
    ),
    'punctual schedule next "cron(0 2 * * ? *)" --tz Europe/Berlin --count 5',
    'punctual schedule next "rate(90 minutes)" --after 2026-12-01T00:00:00Z --json',
    'punctual schedule next "cron(0 9 ? * MON-FRI *)" "cron(0 12 ? * SAT *)" --tz Europe/London',
    'punctual schedule next "cron(0 9 ? * MON-FRI *)" --calendars examples/jobs.yaml --exclude uk-bank-holidays',
  );

  // ── jobs ─────────────────────────────────────────────────────────────────────────────────────────
  const jobs = example(program.command('jobs').description('define and operate jobs'), 'punctual jobs list');
  example(
    addJson(
      jobs
        .command('validate')
        .description('check a jobs file and report every error at once (exit 1 when invalid)')
        .argument('[file]', 'jobs file, YAML or JSON')
        .option('--jobs <file>', 'the jobs file (same as FILE)'),
    ).action(async (file: string | undefined, flags) => {
      const path = file ?? flags.jobs;
      if (!path) throw await usageError('name the jobs file: punctual jobs validate FILE');
      state.exitCode = await runValidate(io, path, flags, now());
    }),
    'punctual jobs validate examples/jobs.yaml',
  );
  example(
    addTargetOptions(
      addJson(
        jobs
          .command('put')
          .description('create or update jobs from a file (one job or a jobs file), or one job from flags')
          .argument('[id]', 'job id, when the job is given by flags')
          .option('-f, --file <file>', 'a file holding one job, or a jobs file with a jobs: list')
          .option(
            '--schedule <expression>',
            'rate(5 minutes), cron(0 2 * * ? *), */5 * * * *, at(…); repeat for several (their union)',
            collect,
          )
          .option('--target <target>', 'JSON, or a shorthand: handler:NAME, http:URL')
          .option('--timezone <zone>', 'IANA time zone of the schedule (default UTC)')
          .option('--payload <json>', 'payload delivered to the target, as JSON')
          .option('--pool <name>', 'executor pool (default: default)')
          .option('--catch-up <policy>', 'skip | latest | all')
          .option('--max-catch-up <n>', 'with --catch-up all: most missed slots replayed', wholeNumber(0))
          .option(
            '--overlap <policy>',
            'allow | skip | queue | replace (stepfunctions, ecs, completion: async)',
          )
          .option(
            '--starting-deadline <duration>',
            'a slot not started within this is recorded missed(deadline)',
          )
          .option('--max-attempts <n>', 'attempts in all, the first included', wholeNumber(1))
          .option('--backoff <duration>', 'delay before the second attempt (doubles after)')
          .option('--description <text>', 'what the job is for')
          .option('--disabled', 'create it paused (note "declared disabled")')
          .option('--tag <key=value>', 'set a tag (repeat for several; kept tags stay)', tagOption)
          .option('--untag <key>', 'remove a tag (repeat for several)', collect)
          .option('--max-runs <n>', 'the job ends after its Nth scheduled run that started', wholeNumber(1))
          .option(
            '--after-last-run <action>',
            'delete | keep: what becomes of the job once its schedule has ended',
          )
          .option(
            '--exclude <calendar>',
            'an exclusion calendar: its slots are skipped(calendar) (repeat for several; replaces the list)',
            collect,
          ),
      ),
    ).action(async (id: string | undefined, flags) => {
      await withTarget(io, now, flags, (target) => runPut(io, target, id, flags, now()));
    }),
    'punctual jobs put -f examples/jobs.yaml',
    'punctual jobs put cleanup --schedule "rate(15 minutes)" --target handler:noop',
    `punctual jobs put hook --schedule "cron(0 9 ? * MON-FRI *)" --timezone Europe/Berlin --target http:https://example.com/hook`,
  );
  example(
    addTargetOptions(
      addJson(
        jobs
          .command('get')
          .description('show a job: definition, state, last 10 runs, next 10 slots, counts by status')
          .argument('<id>', 'job id'),
      ),
    ).action(async (id: string, flags) =>
      withTarget(io, now, flags, (target) => runGet(io, target, id, flags, now())),
    ),
    'punctual jobs get nightly-report',
  );
  example(
    addTargetOptions(
      addJson(
        jobs
          .command('list')
          .description('list the jobs: schedule in words, next slot, last outcome, start lag, pause note')
          .option('--tag <key=value>', 'jobs with this tag (repeat for several: all must match)', tagOption)
          .option('--prefix <text>', 'jobs whose id starts with this')
          .addOption(
            new Option('--status <state>', 'active, paused or invalid jobs only').choices([
              'active',
              'paused',
              'invalid',
            ]),
          )
          .option('--overdue', 'jobs whose next slot passed more than two periods ago only'),
      ),
    ).action(async (flags) => withTarget(io, now, flags, (target) => runList(io, target, flags, now()))),
    'punctual jobs list --tag team=payments --prefix invoice- --status paused',
  );
  example(
    addTargetOptions(
      addJson(
        jobs
          .command('pause')
          .description('pause a job: no slot is due until it is resumed')
          .argument('<id>', 'job id')
          .option(
            '--note <text>',
            'who and why, shown in `jobs list` (default: your user name and the time)',
          ),
      ),
    ).action(async (id: string, flags) =>
      withTarget(io, now, flags, (target) => runPause(io, target, id, flags, now())),
    ),
    'punctual jobs pause nightly-report --note "db migration until 14:00 (alice)"',
  );
  example(
    addTargetOptions(
      addJson(
        jobs
          .command('resume')
          .description('resume a paused job; slots that passed while paused are recorded skipped(paused)')
          .argument('<id>', 'job id')
          .option('--replay', "hand the slots that passed while paused to the job's catch-up policy instead"),
      ),
    ).action(async (id: string, flags) =>
      withTarget(io, now, flags, (target) => runResume(io, target, id, flags, now())),
    ),
    'punctual jobs resume nightly-report',
  );
  example(
    addTargetOptions(
      addJson(
        jobs
          .command('delete')
          .description('delete a job (its run records stay until they expire)')
          .argument('<id>', 'job id'),
      ),
    ).action(async (id: string, flags) =>
      withTarget(io, now, flags, (target) => runDelete(io, target, id, flags)),
    ),
    'punctual jobs delete old-report',
  );
  example(
    addTargetOptions(
      addJson(
        jobs
          .command('trigger')
          .description('run a job once now, as run <id>@manual-<time>; the schedule is unchanged')
          .argument('<id>', 'job id'),
      ),
    ).action(async (id: string, flags) =>
      withTarget(io, now, flags, (target) => runTrigger(io, target, id, flags)),
    ),
    'punctual jobs trigger nightly-report',
  );

  // ── calendars ────────────────────────────────────────────────────────────────────────────────────
  const calendars = example(
    program.command('calendars').description('exclusion calendars: dates, ranges or cron a job skips'),
    'punctual calendars list',
  );
  example(
    addTargetOptions(
      addJson(
        calendars
          .command('put')
          .description('create or replace a calendar from flags, or every calendar of a jobs file (-f)')
          .argument('[name]', 'calendar name, when it is given by flags')
          .option('-f, --file <file>', 'a jobs file: put each calendar of its calendars: map')
          .option(
            '--timezone <zone>',
            'IANA time zone the dates, ranges and expressions are read in (default UTC)',
          )
          .option('--date <YYYY-MM-DD>', 'a whole local day to exclude (repeat for several)', collect)
          .option(
            '--range <from..to>',
            'a local span [from, to) to exclude, e.g. 2026-12-24..2027-01-02',
            collect,
          )
          .option('--cron <expression>', 'a cron expression whose minutes are excluded (repeat)', collect)
          .option('--description <text>', 'what the calendar is for'),
      ),
    ).action(async (name: string | undefined, flags) =>
      withTarget(io, now, flags, (target) => runCalendarPut(io, target, name, flags)),
    ),
    'punctual calendars put uk-bank-holidays --timezone Europe/London --date 2026-12-25 --date 2026-12-28',
    'punctual calendars put -f examples/jobs.yaml',
  );
  example(
    addTargetOptions(
      addJson(
        calendars
          .command('get')
          .description('show a calendar: zone, dates, ranges [from, to) and cron expressions')
          .argument('<name>', 'calendar name'),
      ),
    ).action(async (name: string, flags) =>
      withTarget(io, now, flags, (target) => runCalendarGet(io, target, name, flags)),
    ),
    'punctual calendars get uk-bank-holidays',
  );
  example(
    addTargetOptions(addJson(calendars.command('list').description('list the calendars'))).action(
      async (flags) => withTarget(io, now, flags, (target) => runCalendarList(io, target, flags)),
    ),
    'punctual calendars list',
  );
  example(
    addTargetOptions(
      addJson(
        calendars
          .command('delete')
          .description(
            'delete a calendar; refused while a job excludes it (the error names them) unless --force',
          )
          .argument('<name>', 'calendar name')
          .option(
            '--force',
            'delete it although jobs exclude it: each is marked invalid by the next tick and runs nothing until the calendar is put back and the job put again',
          ),
      ),
    ).action(async (name: string, flags) =>
      withTarget(io, now, flags, (target) => runCalendarDelete(io, target, name, flags)),
    ),
    'punctual calendars delete old-freeze',
    'punctual calendars delete old-freeze --force',
  );

  // ── runs ─────────────────────────────────────────────────────────────────────────────────────────
  const runs = example(
    program.command('runs').description('inspect, replay and backfill runs'),
    'punctual runs list --status failed --since 1h',
  );
  example(
    addTargetOptions(
      addJson(
        runs
          .command('list')
          .description(
            'list the runs that started or ended, newest slot first (--upcoming: the slots sent that have not started, soonest first)',
          )
          .option('--job <id>', 'runs of this job only')
          .option(
            '--status <status>',
            'dispatched | queued | running | retrying | succeeded | failed | missed | skipped | cancelled',
          )
          .option('--since <when>', 'slots since a duration ago (30m, 2h, 1d) or an ISO-8601 time')
          .option('--limit <n>', 'most runs to print', wholeNumber(1), 50)
          .option(
            '--upcoming',
            'list the slots claimed and sent that have not started (dispatched, queued) instead',
          ),
      ),
    ).action(async (flags) => withTarget(io, now, flags, (target) => runRunsList(io, target, flags, now()))),
    'punctual runs list --job nightly-report --status failed --since 1d',
  );
  example(
    addTargetOptions(
      addJson(
        runs
          .command('show')
          .description('show a run: timings, attempts, errors')
          .argument(
            '<run-id>',
            'run id, e.g. nightly-report@2026-12-01T01:00:00.000Z (seconds and milliseconds may be left out: nightly-report@2026-12-01T01:00Z)',
          ),
      ),
    ).action(async (runId: string, flags) =>
      withTarget(io, now, flags, (target) => runRunsShow(io, target, runId, flags, now())),
    ),
    'punctual runs show nightly-report@2026-12-01T01:00:00.000Z',
  );
  example(
    addTargetOptions(
      addJson(
        runs
          .command('replay')
          .description('run a missed, skipped, failed or cancelled run again, under its own run id')
          .argument('<run-id>', 'run id (seconds and milliseconds of the slot may be left out)'),
      ),
    ).action(async (runId: string, flags) =>
      withTarget(io, now, flags, (target) => runRunsReplay(io, target, runId, flags)),
    ),
    'punctual runs replay nightly-report@2026-12-01T01:00:00.000Z',
  );
  example(
    addTargetOptions(
      addJson(
        runs
          .command('backfill')
          .description(
            'run every slot of a past window [--from, --to) as ordinary runs; idempotent (a slot that has a run keeps it); progress on stderr',
          )
          .argument('<id>', 'job id')
          .requiredOption('--from <iso>', 'start of the window (inclusive), ISO-8601')
          .requiredOption(
            '--to <iso>',
            'end of the window (exclusive: a slot at --to is left out), ISO-8601, not in the future',
          )
          .option('--limit <n>', 'refuse a window with more slots than this (default 1000)', wholeNumber(1))
          .option(
            '--ignore-calendars',
            "run the slots the job's exclusion calendars exclude too (by default each is recorded skipped(calendar), not run)",
          ),
      ),
    ).action(async (id: string, flags) =>
      withTarget(io, now, flags, (target) => runBackfill(io, target, id, flags)),
    ),
    'punctual runs backfill nightly-report --from 2026-11-01T00:00:00Z --to 2026-11-08T00:00:00Z',
    'punctual runs backfill payroll --from 2026-12-01T00:00:00Z --to 2026-12-31T00:00:00Z --ignore-calendars',
  );
  // Asynchronous completion: what a worker handed a run (completion: async) reports with its token.
  // The token is a credential: on argv it shows in `ps` and shell history, so it may come from the
  // environment (PUNCTUAL_COMPLETION_TOKEN) or stdin (--token -) instead.
  const tokenOption = [
    '--token <token>',
    `the run context's completionToken (one attempt's); "-" reads it from stdin; default: env ${TOKEN_ENV}`,
  ] as const;
  example(
    addTargetOptions(
      addJson(
        runs
          .command('heartbeat')
          .description(
            'report that the worker of an asynchronous run is still at work (the attempt is lost after heartbeatTimeout without one)',
          )
          .argument('<run-id>', 'run id')
          .option(...tokenOption),
      ),
    ).action(async (runId: string, flags) =>
      reportToken(io, flags).then((token) =>
        withTarget(io, now, flags, (target) =>
          runRunsReport(io, target, runId, 'heartbeat', { ...flags, token }),
        ),
      ),
    ),
    'PUNCTUAL_COMPLETION_TOKEN="$TOKEN" punctual runs heartbeat nightly-report@2026-12-01T01:00:00.000Z',
  );
  example(
    addTargetOptions(
      addJson(
        runs
          .command('complete')
          .description('end an asynchronous run succeeded; repeating it is harmless')
          .argument('<run-id>', 'run id')
          .option(...tokenOption)
          .option('--output <json>', 'what the work produced, JSON (at most 16 KiB), kept on the run'),
      ),
    ).action(async (runId: string, flags) =>
      reportToken(io, flags).then((token) =>
        withTarget(io, now, flags, (target) =>
          runRunsReport(io, target, runId, 'complete', { ...flags, token }),
        ),
      ),
    ),
    `printf %s "$TOKEN" | punctual runs complete nightly-report@2026-12-01T01:00:00.000Z --token - --output '{"rows":1200}'`,
  );
  example(
    addTargetOptions(
      addJson(
        runs
          .command('fail')
          .description(
            "end an asynchronous run's attempt failed: retried with a new token while the retry budget lasts, else failed to the DLQ",
          )
          .argument('<run-id>', 'run id')
          .option(...tokenOption)
          .requiredOption('--error <text>', 'why it failed'),
      ),
    ).action(async (runId: string, flags) =>
      reportToken(io, flags).then((token) =>
        withTarget(io, now, flags, (target) => runRunsReport(io, target, runId, 'fail', { ...flags, token })),
      ),
    ),
    'PUNCTUAL_COMPLETION_TOKEN="$TOKEN" punctual runs fail nightly-report@2026-12-01T01:00:00.000Z --error "upstream 503"',
  );

  // ── dlq ──────────────────────────────────────────────────────────────────────────────────────────
  const dlq = example(
    program.command('dlq').description("the pools' dead-letter queues"),
    'punctual dlq list',
  );
  example(
    addTargetOptions(
      addJson(
        dlq
          .command('list')
          .description(
            'list the failed runs in the DLQs without removing them (each listed message is hidden for an instant, ' +
              'then made visible again)',
          )
          .option('--pool <name>', 'this pool only')
          .option('--limit <n>', 'most messages per pool', wholeNumber(1), 100),
      ),
    ).action(async (flags) => withTarget(io, now, flags, (target) => runDlqList(io, target, flags))),
    'punctual dlq list --pool default',
  );
  example(
    addTargetOptions(
      addJson(
        dlq
          .command('redrive')
          .description(
            "move the DLQ's messages back to the pool's queue (SQS message move task); each replays its run once more",
          )
          .option('--pool <name>', 'this pool only'),
      ),
    ).action(async (flags) => {
      state.exitCode = await withTarget(io, now, flags, (target) => runDlqRedrive(io, target, flags));
    }),
    'punctual dlq redrive --pool default',
  );
  example(
    addTargetOptions(
      addJson(
        dlq
          .command('purge')
          .description(
            "delete the DLQs' messages (all, or one job's with --job: e.g. a deleted job's); their runs keep their " +
              'failed records but can no longer be redriven. Without --yes, only says what would be deleted',
          )
          .option('--pool <name>', 'this pool only')
          .option('--job <id>', "this job's messages only")
          .option('--yes', 'delete (without it, nothing is deleted)'),
      ),
    ).action(async (flags) => {
      state.exitCode = await withTarget(io, now, flags, (target) => runDlqPurge(io, target, flags));
    }),
    'punctual dlq purge --job old-report --yes',
  );

  // ── status ───────────────────────────────────────────────────────────────────────────────────────
  example(
    addTargetOptions(
      addJson(
        program
          .command('status')
          .description(
            'health: tick heartbeat, overdue and invalid jobs, queue and DLQ depths, runs by status in the last hour; ' +
              'exits 3 when something needs attention',
          ),
      ),
    ).action(async (flags) => {
      state.exitCode = await withTarget(io, now, flags, (target) => runStatus(io, target, flags));
    }),
    'punctual status || echo "punctual needs attention"',
  );

  return program;
}

/**
 * `--local [dir]` before the command takes the next word as DIR unless it is a command name:
 * `punctual --local jobs list` is the runtime here, `punctual --local ../app jobs list` the one in ../app.
 */
export function localBeforeCommand(argv: readonly string[], program: Command): string[] {
  const names = new Set(program.commands.map((c) => c.name()));
  const args = [...argv];
  for (let i = 0; i < args.length && args[i]?.startsWith('-'); i++) {
    if (args[i] === '--local' && names.has(args[i + 1] ?? '')) args[i] = '--local=.';
    else if (['--stack', '--region', '--profile', '--endpoint-url', '--endpoint'].includes(args[i] ?? ''))
      i++;
  }
  return args;
}

/** `punctual jobs list` for the command `list` under `jobs`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command of the tree, depth first, the program first. */
export function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap((sub) => allCommands(sub as Command))];
}
