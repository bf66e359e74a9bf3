/**
 * Issue 18, ecs network at put: the client learns where ecs tasks may be placed (the stack's EcsNetwork
 * output, the local runtime's state, as it learns secret names from SecretNames) and refuses at put an
 * ecs target naming an undeclared subnet or security group, or a public IP not allowed, naming each field;
 * before, only the executor refused it, at run time.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.js';
import { PunctualClient } from '../../shared/client/client.js';
import { stateFilePath } from '../../shared/client/connection.js';
import { JobValidationError } from '../../shared/errors.js';
import { ManualClock, T0, testRuntime } from '../support/runtime.js';

let runtime: LocalRuntime;
let client: PunctualClient;
const clock = new ManualClock(T0);

const ecsJob = (id: string, network: Record<string, unknown>) => ({
  id,
  schedule: 'rate(1 day)',
  target: {
    type: 'ecs',
    cluster: 'jobs',
    taskDefinition: 'export:1',
    containerName: 'app',
    launchType: 'FARGATE',
    network,
  },
});

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'punctual-ecs-net-'));
  runtime = await testRuntime({
    clock: clock.fn,
    tick: { lookaheadMs: 0 },
    stateFile: stateFilePath(dir),
    ecsNetwork: { subnets: ['subnet-0aaa1111'], securityGroups: ['sg-0aaa1111'], allowPublicIp: false },
  });
  client = await PunctualClient.local(dir, { clock: clock.fn });
});

afterAll(async () => {
  client?.close();
  await runtime?.stop();
});

describe('ecs network at put', () => {
  it('refuses an undeclared subnet, security group and public IP, all at once, naming each field', async () => {
    // act
    const error = await client
      .putJob(
        ecsJob('export-elsewhere', {
          subnets: ['subnet-0bbb2222'],
          securityGroups: ['sg-0bbb2222'],
          assignPublicIp: true,
        }) as never,
      )
      .catch((e: unknown) => e);

    // assert
    expect(error).toBeInstanceOf(JobValidationError);
    expect((error as JobValidationError).violations.map((v) => `${v.path} ${String(v.value)}`)).toEqual([
      'target.network.subnets[0] subnet-0bbb2222',
      'target.network.securityGroups[0] sg-0bbb2222',
      'target.network.assignPublicIp true',
    ]);
    expect((error as Error).message).toContain(
      `target.network.subnets[0] "subnet-0bbb2222": is not a subnet the operator declared for ecs tasks (declare it on AsyncTargets' ecsNetwork.subnets)`,
    );
    await expect(client.getJob('export-elsewhere')).rejects.toThrow(/export-elsewhere/);
  });

  it('puts an ecs job that stays within the declaration', async () => {
    // act
    const { created } = await client.putJob(
      ecsJob('export-inside', { subnets: ['subnet-0aaa1111'], securityGroups: ['sg-0aaa1111'] }) as never,
    );

    // assert
    expect(created).toBe(true);
    expect(runtime.state.ecsNetwork?.subnets).toEqual(['subnet-0aaa1111']);
  });
});
