import { describe, expect, it } from 'vitest';
import { reportFromEvent, reportFromTask } from '../../../shared/targets/aws-events.js';
import { executionName, legacyExecutionName, tokenDigest, tokenHash } from '../../../shared/targets/names.js';
import { ecsEvent, sfnEvent, TASK_ARN } from '../../support/aws-events.js';

const runId = 'nightly-report@2026-03-01T02:00:00.000Z';
const token = 'tok-0123456789abcdef0123456789abcdef';
const name = executionName('s1s2s3', runId, 2, tokenHash(token));
const input = JSON.stringify({
  jobId: 'nightly-report',
  runId,
  attempt: 2,
  completionToken: token,
  payload: null,
});

describe('Step Functions Execution Status Change → report', () => {
  it('SUCCEEDED completes the attempt with the execution output', () => {
    const mapped = reportFromEvent(sfnEvent(name, input, 'SUCCEEDED', { output: '{"rows":42}' }));
    expect(mapped).toEqual({
      report: { runId, attempt: 2, source: 'stepfunctions', type: 'complete', output: { rows: 42 } },
      token,
      tokenDigest: tokenDigest(tokenHash(token)),
    });
  });

  it('SUCCEEDED without the output (left out past 248 KB) still completes', () => {
    const mapped = reportFromEvent(sfnEvent(name, input, 'SUCCEEDED'));
    expect('report' in mapped && mapped.report).toEqual({
      runId,
      attempt: 2,
      source: 'stepfunctions',
      type: 'complete',
    });
  });

  it.each([
    [
      'FAILED',
      { error: 'States.TaskFailed', cause: 'report builder crashed' },
      ': States.TaskFailed (report builder crashed)',
    ],
    ['TIMED_OUT', { error: 'States.Timeout' }, ': States.Timeout'],
    ['ABORTED', {}, ''],
  ] as const)('%s fails the attempt with the error and cause', (status, extra, suffix) => {
    const mapped = reportFromEvent(sfnEvent(name, input, status, extra));
    expect('report' in mapped && mapped.report).toEqual({
      runId,
      attempt: 2,
      source: 'stepfunctions',
      type: 'fail',
      error: `execution ${name} ${status}${suffix}`,
    });
  });

  it('maps from the name when the input was left out of the event, with the name’s digest of the token', () => {
    const mapped = reportFromEvent(sfnEvent(name, input, 'ABORTED', { inputIncluded: false }));
    expect(mapped).toEqual({
      report: expect.objectContaining({ runId, attempt: 2, type: 'fail' }),
      tokenDigest: tokenDigest(tokenHash(token)),
    });
  });

  it('maps a name of the previous form (an attempt started before the upgrade)', () => {
    const legacy = legacyExecutionName(runId, 2);
    expect(reportFromEvent(sfnEvent(legacy, input, 'SUCCEEDED'))).toEqual({
      report: { runId, attempt: 2, source: 'stepfunctions', type: 'complete' },
      token,
    });
  });

  it('ignores RUNNING, executions punctual did not start, and inputs that do not match the name', () => {
    expect(reportFromEvent(sfnEvent(name, input, 'RUNNING'))).toEqual({
      ignored: `${runId} attempt 2 is still running`,
    });
    expect(reportFromEvent(sfnEvent('nightly-manual-rerun', '{}', 'SUCCEEDED'))).toHaveProperty('ignored');
    const forged = JSON.stringify({ runId: 'nightly-report@2026-03-02T02:00:00.000Z' });
    expect(
      reportFromEvent(
        sfnEvent(
          executionName('s1s2s3', 'daily.x@2026-03-01T02:00:00.000Z', 1, tokenHash(token)),
          forged,
          'SUCCEEDED',
        ),
      ),
    ).toHaveProperty('ignored');
  });
});

describe('ECS Task State Change → report', () => {
  it('STOPPED with the run container at exit code 0 completes (a sidecar at 143 does not matter)', () => {
    const mapped = reportFromEvent(ecsEvent({ runId, attempt: 2, token }, 'STOPPED', { exitCode: 0 }));
    expect(mapped).toEqual({
      report: {
        runId,
        attempt: 2,
        source: 'ecs',
        type: 'complete',
        output: { taskArn: TASK_ARN, exitCode: 0 },
      },
      token,
    });
  });

  it('STOPPED with a non-zero exit code fails with the stopped reason and the exit code', () => {
    const mapped = reportFromEvent(
      ecsEvent({ runId, attempt: 2 }, 'STOPPED', { exitCode: 3, reason: 'bad input' }),
    );
    expect('report' in mapped && mapped.report).toEqual({
      runId,
      attempt: 2,
      source: 'ecs',
      type: 'fail',
      error: `task ${TASK_ARN} stopped (EssentialContainerExited): Essential container in task exited; container FargateApp exited with code 3 (bad input)`,
    });
  });

  it('a task that never started fails with its stop code and no exit code', () => {
    const mapped = reportFromEvent(
      ecsEvent({ runId, attempt: 1 }, 'STOPPED', {
        stopCode: 'TaskFailedToStart',
        stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s)',
      }),
    );
    expect('report' in mapped && mapped.report.type).toBe('fail');
    expect('report' in mapped && mapped.report.error).toContain('TaskFailedToStart');
    expect('report' in mapped && mapped.report.error).toContain('container FargateApp has no exit code');
  });

  it('ignores a task still running, a task without punctual environment, and a hand-started copy', () => {
    expect(reportFromEvent(ecsEvent({ runId, attempt: 2 }, 'RUNNING'))).toHaveProperty('ignored');
    const event = ecsEvent({ runId, attempt: 2 }, 'STOPPED', { exitCode: 0 });
    expect(
      reportFromTask({ ...event.detail, overrides: { containerOverrides: [{ name: 'x' }] } }),
    ).toHaveProperty('ignored');
    expect(reportFromTask({ ...event.detail, startedBy: 'ops-console' })).toHaveProperty('ignored');
  });

  it('ignores events of other sources', () => {
    expect(
      reportFromEvent({ source: 'aws.ecs', 'detail-type': 'ECS Service Action', detail: {} }),
    ).toHaveProperty('ignored');
  });
});
