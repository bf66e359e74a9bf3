/**
 * Per-application target access: which functions, queues, buses, state machines and ECS task definitions
 * a job may reach, decided by its id's
 * prefix. The operator gives each application (`Scheduler`'s `applications`: `{ jobIdPrefix, targetAccess }`)
 * its own list; a job whose id starts with an application's prefix may reach that list only, any other job
 * the stack's `targetAccess` only. The executors' IAM role holds the union, so this check, not IAM, keeps
 * application A's jobs off application B's function.
 *
 * The executor may trust the job id's prefix: a grantee scoped with `grantManageJobs(grantee, { jobIdPrefix })`
 * can write only items whose partition key is `JOB#<prefix>…` (dynamodb:LeadingKeys), and the executor
 * reads the run record of the job the message names (docs/security.md).
 */
import type { Violation } from '../errors.js';
import type { Target } from '../jobs/types.js';
import { jobIdPrefixProblem } from '../store/model.js';
import { queueKey } from './reserved.js';

/** A task definition (`family`, `family:revision` or its ARN) on a cluster (name or ARN). */
export interface EcsTaskAccess {
  cluster: string;
  taskDefinition: string;
}

/**
 * Resource ARNs (or, locally, queue URLs and bus names) one set of jobs may reach. `stateMachines` and
 * `ecsTasks` are there when the stack has `AsyncTargets` (which grants them): absent, `stepfunctions` and
 * `ecs` targets are not governed by this list (the executors hold no grant for them at all).
 */
export interface AccessList {
  functions: string[];
  queues: string[];
  buses: string[];
  stateMachines?: string[];
  ecsTasks?: EcsTaskAccess[];
}

/** One application: the jobs whose id starts with `jobIdPrefix`, and what they may reach. */
export interface ApplicationAccess {
  jobIdPrefix: string;
  access: AccessList;
}

/**
 * What the executor checks (`PUNCTUAL_TARGET_ACCESS`, the stack's `TargetAccess` output, the local
 * runtime's state): `shared` is the stack's `targetAccess`, for jobs of no application.
 *
 * @example { shared: { functions: [], queues: [], buses: [] }, applications: [{ jobIdPrefix: 'billing-', access: { functions: ['arn:aws:lambda:eu-west-1:123456789012:function:bill'], queues: [], buses: [] } }] }
 */
export interface TargetAccessPolicy {
  shared: AccessList;
  applications: ApplicationAccess[];
}

const EMPTY: AccessList = { functions: [], queues: [], buses: [] };

/** The application a job belongs to: the one whose prefix its id starts with (prefixes never overlap). */
export function applicationOf(jobId: string, policy: TargetAccessPolicy): ApplicationAccess | undefined {
  return policy.applications.find((app) => jobId.startsWith(app.jobIdPrefix));
}

interface FunctionRef {
  region?: string;
  account?: string;
  name: string;
  qualifier?: string;
}

/**
 * A Lambda function as FunctionName accepts it: a name (`my-fn`, `my-fn:live`), a partial ARN
 * (`123456789012:function:my-fn`) or an ARN (`arn:aws:lambda:eu-west-1:123456789012:function:my-fn:live`).
 * https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_RequestSyntax
 */
function functionRef(text: string): FunctionRef {
  const parts = text.split(':');
  if (parts[0]?.startsWith('arn') && parts[2] === 'lambda' && parts[5] === 'function') {
    return { region: parts[3], account: parts[4], name: parts[6] ?? '', ...qualifier(parts[7]) };
  }
  if (parts[1] === 'function') return { account: parts[0], name: parts[2] ?? '', ...qualifier(parts[3]) };
  return { name: parts[0] ?? '', ...qualifier(parts[1]) };
}

function qualifier(value: string | undefined): { qualifier?: string } {
  return value && value !== '$LATEST' ? { qualifier: value } : {};
}

/** Equal where both say: an omitted account or region is the executor's own. */
function sameWhereKnown(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

function sameFunction(target: string, allowed: string): boolean {
  const a = functionRef(target);
  const b = functionRef(allowed);
  return (
    a.name === b.name &&
    a.qualifier === b.qualifier &&
    sameWhereKnown(a.account, b.account) &&
    sameWhereKnown(a.region, b.region)
  );
}

/** A queue ARN (`arn:aws:sqs:region:account:name`), URL, or bare name (any account's queue of that name). */
function queueRef(text: string): { account?: string; name: string } | undefined {
  if (text.startsWith('arn:')) {
    const parts = text.split(':');
    return parts.length === 6 ? { account: parts[4], name: parts[5] ?? '' } : undefined;
  }
  if (/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(text)) return { name: text };
  const key = queueKey(text);
  if (!key) return undefined;
  const [account, name] = key.split('/');
  return { account, name: name ?? '' };
}

function sameQueue(target: string, allowed: string): boolean {
  const a = queueRef(target);
  const b = queueRef(allowed);
  return a !== undefined && b !== undefined && a.name === b.name && sameWhereKnown(a.account, b.account);
}

interface BusRef {
  account?: string;
  name: string;
}

/** A bus name or ARN (`arn:aws:events:region:account:event-bus/NAME`). */
function busRef(text: string): BusRef {
  const marker = ':event-bus/';
  const at = text.indexOf(marker);
  if (at < 0) return { name: text };
  return { account: text.slice(0, at).split(':')[4], name: text.slice(at + marker.length) };
}

function sameBus(target: string, allowed: string): boolean {
  const a = busRef(target);
  const b = busRef(allowed);
  return a.name === b.name && sameWhereKnown(a.account, b.account);
}

interface ArnRef {
  region?: string;
  account?: string;
  name: string;
  qualifier?: string;
}

/** `arn:aws:states:region:account:stateMachine:name[:qualifier]`. */
function stateMachineRef(text: string): ArnRef {
  const parts = text.split(':');
  if (parts[0]?.startsWith('arn') && parts[5] === 'stateMachine') {
    return {
      region: parts[3],
      account: parts[4],
      name: parts[6] ?? '',
      ...(parts[7] ? { qualifier: parts[7] } : {}),
    };
  }
  return { name: text };
}

function sameArnRef(a: ArnRef, b: ArnRef): boolean {
  return (
    a.name === b.name &&
    a.qualifier === b.qualifier &&
    sameWhereKnown(a.account, b.account) &&
    sameWhereKnown(a.region, b.region)
  );
}

/** An ECS cluster name or ARN (`arn:aws:ecs:region:account:cluster/NAME`). */
function clusterRef(text: string): ArnRef {
  const marker = ':cluster/';
  const at = text.indexOf(marker);
  if (!text.startsWith('arn') || at < 0) return { name: text };
  const parts = text.slice(0, at).split(':');
  return { region: parts[3], account: parts[4], name: text.slice(at + marker.length) };
}

/** A task definition `family`, `family:revision` or ARN (`…:task-definition/family:revision`). */
function taskDefinitionRef(text: string): ArnRef {
  const marker = ':task-definition/';
  const at = text.indexOf(marker);
  const arn = text.startsWith('arn') && at >= 0;
  const parts = arn ? text.slice(0, at).split(':') : [];
  const [family, revision] = (arn ? text.slice(at + marker.length) : text).split(':');
  return {
    ...(arn ? { region: parts[3], account: parts[4] } : {}),
    name: family ?? '',
    ...(revision ? { qualifier: revision } : {}),
  };
}

/** A revision is the same where both name one: a family alone is its latest ACTIVE revision, which IAM checks. */
function sameTaskDefinition(target: string, allowed: string): boolean {
  const a = taskDefinitionRef(target);
  const b = taskDefinitionRef(allowed);
  return (
    a.name === b.name &&
    sameWhereKnown(a.qualifier, b.qualifier) &&
    sameWhereKnown(a.account, b.account) &&
    sameWhereKnown(a.region, b.region)
  );
}

const SHOWN = 5;

function listed(values: readonly string[]): string {
  if (values.length === 0) return 'none';
  const shown = values.slice(0, SHOWN).join(', ');
  return values.length > SHOWN ? `${shown} and ${values.length - SHOWN} more` : shown;
}

/**
 * Why `target` of job `jobId` may not go where it goes under `policy` (empty when it may). `lambda`, `sqs`
 * and `eventbridge` targets are governed by target access, and `stepfunctions` and `ecs` ones where the
 * list has `stateMachines` / `ecsTasks` (a stack with `AsyncTargets`); `http` and `handler` targets pass.
 *
 * @example accessViolations({ type: 'lambda', functionName: 'payroll', timeout: 10_000 }, 'billing-run', policy)
 */
export function accessViolations(target: Target, jobId: string, policy: TargetAccessPolicy): Violation[] {
  const app = applicationOf(jobId, policy);
  const list = app?.access ?? policy.shared ?? EMPTY;
  const whose = app
    ? `job "${jobId}" is application "${app.jobIdPrefix}"'s (jobIdPrefix), whose targetAccess`
    : `job "${jobId}" starts with no application's jobIdPrefix (${policy.applications
        .map((a) => JSON.stringify(a.jobIdPrefix))
        .join(', ')}), so the stack's targetAccess`;
  const refuse = (path: string, value: string, field: keyof AccessList): Violation[] => {
    const async = field === 'stateMachines' || field === 'ecsTasks';
    const allows =
      field === 'ecsTasks'
        ? (list.ecsTasks ?? []).map((task) => `${task.taskDefinition} on ${task.cluster}`)
        : ((list[field] ?? []) as string[]);
    const where = async
      ? `AsyncTargets' ${app ? 'applications[].' : ''}${field}`
      : `Scheduler's ${app ? 'applications[].targetAccess' : 'targetAccess'}`;
    return [
      {
        path,
        value,
        message: `${whose}.${field} does not list it (it allows: ${listed(allows)}); the operator grants it in the ${where}`,
      },
    ];
  };
  switch (target.type) {
    case 'lambda':
      return list.functions.some((allowed) => sameFunction(target.functionName, allowed))
        ? []
        : refuse('target.functionName', target.functionName, 'functions');
    case 'sqs':
      return list.queues.some((allowed) => sameQueue(target.queueUrl, allowed))
        ? []
        : refuse('target.queueUrl', target.queueUrl, 'queues');
    case 'eventbridge':
      return list.buses.some((allowed) => sameBus(target.eventBusName, allowed))
        ? []
        : refuse('target.eventBusName', target.eventBusName, 'buses');
    case 'stepfunctions': {
      if (!list.stateMachines) return [];
      const wanted = stateMachineRef(target.stateMachineArn);
      return list.stateMachines.some((allowed) => sameArnRef(wanted, stateMachineRef(allowed)))
        ? []
        : refuse('target.stateMachineArn', target.stateMachineArn, 'stateMachines');
    }
    case 'ecs': {
      if (!list.ecsTasks) return [];
      const cluster = clusterRef(target.cluster);
      return list.ecsTasks.some(
        (allowed) =>
          sameArnRef(cluster, clusterRef(allowed.cluster)) &&
          sameTaskDefinition(target.taskDefinition, allowed.taskDefinition),
      )
        ? []
        : refuse('target.taskDefinition', `${target.taskDefinition} on ${target.cluster}`, 'ecsTasks');
    }
    default:
      return [];
  }
}

function stringList(value: unknown, path: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new Error(`${path}: must be a list of strings`);
  }
  return value as string[];
}

function ecsTaskList(value: unknown, path: string): EcsTaskAccess[] {
  if (!Array.isArray(value)) throw new Error(`${path}: must be a list of { cluster, taskDefinition }`);
  return value.map((entry: unknown, index) => {
    const e = (entry ?? {}) as Record<string, unknown>;
    if (typeof e.cluster !== 'string' || typeof e.taskDefinition !== 'string') {
      throw new Error(`${path}[${index}]: must be { cluster, taskDefinition } (strings)`);
    }
    return { cluster: e.cluster, taskDefinition: e.taskDefinition };
  });
}

function accessList(value: unknown, path: string): AccessList {
  const v = (value ?? {}) as Record<string, unknown>;
  return {
    functions: stringList(v.functions, `${path}.functions`),
    queues: stringList(v.queues, `${path}.queues`),
    buses: stringList(v.buses, `${path}.buses`),
    ...(v.stateMachines !== undefined
      ? { stateMachines: stringList(v.stateMachines, `${path}.stateMachines`) }
      : {}),
    ...(v.ecsTasks !== undefined ? { ecsTasks: ecsTaskList(v.ecsTasks, `${path}.ecsTasks`) } : {}),
  };
}

/**
 * Reads a target access policy (JSON text: the executor's `PUNCTUAL_TARGET_ACCESS`, the stack's
 * `TargetAccess` output); undefined when absent (no applications declared: IAM alone decides).
 */
export function parseTargetAccessPolicy(
  text: string | undefined,
  source: string,
): TargetAccessPolicy | undefined {
  if (!text) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${source}: is not JSON`);
  }
  const v = (value ?? {}) as Record<string, unknown>;
  if (!Array.isArray(v.applications)) throw new Error(`${source}.applications: must be a list`);
  return {
    shared: accessList(v.shared, `${source}.shared`),
    applications: v.applications.map((app: unknown, index) => {
      const a = (app ?? {}) as Record<string, unknown>;
      if (typeof a.jobIdPrefix !== 'string' || a.jobIdPrefix === '') {
        throw new Error(`${source}.applications[${index}].jobIdPrefix: must be a non-empty string`);
      }
      return {
        jobIdPrefix: a.jobIdPrefix,
        access: accessList(a.access, `${source}.applications[${index}].access`),
      };
    }),
  };
}

/**
 * The rules a list of application prefixes must keep: each a non-empty job id start, none a prefix of
 * another (a job would belong to two applications).
 */
export function applicationPrefixViolations(prefixes: readonly string[], path = 'applications'): Violation[] {
  const violations: Violation[] = [];
  prefixes.forEach((prefix, index) => {
    const problem = jobIdPrefixProblem(prefix);
    if (problem) violations.push({ path: `${path}[${index}].jobIdPrefix`, value: prefix, message: problem });
    prefixes.forEach((other, j) => {
      if (j !== index && other.startsWith(prefix) && (other !== prefix || j < index)) {
        violations.push({
          path: `${path}[${index}].jobIdPrefix`,
          value: prefix,
          message: `overlaps applications[${j}].jobIdPrefix ${JSON.stringify(other)}: a job id could belong to both; give each application a prefix no other starts with`,
        });
      }
    });
  });
  return violations;
}

const LIST_FIELDS = ['functions', 'queues', 'buses', 'stateMachines', 'ecsTasks'] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads an applications document (`punctual dev --applications FILE`): the construct's `applications`
 * prop with plain strings, `[{ jobIdPrefix, targetAccess: { functions, queues, buses, stateMachines,
 * ecsTasks } }]`, or `{ targetAccess, applications }` to give the jobs of no application their list too
 * (the construct's `targetAccess`; none when left out). Locally entries are what the targets name: function
 * names or ARNs, queue URLs (the local emulator's or AWS'), bus names or ARNs, state machine ARNs, `{
 * cluster, taskDefinition }`. `stateMachines` and `ecsTasks` are governed when any list names them (as on a
 * stack with `AsyncTargets`); otherwise not, as on a stack without it.
 *
 * @example parseApplicationsDocument([{ jobIdPrefix: 'billing-', targetAccess: { queues: ['http://127.0.0.1:9324/000000000000/invoices'] } }])
 */
export function parseApplicationsDocument(
  value: unknown,
): { ok: true; policy: TargetAccessPolicy } | { ok: false; violations: Violation[] } {
  const violations: Violation[] = [];
  const top = Array.isArray(value) ? { applications: value } : value;
  if (!isObject(top) || !Array.isArray(top.applications)) {
    return {
      ok: false,
      violations: [
        {
          path: '',
          value: undefined,
          message:
            'must be a list of { jobIdPrefix, targetAccess }, or { targetAccess, applications: [{ jobIdPrefix, targetAccess }] }',
        },
      ],
    };
  }
  for (const key of Object.keys(top)) {
    if (key !== 'applications' && key !== 'targetAccess')
      violations.push({
        path: key,
        value: undefined,
        message: 'is not a field (targetAccess, applications)',
      });
  }
  const governed = { stateMachines: false, ecsTasks: false };
  const list = (raw: unknown, path: string): AccessList => {
    const result: AccessList = { functions: [], queues: [], buses: [] };
    if (raw === undefined) return result;
    if (!isObject(raw)) {
      violations.push({ path, value: undefined, message: `must be an object of ${LIST_FIELDS.join(', ')}` });
      return result;
    }
    for (const [key, entries] of Object.entries(raw)) {
      const field = LIST_FIELDS.find((f) => f === key);
      if (!field) {
        violations.push({
          path: `${path}.${key}`,
          value: undefined,
          message: `is not a field (${LIST_FIELDS.join(', ')})`,
        });
        continue;
      }
      if (!Array.isArray(entries)) {
        violations.push({ path: `${path}.${key}`, value: undefined, message: 'must be a list' });
        continue;
      }
      if (field === 'ecsTasks') {
        governed.ecsTasks = true;
        result.ecsTasks = [];
        entries.forEach((entry: unknown, i) => {
          if (
            isObject(entry) &&
            typeof entry.cluster === 'string' &&
            typeof entry.taskDefinition === 'string'
          )
            result.ecsTasks?.push({ cluster: entry.cluster, taskDefinition: entry.taskDefinition });
          else
            violations.push({
              path: `${path}.ecsTasks[${i}]`,
              value: undefined,
              message:
                'must be { cluster, taskDefinition } (a cluster name or ARN, a family[:revision] or ARN)',
            });
        });
        continue;
      }
      if (field === 'stateMachines') governed.stateMachines = true;
      const strings: string[] = [];
      entries.forEach((entry: unknown, i) => {
        if (typeof entry === 'string' && entry !== '' && !entry.includes('*')) strings.push(entry);
        else
          violations.push({
            path: `${path}.${key}[${i}]`,
            value: typeof entry === 'string' ? entry : undefined,
            message: 'must name one resource (a name, URL or ARN; no wildcards)',
          });
      });
      result[field] = strings;
    }
    return result;
  };
  const shared = list(top.targetAccess, 'targetAccess');
  const applications: ApplicationAccess[] = top.applications.map((raw: unknown, index) => {
    const path = `applications[${index}]`;
    if (!isObject(raw)) {
      violations.push({ path, value: undefined, message: 'must be { jobIdPrefix, targetAccess }' });
      return { jobIdPrefix: '', access: { functions: [], queues: [], buses: [] } };
    }
    for (const key of Object.keys(raw)) {
      if (key !== 'jobIdPrefix' && key !== 'targetAccess')
        violations.push({
          path: `${path}.${key}`,
          value: undefined,
          message: 'is not a field (jobIdPrefix, targetAccess)',
        });
    }
    return {
      jobIdPrefix: typeof raw.jobIdPrefix === 'string' ? raw.jobIdPrefix : '',
      access: list(raw.targetAccess, `${path}.targetAccess`),
    };
  });
  violations.push(...applicationPrefixViolations(applications.map((app) => app.jobIdPrefix)));
  if (violations.length > 0) return { ok: false, violations };
  // Governed everywhere or nowhere: a list that does not name them allows none.
  for (const access of [shared, ...applications.map((app) => app.access)]) {
    if (governed.stateMachines) access.stateMachines ??= [];
    if (governed.ecsTasks) access.ecsTasks ??= [];
  }
  return { ok: true, policy: { shared, applications } };
}
