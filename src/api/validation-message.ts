// One wording for a schema violation, whoever checked it: the API's error answers (ajv's
// errors, src/api/errors.ts) and the CLI's local check of each row before it is sent
// (TypeBox's, src/cli/rows.ts) both say "events[3].label must be one of 0, 1".

/** What ajv and TypeBox report per violation (the fields both have). */
export interface SchemaIssue {
  keyword: string;
  instancePath: string;
  params?: unknown;
  message?: string | undefined;
}

/** The first issue as "<where>.users[0].vector[1] must be number"; `where` may be '' (then no leading dot). */
export function describeIssues(errs: readonly SchemaIssue[], where: string): string {
  // TypeBox reports an unknown field twice: a false schema at the field, then the object's
  // additionalProperties; the second names the field, so it is the one to tell.
  const v = errs.find((e) => e.keyword !== 'boolean') ?? errs[0];
  if (!v) return 'request is invalid';
  const at = `${where}${v.instancePath.replace(/\//g, '.').replace(/\.(\d+)/g, '[$1]')}`.replace(/^\./, '');
  const params = (v.params ?? {}) as Record<string, unknown>;
  const field = (name: unknown) => (at ? `${at}.${String(name)}` : String(name));
  if (v.keyword === 'required' && 'missingProperty' in params) return `${field(params['missingProperty'])} is required`;
  if (v.keyword === 'required' && Array.isArray(params['requiredProperties']))
    return `${field(params['requiredProperties'][0])} is required`;
  if (v.keyword === 'additionalProperties') {
    const extra =
      'additionalProperty' in params ? params['additionalProperty'] : (params['additionalProperties'] as unknown[] | undefined)?.[0];
    if (extra !== undefined) return `${field(extra)} is not a known field`;
  }
  // A union of literals fails with one `const` error per allowed value: name them all.
  const allowed = errs
    .filter((e) => e.keyword === 'const' && e.instancePath === v.instancePath)
    .map((e) => JSON.stringify((e.params as { allowedValue?: unknown } | undefined)?.allowedValue));
  if (allowed.length) return `${at || 'value'} must be one of ${allowed.join(', ')}`;
  return `${at || 'value'} ${v.message ?? 'is invalid'}`;
}
