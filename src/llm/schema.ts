// JSON schemas sent as `response_format: json_schema` (strict), and a small
// validator for the subset they use. Answers are checked against the very
// schema that was sent: self-hosted servers do not all enforce it, and a
// strict-mode model can still be cut off mid-answer.
import { LlmError } from './errors.js';
import type { AuxFeature } from './types.js';

export type JsonSchema =
  | { type: 'string'; description?: string }
  | { type: 'array'; items: JsonSchema; description?: string }
  | { type: 'object'; properties: Record<string, JsonSchema>; required: string[]; additionalProperties: false; description?: string };

/** The per-item answer: one string per auxiliary feature, all required, nothing else. */
export function enrichmentSchema(features: AuxFeature[]): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const f of features) properties[f.name] = { type: 'string', description: f.description };
  return { type: 'object', properties, required: features.map((f) => f.name), additionalProperties: false };
}

/** The auxiliary-feature answer; `rationale` first so the model reasons before it lists. */
export const AUX_ANSWER_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    rationale: { type: 'string', description: 'What the raw features miss for predicting who will like such items (2-4 sentences).' },
    features: {
      type: 'array',
      description: 'Auxiliary features, most useful first.',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string', description: 'Short snake_case feature name.' },
          description: { type: 'string', description: 'One sentence: what the value should contain.' },
        },
        required: ['name', 'description'],
        additionalProperties: false,
      },
    },
  },
  required: ['rationale', 'features'],
  additionalProperties: false,
};

/** Returns the violations found (empty when valid), each prefixed with its JSON path. */
export function validate(schema: JsonSchema, value: unknown, path = '$'): string[] {
  switch (schema.type) {
    case 'string':
      return typeof value === 'string' ? [] : [`${path}: expected a string`];
    case 'array': {
      if (!Array.isArray(value)) return [`${path}: expected an array`];
      return value.flatMap((v, i) => validate(schema.items, v, `${path}[${i}]`));
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: expected an object`];
      const obj = value as Record<string, unknown>;
      const errors: string[] = [];
      for (const k of schema.required) if (!Object.hasOwn(obj, k)) errors.push(`${path}.${k}: missing`);
      for (const [k, v] of Object.entries(obj)) {
        const sub = Object.hasOwn(schema.properties, k) ? schema.properties[k] : undefined;
        if (!sub) errors.push(`${path}.${k}: not allowed`);
        else errors.push(...validate(sub, v, `${path}.${k}`));
      }
      return errors;
    }
  }
}

/**
 * Parses a model's text answer as JSON. Code fences are tolerated because some
 * local models add them even in JSON mode; anything else is invalid output.
 */
export function parseJsonAnswer(text: string | null | undefined): unknown {
  if (typeof text !== 'string' || text.trim() === '') throw new LlmError('invalid_output', 'empty answer');
  try {
    return JSON.parse(stripFence(text));
  } catch {
    throw new LlmError('invalid_output', 'answer is not valid JSON');
  }
}

/**
 * The text inside a ```json … ``` fence, or the text itself. Linear in the length: a regex
 * with nested quantifiers took minutes on a reply of ``` and thousands of spaces.
 */
export function stripFence(text: string): string {
  const t = text.trim();
  if (!t.startsWith('```') || t.length < 6 || !t.endsWith('```')) return text;
  let body = t.slice(3, -3);
  if (body.slice(0, 4).toLowerCase() === 'json') body = body.slice(4);
  return body.trim();
}

/**
 * Parses and validates in one step; throws invalid_output with up to 5 violations
 * as its detail: they quote the model's own keys, so they go to the logs and the
 * re-ask, not into the message.
 */
export function parseAndValidate(schema: JsonSchema, text: string | null | undefined): unknown {
  const value = parseJsonAnswer(text);
  const errors = validate(schema, value);
  if (errors.length)
    throw new LlmError('invalid_output', 'answer does not match the schema', { detail: errors.slice(0, 5).join('; ').slice(0, 400) });
  return value;
}
