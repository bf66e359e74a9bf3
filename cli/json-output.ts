/**
 * What each command prints with `--json`: one zod schema per output, most of them the client's public
 * shapes (shared/client). docs/cli.md lists their fields from the JSON Schema of each (`z.toJSONSchema`),
 * and the end-to-end tests parse real outputs with them, so the documentation, the types and the output
 * cannot drift apart.
 */
import { z } from 'zod';
import { dlqEntrySchema, redriveResultSchema } from '../shared/client/dlq.js';
import { statusReportSchema } from '../shared/client/health.js';
import {
  backfillResultSchema,
  completionResultSchema,
  jobDetailSchema,
  jobSchema,
  runSchema,
  violationSchema,
} from '../shared/client/views.js';

const time = z.iso.datetime();

export const scheduleNextOutput = z.array(time).describe('the slots, ISO-8601 UTC');

export const validateOutput = z.object({
  file: z.string(),
  valid: z.boolean().describe('exit 1 when false'),
  jobs: z.array(
    z.object({
      id: z.string(),
      schedule: z.string(),
      scheduleText: z.string().describe('in words'),
      nextRunAt: time.nullable().describe('the first slot if the job were created now'),
    }),
  ),
  pools: z.array(z.string()),
  errors: z.array(violationSchema).describe('every violation, each naming the field, the value and the rule'),
});

export const putOutput = z.array(
  z.object({
    id: z.string(),
    created: z.boolean(),
    changes: z.array(z.string()).describe('the fields that changed'),
    warnings: z.array(z.string()),
    upcomingAt: time.nullable().describe('the next slot that will run, claimed (sent) or not'),
    nextRunAt: time.nullable().describe('the next slot not yet claimed'),
  }),
);

export const deleteOutput = z.object({ id: z.string(), deleted: z.literal(true) });

export const backfillOutput = backfillResultSchema.extend({
  jobId: z.string(),
  from: time,
  to: time.describe('exclusive'),
});

/** Each `--json` output, with the commands that print it, in the order docs/cli.md lists them. */
export const JSON_OUTPUTS: { commands: string[]; schema: z.ZodType }[] = [
  { commands: ['schedule next'], schema: scheduleNextOutput },
  { commands: ['jobs validate'], schema: validateOutput },
  { commands: ['jobs put'], schema: putOutput },
  { commands: ['jobs get'], schema: jobDetailSchema },
  { commands: ['jobs list'], schema: z.array(jobSchema).describe('sorted by id') },
  { commands: ['jobs pause', 'jobs resume'], schema: jobSchema },
  { commands: ['jobs delete'], schema: deleteOutput },
  { commands: ['jobs trigger', 'runs show', 'runs replay'], schema: runSchema },
  { commands: ['runs list'], schema: z.array(runSchema).describe('newest slot first') },
  { commands: ['runs backfill'], schema: backfillOutput },
  { commands: ['runs heartbeat', 'runs complete', 'runs fail'], schema: completionResultSchema },
  { commands: ['dlq list'], schema: z.array(dlqEntrySchema).describe('oldest failure first') },
  { commands: ['dlq redrive'], schema: z.array(redriveResultSchema).describe('one per pool') },
  { commands: ['status'], schema: statusReportSchema },
];

type JsonSchema = {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  format?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
};

export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  // `custom` (a job definition as in a jobs file) has no JSON Schema of its own: it is documented in words.
  return z.toJSONSchema(schema, { unrepresentable: 'any' }) as JsonSchema;
}

/** `string`, `integer or null`, `one of a, b`, `[Run]`, `{ string: number }`: a field's type in words. */
function typeText(schema: JsonSchema): string {
  if (schema.$ref) return schema.$ref.replace('#/$defs/', '');
  if (schema.anyOf) {
    const parts = schema.anyOf.map((part) => (Object.keys(part).length ? typeText(part) : 'any'));
    return parts.join(' or ');
  }
  if (schema.enum) return `one of ${schema.enum.join(', ')}`;
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : ['any'];
  return types
    .map((type) => {
      if (type === 'array') return `[${schema.items ? typeText(schema.items) : 'any'}]`;
      if (type === 'object' && !schema.properties && typeof schema.additionalProperties === 'object')
        return `{ string: ${typeText(schema.additionalProperties)} }`;
      if (type === 'string' && schema.format === 'date-time') return 'ISO time';
      return type;
    })
    .join(' or ');
}

/** The object a schema describes, looking through arrays and nullable unions. */
function objectOf(schema: JsonSchema): JsonSchema | undefined {
  if (schema.properties) return schema;
  if (schema.items) return objectOf(schema.items);
  if (typeof schema.additionalProperties === 'object') return objectOf(schema.additionalProperties);
  return schema.anyOf?.map(objectOf).find(Boolean);
}

function fieldLines(schema: JsonSchema, depth: number): string[] {
  const lines: string[] = [];
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const nested = field.$ref ? undefined : objectOf(field);
    lines.push(
      `${'  '.repeat(depth)}* \`${name}\` (${typeText(field)})${field.description ? `: ${field.description}` : ''}`,
    );
    if (nested) lines.push(...fieldLines(nested, depth + 1));
  }
  return lines;
}

/** The markdown reference of every `--json` output, shared shapes (Run, Job) first. */
export function jsonOutputDocs(): string {
  const defs = new Map<string, JsonSchema>();
  const sections = JSON_OUTPUTS.map(({ commands, schema }) => {
    const json = jsonSchemaOf(schema);
    for (const [name, def] of Object.entries(json.$defs ?? {})) defs.set(name, def);
    const top = objectOf(json);
    const head = `**${commands.map((command) => `\`${command}\``).join(', ')}** → ${typeText(json)}${json.description ? ` (${json.description})` : ''}`;
    const description = top && top !== json && top.description ? `: ${top.description}` : '';
    return [
      `${head}${description}`,
      '',
      ...(top && !json.$ref && !json.items?.$ref ? fieldLines(top, 0) : []),
    ]
      .join('\n')
      .trimEnd();
  });
  const shared = [...defs.entries()].map(([name, def]) =>
    [`**${name}**${def.description ? `: ${def.description}` : ''}`, '', ...fieldLines(def, 0)].join('\n'),
  );
  return [...shared, ...sections].join('\n\n');
}
