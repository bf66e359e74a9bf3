/**
 * The executors' environment (Lambda: 4 KB in all, refused only at deploy) holds the per-application target
 * access. Synth estimates each executor's environment once deployed and fails past the limit, naming the
 * largest variables (cdk/environment-size.ts). How many applications fit is measured here and documented
 * in docs/security.md ("How many applications fit").
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { environmentSize, LAMBDA_ENVIRONMENT_LIMIT } from '../../cdk/environment-size.js';
import { Scheduler, type SchedulerApplication } from '../../cdk/scheduler.js';
import { ENV } from '../../functions/commons/config.js';
import { exampleProps, newStack } from './fixtures.js';

type Kind = 'arn' | 'function' | 'function+queue';

/** A stack named `Punctual` (a typical name) with `n` applications, each listing what `kind` says. */
function build(n: number, kind: Kind) {
  const stack = newStack({ bundle: false, name: 'Punctual' });
  const applications: SchedulerApplication[] = Array.from({ length: n }, (_, i) => {
    const prefix = `app${String(i).padStart(2, '0')}-`;
    if (kind === 'arn')
      return {
        jobIdPrefix: prefix,
        targetAccess: { functions: [`arn:aws:lambda:eu-west-1:123456789012:function:${prefix}handler`] },
      };
    const fn = new lambda.Function(stack, `Fn${i}`, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {}'),
    });
    return {
      jobIdPrefix: prefix,
      targetAccess: {
        functions: [fn],
        ...(kind === 'function+queue' ? { queues: [new sqs.Queue(stack, `Queue${i}`)] } : {}),
      },
    };
  });
  const scheduler = new Scheduler(stack, 'Scheduler', exampleProps({ applications }));
  return { stack, scheduler };
}

function fits(n: number, kind: Kind): boolean {
  const { scheduler } = build(n, kind);
  return Object.values(scheduler.pools).every(
    (pool) => environmentSize(pool.executor).total <= LAMBDA_ENVIRONMENT_LIMIT,
  );
}

/** The most applications that fit (binary search; fewer always fit). */
function most(kind: Kind): number {
  let low = 0;
  let high = 64;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid, kind)) low = mid;
    else high = mid - 1;
  }
  return low;
}

describe("the executors' environment", () => {
  it('is estimated as deployed: literal text as it is, references at their longest', () => {
    // prepare
    const { scheduler } = build(2, 'function');

    // act
    const { total, variables } = environmentSize(scheduler.pools.default!.executor);

    // assert: two functions named by CloudFormation, each ARN up to 59 + 64 characters
    const access = variables[ENV.targetAccess] ?? 0;
    expect(access).toBeGreaterThan(2 * 100);
    expect(access).toBeLessThan(2 * 123 + 400);
    expect(total).toBeGreaterThan(access);
  });

  it('fits the documented number of applications, and fails synth one past it, naming the variable', () => {
    // act
    const figures = {
      arn: most('arn'),
      function: most('function'),
      'function+queue': most('function+queue'),
    };

    // assert: the figures docs/security.md gives
    expect(figures).toEqual({ arn: 27, function: 21, 'function+queue': 12 });
    const { stack } = build(figures.function + 1, 'function');
    expect(() => Template.fromStack(stack)).toThrow(
      new RegExp(
        `Scheduler "Scheduler": the environment of pool "default"'s executor would be up to \\d+ bytes once deployed, over Lambda's limit of 4096 \\(keys and values; largest: ${ENV.targetAccess} \\d+.*\\)\\. The per-application target access \\(22 applications`,
      ),
    );
    expect(() => Template.fromStack(build(figures.function, 'function').stack)).not.toThrow();
  });
});
