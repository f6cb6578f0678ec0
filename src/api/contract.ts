// The wire contract of /v1: the request and answer schemas the routes validate and serialise
// with, in a module that imports nothing but the schema library, so the typed client
// (src/client) and the CLI derive their types, and the CLI its row checks, from the very
// objects the routes use: the two cannot drift.
import { Type, type Static } from 'typebox';
import { AuxFeature, EmbeddingKind, Id, ItemState, Vector } from './schemas.js';
import { LIMITS } from './limits.js';

export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

// errors
export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { $id: 'Error' });

// versions of a space
// Query strings and path parameters are text (the app does not coerce types): a positive integer as digits.
export const VersionNumber = Type.String({ pattern: '^[1-9][0-9]{0,8}$', description: 'A version number: 1, 2, …' });
export const VersionQuery = Type.Object(
  { version: Type.Optional({ ...VersionNumber, description: 'A version of the space; default: current' }) },
  { additionalProperties: false },
);
export const Seed = Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description: 'Seed of the training run (default TRAIN_SEED)' });

// spaces
export const CreateSpace = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Space id: letters, digits, _ . -' }),
    dim: Type.Integer({ minimum: 1, maximum: 4096, description: "Dimension of the recommender's embeddings" }),
    itemType: Type.String({ minLength: 1, maxLength: 100, description: 'What the items are, e.g. "movie"; the LLM reasons about it' }),
    scorer: Type.Union([Type.Literal('dot')], { description: 'How the recommender scores a user and an item: dot = sigmoid(u·v)' }),
    auxFeatures: Type.Optional(Type.Array(AuxFeature, { maxItems: 32 })),
  },
  { additionalProperties: false },
);
export const AuxFeaturesBody = Type.Object(
  { features: Type.Array(AuxFeature, { minItems: 1, maxItems: 32 }) },
  { additionalProperties: false },
);
const Counts = Type.Object({
  items: Type.Record(Type.String(), Type.Integer()),
  interactions: Type.Integer(),
  users: Type.Integer(),
  models: Type.Integer(),
});
const QueueBacklog = Type.Object({
  pending: Type.Integer({ description: 'Tasks waiting or running (parked ones included)' }),
  parked: Type.Integer({ description: 'Pending tasks waiting for an event rather than a time (no model yet, LLM budget spent)' }),
  dead: Type.Integer({ description: 'Tasks given up after TASK_MAX_ATTEMPTS' }),
  oldestAgeS: Nullable(Type.Number({ description: 'Seconds the oldest pending task has waited' })),
});
export const SpaceView = Type.Object({
  id: Type.String(),
  dim: Type.Integer(),
  itemType: Type.String(),
  scorer: Type.String(),
  auxFeatures: Nullable(Type.Array(AuxFeature)),
  auxSource: Nullable(Type.String()),
  model: Nullable(
    Type.Object({
      version: Type.Integer(),
      encoder: Type.String(),
      seed: Type.Integer(),
      metrics: Type.Record(Type.String(), Type.Unknown()),
      createdAt: Type.String(),
    }),
  ),
  counts: Counts,
  backlog: Type.Object(
    { enrich: QueueBacklog, embed: QueueBacklog, refine: QueueBacklog },
    { description: "The current version's item work not done yet, per queue: how fresh its embeddings are" },
  ),
  currentVersion: Type.Integer({ description: 'The version lookups serve without ?version' }),
  versions: Type.Array(
    Type.Object({
      version: Type.Integer(),
      state: Type.Union([Type.Literal('staging'), Type.Literal('migrating'), Type.Literal('current'), Type.Literal('retired')]),
      dim: Type.Integer(),
      modelVersion: Nullable(Type.Integer()),
      counts: Counts,
      promoteJob: Nullable(Type.String()),
      fastPath: Nullable(Type.Record(Type.String(), Type.Unknown())),
      createdAt: Type.String(),
      promotedAt: Nullable(Type.String()),
      retiredAt: Nullable(Type.String()),
    }),
  ),
  createdAt: Type.String(),
});
export const SpaceList = Type.Object({
  spaces: Type.Array(
    Type.Object({
      id: Type.String(),
      dim: Type.Integer({ description: "The current version's dimension" }),
      itemType: Type.String(),
      scorer: Type.String(),
      currentVersion: Type.Integer(),
      createdAt: Type.String(),
    }),
  ),
});

// users
export const UserIn = Type.Object({ id: Id, vector: Vector }, { additionalProperties: false });
export const UsersBody = Type.Object({ users: Type.Array(UserIn, { maxItems: LIMITS.users }) }, { additionalProperties: false });
export const UsersAnswer = Type.Object({ upserted: Type.Integer() });

// items
export const ItemIn = Type.Object(
  {
    id: Id,
    features: Type.Record(Type.String(), Type.Unknown(), { description: 'Raw features, any JSON object: title, description, tags, …' }),
    embedding: Type.Optional(Vector),
  },
  { additionalProperties: false },
);
export const ItemsBody = Type.Object({ items: Type.Array(ItemIn, { maxItems: LIMITS.items }) }, { additionalProperties: false });
export const ItemsAnswer = Type.Object({ accepted: Type.Integer(), unchanged: Type.Integer() });
export const ItemView = Type.Object({
  id: Type.String(),
  spaceVersion: Type.Integer(),
  state: ItemState,
  features: Type.Record(Type.String(), Type.Unknown()),
  enrichment: Nullable(Type.Record(Type.String(), Type.Unknown())),
  enrichError: Nullable(Type.String()),
  interactions: Type.Integer(),
  embedding: Nullable(
    Type.Object({ version: Type.Integer(), kind: EmbeddingKind, interactions: Type.Integer(), updatedAt: Type.String() }),
  ),
});

// interactions
export const Event = Type.Object(
  {
    id: Id,
    userId: Id,
    itemId: Id,
    label: Type.Union([Type.Literal(0), Type.Literal(1)], { description: '1 positive (click, like, rating ≥ 4), 0 negative' }),
    ts: Type.Optional(Type.String({ format: 'date-time', description: 'When it happened (ISO 8601); default: now' })),
  },
  { additionalProperties: false },
);
export const EventsBody = Type.Object({ events: Type.Array(Event, { maxItems: LIMITS.events }) }, { additionalProperties: false });
export const EventsAnswer = Type.Object({ accepted: Type.Integer(), duplicates: Type.Integer() });

// embeddings
export const Embedding = Type.Object({
  id: Type.String(),
  spaceVersion: Type.Integer({ description: 'The version of the space the vector is in' }),
  vector: Type.Array(Type.Number()),
  version: Type.Integer(),
  kind: EmbeddingKind,
  interactions: Type.Integer(),
  modelVersion: Nullable(Type.Integer()),
  updatedAt: Type.String(),
});
export const LookupBody = Type.Object({ ids: Type.Array(Id, { maxItems: LIMITS.lookup }) }, { additionalProperties: false });
export const LookupAnswer = Type.Object({
  spaceVersion: Type.Integer({ description: 'The version of the space every vector of the answer is in' }),
  embeddings: Type.Array(
    Type.Object({ id: Type.String(), vector: Type.Array(Type.Number()), version: Type.Integer(), kind: Type.String() }),
  ),
  missing: Type.Array(Type.String()),
});

// jobs: training runs and promotions
export const JobAnswer = Type.Object({ jobId: Type.String() });
export const JobView = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('train'), Type.Literal('promote')]),
  space: Type.String(),
  state: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('completed'), Type.Literal('failed')]),
  progress: Type.Object({ fraction: Type.Number(), phase: Type.String() }),
  result: Nullable(Type.Record(Type.String(), Type.Unknown())),
  error: Nullable(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export const JobsQuery = Type.Object(
  { limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: 'How many, 1 to 100 (default 20)' })) },
  { additionalProperties: false },
);
// with the version each is about (null: an earlier promotion that never started)
export const JobList = Type.Object({ jobs: Type.Array(Type.Object({ ...JobView.properties, spaceVersion: Nullable(Type.Integer()) })) });

// versions and models
export const CreateVersionBody = Type.Union([
  Type.Object(
    { dim: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: "The new space's dimension (default: unchanged)" })) },
    { additionalProperties: false },
  ),
  Type.Null(),
]);
export const CreatedVersion = Type.Object({ version: Type.Integer(), state: Type.Literal('staging') });
export const PromoteBody = Type.Union([Type.Object({ seed: Type.Optional(Seed) }, { additionalProperties: false }), Type.Null()]);
export const ModelView = Type.Object({
  version: Type.Integer(),
  active: Type.Boolean(),
  metrics: Type.Record(Type.String(), Type.Unknown()),
  gate: Nullable(Type.Record(Type.String(), Type.Unknown())),
  createdAt: Type.String(),
});
export const ModelsAnswer = Type.Object({ spaceVersion: Type.Integer(), models: Type.Array(ModelView) });
export const ActivatedModel = Type.Object({
  spaceVersion: Type.Integer(),
  modelVersion: Type.Integer(),
  previousModelVersion: Nullable(Type.Integer()),
  reembedding: Type.Integer(),
});

// quality
export const QualityQuery = Type.Object(
  {
    since: Type.Optional(Type.String({ format: 'date-time', description: 'Start of the window (ISO 8601)' })),
    version: Type.Optional({ ...VersionNumber, description: 'A version of the space; default: current' }),
  },
  { additionalProperties: false },
);
export const BucketView = Type.Object({
  // the names of QUALITY_BUCKETS (src/db/quality.ts), in its order
  bucket: Type.Union([Type.Literal('cold'), Type.Literal('1-20'), Type.Literal('21-40'), Type.Literal('41-60'), Type.Literal('61+')]),
  events: Type.Integer({ description: 'Events scored in the window' }),
  positives: Type.Integer(),
  auc: Nullable(Type.Number({ description: 'AUC of the served embeddings; null without both labels' })),
  logLoss: Nullable(Type.Number()),
  coldAuc: Nullable(Type.Number({ description: "AUC of the same events scored with the items' cold embeddings" })),
  coldLogLoss: Nullable(Type.Number()),
});
export const QualityView = Type.Object({
  space: Type.String(),
  spaceVersion: Type.Integer(),
  since: Type.String({ format: 'date-time' }),
  until: Type.String({ format: 'date-time' }),
  pending: Type.Integer({ description: 'Events received but not scored yet (the monitor lags by this much)' }),
  buckets: Type.Array(BucketView),
});

// keys
export const Scope = Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('admin'), Type.Literal('metrics')]);
export const CreateKeyBody = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 100 })),
    scopes: Type.Array(Scope, { minItems: 1, maxItems: Scope.anyOf.length }),
    spaces: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 1000 })),
  },
  { additionalProperties: false },
);
export const CreatedKey = Type.Object({
  id: Type.String(),
  key: Type.String(),
  scopes: Type.Array(Scope),
  spaces: Nullable(Type.Array(Type.String())),
});
export const KeyView = Type.Object({
  id: Type.String(),
  name: Nullable(Type.String()),
  scopes: Type.Array(Scope),
  spaces: Nullable(Type.Array(Type.String())),
  createdAt: Type.String(),
});
export const KeyList = Type.Object({ keys: Type.Array(KeyView) });

// The shapes as TypeScript types, for the client and its callers.
export type ErrorBody = Static<typeof ErrorBody>;
export type CreateSpace = Static<typeof CreateSpace>;
export type SpaceView = Static<typeof SpaceView>;
export type SpaceList = Static<typeof SpaceList>;
export type UserIn = Static<typeof UserIn>;
export type UsersAnswer = Static<typeof UsersAnswer>;
export type ItemIn = Static<typeof ItemIn>;
export type ItemsAnswer = Static<typeof ItemsAnswer>;
export type ItemView = Static<typeof ItemView>;
export type Event = Static<typeof Event>;
export type EventsAnswer = Static<typeof EventsAnswer>;
export type Embedding = Static<typeof Embedding>;
export type LookupAnswer = Static<typeof LookupAnswer>;
export type JobAnswer = Static<typeof JobAnswer>;
export type JobView = Static<typeof JobView>;
export type JobList = Static<typeof JobList>;
export type CreatedVersion = Static<typeof CreatedVersion>;
export type ModelsAnswer = Static<typeof ModelsAnswer>;
export type ActivatedModel = Static<typeof ActivatedModel>;
export type QualityView = Static<typeof QualityView>;
export type Scope = Static<typeof Scope>;
export type CreateKeyBody = Static<typeof CreateKeyBody>;
export type CreatedKey = Static<typeof CreatedKey>;
export type KeyView = Static<typeof KeyView>;
