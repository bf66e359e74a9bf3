/**
 * How every punctual function is built: Node.js 22 on ARM64, deployed from the bundles `npm run build`
 * prebuilds into the package (`dist/lambda/<name>/index.mjs`: ES modules with source maps, so a consumer's
 * `cdk synth` needs neither esbuild nor this repository), JSON logs in a log group of its own, and an
 * execution role that starts empty (no AWSLambdaBasicExecutionRole: the role may write to its own log group
 * and nothing else until the Scheduler grants it exactly what the function calls).
 *
 * The one exception is an executor with the consumer's own handlers (`handlers: { entry }`): that bundle is
 * made at synth with esbuild, like a NodejsFunction, from the package's compiled executor and the entry.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Duration, type RemovalPolicy, Stage } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BUNDLE_FILE, BUNDLE_OPTIONS, ESM_REQUIRE_BANNER, type LambdaFunctionName } from './bundling.js';

export { ESM_REQUIRE_BANNER };

/** The package's root: the nearest directory above this module whose package.json is punctual's. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'punctual'
    )
      return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('punctual: cannot find the package root (no package.json named punctual)');
    dir = parent;
  }
}

/** The package root (the repository root inside the repository; node_modules/punctual in an app). */
export const PROJECT_ROOT = packageRoot();

/** The directory of a prebuilt function bundle. */
export function bundleDir(name: LambdaFunctionName): string {
  return join(PROJECT_ROOT, 'dist', 'lambda', name);
}

/** The code of one of punctual's functions: its prebuilt bundle. */
/** The asset options of a bundle directory: its source map only when asked for (docs/deploy.md, `sourceMaps`). */
function assetOptions(sourceMaps: boolean): { exclude?: string[] } {
  return sourceMaps ? {} : { exclude: ['*.map'] };
}

export function prebuiltCode(name: LambdaFunctionName, sourceMaps: boolean): lambda.Code {
  const dir = bundleDir(name);
  if (!existsSync(join(dir, BUNDLE_FILE))) {
    throw new Error(
      `punctual: the prebuilt bundle ${join(dir, BUNDLE_FILE)} is missing; run \`npm run build\` in ${PROJECT_ROOT}`,
    );
  }
  return lambda.Code.fromAsset(dir, assetOptions(sourceMaps));
}

/** Where a consumer's handlers are bundled with the executor, and the handler names that bundle holds. */
export interface HandlersBundle {
  readonly code: lambda.Code;
  readonly names: string[];
}

/** esbuild, from the app that synthesizes (its own devDependency) or else from beside punctual. */
function loadEsbuild(field: string): { buildSync: (options: Record<string, unknown>) => unknown } {
  for (const from of [join(process.cwd(), 'package.json'), fileURLToPath(import.meta.url)]) {
    try {
      return createRequire(from)('esbuild');
    } catch {
      // try the next place
    }
  }
  throw new Error(
    `${field}: bundling your handlers with the executor needs esbuild in the app that synthesizes: npm i -D esbuild`,
  );
}

/**
 * Bundles the consumer's handler module with the package's compiled executor (so both share one handler
 * registry), into the app's output directory, and lists the handler names the bundle registers by
 * importing it in a child process. `field` names the prop in errors.
 */
export function bundleWithHandlers(
  scope: Construct,
  entry: string,
  field: string,
  sourceMaps: boolean,
): HandlersBundle {
  const entryPath = resolve(entry);
  if (!existsSync(entryPath)) {
    throw new Error(`${field} ${JSON.stringify(entry)}: no such file (resolved to ${entryPath})`);
  }
  const executor = join(PROJECT_ROOT, 'dist', 'functions', 'executor.js');
  if (!existsSync(executor)) {
    throw new Error(`punctual: ${executor} is missing; run \`npm run build\` in ${PROJECT_ROOT}`);
  }
  const esbuild = loadEsbuild(field);
  // A directory named after the entry and the construct, so a second synth of the same app writes the same
  // bytes to the same place (the asset hash does not change without a reason).
  const key = createHash('sha256').update(`${entryPath}\0${scope.node.path}`).digest('hex').slice(0, 16);
  const outdir = join(Stage.of(scope)?.outdir ?? process.cwd(), `punctual-handlers-${key}`);
  try {
    esbuild.buildSync({
      ...BUNDLE_OPTIONS,
      stdin: {
        // The entry first: its registerHandler calls run before the executor handles anything.
        contents: `import ${JSON.stringify(entryPath)};\nexport { handler, handlerNames } from ${JSON.stringify(executor)};\n`,
        resolveDir: dirname(entryPath),
        sourcefile: 'punctual-executor-with-handlers.js',
        loader: 'js',
      },
      outfile: join(outdir, BUNDLE_FILE),
      // The entry's `punctual/handlers` must be this package's, the one the executor reads the handlers from:
      // not a second copy elsewhere in node_modules, nor a tsconfig `paths` mapping to sources.
      alias: {
        'punctual/handlers': join(PROJECT_ROOT, 'dist', 'handlers.js'),
        punctual: join(PROJECT_ROOT, 'dist', 'index.js'),
      },
    });
  } catch (error) {
    throw new Error(
      `${field} ${JSON.stringify(entry)}: esbuild could not bundle it: ${(error as Error).message}`,
    );
  }
  const bundleUrl = pathToFileURL(join(outdir, BUNDLE_FILE)).href;
  let names: string[];
  try {
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { handlerNames } = await import(${JSON.stringify(bundleUrl)}); process.stdout.write(JSON.stringify(handlerNames()));`,
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    names = JSON.parse(out) as string[];
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(
      `${field} ${JSON.stringify(entry)}: the executor bundle with it fails to load: ${stderr || (error as Error).message}`,
    );
  }
  return { code: lambda.Code.fromAsset(outdir, assetOptions(sourceMaps)), names };
}

export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;

export interface PunctualFunctionProps {
  readonly code: lambda.Code;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy?: RemovalPolicy;
  readonly logLevel: lambda.ApplicationLogLevel;
  readonly reservedConcurrentExecutions?: number;
  /** Stack traces through the bundle's source map (`--enable-source-maps`); the code must ship the map. */
  readonly sourceMaps: boolean;
}

/** A function with its role and log group, built the same way for every punctual function. */
export class PunctualFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PunctualFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      ...(props.logRemovalPolicy ? { removalPolicy: props.logRemovalPolicy } : {}),
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `punctual: ${props.description}`,
    });
    // The log group's ARN (`…:log-group:NAME:*`) covers its streams and no other group.
    this.logGroup.grantWrite(this.role);

    this.function = new lambda.Function(this, 'Function', {
      code: props.code,
      handler: 'index.handler',
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: props.logLevel,
      systemLogLevelV2: lambda.SystemLogLevel.INFO,
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      environment: {
        ...props.environment,
        // Stack traces point at the TypeScript sources through the bundle's source map, when it ships.
        ...(props.sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      },
    });
  }
}

/** Whole seconds (rounded up) from milliseconds. */
export function seconds(ms: number): Duration {
  return Duration.seconds(Math.ceil(ms / 1000));
}
