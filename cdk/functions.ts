/**
 * How every punctual function is built: Node.js 22 on ARM64, bundled locally by esbuild (no Docker) as an
 * ES module with source maps, JSON logs in a log group of its own, and an execution role that starts
 * empty (no AWSLambdaBasicExecutionRole: the role may write to its own log group and nothing else until
 * the Scheduler grants it exactly what the function calls).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The repository root: the functions' entries and the lock file esbuild resolves from live here. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function functionEntry(name: 'tick' | 'executor' | 'deploy-jobs'): string {
  return join(PROJECT_ROOT, 'functions', `${name}.ts`);
}

/**
 * esbuild's ESM output has no `require`; bundled CommonJS code (parts of the AWS SDK and its
 * dependencies) still calls it for Node built-ins, which fails with "Dynamic require of … is not
 * supported" unless a real `require` is defined first.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as topLevelCreateRequire } from 'node:module'; const require = topLevelCreateRequire(import.meta.url);";

export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;

export interface PunctualFunctionProps {
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy?: RemovalPolicy;
  readonly logLevel: lambda.ApplicationLogLevel;
  readonly reservedConcurrentExecutions?: number;
}

/** A NodejsFunction with its role and log group, built the same way for every punctual function. */
export class PunctualFunction extends Construct {
  readonly function: NodejsFunction;
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

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
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
        // Stack traces point at the TypeScript sources through the bundle's source map.
        NODE_OPTIONS: '--enable-source-maps',
      },
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        // ESM entry points first, so esbuild tree-shakes the SDK and Powertools.
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        // The SDK is bundled at the versions package-lock.json pins (the ones the tests ran against)
        // rather than taken from whatever the runtime ships.
        bundleAwsSDK: true,
        minify: true,
        keepNames: true,
        sourceMap: true,
        sourcesContent: false,
        logLevel: LogLevel.ERROR,
      },
    });
  }
}

/** Whole seconds (rounded up) from milliseconds. */
export function seconds(ms: number): Duration {
  return Duration.seconds(Math.ceil(ms / 1000));
}
